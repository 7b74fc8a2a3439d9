"""The registry: class name -> class, for every class that can appear in a saved config.

Saved files name classes (``"_class_name": "DDPMScheduler"``, ``"unet": ["gandiff",
"UNet2DModel"]``). Loading turns those names into classes only through this registry, which
holds gandiff's own classes (an explicit table, imported on first use so that
``import gandiff`` stays fast), classes registered with ``@register(kind)``, and classes that
installed packages declare in the ``gandiff.plugins`` entry-point group. Nothing is ever
imported from a module path read out of a file.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

__all__ = [
    "KINDS",
    "register",
    "lookup",
    "known_names",
    "resolve_library_class",
    "sibling_config_keys",
    "PLUGIN_GROUP",
]

KINDS = ("scheduler", "model", "pipeline")
PLUGIN_GROUP = "gandiff.plugins"

# gandiff's own classes: kind -> {class name: module inside gandiff}. Modules are imported
# only when a class is asked for.
_BUILTIN: dict[str, dict[str, str]] = {
    "scheduler": {
        "DDPMScheduler": "gandiff.schedulers.ddpm",
        "DDIMScheduler": "gandiff.schedulers.ddim",
    },
    "model": {
        "UNet2DModel": "gandiff.models.unet_2d",
        "DCGANGenerator": "gandiff.models.dcgan",
        "DCGANDiscriminator": "gandiff.models.dcgan",
        "MLPDenoiser": "gandiff.models.mlp",
        "MLPGenerator": "gandiff.models.mlp",
        "MLPDiscriminator": "gandiff.models.mlp",
    },
    "pipeline": {
        "DDPMPipeline": "gandiff.pipelines.ddpm",
        "GANPipeline": "gandiff.pipelines.gan",
    },
}

# diffusers class name -> the gandiff class that reads the same files and computes the same
# function. A DDIMPipeline is a DDPMPipeline whose scheduler is a DDIMScheduler.
_DIFFUSERS_EQUIVALENTS: dict[str, str] = {
    "DDPMScheduler": "DDPMScheduler",
    "DDIMScheduler": "DDIMScheduler",
    "UNet2DModel": "UNet2DModel",
    "DDPMPipeline": "DDPMPipeline",
    "DDIMPipeline": "DDPMPipeline",
}

_registered: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}
_plugins_loaded = False


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown registry kind {kind!r}; known: {', '.join(KINDS)}")


def register(kind: str, name: str | None = None) -> Callable[[type], type]:
    """Class decorator: make the class loadable by `name` (default: its class name).

    Saved files name classes; loading finds them only through this registry. Plugin packages
    use the same decorator in a module that their ``gandiff.plugins`` entry point names.

    Args:
        kind: ``"scheduler"``, ``"model"`` or ``"pipeline"``.
        name: the name saved files use for the class; its class name by default.

    Returns:
        The decorator, which returns the class unchanged.

    Raises:
        ValueError: for an unknown `kind`, or when another class already holds the name.

    Example:
        >>> from gandiff import DDIMScheduler, register
        >>> from gandiff.registry import lookup
        >>> @register("scheduler")
        ... class MyDDIM(DDIMScheduler):
        ...     pass
        >>> lookup("scheduler", "MyDDIM") is MyDDIM
        True
    """
    _check_kind(kind)

    def decorator(cls: type) -> type:
        key = name or cls.__name__
        existing = _registered[kind].get(key)
        if existing is not None and existing is not cls:
            raise ValueError(
                f"{kind} name {key!r} is already registered by {existing.__module__}.{existing.__qualname__}; "
                "register yours under another name"
            )
        _registered[kind][key] = cls
        return cls

    return decorator


def _load_plugins() -> None:
    """Import the entry points of the ``gandiff.plugins`` group, once.

    An entry point names either a class (registered under its class name, its kind taken
    from its gandiff base class) or a module whose import registers classes with
    ``@register``. These paths come from installed package metadata, which the user chose to
    install, never from a downloaded file.
    """
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=PLUGIN_GROUP):
        try:
            loaded = entry_point.load()
        except Exception as err:  # a broken plugin must not break gandiff
            logger.warning("gandiff plugin %r failed to load: %s", entry_point.name, err)
            continue
        if isinstance(loaded, type):
            register(_kind_of(loaded))(loaded)


def _kind_of(cls: type) -> str:
    from .models.modeling import ModelMixin
    from .pipelines.pipeline import Pipeline
    from .schedulers.scheduling_utils import SchedulerMixin

    for kind, base in (("pipeline", Pipeline), ("model", ModelMixin), ("scheduler", SchedulerMixin)):
        if issubclass(cls, base):
            return kind
    raise TypeError(f"plugin class {cls.__qualname__} must subclass SchedulerMixin, ModelMixin or Pipeline")


def sibling_config_keys(cls: type) -> frozenset[str]:
    """Every constructor argument of the registered classes of `cls`'s kind (schedulers, say).

    `ConfigMixin.from_config` uses it to tell a sibling class's key (expected after a swap)
    from a key no class of the kind takes (a typo).

    Args:
        cls: a scheduler, model or pipeline class.

    Returns:
        The argument names; empty when `cls` is of no registry kind.
    """
    from .configuration import init_parameters

    try:
        kind = _kind_of(cls)
    except TypeError:
        return frozenset()
    return frozenset().union(*(init_parameters(lookup(kind, name)) for name in known_names(kind)))


def known_names(kind: str) -> list[str]:
    """Every name `lookup(kind, name)` accepts, plugins included.

    Args:
        kind: ``"scheduler"``, ``"model"`` or ``"pipeline"``.

    Returns:
        The names, sorted.

    Example:
        >>> from gandiff.registry import known_names
        >>> {"DDIMScheduler", "DDPMScheduler"} <= set(known_names("scheduler"))
        True
    """
    _check_kind(kind)
    _load_plugins()
    return sorted(set(_BUILTIN[kind]) | set(_registered[kind]))


def lookup(kind: str, name: str) -> type:
    """The class registered as `name`; a `KeyError` listing the known names otherwise.

    Args:
        kind: ``"scheduler"``, ``"model"`` or ``"pipeline"``.
        name: the registered name, e.g. ``"DDPMScheduler"``.

    Returns:
        The class.

    Raises:
        KeyError: when no class of that kind is registered as `name`; the message lists the
            known names.
        ValueError: for an unknown `kind`.
    """
    _check_kind(kind)
    if name in _registered[kind]:
        return _registered[kind][name]
    if name in _BUILTIN[kind]:
        importlib.import_module(_BUILTIN[kind][name])  # its @register fills the table
        return _registered[kind][name]
    _load_plugins()
    if name in _registered[kind]:
        return _registered[kind][name]
    raise KeyError(f"unknown {kind} {name!r}; known: {', '.join(known_names(kind))}")


def resolve_library_class(library: str, name: str, kinds: tuple[str, ...] = ("model", "scheduler")) -> type:
    """Map a ``[library, class name]`` pair from a saved file to a registered gandiff class.

    ``"diffusers"`` names are mapped to the gandiff class that reads the same files; every
    other library name (``"gandiff"``, a plugin's) is looked up by class name. The pair is
    data from a file, never an import path: an unregistered class is an error, not an import.

    Args:
        library: the first element of the pair, e.g. ``"gandiff"`` or ``"diffusers"``.
        name: the class name, the second element.
        kinds: the registry kinds to search, in order.

    Returns:
        The registered class.

    Raises:
        KeyError: when the class is not registered (or a diffusers class has no equivalent).
    """
    if library == "diffusers":
        if name not in _DIFFUSERS_EQUIVALENTS:
            known = ", ".join(sorted(_DIFFUSERS_EQUIVALENTS))
            raise KeyError(f"diffusers class {name!r} has no gandiff equivalent; supported diffusers classes: {known}")
        name = _DIFFUSERS_EQUIVALENTS[name]
    for kind in kinds:
        try:
            return lookup(kind, name)
        except KeyError:
            pass
    known = "; ".join(f"{kind}s: {', '.join(known_names(kind))}" for kind in kinds)
    raise KeyError(
        f"[{library!r}, {name!r}] is not a registered class, and gandiff loads only registered classes "
        f"({known}). If it comes from a plugin package, install that package."
    )
