"""Configuration: an object's config is the keyword arguments of its constructor, as JSON.

`ConfigMixin` records the arguments every subclass's ``__init__`` was called with (defaults
filled in) as ``obj.config``, a read-only mapping read as ``obj.config.name``. The config is
written beside the weights with ``_class_name`` and ``_gandiff_version`` so nobody repeats a
training flag at sampling time. Files written by diffusers (``_diffusers_version``) load too.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import registry
from ._version import __version__
from .hub import HubOptions, PushToHubMixin, check_hub_options, resolve_file
from .saving import recover_interrupted_save, write_text_atomic
from .validation import check_choice, check_positive  # noqa: F401  plugins written for 0.1 import them here

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

logger = logging.getLogger(__name__)

__all__ = ["Config", "ConfigMixin", "load_config_file", "sibling_config_keys"]


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


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON config, with an error that names the file when it is not valid JSON.

    Args:
        path: the JSON file.

    Returns:
        The JSON object, as a dict.

    Raises:
        FileNotFoundError: when there is no file at `path`.
        ValueError: when the file is not valid JSON or not a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no config file at {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); re-save it with save_pretrained") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, found {type(data).__name__}")
    return data


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
            ValueError: when a setting is invalid for this class (raised by ``__init__``).

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
        obj = cls(**init_kwargs)
        if foreign:
            object.__setattr__(obj, "_config", Config({**obj._config, **foreign}))
        return obj

    def config_dict(self) -> dict[str, Any]:
        """The JSON content written by ``save_config``: metadata first, then settings.

        Returns:
            ``{"_class_name": ..., "_gandiff_version": ..., **settings}``.
        """
        return {"_class_name": type(self).__name__, "_gandiff_version": __version__, **self.config.to_dict()}

    def save_config(self, save_directory: str | os.PathLike) -> Path:
        """Write ``config_name`` into `save_directory` (created if needed) and return its path.

        Args:
            save_directory: the folder to write into.

        Returns:
            The path of the written JSON file.
        """
        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / self.config_name
        write_text_atomic(path, json.dumps(self.config_dict(), indent=2, sort_keys=False) + "\n")
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

    def save_pretrained(self, save_directory: str | os.PathLike) -> None:
        """Save the config into `save_directory`; models override this to add their weights.

        Args:
            save_directory: the folder to write into (created if needed).
        """
        self.save_config(save_directory)

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
