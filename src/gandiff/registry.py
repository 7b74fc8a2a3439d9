"""The registry: class name -> class, for every class that can appear in a saved config.

Saved files name classes (``"_class_name": "DDPMScheduler"``, ``"unet": ["gandiff",
"UNet2DModel"]``). Loading turns those names into classes only through this registry, which
holds gandiff's own classes (declared by the package's ``__init__``, whose table of public names
says which module defines each; the module is imported when a class is first asked for, so
``import gandiff`` stays fast), classes registered with ``@register(kind)``, and classes that
installed packages declare in the ``gandiff.plugins`` entry-point group. Nothing is ever
imported from a module path read out of a file.

The registry knows no concrete class and imports nothing of gandiff: a class states its kind
with the class attribute ``registry_kind`` (``ModelMixin``, ``SchedulerMixin`` and ``Pipeline``
set it, so every subclass, a plugin's too, inherits it), and its diffusers twin, if it has one,
with ``diffusers_name`` (see `diffusers_twin`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

__all__ = [
    "KINDS",
    "PLUGIN_GROUP",
    "RegistryError",
    "declare_builtin",
    "register",
    "lookup",
    "known_names",
    "kind_of",
    "resolve_library_class",
    "diffusers_twin",
]

KINDS = ("scheduler", "model", "pipeline")
PLUGIN_GROUP = "gandiff.plugins"

# gandiff's own classes: kind -> {class name: the module that registers it}, filled by
# `declare_builtin` from the package's table of public names.
_builtin: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
_registered: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}
_plugins_loaded = False


class RegistryError(KeyError, ValueError):
    """A registry lookup failed: unknown kind, unknown name, or a class saved files cannot name.

    The message lists the known names and says what to do. It is a `KeyError` (a name that is not
    in the table) and a `ValueError` (a bad value read from a file or given by the caller), so
    either ``except`` catches it.
    """

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument (quotes, escaped newlines); show the message.
        return str(self.args[0]) if self.args else ""


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise RegistryError(f"unknown registry kind {kind!r}; known: {', '.join(KINDS)}")


def declare_builtin(kind: str, name: str, module: str) -> None:
    """Declare one of gandiff's own classes: its name and the module whose import registers it.

    Called by ``gandiff/__init__.py`` for the classes of its table of public names; the module
    is imported only when `lookup` is first asked for the class.

    Args:
        kind: ``"scheduler"``, ``"model"`` or ``"pipeline"``.
        name: the class name, e.g. ``"DDPMScheduler"``.
        module: the absolute module name, e.g. ``"gandiff.schedulers.ddpm"``.
    """
    _check_kind(kind)
    _builtin[kind][name] = module


def kind_of(cls: type) -> str:
    """The registry kind a class states with its ``registry_kind`` attribute.

    Args:
        cls: a scheduler, model or pipeline class (a subclass of ``SchedulerMixin``,
            ``ModelMixin`` or ``Pipeline``, which set the attribute).

    Returns:
        ``"scheduler"``, ``"model"`` or ``"pipeline"``.

    Raises:
        TypeError: when `cls` states no kind.
    """
    kind = getattr(cls, "registry_kind", None)
    if kind not in KINDS:
        raise TypeError(
            f"{cls.__qualname__} states no registry kind; subclass SchedulerMixin, ModelMixin or Pipeline "
            "(or set the class attribute registry_kind to one of: " + ", ".join(KINDS) + ")"
        )
    return kind


def register(kind: str, name: str | None = None) -> Callable[[type], type]:
    """Class decorator: make the class loadable by `name` (default: its class name).

    Saved files name classes; loading finds them only through this registry. Plugin packages
    use the same decorator in a module that their ``gandiff.plugins`` entry point names.

    Args:
        kind: ``"scheduler"``, ``"model"`` or ``"pipeline"``; it must agree with the kind the
            class states (``registry_kind``, set by its gandiff base class), if it states one.
        name: the name saved files use for the class; its class name by default.

    Returns:
        The decorator, which returns the class unchanged.

    Raises:
        ValueError: for an unknown `kind`, a class of another kind, or a name another class
            already holds.

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
        stated = getattr(cls, "registry_kind", kind)
        if stated != kind:
            raise ValueError(f"{cls.__qualname__} is a {stated}, not a {kind}; register it with @register({stated!r})")
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

    An entry point names either a class (registered under its class name, with the kind it
    states) or a module whose import registers classes with ``@register``. These paths come from
    installed package metadata, which the user chose to install, never from a downloaded file.
    """
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    # Imported here, not at the top: plugins load on the first lookup, and `import gandiff`
    # (which imports this module) should not pay for the logging and metadata machinery.
    import logging
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=PLUGIN_GROUP):
        try:
            loaded = entry_point.load()
            if isinstance(loaded, type):
                register(kind_of(loaded))(loaded)
        except Exception as err:  # a broken plugin must not break gandiff
            logging.getLogger(__name__).warning("gandiff plugin %r failed to load: %s", entry_point.name, err)


def known_names(kind: str) -> list[str]:
    """Every name `lookup(kind, name)` accepts, plugins included.

    Args:
        kind: ``"scheduler"``, ``"model"`` or ``"pipeline"``.

    Returns:
        The names, sorted.

    Raises:
        RegistryError: for an unknown `kind`.

    Example:
        >>> from gandiff.registry import known_names
        >>> {"DDIMScheduler", "DDPMScheduler"} <= set(known_names("scheduler"))
        True
    """
    _check_kind(kind)
    _load_plugins()
    return sorted(set(_builtin[kind]) | set(_registered[kind]))


def lookup(kind: str, name: str) -> type:
    """The class registered as `name`; a `RegistryError` listing the known names otherwise.

    Args:
        kind: ``"scheduler"``, ``"model"`` or ``"pipeline"``.
        name: the registered name, e.g. ``"DDPMScheduler"``.

    Returns:
        The class.

    Raises:
        RegistryError: (a `KeyError` and a `ValueError`) for an unknown `kind`, or when no class
            of that kind is registered as `name`; the message lists the known names.
    """
    _check_kind(kind)
    if name in _registered[kind]:
        return _registered[kind][name]
    if name in _builtin[kind]:
        importlib.import_module(_builtin[kind][name])  # its @register fills the table
        if name in _registered[kind]:
            return _registered[kind][name]
        raise RegistryError(
            f"{_builtin[kind][name]} was declared to define the {kind} {name!r} but did not register it"
        )
    _load_plugins()
    if name in _registered[kind]:
        return _registered[kind][name]
    raise RegistryError(
        f"unknown {kind} {name!r}; known: {', '.join(known_names(kind))}. If it comes from a plugin package, "
        f"install that package; a class of your own needs @gandiff.register({kind!r})"
    )


def diffusers_twin(cls: type) -> str | None:
    """The diffusers class that reads `cls`'s files and computes the same function, if any.

    A class declares its twin itself, with the class attribute ``diffusers_name``; a subclass
    does not inherit it (it may compute something else), so a plugin's subclass of
    ``DDIMScheduler`` has no twin unless it declares one. Saves whose classes all have a twin are
    written in diffusers' layout, and ``["diffusers", name]`` entries load as the class.

    Args:
        cls: a model, scheduler or pipeline class.

    Returns:
        The diffusers class name, e.g. ``"UNet2DModel"``; ``None`` when `cls` declares none.

    Example:
        >>> from gandiff import DDIMScheduler
        >>> from gandiff.registry import diffusers_twin
        >>> class MyDDIM(DDIMScheduler):
        ...     pass
        >>> diffusers_twin(DDIMScheduler), diffusers_twin(MyDDIM)
        ('DDIMScheduler', None)
    """
    name = cls.__dict__.get("diffusers_name")
    return name if isinstance(name, str) else None


def _reads_diffusers_class(cls: type, name: str) -> bool:
    """Whether `cls` is the twin of diffusers' `name`, or also reads its files (``diffusers_aliases``:
    a DDPMPipeline holding a DDIMScheduler is diffusers' DDIMPipeline)."""
    return name == diffusers_twin(cls) or name in cls.__dict__.get("diffusers_aliases", ())


def _diffusers_class(name: str, kinds: tuple[str, ...]) -> type:
    for kind in kinds:  # the usual case: the twin has diffusers' class name
        try:
            cls = lookup(kind, name)
        except RegistryError:
            continue
        if _reads_diffusers_class(cls, name):
            return cls
    supported = set()
    for kind in kinds:  # otherwise ask every registered class (importing gandiff's own modules)
        for known in known_names(kind):
            try:
                cls = lookup(kind, known)
            except (RegistryError, ImportError):  # a plugin or optional module that cannot load
                continue
            if _reads_diffusers_class(cls, name):
                return cls
            supported |= {n for n in (diffusers_twin(cls), *cls.__dict__.get("diffusers_aliases", ())) if n}
    raise RegistryError(
        f"diffusers class {name!r} has no gandiff equivalent; supported diffusers classes: "
        f"{', '.join(sorted(supported))}"
    )


def resolve_library_class(library: str, name: str, kinds: tuple[str, ...] = ("model", "scheduler")) -> type:
    """Map a ``[library, class name]`` pair from a saved file to a registered gandiff class.

    ``"diffusers"`` names are mapped to the registered class that declares that diffusers twin
    (`diffusers_twin`); every other library name (``"gandiff"``, a plugin's) is looked up by class
    name. The pair is data from a file, never an import path: an unregistered class is an error,
    not an import.

    Args:
        library: the first element of the pair, e.g. ``"gandiff"`` or ``"diffusers"``.
        name: the class name, the second element.
        kinds: the registry kinds to search, in order.

    Returns:
        The registered class.

    Raises:
        RegistryError: when the class is not registered (or a diffusers class has no equivalent).
    """
    if library == "diffusers":
        return _diffusers_class(name, kinds)
    for kind in kinds:
        try:
            return lookup(kind, name)
        except RegistryError:
            pass
    known = "; ".join(f"known {kind}s: {', '.join(known_names(kind))}" for kind in kinds)
    raise RegistryError(
        f"[{library!r}, {name!r}] is not a registered class, and gandiff loads only registered classes "
        f"({known}). If it comes from a plugin package, install that package."
    )
