"""DDIM: denoising diffusion implicit models (Song et al. 2021).

DDIM samples with a network trained for DDPM, unchanged, through a non-Markovian process with
the same marginals q(x_t | x_0). Its reverse step (eq. 12) moves to the previous timestep of
any sub-sequence of the training timesteps, so a few dozen steps suffice; η scales the noise,
from 0 (deterministic) to 1 (DDPM's ancestral sampler with σ_t² = β̃_t).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..registry import register
from ..torch_utils import randn_tensor
from ..validation import check_bool
from .alpha_bar import AlphaBarScheduler, check_sampling_options
from .parametrisation import clip_predicted_x0, predict_epsilon, predict_x0
from .protocol import SchedulerOutput
from .timesteps import previous_timestep

__all__ = ["DDIMScheduler"]


@register("scheduler")
class DDIMScheduler(AlphaBarScheduler):
    """Denoising diffusion implicit model sampler (Song et al. 2021); η is given to `step`.

    The keyword arguments are diffusers' ``DDIMScheduler`` configuration keys, with the same
    defaults; see `DDPMScheduler` for those the two share. DDIM has no ``variance_type`` (its
    variance is set by η), but a DDPM config keeps it through a round trip
    (``DDPMScheduler.from_config(DDIMScheduler.from_config(ddpm.config).config)``).

    Args:
        set_alpha_to_one: what ᾱ the last step moves to. True: 1, so the last step returns x̂_0.
            False: ᾱ_0, the first training timestep's (diffusers' convention).
        num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, clip_sample,
        prediction_type, thresholding, dynamic_thresholding_ratio, clip_sample_range,
        sample_max_value, timestep_spacing, steps_offset, rescale_betas_zero_snr: as for
            `DDPMScheduler`.

    Raises:
        ValueError: naming the valid values, for an unknown schedule, prediction type or spacing, a T
            outside [1, 100000], a bad β range or bad `trained_betas`, β whose ᾱ a step cannot
            divide by (`gandiff.schedulers.schedules.check_alpha_bar`), a flag that is not a bool,
            or a setting that is not a finite number; every config it accepts samples finite numbers.

    Example:
        >>> import torch
        >>> from gandiff import DDIMScheduler, DDPMScheduler
        >>> scheduler = DDIMScheduler.from_config(DDPMScheduler().config)  # same trained network
        >>> scheduler.set_timesteps(5)
        >>> scheduler.timesteps
        tensor([800, 600, 400, 200,   0])
        >>> x_t = torch.randn(1, 2)
        >>> for t in scheduler.timesteps:  # a "network" that predicts ε = 0: x̂_0 = x_t / √ᾱ_t
        ...     x_t = scheduler.step(torch.zeros(1, 2), t, x_t, eta=0.0).prev_sample
        >>> x_t.shape
        torch.Size([1, 2])
    """

    diffusers_name = "DDIMScheduler"  # same config keys and function (where diffusers is right)

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 0.0001,
        beta_end: float = 0.02,
        beta_schedule: str = "linear",
        trained_betas: Sequence[float] | None = None,
        clip_sample: bool = True,
        set_alpha_to_one: bool = True,
        steps_offset: int = 0,
        prediction_type: str = "epsilon",
        thresholding: bool = False,
        dynamic_thresholding_ratio: float = 0.995,
        clip_sample_range: float = 1.0,
        sample_max_value: float = 1.0,
        timestep_spacing: str = "leading",
        rescale_betas_zero_snr: bool = False,
    ):
        check_sampling_options(
            prediction_type,
            timestep_spacing,
            steps_offset,
            clip_sample_range,
            dynamic_thresholding_ratio,
            sample_max_value,
            clip_sample=clip_sample,
            thresholding=thresholding,
            num_train_timesteps=num_train_timesteps,
            rescale_betas_zero_snr=rescale_betas_zero_snr,
        )
        check_bool("set_alpha_to_one", set_alpha_to_one)
        self._build_tables(
            num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, rescale_betas_zero_snr
        )
        # The ᾱ the last step moves to: there is no previous timestep after the last one.
        self.final_alpha_cumprod = 1.0 if set_alpha_to_one else float(self.alphas_cumprod[0])

    def step(
        self,
        model_output: torch.Tensor,
        timestep: int | torch.Tensor,
        sample: torch.Tensor,
        eta: float = 0.0,
        generator: torch.Generator | list[torch.Generator] | None = None,
        *,
        return_dict: bool = True,
    ) -> SchedulerOutput | tuple[torch.Tensor, torch.Tensor]:
        """One reverse step x_t -> x_{t−1} of Song et al. 2021, eq. 12, with σ_t(η) of eq. 16.

        Args:
            model_output: the network's output at (x_t, t).
            timestep: t, an entry of ``self.timesteps``.
            sample: x_t.
            eta: η in [0, 1]: 0 is deterministic DDIM, 1 is DDPM's sampler with σ_t² = β̃_t.
            generator: a `torch.Generator`, or one per sample, for the noise when η > 0.
            return_dict: ``False`` returns the tuple ``(prev_sample, pred_original_sample)``, as diffusers does.

        Returns:
            `SchedulerOutput` with ``prev_sample`` x_{t−1} and ``pred_original_sample`` x̂_0.
        """
        # Notation (<variable name> -> <symbol in Song et al. 2021>). DDIM writes α_t for
        # DDPM's ᾱ_t, and t − 1 for the previous timestep of the schedule τ.
        # - alpha_bar_t     -> α_t
        # - alpha_bar_prev  -> α_{t−1}
        # - pred_epsilon    -> ε_θ^(t)(x_t)
        # - pred_x0         -> f_θ^(t)(x_t), "predicted x_0"
        # - sigma           -> σ_t(η)
        # - direction       -> "direction pointing to x_t"
        # - z               -> ε_t, the random noise
        # - prev_sample     -> x_{t−1}
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta must lie in [0, 1] (0: deterministic DDIM, 1: DDPM with σ² = β̃), got {eta!r}")
        t = int(timestep)
        prev_t = previous_timestep(self.timesteps, t)

        # 1. α_t and α_{t−1}: the previous timestep is looked up in the schedule.
        alpha_bar_t = float(self.alphas_cumprod[t])
        alpha_bar_prev = float(self.alphas_cumprod[prev_t]) if prev_t >= 0 else self.final_alpha_cumprod

        # 2. The network's ε and x_0, "predicted x_0" of eq. 12: (x_t − √(1 − α_t) ε_θ) / √α_t.
        pred_epsilon = predict_epsilon(model_output, sample, alpha_bar_t, self.config.prediction_type)
        pred_x0 = predict_x0(model_output, sample, alpha_bar_t, self.config.prediction_type)

        # 3. Clip or threshold x̂_0. ε stays the network's own, as in diffusers' default.
        pred_x0 = clip_predicted_x0(pred_x0, self.config)

        # 4. σ_t(η) = η √((1 − α_{t−1}) / (1 − α_t)) √(1 − α_t / α_{t−1}), eq. 16.
        sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)) ** 0.5

        # 5. "Direction pointing to x_t", eq. 12: √(1 − α_{t−1} − σ_t²) ε_θ. max(0, ·) only
        #    absorbs rounding: for η ≤ 1 the exact value is ≥ 0, and a negative float has a
        #    complex square root in Python.
        direction = max(1 - alpha_bar_prev - sigma**2, 0.0) ** 0.5 * pred_epsilon

        # 6. x_{t−1} = √α_{t−1} x̂_0 + direction + σ_t ε_t, eq. 12. The last step of the schedule
        #    adds no noise (diffusers adds σ_t ε_t there too, which is non-zero with
        #    set_alpha_to_one=False).
        prev_sample = alpha_bar_prev**0.5 * pred_x0 + direction
        if eta > 0 and prev_t >= 0:
            # Drawn with diffusers' call, so a seed gives diffusers' samples.
            z = randn_tensor(model_output.shape, generator, device=model_output.device, dtype=model_output.dtype)
            prev_sample = prev_sample + sigma * z
        output = SchedulerOutput(prev_sample=prev_sample, pred_original_sample=pred_x0)
        return output if return_dict else output.to_tuple()
