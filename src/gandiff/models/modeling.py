"""ModelMixin: save, load and push a `torch.nn.Module`; its `device` and `dtype`. Nothing else.

A saved model is a folder with ``config.json`` (the constructor's arguments) and its weights:
``diffusion_pytorch_model.safetensors`` in diffusers' layout, the default for a model with a
diffusers twin (`UNet2DModel`), so diffusers loads it too; ``model.safetensors`` for every other
model. Both load, as do folders written by diffusers. Loading is strict: a missing, unexpected
or mis-shaped tensor is an error naming the key. Pickled ``.bin`` weights are read only when the
caller passes ``allow_pickle=True``, and then through ``torch.load(weights_only=True)``, which
refuses to run code; from a Hub repo they are not even downloaded otherwise. ``push_to_hub`` comes from `gandiff.hub.PushToHubMixin`
(through `ConfigMixin`): it uploads what ``save_pretrained`` writes.

A config file is untrusted input: 800 bytes can ask for ``layers_per_block: 10**6``. Before
anything is allocated, the model is built on the meta device (shapes without memory) under a
budget of the weights file's size, then compared with the file's header.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..configuration import ConfigMixin, saved_class_name
from ..hub import HubOptions, check_hub_options, resolve_path
from ..registry import diffusers_twin, resolve_library_class
from ..saving import (
    DIFFUSERS_WEIGHTS_NAME,
    PICKLE_WEIGHTS_NAMES,
    SAFETENSORS_WEIGHTS_NAMES,
    WEIGHTS_NAME,
    atomic_directory,
    recover_interrupted_save,
    use_umask_permissions,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

__all__ = ["ModelMixin", "WEIGHTS_NAME"]


class ModelMixin(torch.nn.Module, ConfigMixin):
    """Base class of gandiff models: `save_pretrained`, `from_pretrained`, `push_to_hub`, and
    diffusers' `device` and `dtype`.

    A model's ``forward`` returns a tensor; diffusers' forms come with ``return_dict``:
    ``model(..., return_dict=True).sample`` and ``model(..., return_dict=False)[0]`` (see
    `gandiff.outputs.model_output`).
    """

    config_name = "config.json"
    registry_kind = "model"  # how the registry files every subclass, a plugin's too

    @property
    def device(self) -> torch.device:
        """Where the model's first parameter (or buffer) is: diffusers' ``model.device``."""
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            return tensor.device
        return torch.device("cpu")  # nothing to move: a model without tensors runs anywhere

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the model's first floating-point parameter (or buffer): diffusers' ``model.dtype``."""
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            if tensor.is_floating_point():
                return tensor.dtype
        return torch.get_default_dtype()

    def save_pretrained(self, save_directory: str | os.PathLike, diffusers_layout: bool | None = None) -> None:
        """Write ``config.json`` and the weights into `save_directory`, atomically.

        The weights go to ``diffusion_pytorch_model.safetensors`` in diffusers' layout (the
        default for a model with a diffusers twin), ``model.safetensors`` otherwise. Only these two
        files are replaced (and another weights file of an earlier save, such as the other
        layout's, removed); anything else in the folder stays.

        Args:
            save_directory: the model's folder; created when missing.
            diffusers_layout: ``None``: diffusers' layout when the class has a diffusers twin;
                ``True``: required (an error otherwise); ``False``: gandiff's layout.
        """
        from safetensors.torch import save_file

        diffusers_layout = self.saves_in_diffusers_layout(diffusers_layout)
        weights_name = DIFFUSERS_WEIGHTS_NAME if diffusers_layout else WEIGHTS_NAME
        with atomic_directory(save_directory) as staging:
            self.save_config(staging, diffusers_layout)
            # contiguous() because safetensors refuses views; clone() because it also refuses
            # tensors that share storage (tied weights).
            state = {k: v.detach().contiguous().clone() for k, v in self.state_dict().items()}
            save_file(state, str(staging / weights_name), metadata={"format": "pt"})
            use_umask_permissions(staging / weights_name)

    @classmethod
    def from_pretrained(
        cls,
        pretrained_path: str | os.PathLike,
        subfolder: str | None = None,
        torch_dtype: torch.dtype | None = None,
        allow_pickle: bool = False,
        **hub_options: Unpack[HubOptions],
    ):
        """Build the model from its config and load its weights strictly.

        Args:
            pretrained_path: a folder written by ``save_pretrained`` (ours or diffusers'), or a
                Hub repo id ``"namespace/name"`` (only the config and weights are downloaded).
            subfolder: the component folder inside it, e.g. ``"unet"``.
            torch_dtype: cast the parameters to this dtype after loading.
            allow_pickle: also read legacy pickled ``.bin`` weights when no safetensors file
                exists (with ``torch.load(weights_only=True)``). Off by default: a pickle
                from an untrusted source can carry code.
            **hub_options: for a Hub repo, the Hub keyword arguments: `gandiff.hub.HubOptions`.

        Returns:
            The model, in eval mode. Called on ``ModelMixin`` itself, the class is read from
            the saved config through the registry.

        Raises:
            ValueError: when the folder holds another class, or a weight is missing, unexpected
                or of the wrong shape (every such key is named), or the config describes a
                model larger than the weights file (found in milliseconds, before allocating).
        """
        options = check_hub_options(hub_options, f"{cls.__name__}.from_pretrained")
        recover_interrupted_save(os.path.join(pretrained_path, subfolder) if subfolder else pretrained_path)
        folder = resolve_path(pretrained_path, subfolder, allow_pickle=allow_pickle, **options)
        config = cls.load_config(folder)
        saved_class = config.get("_class_name")
        # A diffusers-layout file names the diffusers twin, which may be spelt unlike the class.
        names = {cls.__name__, diffusers_twin(cls)} if "_diffusers_version" in config else {cls.__name__}
        if saved_class is not None and saved_class not in names and cls is not ModelMixin:
            raise ValueError(
                f"{folder} holds a {saved_class}, not a {cls.__name__}; load it with {saved_class}.from_pretrained"
            )
        if cls is ModelMixin:
            library = "diffusers" if "_diffusers_version" in config else "gandiff"
            saved_class = saved_class_name(config, folder / cls.config_name)
            return resolve_library_class(library, saved_class, kinds=("model",)).from_pretrained(
                folder, torch_dtype=torch_dtype, allow_pickle=allow_pickle
            )
        weights = _weights_file(folder, allow_pickle)
        state_dict = None if weights.suffix == ".safetensors" else _read_weights(weights)  # pickles have no header
        file_tensors = cls.convert_state_dict(_read_header(weights) if state_dict is None else state_dict)
        try:  # shapes first, on the meta device: nothing is allocated for a config that does not fit
            _check_state_dict(
                _build_within_file(cls, config, file_tensors, weights, on_meta=True), file_tensors, folder
            )
        except (RuntimeError, NotImplementedError):  # an __init__ that reads values: the real build is bounded too
            pass
        model = _build_within_file(cls, config, file_tensors, weights, on_meta=False)
        _check_state_dict(model, file_tensors, folder)
        state_dict = cls.convert_state_dict(_read_weights(weights) if state_dict is None else state_dict)
        model.load_state_dict(state_dict, strict=True)
        if torch_dtype is not None:
            model.to(torch_dtype)
        return model.eval()

    @classmethod
    def convert_state_dict(cls, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Rename legacy keys of older checkpoints; models with such history override this.

        Args:
            state_dict: the weights as read from the file.

        Returns:
            The weights under this model's current names (here: unchanged).
        """
        return state_dict


def _weights_file(folder: Path, allow_pickle: bool) -> Path:
    """The file to read a model's weights from: safetensors first, pickles only when allowed."""
    for name in SAFETENSORS_WEIGHTS_NAMES:
        if (folder / name).is_file():
            return folder / name
    for name in PICKLE_WEIGHTS_NAMES:
        if (folder / name).is_file():
            if not allow_pickle:
                raise ValueError(
                    f"{folder} holds only pickled weights ({name}). Pickles can run code when loaded; if you "
                    "trust the source, pass allow_pickle=True (read with torch.load(weights_only=True)), "
                    "or convert them to safetensors."
                )
            return folder / name
    raise FileNotFoundError(f"{folder} has no weights file; expected one of {', '.join(SAFETENSORS_WEIGHTS_NAMES)}")


def _read_header(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors as meta tensors (names and shapes, no data), from its header alone."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {key: torch.empty(f.get_slice(key).get_shape(), device="meta") for key in f.keys()}
    except (SafetensorError, OSError) as err:
        raise ValueError(
            f"{path} is not a readable safetensors file ({err}); it may be truncated: save it again"
        ) from None


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as err:
            raise ValueError(
                f"{path} is not a readable safetensors file ({err}); it may be truncated: save it again"
            ) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for bad or unsafe pickles
        raise ValueError(f"{path} could not be read as plain tensors ({err})") from None


class _OverBudget(Exception):
    """Raised inside a model's __init__ when its parameters outgrow the weights file."""


def _build_within_file(
    cls: type, config: dict, file_tensors: dict[str, torch.Tensor], weights: Path, on_meta: bool
) -> torch.nn.Module:
    """Build `cls` from `config` (on the meta device: shapes only), stopping as soon as it
    outgrows the weights file.

    Every parameter is in the state dict, so a model that matches the file never has more
    parameters, nor more parameter values, than the file holds tensors and values; one built from
    a bad config stops soon past either, long before a million layers are made.
    """
    tensors, values = len(file_tensors), sum(t.numel() for t in file_tensors.values())
    try:
        with contextlib.ExitStack() as stack:
            # Twice the file (plus a little for tiny files): a near miss is built in full, so that
            # the strict check names the exact keys; a config far larger stops within milliseconds.
            stack.enter_context(_parameter_budget(2 * tensors + 16, 2 * values + 2**16))
            if on_meta:
                stack.enter_context(torch.device("meta"))
                stack.enter_context(_SkipInitOnMeta())
            return cls.from_config(config)
    except _OverBudget as err:
        raise ValueError(
            f"{weights.parent / cls.config_name} asks for a {cls.__name__} larger than {weights} holds "
            f"({tensors:,} tensors, {values:,} values): building it went past twice that at {err.args[0]}. The config "
            "does not belong to these weights (was a size such as layers_per_block or block_out_channels changed?)"
        ) from None


class _SkipInitOnMeta(torch.overrides.TorchFunctionMode):
    """Random initialisation of a meta tensor does nothing: it has no values. Skipping it also
    spares torch's reference implementation of ``normal_`` on meta, which imports torch._dynamo
    (seconds). A torch function mode is thread-local, so other threads initialise as usual."""

    _INITIALISERS = frozenset(("normal_", "uniform_", "bernoulli_", "exponential_", "random_", "log_normal_"))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        target = args[0] if args else kwargs.get("tensor")  # torch.nn.init passes it by name
        if (
            getattr(func, "__name__", None) in self._INITIALISERS
            and isinstance(target, torch.Tensor)
            and target.is_meta
        ):
            return target
        return func(*args, **kwargs)


def _modules_being_built() -> str:
    """Where a build stands: the modules whose ``__init__`` is running, outermost first, e.g.
    ``UNet2DModel > DownBlock2D > ResnetBlock2D > Conv2d`` (their attribute names do not exist yet)."""
    chain: list[torch.nn.Module] = []
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_locals.get("self") if frame.f_code.co_name == "__init__" else None
        if isinstance(module, torch.nn.Module) and not any(m is module for m in chain):  # super().__init__ too
            chain.append(module)
        frame = frame.f_back
    return " > ".join(type(m).__name__ for m in reversed(chain))


@contextlib.contextmanager
def _parameter_budget(max_tensors: int, max_values: int) -> Iterator[None]:
    """Raise `_OverBudget` when the parameters registered in this thread outgrow either bound."""
    from torch.nn.modules.module import register_module_parameter_registration_hook

    thread = threading.get_ident()
    slots: dict[tuple[int, str], tuple[torch.nn.Module, torch.nn.Parameter]] = {}  # (module, name) -> param
    owners: dict[int, int] = {}  # id(param) -> slots holding it: a shared or moved parameter counts once
    size = {"tensors": 0, "values": 0}

    def add(key: tuple[int, str], module: torch.nn.Module, param: torch.nn.Parameter) -> None:
        slots[key] = (module, param)
        owners[id(param)] = owners.get(id(param), 0) + 1
        if owners[id(param)] == 1:
            size["tensors"] += 1
            size["values"] += param.numel()

    def drop(key: tuple[int, str]) -> None:
        param = slots.pop(key)[1]
        owners[id(param)] -= 1
        if owners[id(param)] == 0:
            del owners[id(param)]
            size["tensors"] -= 1
            size["values"] -= param.numel()

    def over() -> bool:
        return size["tensors"] > max_tensors or size["values"] > max_values

    def count(module: torch.nn.Module, name: str, param: torch.nn.Parameter | None) -> None:
        if threading.get_ident() != thread:  # the hook is global; other threads build their own
            return
        key = (id(module), name)
        if key in slots:  # re-assigned
            drop(key)
        if param is not None:  # register_parameter(name, None) puts nothing in the state dict
            add(key, module, param)
        if over():
            # A parameter can leave without a hook call (`del module.weight`): count only what is
            # still in place. The hook runs before torch stores `param`, so that one is in place.
            for other, (owner, kept) in list(slots.items()):
                if other != key and owner._parameters.get(other[1]) is not kept:
                    drop(other)
            if over():
                raise _OverBudget(f"{_modules_being_built()}.{name}")

    handle = register_module_parameter_registration_hook(count)
    try:
        yield
    finally:
        handle.remove()


def _check_state_dict(model: torch.nn.Module, state_dict: dict[str, torch.Tensor], folder: Path) -> None:
    """Strict loading with errors that name every offending key and both shapes."""
    expected = model.state_dict()
    problems = [f"missing {k} {tuple(v.shape)}" for k, v in expected.items() if k not in state_dict]
    problems += [f"unexpected {k} {tuple(v.shape)}" for k, v in state_dict.items() if k not in expected]
    problems += [
        f"shape of {k}: file {tuple(state_dict[k].shape)}, model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and state_dict[k].shape != v.shape
    ]
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise ValueError(
            f"the weights in {folder} do not match {type(model).__name__} built from its config.json: {shown}"
        )
