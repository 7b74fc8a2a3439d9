"""Pipeline: a bag of named components (models, schedulers) plus a short ``__call__``.

A saved pipeline is a folder with ``model_index.json`` and one sub-folder per component. When
the pipeline and every component have a diffusers twin (``diffusers_name``), it is written in
diffusers' layout by default, so diffusers loads it too::

    {"_class_name": "DDPMPipeline", "_diffusers_version": "0.42.1", "_gandiff_version": "0.1.0",
     "unet": ["diffusers", "UNet2DModel"], "scheduler": ["diffusers", "DDPMScheduler"]}

and in gandiff's own layout otherwise (a GAN, a 2-D denoiser)::

    {"_class_name": "GANPipeline", "_gandiff_version": "0.1.0",
     "generator": ["gandiff", "DCGANGenerator"], "discriminator": [null, null]}

Classes named there are found only through the registry (diffusers' names are mapped to
gandiff's equivalents), so a folder from anywhere can name only classes gandiff knows.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._version import __version__
from ..configuration import load_config_file, saved_class_name
from ..hub import PushToHubMixin, pop_hub_options, resolve_path
from ..outputs import Output
from ..registry import diffusers_twin, lookup, resolve_library_class
from ..saving import (
    DIFFUSERS_VERSION,
    MODEL_INDEX_NAME,
    atomic_directory,
    recover_interrupted_save,
    write_text_atomic,
)
from ..torch_utils import evaluating, randn_tensor

__all__ = [
    "Pipeline",
    "ComponentKindError",
    "ImagePipelineOutput",
    "PointsPipelineOutput",
    "evaluating",
    "no_side_effects",
    "randn_tensor",
    "MODEL_INDEX_NAME",
]


class ComponentKindError(TypeError, ValueError):
    """A component of the wrong kind for its slot (a model where a scheduler goes, or the reverse).

    A `TypeError` (an object of the wrong kind) and a `ValueError` (a bad value, often read from a
    hand-edited ``model_index.json``), so either ``except`` catches it.
    """


@dataclass
class ImagePipelineOutput(Output):
    """Generated images in [0, 1]: a list of PIL images, (B, H, W, C) numpy or (B, C, H, W) tensor.

    As in diffusers, ``out[0]`` is ``out.images`` and ``pipe(..., return_dict=False)`` returns
    ``(images,)``.

    Attributes:
        images: the images, in the ``output_type`` the pipeline was asked for.
    """

    images: Any


@dataclass
class PointsPipelineOutput(Output):
    """Generated points (B, D), as numpy or a tensor, in data units (no rescaling); ``out[0]`` is
    ``out.points``, and ``pipe(..., return_dict=False)`` returns ``(points,)``.

    Attributes:
        points: the points, in the ``output_type`` the pipeline was asked for.
    """

    points: Any


class Pipeline(PushToHubMixin):
    """Base class of pipelines: components by name, save / load, device moves, progress bar.

    Subclasses take their components as ``__init__`` keyword arguments and pass them to
    ``super().__init__(**components)``. Components are plain attributes, so assigning
    ``pipe.scheduler = other`` changes what ``__call__`` uses and what ``save_pretrained``
    writes. A subclass's ``__call__`` is decorated with `no_side_effects`, so sampling runs the
    networks in eval mode and changes nothing in them.

    Args:
        **components: the components by name: gandiff models (`ModelMixin`) and schedulers
            (`SchedulerMixin`), or ``None`` for an absent optional one.
    """

    registry_kind = "pipeline"  # how the registry files every subclass, a plugin's too

    # Whether the pipeline samples with a loop of scheduler steps: it then has a ``scheduler``
    # to swap and its call takes ``num_inference_steps``; one network call otherwise.
    is_diffusion: bool = False

    # The registry kind ("model", "scheduler") each component slot takes; a component that states
    # another kind is refused in __init__, not at the first call (a scheduler loaded into the
    # network's slot from a hand-edited model_index.json used to fail with an AttributeError).
    component_kinds: dict[str, str] = {}

    # The diffusers pipeline class that reads this class's folders, declared by each class itself
    # (`gandiff.registry.diffusers_twin`); saved in diffusers' layout when every component has a
    # twin too. `diffusers_aliases`, also declared by the class itself: other diffusers pipeline
    # classes whose folders it loads.
    diffusers_name: str | None = None
    diffusers_aliases: tuple[str, ...] = ()

    def __init__(self, **components: Any) -> None:
        for name, component in components.items():
            expected, stated = self.component_kinds.get(name), getattr(type(component), "registry_kind", None)
            if component is not None and expected is not None and stated is not None and stated != expected:
                raise ComponentKindError(
                    f"{type(self).__name__}'s {name} must be a {expected}, got {type(component).__name__} (a {stated})"
                )
        self._component_names = tuple(components)
        for name, component in components.items():
            setattr(self, name, component)
        self._progress_bar_config: dict[str, Any] = {}

    # -- components -------------------------------------------------------------------------

    @property
    def components(self) -> dict[str, Any]:
        """The named components, as passed to ``__init__`` (``None`` for an absent optional one)."""
        return {name: getattr(self, name) for name in self._component_names}

    @property
    def network(self) -> torch.nn.Module:
        """The network that makes the samples (the denoiser of a diffusion pipeline, a GAN's generator)."""
        raise NotImplementedError(f"{type(self).__name__} does not say which of its components is its network")

    @property
    def num_classes(self) -> int | None:
        """The number of classes of a class-conditional network; ``None`` for an unconditional one."""
        config = self.network.config
        # gandiff's models say num_classes; the U-Net keeps diffusers' name, num_class_embeds.
        return config.get("num_classes") or config.get("num_class_embeds")

    def _models(self) -> list[torch.nn.Module]:
        return [c for c in self.components.values() if isinstance(c, torch.nn.Module)]

    @property
    def device(self) -> torch.device:
        """The device of the first model component's parameters (CPU when there are none)."""
        for model in self._models():
            for tensor in model.parameters():
                return tensor.device
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the first model component's parameters (float32 when there are none)."""
        for model in self._models():
            for tensor in model.parameters():
                return tensor.dtype
        return torch.float32

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Pipeline:
        """Move every model component to `device` and/or cast it to `dtype`.

        Args:
            device: the target device; ``None`` leaves the device.
            dtype: the target floating-point dtype; ``None`` leaves the dtype.

        Returns:
            The pipeline itself, moved in place.
        """
        for model in self._models():
            model.to(device=device, dtype=dtype)
        return self

    # -- progress ---------------------------------------------------------------------------

    def set_progress_bar_config(self, **kwargs: Any) -> None:
        """Options for the tqdm bar of ``__call__``, e.g. ``disable=True``.

        Args:
            **kwargs: keyword arguments of ``tqdm``; they replace the earlier ones.
        """
        self._progress_bar_config = dict(kwargs)

    def progress_bar(self, iterable: Iterable) -> Iterable:
        """Wrap the sampling loop's iterable in a tqdm bar with ``set_progress_bar_config``'s options.

        Args:
            iterable: what ``__call__`` loops over (the scheduler's timesteps).

        Returns:
            The tqdm-wrapped iterable.
        """
        from tqdm.auto import tqdm

        return tqdm(iterable, **self._progress_bar_config)

    # -- saving and loading -----------------------------------------------------------------

    def diffusers_pipeline_name(self) -> str | None:
        """The diffusers pipeline class that would load this pipeline's save, if there is one.

        Returns:
            The class's diffusers twin when every component has one too; ``None`` otherwise
            (the pipeline is then saved in gandiff's layout).
        """
        twin = diffusers_twin(type(self))
        if twin is None or any(c is not None and diffusers_twin(type(c)) is None for c in self.components.values()):
            return None
        return twin

    def save_pretrained(self, save_directory: str | os.PathLike, diffusers_layout: bool | None = None) -> None:
        """Write ``model_index.json`` and one folder per component, atomically.

        In diffusers' layout (the default when `diffusers_pipeline_name` names a class) the index
        names diffusers' classes and library, and each component is saved in diffusers' layout,
        so ``diffusers.DiffusionPipeline.from_pretrained`` loads the folder; gandiff loads both.

        Only the files of the save are replaced; anything else in the folder stays (notes,
        ``evaluation.json``). A component folder of an earlier save that this pipeline lacks is
        removed only when it holds nothing but config and weights files, and a weights file of
        the other layout (``model.safetensors`` beside a new ``diffusion_pytorch_model.safetensors``)
        is removed.

        Args:
            save_directory: the pipeline folder; created when missing.
            diffusers_layout: ``None``: diffusers' layout when the pipeline and every component
                have a diffusers twin; ``True``: required (an error otherwise); ``False``:
                gandiff's layout.

        Raises:
            ValueError: when a component's class is not registered (it could not be loaded back),
                or for ``diffusers_layout=True`` when diffusers has no equivalent of the pipeline.
        """
        twin = self.diffusers_pipeline_name()
        if diffusers_layout and twin is None:
            missing = [type(c).__name__ for c in (self, *self.components.values()) if diffusers_twin(type(c)) is None]
            raise ValueError(
                f"diffusers has no equivalent of {', '.join(dict.fromkeys(missing))}, so it could not load this "
                f"{type(self).__name__}; save it with diffusers_layout=None (gandiff's layout)"
            )
        diffusers_layout = twin is not None if diffusers_layout is None else bool(diffusers_layout)
        if diffusers_layout:
            index = {"_class_name": twin, "_diffusers_version": DIFFUSERS_VERSION, "_gandiff_version": __version__}
        else:
            index = {"_class_name": type(self).__name__, "_gandiff_version": __version__}
        for name, component in self.components.items():
            if component is None:
                index[name] = [None, None]
                continue
            class_name = type(component).__name__
            kind = _component_kind(component)
            try:
                registered = lookup(kind, class_name)
            except KeyError:
                registered = None
            if registered is not type(component):
                raise ValueError(
                    f"component {name!r} is a {class_name}, which is not registered, so the folder could not "
                    f"be loaded back; decorate the class with @gandiff.register({kind!r})"
                )
            index[name] = (
                ["diffusers", diffusers_twin(type(component))] if diffusers_layout else ["gandiff", class_name]
            )
        with atomic_directory(save_directory) as staging:
            for name, component in self.components.items():
                if component is None:
                    continue
                if diffusers_twin(type(component)) is None:  # a plugin's save_pretrained may take no layout
                    component.save_pretrained(staging / name)
                else:
                    component.save_pretrained(staging / name, diffusers_layout=diffusers_layout)
            write_text_atomic(staging / MODEL_INDEX_NAME, json.dumps(index, indent=2) + "\n")

    @classmethod
    def from_pretrained(
        cls,
        pretrained_path: str | os.PathLike,
        torch_dtype: torch.dtype | None = None,
        *,
        allow_pickle: bool = False,
        **components: Any,
    ) -> Pipeline:
        """Load a pipeline folder written by gandiff's or diffusers' ``save_pretrained``, or a Hub repo.

        The pipeline class comes from ``model_index.json`` through the registry when called on
        ``Pipeline``; component classes always do. Keyword arguments replace components
        instead of loading them: ``DDPMPipeline.from_pretrained(path, scheduler=my_ddim)``;
        the names of the Hub keyword arguments (`gandiff.hub.HubOptions`: ``revision=``,
        ``token=``, ...) are taken as those, never as components.

        Args:
            pretrained_path: a local folder, or a Hub repo id ``"namespace/name"``; from a repo
                only ``model_index.json`` and its components' configs and weights are downloaded.
            torch_dtype: cast the models to this dtype after loading.
            allow_pickle: read (and download) a model's pickled ``.bin`` weights when it has no
                safetensors file, with ``torch.load(weights_only=True)``. Off by default.
            **components: components to use instead of loading them; and, for a Hub repo, the Hub
                keyword arguments (`gandiff.hub.HubOptions`).

        Returns:
            The pipeline, of the class named in ``model_index.json``.

        Raises:
            FileNotFoundError: when the folder has no ``model_index.json``.
            ValueError: when the saved pipeline is not a `cls`, or a component is unknown or
                not registered.
        """
        recover_interrupted_save(pretrained_path)
        folder = resolve_path(pretrained_path, allow_pickle=allow_pickle, **pop_hub_options(components))
        # exists(), not is_file(): a folder or FIFO in its place gets load_config_file's error
        index = load_config_file(folder / MODEL_INDEX_NAME) if (folder / MODEL_INDEX_NAME).exists() else None
        if index is None:
            raise FileNotFoundError(
                f"{folder} has no {MODEL_INDEX_NAME}; is it a pipeline saved with save_pretrained?"
            )
        library = "diffusers" if "_diffusers_version" in index else "gandiff"
        pipeline_cls = _pipeline_class(cls, library, saved_class_name(index, folder / MODEL_INDEX_NAME), folder)
        accepted = set(inspect.signature(pipeline_cls.__init__).parameters) - {"self"}

        unknown = set(components) - accepted
        if unknown:
            raise ValueError(
                f"{pipeline_cls.__name__} has no component(s) {sorted(unknown)}; its components: {sorted(accepted)}"
            )
        loaded: dict[str, Any] = {}
        for name, entry in index.items():
            if name.startswith("_") or name in components:
                continue
            if name not in accepted:
                raise ValueError(
                    f"{folder / MODEL_INDEX_NAME} names a component {name!r} that {pipeline_cls.__name__} does not take "
                    f"(it takes {sorted(accepted)})"
                )
            loaded[name] = _load_component(folder, name, entry, torch_dtype, allow_pickle)
        return pipeline_cls(**loaded, **components)

    # -- output -----------------------------------------------------------------------------

    @staticmethod
    def postprocess(samples: torch.Tensor, output_type: str | None) -> ImagePipelineOutput | PointsPipelineOutput:
        """Turn model-space samples into the requested output.

        Images (B, C, H, W) in [-1, 1] become [0, 1]: ``"pil"`` (default) a list of PIL images,
        ``"np"`` (B, H, W, C) float32, ``"pt"`` (B, C, H, W). Points (B, D) stay in data units:
        ``"np"`` (default) or ``"pt"``.

        Args:
            samples: the network-space samples, (B, C, H, W) images or (B, D) points.
            output_type: ``"pil"``, ``"np"`` or ``"pt"``; ``None`` for the default.

        Returns:
            `ImagePipelineOutput` for images, `PointsPipelineOutput` for points.

        Raises:
            ValueError: for an output type the samples cannot take, or samples that are
                neither images nor points.
        """
        samples = samples.detach().float().cpu()
        if samples.ndim == 2:
            output_type = output_type or "np"
            if output_type not in ("np", "pt"):
                raise ValueError(f"output_type={output_type!r} is not valid for points; choose 'np' or 'pt'")
            return PointsPipelineOutput(points=samples.numpy() if output_type == "np" else samples)
        if samples.ndim != 4:
            raise ValueError(f"cannot turn samples of shape {tuple(samples.shape)} into images or points")
        output_type = output_type or "pil"
        if output_type not in ("pil", "np", "pt"):
            raise ValueError(f"output_type={output_type!r} is not valid for images; choose 'pil', 'np' or 'pt'")
        images = (samples / 2 + 0.5).clamp(0, 1)
        if output_type == "pt":
            return ImagePipelineOutput(images=images)
        array = images.permute(0, 2, 3, 1).numpy()  # (B, H, W, C)
        if output_type == "np":
            return ImagePipelineOutput(images=array)
        return ImagePipelineOutput(images=numpy_to_pil(array))


def no_side_effects(call: Callable) -> Callable:
    """Decorate a pipeline's ``__call__``: every network runs in eval mode and gets its mode back after.

    Sampling then never changes a parameter or buffer (train-mode batch norm would update its
    running statistics) and depends only on the seed and the weights, not on the mode the
    caller left a network in, so a pipeline samples the same before and after a save.

    Args:
        call: the ``__call__`` method of a `Pipeline` subclass.

    Returns:
        The method, running its body with every model component in eval mode.
    """

    @functools.wraps(call)
    def wrapper(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        with contextlib.ExitStack() as stack:
            for model in self._models():
                stack.enter_context(evaluating(model))
            return call(self, *args, **kwargs)

    return wrapper


def numpy_to_pil(images: np.ndarray) -> list:
    """(B, H, W, C) floats in [0, 1] -> a list of PIL images (mode ``L`` for one channel)."""
    from PIL import Image

    pixels = (images * 255).round().astype("uint8")
    if pixels.shape[-1] == 1:
        return [Image.fromarray(p[..., 0], mode="L") for p in pixels]
    return [Image.fromarray(p) for p in pixels]


def _component_kind(component: Any) -> str:
    from ..models.modeling import ModelMixin
    from ..schedulers.protocol import SchedulerMixin

    if isinstance(component, ModelMixin):
        return "model"
    if isinstance(component, SchedulerMixin):
        return "scheduler"
    raise TypeError(
        f"a {type(component).__name__} cannot be a pipeline component; components are gandiff models "
        "(ModelMixin) and schedulers (SchedulerMixin)"
    )


def _pipeline_class(cls: type, library: str, class_name: str, folder) -> type:
    try:
        saved_cls = resolve_library_class(library, class_name, kinds=("pipeline",))
    except KeyError as err:
        raise ValueError(f"{folder / MODEL_INDEX_NAME}: {err.args[0]}") from None
    if not issubclass(saved_cls, cls):
        raise ValueError(f"{folder} holds a {class_name}, not a {cls.__name__}; load it with Pipeline.from_pretrained")
    return saved_cls


def _load_component(folder, name: str, entry: Any, torch_dtype: torch.dtype | None, allow_pickle: bool) -> Any:
    where = f"{folder / MODEL_INDEX_NAME}, entry {name!r}"
    if not (isinstance(entry, list) and len(entry) == 2):
        raise ValueError(f"{where}: expected [library, class name], got {entry!r}")
    library, class_name = entry
    if library is None and class_name is None:
        return None  # an optional component saved as absent
    if not (isinstance(library, str) and isinstance(class_name, str)):
        raise ValueError(f"{where}: expected two strings, got {entry!r}")
    try:
        component_cls = resolve_library_class(library, class_name)
    except KeyError as err:
        raise ValueError(f"{where}: {err.args[0]}") from None
    from ..models.modeling import ModelMixin

    if issubclass(component_cls, ModelMixin):
        return component_cls.from_pretrained(
            folder, subfolder=name, torch_dtype=torch_dtype, allow_pickle=allow_pickle
        )
    return component_cls.from_pretrained(folder, subfolder=name)
