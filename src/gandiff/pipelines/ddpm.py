"""DDPMPipeline: sample from a trained noise-prediction network with any registered scheduler.

The network component is named ``unet`` when it is a U-Net (diffusers' name, so diffusers'
``model_index.json`` files load unchanged) and ``denoiser`` for any other network, such as the
2-D `MLPDenoiser`; exactly one of the two is given. Both are called as
``network(x_t, t, class_labels=...)`` and expose ``sample_shape``.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable

import torch

from ..registry import diffusers_twin, register
from ..torch_utils import randn_tensor
from .pipeline import ImagePipelineOutput, Pipeline, PointsPipelineOutput, no_side_effects
from .sampling import expand_class_labels

__all__ = ["DDPMPipeline"]


@register("pipeline")
class DDPMPipeline(Pipeline):
    """Ancestral sampling (Ho et al. 2020, Algorithm 2) or any scheduler that keeps the protocol.

    Args:
        unet: a U-Net noise-prediction network (e.g. `UNet2DModel`).
        scheduler: any `SchedulerMixin` (DDPM, DDIM, or a plugin's).
        denoiser: any other noise-prediction network (e.g. the 2-D `MLPDenoiser`); give it
            instead of `unet`.

    Raises:
        ValueError: unless exactly one of `unet` and `denoiser` is given, and a scheduler.

    Example:
        >>> import torch
        >>> from gandiff import DDIMScheduler, DDPMPipeline, DDPMScheduler, UNet2DModel
        >>> unet = UNet2DModel(
        ...     sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16),
        ...     down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        ...     layers_per_block=1, norm_num_groups=4, attention_head_dim=None,
        ... )
        >>> pipe = DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=50))
        >>> pipe.set_progress_bar_config(disable=True)
        >>> out = pipe(batch_size=2, num_inference_steps=5, generator=torch.Generator().manual_seed(0), output_type="pt")
        >>> out.images.shape
        torch.Size([2, 1, 8, 8])
        >>> pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)  # swap, no retraining
        >>> pipe(batch_size=2, num_inference_steps=5, output_type="np").images.shape
        (2, 8, 8, 1)
    """

    is_diffusion = True
    component_kinds = {"unet": "model", "denoiser": "model", "scheduler": "scheduler"}
    diffusers_name = "DDPMPipeline"
    diffusers_aliases = ("DDIMPipeline",)  # diffusers' DDIMPipeline: this loop with a DDIMScheduler

    def __init__(self, unet=None, scheduler=None, denoiser=None):
        if (unet is None) == (denoiser is None):
            raise ValueError("give the network as exactly one of unet= (a U-Net) or denoiser= (any other network)")
        if scheduler is None:
            raise ValueError("DDPMPipeline needs a scheduler, e.g. gandiff.DDPMScheduler()")
        network = {"unet": unet} if unet is not None else {"denoiser": denoiser}
        super().__init__(**network, scheduler=scheduler)

    @property
    def network(self) -> torch.nn.Module:
        """The noise-prediction network, whichever name it was given under."""
        return self.unet if "unet" in self._component_names else self.denoiser

    def diffusers_pipeline_name(self) -> str | None:
        """``"DDIMPipeline"`` with a DDIM scheduler (diffusers' DDIMPipeline turns any scheduler into
        DDIM, its DDPMPipeline keeps any), ``"DDPMPipeline"`` with another scheduler that has a
        diffusers twin; ``None`` for a ``denoiser`` (diffusers' pipelines take only ``unet``).

        Returns:
            The diffusers pipeline class name, or ``None``.
        """
        if "denoiser" in self._component_names or super().diffusers_pipeline_name() is None:
            return None
        return "DDIMPipeline" if diffusers_twin(type(self.scheduler)) == "DDIMScheduler" else "DDPMPipeline"

    @torch.no_grad()
    @no_side_effects
    def __call__(
        self,
        batch_size: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        num_inference_steps: int = 1000,
        class_labels: int | list[int] | torch.Tensor | None = None,
        output_type: str | None = None,
        eta: float | None = None,
        callback: Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], None] | None = None,
        return_dict: bool = True,
    ) -> ImagePipelineOutput | PointsPipelineOutput | tuple:
        """Generate `batch_size` samples.

        Args:
            batch_size: number of samples.
            generator: a `torch.Generator`, or one per sample, for reproducible samples.
            num_inference_steps: reverse steps (the scheduler spaces them over its T).
            class_labels: one label for all samples or one per sample (conditional networks).
            output_type: ``"pil"`` | ``"np"`` | ``"pt"`` for images (default ``"pil"``),
                ``"np"`` | ``"pt"`` for points (default ``"np"``).
            eta: DDIM's η (0 deterministic, 1 like DDPM with β̃); only for schedulers whose
                ``step`` takes it.
            callback: called after each step as ``callback(i, t, x_t, pred_x0)``: the step's
                index, its timestep, the sample x_t the network was given and the scheduler's
                prediction of x_0 from it (k-diffusion's per-step hook, for pictures and
                diagnostics; it must not change the tensors).
            return_dict: ``False`` returns the tuple ``(images,)`` (or ``(points,)``), as diffusers does.

        Returns:
            `ImagePipelineOutput` (``.images`` in [0, 1]) for a U-Net on images,
            `PointsPipelineOutput` (``.points`` in data units) for a points denoiser.

        Raises:
            ValueError: for `eta` with a scheduler whose ``step`` takes none, or class labels
                of the wrong shape.
        """
        network, scheduler = self.network, self.scheduler
        step_kwargs = self._step_kwargs(eta)
        shape = (batch_size, *network.sample_shape)
        if len(shape) == 2 and scheduler.config.get("clip_sample", False):
            warnings.warn(
                "clip_sample=True clips predicted x_0 to [-1, 1], which destroys unbounded data such as 2-D "
                "points; build the scheduler with clip_sample=False",
                stacklevel=2,
            )
        labels = expand_class_labels(class_labels, batch_size, self.device)

        # x_T ~ N(0, σ_init² I): one randn call, so a seed gives the same samples as diffusers.
        sample = randn_tensor(shape, generator, self.device, self.dtype) * scheduler.init_noise_sigma
        scheduler.set_timesteps(num_inference_steps, device=self.device)
        for i, t in enumerate(self.progress_bar(scheduler.timesteps)):
            model_output = network(scheduler.scale_model_input(sample, t), t, class_labels=labels)
            step = scheduler.step(model_output, t, sample, generator=generator, **step_kwargs)
            if callback is not None:
                callback(i, t, sample, step.pred_original_sample)
            sample = step.prev_sample
        output = self.postprocess(sample, output_type)
        return output if return_dict else output.to_tuple()

    def _step_kwargs(self, eta: float | None) -> dict:
        if eta is None:
            return {}
        if "eta" not in inspect.signature(self.scheduler.step).parameters:
            raise ValueError(
                f"eta applies to DDIM-style schedulers; {type(self.scheduler).__name__}.step takes no eta"
            )
        return {"eta": eta}
