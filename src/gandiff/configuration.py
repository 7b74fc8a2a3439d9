"""Configuration: an object's config is the keyword arguments of its constructor, as JSON.

`ConfigMixin` records the arguments every subclass's ``__init__`` was called with (defaults
filled in) as ``obj.config``, a read-only mapping read as ``obj.config.name``. The config is
written beside the weights with ``_class_name`` and ``_gandiff_version`` so nobody repeats a
training flag at sampling time. Files written by diffusers (``_diffusers_version``) load too, and a
class with a diffusers twin (``diffusers_name``) writes its config in diffusers' layout by default:
the twin's ``_class_name`` and ``_diffusers_version`` as well (its keys are already diffusers').
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import registry
from ._version import __version__
from .hub import HubOptions, PushToHubMixin, check_hub_options, resolve_file
from .saving import DIFFUSERS_VERSION, recover_interrupted_save, write_text_atomic
from .validation import check_choice, check_positive, check_type  # noqa: F401  (the first two: plugins import them here)

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

logger = logging.getLogger(__name__)

__all__ = [
    "Config",
    "ConfigMixin",
    "load_config_file",
    "saved_class_name",
    "sibling_config_keys",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
]


def _freeze(value: Any) -> Any:
    """Make a config value immutable and JSON-shaped: sequences become tuples."""
    if hasattr(value, "tolist"):  # numpy arrays and tensors, e.g. `trained_betas`
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        return Config({k: _freeze(v) for k, v in value.items()})
    return value


def _thaw(value: Any) -> Any:
    """The JSON form of a frozen value."""
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    return value


class Config(Mapping):
    """A read-only mapping of settings, also readable as attributes: ``config.beta_schedule``.

    Args:
        data: the settings; copied, so later changes to `data` do not reach the config.

    Example:
        >>> from gandiff.configuration import Config
        >>> config = Config({"beta_schedule": "linear", "num_train_timesteps": 1000})
        >>> config.beta_schedule, config["num_train_timesteps"]
        ('linear', 1000)
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]):
        object.__setattr__(self, "_data", dict(data))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not real attributes; dunder lookups (copy, pickle)
        # must fail normally rather than read settings.
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return object.__getattribute__(self, "_data")[name]
        except KeyError:
            raise AttributeError(f"config has no setting {name!r}; settings: {', '.join(self._data)}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("config is read-only; build a new object with `Cls.from_config({**obj.config, ...})`")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self) == dict(other)

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        return f"Config({self._data!r})"

    def __reduce__(self):
        return (Config, (self._data,))

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-serializable dict (tuples become lists).

        Returns:
            A new dict; changing it does not change the config.
        """
        return _thaw(self)


# A config is a small, flat JSON object: settings, a few lists (block types, channel counts, a
# trained β table of ~1000 numbers). Far larger or deeper files are not configs, and reading one
# whole (or recursing into it) would only exhaust memory or the stack.
MAX_CONFIG_BYTES = 16 * 2**20
MAX_CONFIG_DEPTH = 32


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON config; every way a file can fail to be one is a `ValueError` naming the file.

    Args:
        path: the JSON file.

    Returns:
        The JSON object, as a dict.

    Raises:
        FileNotFoundError: when there is nothing at `path`.
        ValueError: when `path` is not a regular file (a folder, a FIFO), is larger than
            `MAX_CONFIG_BYTES`, is not UTF-8 JSON, nests deeper than `MAX_CONFIG_DEPTH`, or
            holds something other than a JSON object.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no config file at {path}")
    resave = "re-save it with save_pretrained, or point to the folder save_pretrained wrote"
    if not path.is_file():  # never open() a FIFO or a device: the read could block forever
        raise ValueError(f"{path} is {_file_kind(path)}, not a JSON config file; {resave}")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ValueError(
            f"{path} is {size / 2**20:.0f} MiB; a config is a small JSON file (at most "
            f"{MAX_CONFIG_BYTES // 2**20} MiB): is it the right file? {resave}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text, so not a JSON config; {resave}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); {resave}") from None
    except RecursionError:
        raise ValueError(f"{path} nests JSON deeper than Python can read; {resave}") from None
    if not isinstance(data, dict):
        raise ValueError(
            f'{path} must hold a JSON object of settings ({{"name": value, ...}}), found a JSON '
            f"{_JSON_TYPES.get(type(data), type(data).__name__)}; {resave}"
        )
    if _depth(data) > MAX_CONFIG_DEPTH:
        raise ValueError(
            f"{path} nests JSON more than {MAX_CONFIG_DEPTH} levels deep; a config is a flat object of settings: {resave}"
        )
    return data


def saved_class_name(config: Mapping[str, Any], path: str | os.PathLike) -> str:
    """The class a saved config names in ``_class_name``, where loading must read it from the file.

    Args:
        config: the config, as read by `load_config_file`.
        path: the file it was read from, for the message.

    Returns:
        The class name.

    Raises:
        ValueError: when the config names no class; the message says how to load it anyway.
    """
    name = config.get("_class_name")
    if not isinstance(name, str) or not name:
        found = 'has no "_class_name"' if name is None else f'has "_class_name": {name!r}, not a class name'
        raise ValueError(
            f"{path} {found}, so gandiff cannot tell which class to build: load it with its class "
            '(e.g. UNet2DModel.from_pretrained), or add "_class_name" to the file'
        )
    return name


_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "true/false", type(None): "null"}


def _file_kind(path: Path) -> str:
    if path.is_dir():
        return "a folder"
    if path.is_fifo():
        return "a FIFO (named pipe)"
    if path.is_socket():
        return "a socket"
    if path.is_block_device() or path.is_char_device():
        return "a device"
    return "not a regular file"


def _depth(value: Any) -> int:
    """How deeply JSON containers nest in `value` (1 for a flat object), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class ConfigMixin(PushToHubMixin):
    """Records constructor arguments as ``self.config`` and saves / loads them as JSON.

    Subclasses set ``config_name`` (the file name inside a saved folder). Keys a class does
    not take are kept in the config, so they survive a round trip through another class
    (DDPM -> DDIM -> DDPM), but they are never passed to ``__init__``: they cannot change
    behaviour, and loading reports them.

    Example:
        >>> import tempfile
        >>> from gandiff import DDIMScheduler, DDPMScheduler
        >>> ddpm = DDPMScheduler(num_train_timesteps=100, beta_schedule="squaredcos_cap_v2")
        >>> ddpm.config.num_train_timesteps, ddpm.config.variance_type
        (100, 'fixed_small')
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = ddpm.save_config(folder)
        ...     again = DDPMScheduler.from_pretrained(folder)
        >>> path.name, again.config == ddpm.config
        ('scheduler_config.json', True)
        >>> ddim = DDIMScheduler.from_config(ddpm.config)  # DDPM's variance_type is kept, unused
        >>> ddim.config.variance_type, DDPMScheduler.from_config(ddim.config).config.beta_schedule
        ('fixed_small', 'squaredcos_cap_v2')
    """

    config_name: str = "config.json"

    # The diffusers class that reads this class's files and computes the same function, e.g.
    # "DDPMScheduler"; declared by each class itself, never inherited (`gandiff.registry.diffusers_twin`).
    diffusers_name: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording_init(cls.__init__)

    @property
    def config(self) -> Config:
        """The constructor's keyword arguments (plus kept foreign keys), read-only."""
        return self._config

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any):
        """Build an object from a config mapping; `overrides` replace individual settings.

        Metadata keys (starting with ``_``) are dropped; keys ``__init__`` does not take are
        kept in the new object's config and reported in the log (at INFO when they belong to
        a sibling class, such as a DDPM-only key given to DDIM; as a warning otherwise).

        Args:
            config: another object's ``config``, or a dict such as a loaded config file.
            **overrides: settings that replace those of `config`.

        Returns:
            A new instance of the class it is called on.

        Raises:
            ValueError: when a setting is invalid for this class: of a type its ``__init__``
                annotation does not take (``trained_betas: "abc"``), or refused by ``__init__``.

        Example:
            >>> from gandiff import DDPMScheduler
            >>> ddpm = DDPMScheduler()
            >>> cosine = DDPMScheduler.from_config(ddpm.config, beta_schedule="squaredcos_cap_v2")
            >>> cosine.config.beta_schedule, cosine.config.num_train_timesteps
            ('squaredcos_cap_v2', 1000)
        """
        settings = {k: v for k, v in dict(config).items() if not k.startswith("_")}
        settings.update(overrides)
        accepted = init_parameters(cls)
        init_kwargs = {k: v for k, v in settings.items() if k in accepted}
        foreign = {k: _freeze(v) for k, v in settings.items() if k not in accepted}
        if foreign:
            _report_foreign_keys(cls, foreign)
        for name, value in init_kwargs.items():
            if name in init_annotations(cls):
                try:
                    check_type(name, value, init_annotations(cls)[name])
                except ValueError as err:
                    raise ValueError(f"{cls.__name__} config: {err}") from None
        try:
            obj = cls(**init_kwargs)
        except _VALUE_ERRORS_IN_DISGUISE as err:
            # A config value of a shape no check foresaw fails deep inside __init__ (torch's
            # "new(): invalid data type 'str'"); it is still a bad value, not a bug of the caller.
            raise ValueError(
                f"{cls.__name__} cannot be built from this config ({type(err).__name__}: {err}); "
                f"check the config's values against {cls.__name__}'s arguments"
            ) from err
        if foreign:
            object.__setattr__(obj, "_config", Config({**obj._config, **foreign}))
        return obj

    def config_dict(self, diffusers_layout: bool = False) -> dict[str, Any]:
        """The JSON content written by ``save_config``: metadata first, then settings.

        Args:
            diffusers_layout: name the diffusers twin as ``_class_name`` and add
                ``_diffusers_version``, so diffusers reads the file (see `saves_in_diffusers_layout`).

        Returns:
            ``{"_class_name": ..., "_gandiff_version": ..., **settings}``, with
            ``"_diffusers_version"`` after the class name in diffusers' layout.
        """
        if self.saves_in_diffusers_layout(diffusers_layout):
            metadata = {"_class_name": registry.diffusers_twin(type(self)), "_diffusers_version": DIFFUSERS_VERSION}
        else:
            metadata = {"_class_name": type(self).__name__}
        return {**metadata, "_gandiff_version": __version__, **self.config.to_dict()}

    def saves_in_diffusers_layout(self, diffusers_layout: bool | None = None) -> bool:
        """Whether a save of this object is written in diffusers' layout.

        Args:
            diffusers_layout: ``None`` (the default of every save): when the class has a diffusers
                twin (`gandiff.registry.diffusers_twin`); ``True``: required; ``False``: gandiff's
                own layout.

        Returns:
            The layout to write: ``True`` for diffusers'.

        Raises:
            ValueError: for ``diffusers_layout=True`` on a class without a diffusers twin.
        """
        twin = registry.diffusers_twin(type(self))
        if diffusers_layout and twin is None:
            raise ValueError(
                f"{type(self).__name__} has no diffusers twin, so diffusers could not load its save; "
                "save it with diffusers_layout=None (gandiff's layout)"
            )
        return twin is not None if diffusers_layout is None else bool(diffusers_layout)

    def save_config(self, save_directory: str | os.PathLike, diffusers_layout: bool | None = None) -> Path:
        """Write ``config_name`` into `save_directory` (created if needed) and return its path.

        Args:
            save_directory: the folder to write into.
            diffusers_layout: as for `saves_in_diffusers_layout`; by default diffusers' layout
                when the class has a diffusers twin.

        Returns:
            The path of the written JSON file.
        """
        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / self.config_name
        config = self.config_dict(self.saves_in_diffusers_layout(diffusers_layout))
        write_text_atomic(path, json.dumps(config, indent=2, sort_keys=False) + "\n")
        return path

    @classmethod
    def load_config(
        cls, pretrained_path: str | os.PathLike, subfolder: str | None = None, **hub_options: Unpack[HubOptions]
    ) -> dict:
        """Read the config JSON of a saved folder or Hub repo without building anything.

        From a repo only this one file is downloaded.

        Args:
            pretrained_path: a local folder, or a Hub repo id ``"namespace/name"``.
            subfolder: the folder inside it, e.g. ``"scheduler"`` in a pipeline.
            **hub_options: for a Hub repo, the Hub keyword arguments: `gandiff.hub.HubOptions`.

        Returns:
            The config, as a dict (metadata keys included).

        Raises:
            FileNotFoundError: when the folder or repo has no ``config_name`` file.
        """
        options = check_hub_options(hub_options, f"{cls.__name__}.load_config")
        return load_config_file(resolve_file(pretrained_path, cls.config_name, subfolder=subfolder, **options))

    def save_pretrained(self, save_directory: str | os.PathLike, diffusers_layout: bool | None = None) -> None:
        """Save the config into `save_directory`; models override this to add their weights.

        Args:
            save_directory: the folder to write into (created if needed).
            diffusers_layout: as for `saves_in_diffusers_layout`; by default diffusers' layout
                when the class has a diffusers twin, so diffusers loads the folder too.
        """
        self.save_config(save_directory, diffusers_layout)

    @classmethod
    def from_pretrained(
        cls, pretrained_path: str | os.PathLike, subfolder: str | None = None, **hub_options: Unpack[HubOptions]
    ):
        """Build from a folder written by ``save_pretrained`` (ours or diffusers'), or a Hub repo.

        Args:
            pretrained_path: a local folder, or a Hub repo id ``"namespace/name"``.
            subfolder: the folder inside it, e.g. ``"scheduler"`` in a pipeline.
            **hub_options: for a Hub repo, the Hub keyword arguments: `gandiff.hub.HubOptions`.
        """
        options = check_hub_options(hub_options, f"{cls.__name__}.from_pretrained")
        recover_interrupted_save(os.path.join(pretrained_path, subfolder) if subfolder else pretrained_path)
        return cls.from_config(cls.load_config(pretrained_path, subfolder=subfolder, **options))


def _report_foreign_keys(cls: type, keys: Mapping[str, Any]) -> None:
    """Log config keys that `cls` keeps but does not use.

    Keys that a sibling class takes (a DDPM-only key in a DDIM made from a DDPM config) are
    the expected result of a swap and logged at INFO; any other key (a typo, a setting from a
    newer version) is logged as a warning, since the user may believe it has an effect.
    """
    names = ", ".join(sorted(keys))
    if set(keys) <= sibling_config_keys(cls):
        logger.info("%s keeps, but does not use, the config keys of a sibling class: %s", cls.__name__, names)
    else:
        logger.warning(
            "%s does not use the config keys %s; they are kept in its config but have no effect", cls.__name__, names
        )


def sibling_config_keys(cls: type) -> frozenset[str]:
    """Every constructor argument of the registered classes of `cls`'s kind (schedulers, say).

    `ConfigMixin.from_config` uses it to tell a sibling class's key (expected after a swap)
    from a key no class of the kind takes (a typo).

    Args:
        cls: a scheduler, model or pipeline class.

    Returns:
        The argument names; empty when `cls` states no registry kind.
    """
    try:
        kind = registry.kind_of(cls)
    except TypeError:
        return frozenset()
    return frozenset().union(*(init_parameters(registry.lookup(kind, name)) for name in registry.known_names(kind)))


# Errors that a wrong config value raises inside a constructor that did not check it.
_VALUE_ERRORS_IN_DISGUISE = (TypeError, AttributeError, IndexError, KeyError, ZeroDivisionError, OverflowError)


@functools.cache
def init_annotations(cls: type) -> dict[str, Any]:
    """The evaluated annotations of ``cls.__init__``; empty when they cannot be evaluated.

    An annotation naming something imported only for type checkers cannot be evaluated; the
    class's own validation in ``__init__`` is then the only check.
    """
    try:
        return typing.get_type_hints(cls.__init__)
    except (NameError, TypeError, AttributeError):
        return {}


@functools.cache
def init_parameters(cls: type) -> frozenset[str]:
    """The names a class's ``__init__`` takes as keywords (``self`` and ``*args``/``**kwargs`` left out)."""
    signature = inspect.signature(cls.__init__)
    return frozenset(
        name
        for name, p in signature.parameters.items()
        if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )


def _recording_init(init):
    """Wrap ``__init__`` so that, once it has run, ``self._config`` holds its bound arguments.

    Recorded after the body so that the outermost subclass's arguments win, and only once the
    body's validation has accepted them.
    """
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(self, *args, **kwargs)
        settings = {}
        for name, value in list(bound.arguments.items())[1:]:
            if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                settings.update(value)
            elif signature.parameters[name].kind is not inspect.Parameter.VAR_POSITIONAL:
                settings[name] = value
        object.__setattr__(self, "_config", Config({k: _freeze(v) for k, v in settings.items()}))

    return wrapper
