"""ModelMixin: save, load and push a `torch.nn.Module`. Nothing else.

A saved model is a folder with ``config.json`` (the constructor's arguments) and
``model.safetensors``. Folders written by diffusers (``diffusion_pytorch_model.safetensors``)
load too. Loading is strict: a missing, unexpected or mis-shaped tensor is an error naming the
key. Pickled ``.bin`` weights are read only when the caller passes ``allow_pickle=True``, and
then through ``torch.load(weights_only=True)``, which refuses to run code; from a Hub repo they
are not even downloaded otherwise. ``push_to_hub`` comes from `gandiff.hub.PushToHubMixin`
(through `ConfigMixin`): it uploads what ``save_pretrained`` writes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..configuration import ConfigMixin, saved_class_name
from ..hub import HubOptions, check_hub_options, resolve_path
from ..registry import resolve_library_class
from ..saving import (
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
    """Base class of gandiff models: `save_pretrained`, `from_pretrained`, `push_to_hub`."""

    config_name = "config.json"
    registry_kind = "model"  # how the registry files every subclass, a plugin's too

    def save_pretrained(self, save_directory: str | os.PathLike) -> None:
        """Write ``config.json`` and ``model.safetensors`` into `save_directory`, atomically.

        Only these two files are replaced (and another weights file of an earlier save, such as
        ``diffusion_pytorch_model.bin``, removed); anything else in the folder stays.

        Args:
            save_directory: the model's folder; created when missing.
        """
        from safetensors.torch import save_file

        with atomic_directory(save_directory) as staging:
            self.save_config(staging)
            # contiguous() because safetensors refuses views; clone() because it also refuses
            # tensors that share storage (tied weights).
            state = {k: v.detach().contiguous().clone() for k, v in self.state_dict().items()}
            save_file(state, str(staging / WEIGHTS_NAME), metadata={"format": "pt"})
            use_umask_permissions(staging / WEIGHTS_NAME)

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
                or of the wrong shape (every such key is named).
        """
        options = check_hub_options(hub_options, f"{cls.__name__}.from_pretrained")
        recover_interrupted_save(os.path.join(pretrained_path, subfolder) if subfolder else pretrained_path)
        folder = resolve_path(pretrained_path, subfolder, allow_pickle=allow_pickle, **options)
        config = cls.load_config(folder)
        saved_class = config.get("_class_name")
        if saved_class is not None and saved_class != cls.__name__ and cls is not ModelMixin:
            raise ValueError(
                f"{folder} holds a {saved_class}, not a {cls.__name__}; load it with {saved_class}.from_pretrained"
            )
        if cls is ModelMixin:
            library = "diffusers" if "_diffusers_version" in config else "gandiff"
            saved_class = saved_class_name(config, folder / cls.config_name)
            return resolve_library_class(library, saved_class, kinds=("model",)).from_pretrained(
                folder, torch_dtype=torch_dtype, allow_pickle=allow_pickle
            )
        model = cls.from_config(config)
        state_dict = cls.convert_state_dict(_read_weights(folder, allow_pickle))
        _check_state_dict(model, state_dict, folder)
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


def _read_weights(folder: Path, allow_pickle: bool) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    for name in SAFETENSORS_WEIGHTS_NAMES:
        path = folder / name
        if path.is_file():
            try:
                return load_file(str(path))
            except (SafetensorError, OSError) as err:
                raise ValueError(
                    f"{path} is not a readable safetensors file ({err}); it may be truncated: save it again"
                ) from None
    for name in PICKLE_WEIGHTS_NAMES:
        path = folder / name
        if path.is_file():
            if not allow_pickle:
                raise ValueError(
                    f"{folder} holds only pickled weights ({name}). Pickles can run code when loaded; if you "
                    "trust the source, pass allow_pickle=True (read with torch.load(weights_only=True)), "
                    "or convert them to safetensors."
                )
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except Exception as err:  # torch raises several types for bad or unsafe pickles
                raise ValueError(f"{path} could not be read as plain tensors ({err})") from None
    raise FileNotFoundError(f"{folder} has no weights file; expected one of {', '.join(SAFETENSORS_WEIGHTS_NAMES)}")


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
