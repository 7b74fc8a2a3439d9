"""The scheduler protocol, and the helpers DDPM and DDIM share.

A scheduler owns the noise schedule and the update rule; it never calls the network. A
pipeline only uses::

    scheduler.set_timesteps(num_inference_steps, device=None)
    scheduler.timesteps                      # 1-D tensor, descending (integers for DDPM, DDIM)
    scheduler.init_noise_sigma               # scale of the starting noise
    scheduler.scale_model_input(x, t)        # what the network is given at step t
    out = scheduler.step(model_output, t, x, generator=None)
    out.prev_sample, out.pred_original_sample
    scheduler.add_noise(x0, noise, timesteps)   # q(x_t | x_0), for training; pure

Below the protocol are the pieces both schedulers use, written once: reading the network's
output as x_0 or ε (`predict_x0`, `predict_epsilon`), clipping and thresholding x_0, timestep
spacing and the previous-timestep lookup, seeded noise, and the forward process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..choices import PREDICTION_TYPES, TIMESTEP_SPACINGS
from ..configuration import ConfigMixin
from ..validation import check_choice, check_positive

__all__ = [
    "SchedulerMixin",
    "AlphaBarScheduler",
    "SchedulerOutput",
    "PREDICTION_TYPES",
    "TIMESTEP_SPACINGS",
    "check_sampling_options",
    "predict_x0",
    "predict_epsilon",
    "clip_predicted_x0",
    "dynamic_threshold",
    "select_timesteps",
    "spaced_timesteps",
    "previous_timestep",
    "randn_tensor",
    "q_sample",
    "velocity",
]


@dataclass
class SchedulerOutput:
    """One reverse step: x_{t-1} and the model's estimate of x_0 at step t.

    Attributes:
        prev_sample: x_{t−1}, the next sample of the reverse process.
        pred_original_sample: x̂_0, the estimate of the clean sample made at step t.
    """

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class SchedulerMixin(ConfigMixin):
    """Base of every scheduler: its config file name and the protocol above.

    Subclasses set ``self.timesteps`` in ``set_timesteps`` and implement ``step`` and
    ``add_noise``. DDPM and DDIM start from unit-variance noise and give the network x_t as
    it is, so ``init_noise_sigma`` is 1 and ``scale_model_input`` is the identity here;
    schedulers of other families (k-diffusion style) override both, and pipelines honour them.
    """

    config_name = "scheduler_config.json"
    registry_kind = "scheduler"  # how the registry files every subclass, a plugin's too
    init_noise_sigma: float = 1.0
    timesteps: torch.Tensor

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        """Choose the timesteps of sampling, descending, as ``self.timesteps``.

        Args:
            num_inference_steps: how many reverse steps sampling takes.
            device: where ``self.timesteps`` is put (the network's device).
        """
        raise NotImplementedError

    def scale_model_input(self, sample: torch.Tensor, timestep: int | torch.Tensor) -> torch.Tensor:
        """What the network is given at `timestep`: the identity for DDPM and DDIM.

        Args:
            sample: the current sample.
            timestep: an entry of ``self.timesteps``.

        Returns:
            The network's input, shaped like `sample`.
        """
        return sample

    def step(
        self,
        model_output: torch.Tensor,
        timestep: int | torch.Tensor,
        sample: torch.Tensor,
        generator: torch.Generator | list[torch.Generator] | None = None,
    ) -> SchedulerOutput:
        """One reverse step from `sample` at `timestep` to the next timestep of the schedule.

        Args:
            model_output: the network's output at (``scale_model_input(sample, timestep)``, `timestep`).
            timestep: an entry of ``self.timesteps``.
            sample: the current sample.
            generator: a `torch.Generator`, or one per sample, for the step's noise.

        Returns:
            `SchedulerOutput` with the next sample and the estimate of x_0.
        """
        raise NotImplementedError

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """A draw of the forward process at `timesteps` from clean samples, for training; pure.

        Args:
            original_samples: x_0, a batch of clean samples.
            noise: ε ~ N(0, I), shaped like `original_samples`.
            timesteps: one timestep per sample (or one for all).

        Returns:
            The noisy samples x_t, shaped like `original_samples`.
        """
        raise NotImplementedError


# -- settings shared by DDPM and DDIM ----------------------------------------------------------


def check_sampling_options(
    prediction_type: str,
    timestep_spacing: str,
    steps_offset: int,
    clip_sample_range: float,
    dynamic_thresholding_ratio: float,
    sample_max_value: float,
) -> None:
    """Raise `ValueError` naming the valid values for a bad sampling setting (DDPM and DDIM).

    Args:
        prediction_type: one of `PREDICTION_TYPES`.
        timestep_spacing: one of `TIMESTEP_SPACINGS`.
        steps_offset: an int >= 0.
        clip_sample_range: the clipping bound, > 0.
        dynamic_thresholding_ratio: a quantile in (0, 1].
        sample_max_value: the largest dynamic threshold, > 0.

    Raises:
        ValueError: for the first setting that is not valid.
    """
    check_choice("prediction_type", prediction_type, PREDICTION_TYPES)
    check_choice("timestep_spacing", timestep_spacing, TIMESTEP_SPACINGS)
    check_positive("steps_offset", steps_offset, allow_zero=True)
    if not clip_sample_range > 0:
        raise ValueError(f"clip_sample_range must be > 0 (x_0 is clipped to ±range), got {clip_sample_range!r}")
    if not 0 < dynamic_thresholding_ratio <= 1:
        raise ValueError(
            f"dynamic_thresholding_ratio is a quantile and must lie in (0, 1], got {dynamic_thresholding_ratio!r}"
        )
    if not sample_max_value > 0:
        raise ValueError(f"sample_max_value must be > 0, got {sample_max_value!r}")


# -- the model output, read as x_0 or ε ----------------------------------------------------------


def predict_x0(
    model_output: torch.Tensor, sample: torch.Tensor, alpha_bar_t: float, prediction_type: str
) -> torch.Tensor:
    """The network's estimate of x_0 from x_t, whatever it was trained to predict.

    With x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε:

    * ``"epsilon"``: x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t (Ho et al. 2020, eq. 15);
    * ``"sample"``: the network predicts x_0 itself;
    * ``"v_prediction"``: x̂_0 = √ᾱ_t x_t − √(1 − ᾱ_t) v_θ, where v = √ᾱ_t ε − √(1 − ᾱ_t) x_0
      (Salimans & Ho 2022, §4).

    Args:
        model_output: the network's output at step t, shaped like `sample`.
        sample: x_t.
        alpha_bar_t: ᾱ_t, a Python float (or a tensor broadcastable against `sample`).
        prediction_type: one of `PREDICTION_TYPES`.

    Returns:
        x̂_0, shaped like `sample`.

    Example:
        >>> import torch
        >>> from gandiff.schedulers.scheduling_utils import predict_x0
        >>> x0, eps, alpha_bar = torch.tensor([0.5]), torch.tensor([2.0]), 0.64
        >>> x_t = alpha_bar**0.5 * x0 + (1 - alpha_bar) ** 0.5 * eps  # 0.8 · 0.5 + 0.6 · 2
        >>> predict_x0(eps, x_t, alpha_bar, "epsilon")  # the exact ε gives back x_0
        tensor([0.5000])
    """
    check_choice("prediction_type", prediction_type, PREDICTION_TYPES)
    if prediction_type == "epsilon":
        return (sample - (1 - alpha_bar_t) ** 0.5 * model_output) / alpha_bar_t**0.5
    if prediction_type == "sample":
        return model_output
    return alpha_bar_t**0.5 * sample - (1 - alpha_bar_t) ** 0.5 * model_output  # "v_prediction"


def predict_epsilon(
    model_output: torch.Tensor, sample: torch.Tensor, alpha_bar_t: float, prediction_type: str
) -> torch.Tensor:
    """The network's estimate of the noise ε in x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε; see `predict_x0`.

    * ``"epsilon"``: the network predicts ε itself;
    * ``"sample"``: ε̂ = (x_t − √ᾱ_t x̂_0) / √(1 − ᾱ_t);
    * ``"v_prediction"``: ε̂ = √ᾱ_t v_θ + √(1 − ᾱ_t) x_t.

    Args:
        model_output: the network's output at step t, shaped like `sample`.
        sample: x_t.
        alpha_bar_t: ᾱ_t (less than 1 for ``"sample"``, which divides by √(1 − ᾱ_t)).
        prediction_type: one of `PREDICTION_TYPES`.

    Returns:
        ε̂, shaped like `sample`.
    """
    check_choice("prediction_type", prediction_type, PREDICTION_TYPES)
    if prediction_type == "epsilon":
        return model_output
    if prediction_type == "sample":
        return (sample - alpha_bar_t**0.5 * model_output) / (1 - alpha_bar_t) ** 0.5
    return alpha_bar_t**0.5 * model_output + (1 - alpha_bar_t) ** 0.5 * sample  # "v_prediction"


def clip_predicted_x0(pred_x0: torch.Tensor, config: Mapping) -> torch.Tensor:
    """Keep the predicted x_0 in the data range, as the scheduler `config` says.

    ``thresholding=True``: dynamic thresholding (Saharia et al. 2022, §2.3), see
    `dynamic_threshold`. Otherwise ``clip_sample=True`` clips to ±``clip_sample_range``, as Ho
    et al.'s official sampler clips images to [-1, 1]. Unbounded data (2-D points, latents)
    must use neither: clipping destroys it.

    Args:
        pred_x0: x̂_0.
        config: a scheduler config with ``thresholding``, ``clip_sample``,
            ``clip_sample_range``, ``dynamic_thresholding_ratio`` and ``sample_max_value``.

    Returns:
        x̂_0 clipped or thresholded, or unchanged when the config asks for neither.
    """
    if config["thresholding"]:
        return dynamic_threshold(pred_x0, config["dynamic_thresholding_ratio"], config["sample_max_value"])
    if config["clip_sample"]:
        return pred_x0.clamp(-config["clip_sample_range"], config["clip_sample_range"])
    return pred_x0


def dynamic_threshold(pred_x0: torch.Tensor, ratio: float, max_value: float) -> torch.Tensor:
    """Saharia et al. 2022 (Imagen), §2.3: per sample, s = the `ratio` quantile of |x̂_0|,
    clamped to [1, `max_value`]; then x̂_0 ← clip(x̂_0, −s, s) / s.

    With s = 1 this is plain clipping to [-1, 1]; a larger s pulls saturated values inwards
    instead of flattening them.

    Args:
        pred_x0: x̂_0, a batch (B, ...).
        ratio: the quantile of |x̂_0| taken as s (0.995 in the paper).
        max_value: the largest s.

    Returns:
        The thresholded x̂_0, in its dtype.
    """
    flat = pred_x0.reshape(pred_x0.shape[0], -1)  # (B, everything else)
    # torch.quantile accepts only float32 and float64.
    if flat.dtype not in (torch.float32, torch.float64):
        flat = flat.float()
    s = torch.quantile(flat.abs(), ratio, dim=1).clamp(min=1, max=max_value).unsqueeze(1)  # (B, 1)
    flat = torch.maximum(torch.minimum(flat, s), -s) / s
    return flat.reshape(pred_x0.shape).to(pred_x0.dtype)


# -- timesteps -----------------------------------------------------------------------------------


def spaced_timesteps(
    num_train_timesteps: int, num_inference_steps: int, spacing: str, steps_offset: int = 0
) -> torch.Tensor:
    """`num_inference_steps` of the `num_train_timesteps` training timesteps, descending (int64).

    The spacings of Lin et al. 2024, Table 2, with diffusers' rounding (T = 1000, N = 10):

    * ``"leading"``: multiples of T // N, plus `steps_offset`: [900, 800, ..., 0];
    * ``"trailing"``: T − 1 down in steps of T / N, rounded: [999, 899, ..., 99];
    * ``"linspace"``: N values evenly spaced over [0, T − 1], rounded: [999, 888, ..., 0].

    numpy computes the grids with the same floating-point operations as diffusers, so values
    and ties (937.5) round the same way in both libraries. ``np.arange`` with a float step can
    return N + 1 values (T = 1000, N = 61): diffusers then samples 62 steps, the last at
    timestep -1; we keep the first N.

    Args:
        num_train_timesteps: T.
        num_inference_steps: N, at most T.
        spacing: one of `TIMESTEP_SPACINGS`.
        steps_offset: added to ``"leading"`` timesteps.

    Returns:
        N timesteps, int64, descending.

    Raises:
        ValueError: for a bad N or spacing, or an offset that pushes a timestep past T − 1.

    Example:
        >>> from gandiff.schedulers.scheduling_utils import spaced_timesteps
        >>> spaced_timesteps(1000, 10, "leading").tolist()
        [900, 800, 700, 600, 500, 400, 300, 200, 100, 0]
        >>> spaced_timesteps(1000, 10, "trailing").tolist()
        [999, 899, 799, 699, 599, 499, 399, 299, 199, 99]
        >>> spaced_timesteps(1000, 10, "linspace").tolist()
        [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]
    """
    check_positive("num_inference_steps", num_inference_steps)
    check_choice("timestep_spacing", spacing, TIMESTEP_SPACINGS)
    if num_inference_steps > num_train_timesteps:
        raise ValueError(
            f"num_inference_steps={num_inference_steps} exceeds num_train_timesteps={num_train_timesteps}: "
            "the network knows only the training timesteps"
        )
    if spacing == "leading":
        timesteps = np.arange(num_inference_steps, dtype=np.int64)[::-1] * (num_train_timesteps // num_inference_steps)
        timesteps = timesteps + steps_offset
    elif spacing == "trailing":
        step = num_train_timesteps / num_inference_steps
        grid = np.arange(num_train_timesteps, 0, -step)[:num_inference_steps]
        timesteps = np.round(grid).astype(np.int64) - 1
    else:  # "linspace"
        timesteps = np.linspace(0, num_train_timesteps - 1, num_inference_steps).round()[::-1].astype(np.int64)
    if timesteps[0] >= num_train_timesteps:
        raise ValueError(
            f"steps_offset={steps_offset} pushes the first timestep to {timesteps[0]}, past the last training "
            f"timestep {num_train_timesteps - 1}; lower steps_offset or num_inference_steps"
        )
    return torch.from_numpy(timesteps.copy())


def select_timesteps(
    num_train_timesteps: int,
    num_inference_steps: int | None,
    timesteps: Sequence[int] | torch.Tensor | None,
    spacing: str,
    steps_offset: int = 0,
) -> torch.Tensor:
    """The sampling schedule for ``set_timesteps``: `num_inference_steps` spaced by `spacing`
    (see `spaced_timesteps`), or a custom strictly descending list of training timesteps.

    Args:
        num_train_timesteps: T.
        num_inference_steps: N; give this or `timesteps`.
        timesteps: a custom schedule of training timesteps, strictly descending.
        spacing: one of `TIMESTEP_SPACINGS`, for `num_inference_steps`.
        steps_offset: added to ``"leading"`` timesteps.

    Returns:
        The timesteps, int64, descending, on the CPU.

    Raises:
        ValueError: unless exactly one of `num_inference_steps` and `timesteps` is given, or
            for custom timesteps that are not integers in [0, T − 1], strictly descending.
    """
    if (num_inference_steps is None) == (timesteps is None):
        raise ValueError("pass exactly one of num_inference_steps (an int) or timesteps (a descending list)")
    if timesteps is None:
        return spaced_timesteps(num_train_timesteps, num_inference_steps, spacing, steps_offset)
    custom = torch.as_tensor(timesteps).flatten()
    if custom.numel() == 0 or custom.is_floating_point() or custom.is_complex():
        raise ValueError(f"timesteps must be a non-empty list of integers, got {timesteps!r}")
    custom = custom.to(device="cpu", dtype=torch.int64)
    if not (custom[1:] < custom[:-1]).all():
        raise ValueError(f"timesteps must be strictly descending, got {custom.tolist()}")
    if custom[0] >= num_train_timesteps or custom[-1] < 0:
        raise ValueError(f"timesteps must lie in [0, {num_train_timesteps - 1}], got {custom.tolist()}")
    return custom


def previous_timestep(timesteps: torch.Tensor, timestep: int | torch.Tensor) -> int:
    """The timestep after `timestep` in the descending schedule `timesteps`; -1 after the last.

    Looked up rather than computed as ``t − T // N``, which is right only for ``"leading"``
    spacing (diffusers issues 11347 and 12633). -1 means "the end of the chain": ᾱ_prev = 1
    for DDPM, DDIM's ``final_alpha_cumprod``, and no noise added.

    Args:
        timesteps: the schedule, descending.
        timestep: an entry of `timesteps`.

    Returns:
        The next entry of `timesteps`, or -1 after the last one.

    Raises:
        ValueError: when `timestep` is not in the schedule.

    Example:
        >>> import torch
        >>> from gandiff.schedulers.scheduling_utils import previous_timestep
        >>> schedule = torch.tensor([999, 666, 333, 0])
        >>> previous_timestep(schedule, 666), previous_timestep(schedule, 0)
        (333, -1)
    """
    matches = (timesteps == timestep).nonzero()
    if len(matches) == 0:
        shown = timesteps.tolist()
        shown = shown if len(shown) <= 12 else [*shown[:6], "...", *shown[-6:]]
        raise ValueError(
            f"timestep {int(timestep)} is not in the schedule {shown}; step through scheduler.timesteps "
            "after set_timesteps"
        )
    index = int(matches[0, 0])
    return int(timesteps[index + 1]) if index + 1 < len(timesteps) else -1


# -- noise ---------------------------------------------------------------------------------------


def randn_tensor(
    shape: Sequence[int],
    generator: torch.Generator | list[torch.Generator] | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Standard normal noise drawn the way diffusers draws it, so a seed gives the same tensor.

    One ``torch.randn`` call for a single generator; with a list of generators, sample i is
    drawn from ``generator[i]`` alone (per-sample seeds). Noise is drawn on the generator's
    device, then moved, so a CPU generator gives the same numbers whatever the target device.

    Args:
        shape: the shape of the noise, batch first.
        generator: ``None`` (torch's global generator), one generator, or one per sample.
        device: where the noise ends up.
        dtype: the noise's dtype; torch's default when ``None``.

    Returns:
        The noise, of `shape`.

    Raises:
        ValueError: when a list of generators does not hold one per sample.
    """
    shape = tuple(shape)
    if isinstance(generator, (list, tuple)):
        if len(generator) != shape[0]:
            raise ValueError(f"got {len(generator)} generators for a batch of {shape[0]}; pass one per sample")
        parts = [torch.randn((1, *shape[1:]), generator=g, device=g.device, dtype=dtype) for g in generator]
        return torch.cat(parts).to(device)
    draw_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=draw_device, dtype=dtype).to(device)


# -- the forward process -------------------------------------------------------------------------


def q_sample(
    alphas_cumprod: torch.Tensor, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
) -> torch.Tensor:
    """x_t ~ q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I): returns √ᾱ_t x_0 + √(1 − ᾱ_t) ε (Ho et al. 2020, eq. 4).

    `timesteps` holds one t per sample (or one for all). The coefficients are computed in the
    table's float64, then cast to `original_samples`' dtype and device per call: the table
    itself is never modified or moved.

    Args:
        alphas_cumprod: the table of ᾱ_t, one per training timestep.
        original_samples: x_0, a batch (B, ...).
        noise: ε, shaped like `original_samples`.
        timesteps: integer timesteps, (B,) or one for all.

    Returns:
        x_t, in `original_samples`' dtype and device.
    """
    sqrt_alpha_bar = _per_sample(alphas_cumprod.sqrt(), timesteps, original_samples)
    sqrt_one_minus_alpha_bar = _per_sample((1 - alphas_cumprod).sqrt(), timesteps, original_samples)
    return sqrt_alpha_bar * original_samples + sqrt_one_minus_alpha_bar * noise


def velocity(
    alphas_cumprod: torch.Tensor, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
) -> torch.Tensor:
    """The v-prediction target v = √ᾱ_t ε − √(1 − ᾱ_t) x_0 (Salimans & Ho 2022, §4); pure, like `q_sample`.

    Args:
        alphas_cumprod: the table of ᾱ_t, one per training timestep.
        original_samples: x_0, a batch (B, ...).
        noise: ε, shaped like `original_samples`.
        timesteps: integer timesteps, (B,) or one for all.

    Returns:
        v, in `original_samples`' dtype and device.
    """
    sqrt_alpha_bar = _per_sample(alphas_cumprod.sqrt(), timesteps, original_samples)
    sqrt_one_minus_alpha_bar = _per_sample((1 - alphas_cumprod).sqrt(), timesteps, original_samples)
    return sqrt_alpha_bar * noise - sqrt_one_minus_alpha_bar * original_samples


def _per_sample(table: torch.Tensor, timesteps: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
    """table[timesteps] in `like`'s dtype and device, shaped (B, 1, ..., 1) to broadcast over it."""
    # Cast on the table's device first: float64 does not exist on every accelerator (MPS).
    table = table.to(dtype=like.dtype).to(like.device)
    values = table[torch.as_tensor(timesteps, device=like.device).long()]
    return values.reshape(-1, *([1] * (like.ndim - 1)))


class AlphaBarScheduler(SchedulerMixin):
    """The protocol methods of schedulers defined by a table ``self.alphas_cumprod`` of ᾱ_t over
    T training timesteps (DDPM, DDIM): timestep selection, the previous-timestep lookup and the
    forward process, written once. Subclasses build the tables and ``self.timesteps`` in
    ``__init__`` and implement ``step``; their config holds ``num_train_timesteps``,
    ``timestep_spacing`` and ``steps_offset``.
    """

    alphas_cumprod: torch.Tensor

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

    def previous_timestep(self, timestep: int | torch.Tensor) -> int:
        """The timestep that follows `timestep` in ``self.timesteps``; -1 after the last one.

        Args:
            timestep: an entry of ``self.timesteps``.

        Returns:
            The next timestep, or -1.
        """
        return previous_timestep(self.timesteps, timestep)

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
            sample: x_0, a batch (B, ...).
            noise: ε, shaped like `sample`.
            timesteps: integer timesteps, (B,) or one for all.

        Returns:
            v, in `sample`'s dtype and device.
        """
        return velocity(self.alphas_cumprod, sample, noise, timesteps)
