"""The base of schedulers defined by a table of ᾱ_t over T training timesteps (DDPM, DDIM).

Such a scheduler is its β schedule (`gandiff.schedulers.schedules`), the tables built from it
once in float64, and the protocol methods that need nothing but those tables: timestep
selection, the previous-timestep lookup and the forward process. Each sampler adds only its
``step``. `check_sampling_options` validates the settings DDPM and DDIM share.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from ..choices import PREDICTION_TYPES, TIMESTEP_SPACINGS
from ..validation import check_bool, check_choice, check_number, check_positive
from .parametrisation import q_sample, velocity
from .protocol import SchedulerMixin
from .schedules import make_betas
from .timesteps import previous_timestep, select_timesteps

__all__ = ["AlphaBarScheduler", "check_sampling_options"]

logger = logging.getLogger(__name__)


def check_sampling_options(
    prediction_type: str,
    timestep_spacing: str,
    steps_offset: int,
    clip_sample_range: float,
    dynamic_thresholding_ratio: float,
    sample_max_value: float,
    *,
    clip_sample: bool = False,
    thresholding: bool = False,
    num_train_timesteps: int | None = None,
    rescale_betas_zero_snr: bool = False,
) -> None:
    """Raise `ValueError` naming the valid values for a bad sampling setting (DDPM and DDIM).

    Args:
        prediction_type: one of `PREDICTION_TYPES`.
        timestep_spacing: one of `TIMESTEP_SPACINGS`.
        steps_offset: an int in [0, T − 1]: it shifts ``"leading"`` timesteps, which must stay
            training timesteps.
        clip_sample_range: the clipping bound, a finite number > 0.
        dynamic_thresholding_ratio: a quantile in (0, 1].
        sample_max_value: the largest dynamic threshold, a finite number > 0.
        clip_sample: a bool (a string such as ``"no"`` would be true).
        thresholding: a bool.
        num_train_timesteps: T, an int > 0, for the bound on `steps_offset`.
        rescale_betas_zero_snr: with ``prediction_type="epsilon"``, logs a warning: ε says nothing
            of x_0 at the last training timestep, where ᾱ = 0 (see `predict_x0`).

    Raises:
        ValueError: for the first setting that is not valid.
    """
    check_choice("prediction_type", prediction_type, PREDICTION_TYPES)
    check_choice("timestep_spacing", timestep_spacing, TIMESTEP_SPACINGS)
    check_positive("num_train_timesteps", num_train_timesteps, allow_none=True)
    check_positive("steps_offset", steps_offset, allow_zero=True)
    if num_train_timesteps is not None and steps_offset >= num_train_timesteps:
        raise ValueError(
            f"steps_offset={steps_offset} must be < num_train_timesteps={num_train_timesteps}: the shifted "
            "timesteps must be training timesteps (Stable Diffusion uses 1)"
        )
    check_bool("clip_sample", clip_sample)
    check_bool("thresholding", thresholding)
    for name, value in (
        ("clip_sample_range", clip_sample_range),
        ("dynamic_thresholding_ratio", dynamic_thresholding_ratio),
        ("sample_max_value", sample_max_value),
    ):
        check_number(name, value)
    if not clip_sample_range > 0:
        raise ValueError(f"clip_sample_range must be > 0 (x_0 is clipped to ±range), got {clip_sample_range!r}")
    if not 0 < dynamic_thresholding_ratio <= 1:
        raise ValueError(
            f"dynamic_thresholding_ratio is a quantile and must lie in (0, 1], got {dynamic_thresholding_ratio!r}"
        )
    if not sample_max_value > 0:
        raise ValueError(f"sample_max_value must be > 0, got {sample_max_value!r}")
    if rescale_betas_zero_snr is True and prediction_type == "epsilon":
        logger.warning(
            "rescale_betas_zero_snr=True with prediction_type='epsilon': at the last training timestep ᾱ = 0 and "
            "x_0 cannot be read from ε; Lin et al. 2024 train zero-SNR schedules with prediction_type='v_prediction'"
        )


class AlphaBarScheduler(SchedulerMixin):
    """The protocol methods of schedulers defined by a table ``self.alphas_cumprod`` of ᾱ_t over
    T training timesteps (DDPM, DDIM): timestep selection, the previous-timestep lookup and the
    forward process, written once. Subclasses call ``_build_tables`` in ``__init__`` and
    implement ``step``; their config holds ``num_train_timesteps``, ``timestep_spacing`` and
    ``steps_offset``.
    """

    betas: torch.Tensor
    alphas: torch.Tensor
    alphas_cumprod: torch.Tensor

    def _build_tables(
        self,
        num_train_timesteps: int,
        beta_start: float,
        beta_end: float,
        beta_schedule: str,
        trained_betas: Sequence[float] | None,
        rescale_betas_zero_snr: bool,
    ) -> None:
        """β_t, α_t = 1 − β_t and ᾱ_t = Π_{s≤t} α_s, validated (see `make_betas`), and every
        training timestep as the schedule until ``set_timesteps`` is called."""
        # The tables are built once, in float64, and only read afterwards (as improved-diffusion
        # does): ᾱ is a product of T factors close to 1, and 1 − ᾱ_t near t = 0 or ᾱ_t near
        # t = T (cosine: ~2.4e-9) lose most of their digits in float32. step() casts the few
        # numbers it needs to the sample's dtype.
        self.betas = make_betas(
            num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, rescale_betas_zero_snr
        )
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.timesteps = torch.arange(num_train_timesteps - 1, -1, -1, dtype=torch.int64)

    def set_timesteps(
        self,
        num_inference_steps: int | None = None,
        device: str | torch.device | None = None,
        timesteps: Sequence[int] | None = None,
    ) -> None:
        """Choose the timesteps to sample with: `num_inference_steps` of the T training
        timesteps, spaced by ``config.timestep_spacing``, or a custom descending list (DDIM's
        sub-sequence τ, Song et al. 2021, §4.2). With fewer than T steps, DDPM's step uses the
        respaced β of each jump (Nichol & Dhariwal 2021, §4).

        Args:
            num_inference_steps: N, at most T; give this or `timesteps`.
            device: where ``self.timesteps`` is put (the network's device).
            timesteps: a custom schedule of training timesteps, strictly descending.

        Raises:
            ValueError: as `select_timesteps`.
        """
        self.timesteps = select_timesteps(
            self.config.num_train_timesteps,
            num_inference_steps,
            timesteps,
            self.config.timestep_spacing,
            self.config.steps_offset,
        ).to(device)

    def previous_timestep(self, timestep: int | torch.Tensor) -> torch.Tensor:
        """The timestep that follows `timestep` in ``self.timesteps``; -1 after the last one.

        A 0-d tensor on the schedule's device, as diffusers returns it (its tests read
        ``.item()``); `gandiff.schedulers.timesteps.previous_timestep` gives the int.

        Args:
            timestep: an entry of ``self.timesteps``.

        Returns:
            The next timestep, or -1, as a 0-d int64 tensor.
        """
        return torch.tensor(previous_timestep(self.timesteps, timestep), device=self.timesteps.device)

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, a draw of q(x_t | x_0) (Ho et al. eq. 4); pure.

        Args:
            original_samples: x_0, a batch (B, ...).
            noise: ε, shaped like `original_samples`.
            timesteps: integer timesteps, (B,) or one for all.

        Returns:
            x_t, in `original_samples`' dtype and device.
        """
        return q_sample(self.alphas_cumprod, original_samples, noise, timesteps)

    def get_velocity(self, sample: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """The v-prediction target v = √ᾱ_t ε − √(1 − ᾱ_t) x_0 for the clean `sample` x_0.

        Args:
            sample, noise, timesteps: x_0, ε and t, as for `add_noise`.

        Returns:
            v, in `sample`'s dtype and device.
        """
        return velocity(self.alphas_cumprod, sample, noise, timesteps)
