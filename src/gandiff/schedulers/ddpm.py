"""DDPM: ancestral sampling of the reverse process (Ho et al. 2020, Algorithm 2).

The forward process adds Gaussian noise in T steps, q(x_t | x_{t−1}) = N(√(1 − β_t) x_{t−1}, β_t I),
so that q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) with ᾱ_t = Π_{s≤t} (1 − β_s). Sampling walks
back from x_T ~ N(0, I): at each step the network's output gives an estimate x̂_0 of x_0, and
x_{t−1} is drawn from the forward process's posterior q(x_{t−1} | x_t, x̂_0) (eq. 7), with the
variance σ_t² that `variance_type` selects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..choices import LEARNED_VARIANCE_TYPES, VARIANCE_TYPES
from ..registry import register
from ..torch_utils import randn_tensor
from ..validation import check_choice
from .alpha_bar import AlphaBarScheduler, check_sampling_options
from .parametrisation import clip_predicted_x0, predict_x0
from .protocol import SchedulerOutput
from .timesteps import previous_timestep

__all__ = ["DDPMScheduler", "VARIANCE_TYPES"]


@register("scheduler")
class DDPMScheduler(AlphaBarScheduler):
    """Denoising diffusion probabilistic model sampler (Ho et al. 2020).

    A bare ``DDPMScheduler()`` is Ho et al.'s setup: T = 1000, β linear from 1e-4 to 0.02,
    ε-prediction, σ_t² = β̃_t, x̂_0 clipped to [-1, 1]. The keyword arguments are diffusers'
    ``DDPMScheduler`` configuration keys, with the same defaults, so configs move between the
    two libraries unchanged.

    Args:
        num_train_timesteps: T, the number of forward steps the network was trained with.
        beta_start: β of the first step (linear, scaled_linear and sigmoid schedules).
        beta_end: β of the last step (same schedules).
        beta_schedule: ``"linear"``, ``"scaled_linear"``, ``"squaredcos_cap_v2"`` (alias
            ``"cosine"``, Nichol & Dhariwal 2021) or ``"sigmoid"``; see `gandiff.schedulers.schedules`.
        trained_betas: T betas to use as they are, instead of a named schedule.
        variance_type: σ_t² of the reverse step. ``"fixed_small"``: β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) β_t,
            the posterior variance (eq. 7). ``"fixed_large"``: β_t. ``"fixed_small_log"`` and
            ``"fixed_large_log"`` are the same σ computed through its logarithm (kept so diffusers
            configs load). ``"learned"``: the network outputs 2C channels, the second C being σ_t²
            itself (diffusers' convention). ``"learned_range"``: the second C channels are
            v ∈ [-1, 1] and σ_t² = exp(v' log β_t + (1 − v') log β̃_t) with v' = (v + 1) / 2
            (Nichol & Dhariwal 2021, eq. 15).
        clip_sample: clip x̂_0 to ±`clip_sample_range` (images only; never for unbounded data).
        prediction_type: what the network predicts: ``"epsilon"``, ``"sample"`` (x_0) or
            ``"v_prediction"``.
        thresholding: use dynamic thresholding (Saharia et al. 2022) instead of clipping.
        dynamic_thresholding_ratio: the quantile of |x̂_0| that dynamic thresholding uses.
        clip_sample_range: the bound of `clip_sample`.
        sample_max_value: the largest threshold dynamic thresholding may use.
        timestep_spacing: how `set_timesteps` picks N of the T timesteps: ``"leading"``,
            ``"trailing"`` or ``"linspace"`` (Lin et al. 2024, Table 2).
        steps_offset: added to every ``"leading"`` timestep (1 for Stable Diffusion).
        rescale_betas_zero_snr: rescale β so that ᾱ_T = 0 (Lin et al. 2024, Algorithm 1); pair
            it with ``prediction_type="v_prediction"``, since x_0 cannot be read from ε at ᾱ = 0
            (with ε, that step reads x̂_0 with ᾱ = 2⁻²⁴ and a warning is logged; see `predict_x0`).

    Raises:
        ValueError: naming the valid values, for an unknown schedule, variance type, prediction type or spacing, a T
            outside [1, 100000], a bad β range or bad `trained_betas`, β whose ᾱ a step cannot
            divide by (`gandiff.schedulers.schedules.check_alpha_bar`), a flag that is not a bool,
            or a setting that is not a finite number; every config it accepts samples finite numbers.

    Example:
        >>> import torch
        >>> from gandiff import DDPMScheduler
        >>> scheduler = DDPMScheduler()  # Ho et al. 2020
        >>> scheduler.config.beta_schedule, scheduler.config.variance_type, len(scheduler.timesteps)
        ('linear', 'fixed_small', 1000)
        >>> x0, noise = torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 4, 4)
        >>> x_t = scheduler.add_noise(x0, noise, torch.tensor([0, 999]))  # √(1 − ᾱ_t) ε here
        >>> [round(v, 4) for v in x_t[:, 0, 0, 0].tolist()]
        [0.01, 1.0]
        >>> scheduler.set_timesteps(10)
        >>> scheduler.timesteps
        tensor([900, 800, 700, 600, 500, 400, 300, 200, 100,   0])
        >>> out = scheduler.step(noise, 900, x_t, generator=torch.Generator().manual_seed(0))
        >>> out.prev_sample.shape, out.pred_original_sample.shape
        (torch.Size([2, 1, 4, 4]), torch.Size([2, 1, 4, 4]))
    """

    diffusers_name = "DDPMScheduler"  # same config keys and function (where diffusers is right)

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 0.0001,
        beta_end: float = 0.02,
        beta_schedule: str = "linear",
        trained_betas: Sequence[float] | None = None,
        variance_type: str = "fixed_small",
        clip_sample: bool = True,
        prediction_type: str = "epsilon",
        thresholding: bool = False,
        dynamic_thresholding_ratio: float = 0.995,
        clip_sample_range: float = 1.0,
        sample_max_value: float = 1.0,
        timestep_spacing: str = "leading",
        steps_offset: int = 0,
        rescale_betas_zero_snr: bool = False,
    ):
        check_choice("variance_type", variance_type, VARIANCE_TYPES)
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
        self._build_tables(
            num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, rescale_betas_zero_snr
        )

    def step(
        self,
        model_output: torch.Tensor,
        timestep: int | torch.Tensor,
        sample: torch.Tensor,
        generator: torch.Generator | list[torch.Generator] | None = None,
        *,
        return_dict: bool = True,
    ) -> SchedulerOutput | tuple[torch.Tensor, torch.Tensor]:
        """One reverse step x_t -> x_{t−1} (Ho et al. 2020, Algorithm 2, lines 3–4).

        Args:
            model_output: the network's output at (x_t, t); 2C channels for the learned variance types.
            timestep: t, an entry of ``self.timesteps``.
            sample: x_t.
            generator: a `torch.Generator`, or one per sample, for the step's noise z.
            return_dict: ``False`` returns the tuple ``(prev_sample, pred_original_sample)``, as diffusers does.

        Returns:
            `SchedulerOutput` with ``prev_sample`` x_{t−1} and ``pred_original_sample`` x̂_0.
        """
        t = int(timestep)
        prev_t = previous_timestep(self.timesteps, t)
        model_output, predicted_variance = self._split_variance(model_output, sample)

        # 1. ᾱ_t, ᾱ_{t−1} and the β_t, α_t of this step. Sampling with fewer than T steps runs a
        #    respaced process whose step from t to prev_t has β_t = 1 − ᾱ_t / ᾱ_{prev_t}
        #    (Nichol & Dhariwal 2021, §4); with all T steps this is the trained β_t. After the
        #    last step of the schedule comes x_0 itself: ᾱ_{−1} = 1.
        alpha_bar_t = float(self.alphas_cumprod[t])
        alpha_bar_prev = float(self.alphas_cumprod[prev_t]) if prev_t >= 0 else 1.0
        alpha_t = alpha_bar_t / alpha_bar_prev
        beta_t = 1.0 - alpha_t

        # 2. Predicted x_0, eq. 15: x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t for ε-prediction.
        pred_x0 = predict_x0(model_output, sample, alpha_bar_t, self.config.prediction_type)

        # 3. Clip or threshold x̂_0 to the data range.
        pred_x0 = clip_predicted_x0(pred_x0, self.config)

        # 4. Posterior mean, eq. 7:
        #    μ̃_t(x_t, x̂_0) = √ᾱ_{t−1} β_t / (1 − ᾱ_t) · x̂_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · x_t
        pred_x0_coeff = alpha_bar_prev**0.5 * beta_t / (1 - alpha_bar_t)
        sample_coeff = alpha_t**0.5 * (1 - alpha_bar_prev) / (1 - alpha_bar_t)
        posterior_mean = pred_x0_coeff * pred_x0 + sample_coeff * sample

        # 5. x_{t−1} = μ̃_t + σ_t z with z ~ N(0, I), and z = 0 at the last step (Algorithm 2,
        #    lines 3–4). diffusers adds noise whenever t > 0 instead; that is the same for
        #    "leading" and "linspace" spacings, whose last timestep is 0, but with "trailing"
        #    spacing, a steps_offset or a custom schedule it would add noise to the final sample.
        prev_sample = posterior_mean
        if prev_t >= 0:
            # Drawn after the mean with diffusers' call, so a seed gives diffusers' samples.
            z = randn_tensor(model_output.shape, generator, device=model_output.device, dtype=model_output.dtype)
            posterior_variance = (1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t  # β̃_t, eq. 7
            sigma = self._sigma(beta_t, posterior_variance, predicted_variance)
            prev_sample = posterior_mean + sigma * z
        output = SchedulerOutput(prev_sample=prev_sample, pred_original_sample=pred_x0)
        return output if return_dict else output.to_tuple()

    def _split_variance(
        self, model_output: torch.Tensor, sample: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(prediction, predicted variance): learned variance types output 2C channels."""
        if self.config.variance_type not in LEARNED_VARIANCE_TYPES:
            return model_output, None
        channels = sample.shape[1]
        if model_output.shape[1] != 2 * channels:
            raise ValueError(
                f"variance_type={self.config.variance_type!r} needs a model output with 2 × {channels} channels "
                f"(prediction, then variance), got {model_output.shape[1]}"
            )
        prediction, variance = torch.split(model_output, channels, dim=1)
        return prediction, variance

    def _sigma(
        self, beta_t: float, posterior_variance: float, predicted_variance: torch.Tensor | None
    ) -> float | torch.Tensor:
        """σ_t, the standard deviation of the step's noise, for ``config.variance_type``.

        Only called before the last step, where β̃_t > 0 and its logarithm is finite.
        """
        variance_type = self.config.variance_type
        if variance_type in ("fixed_small", "fixed_small_log"):
            return posterior_variance**0.5
        if variance_type in ("fixed_large", "fixed_large_log"):
            # diffusers computes fixed_large_log as √(log β_t), which is NaN; σ = exp(½ log β_t) = √β_t.
            return beta_t**0.5
        if variance_type == "learned":
            # A variance head can stray below 0 (early in training); take it as 0 rather than NaN.
            return predicted_variance.clamp(min=0).sqrt()
        # "learned_range": interpolate log σ² between log β̃_t and log β_t (Nichol & Dhariwal 2021, eq. 15).
        fraction = (predicted_variance + 1) / 2
        log_variance = fraction * math.log(beta_t) + (1 - fraction) * math.log(posterior_variance)
        return torch.exp(0.5 * log_variance)
