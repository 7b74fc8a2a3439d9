"""What the network's output means: x_0, ε and v read from one another at ᾱ_t, and x̂_0 kept in range.

Every quantity here follows from the forward process of Ho et al. 2020 (eq. 4),

    x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε,

so a network trained to predict ε, x_0 or v (Salimans & Ho 2022, §4) serves every sampler:
`predict_x0` and `predict_epsilon` turn its output into the x̂_0 and ε̂ a step needs, `q_sample`
and `velocity` give training's x_t and v-target. `clip_predicted_x0` keeps x̂_0 in the data
range (clipping, or the dynamic thresholding of `dynamic_threshold`). One helper per concept,
shared by DDPM and DDIM.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..choices import PREDICTION_TYPES
from ..validation import check_choice

__all__ = [
    "predict_x0",
    "predict_epsilon",
    "q_sample",
    "velocity",
    "clip_predicted_x0",
    "dynamic_threshold",
]

# The ᾱ ε-prediction divides by where the schedule has ᾱ_t = 0 (see predict_x0).
_ZERO_SNR_ALPHA_BAR = 2.0**-24

# -- the network's output, read as x_0 or ε ------------------------------------------------------


def predict_x0(
    model_output: torch.Tensor, sample: torch.Tensor, alpha_bar_t: float, prediction_type: str
) -> torch.Tensor:
    """The network's estimate of x_0 from x_t, whatever it was trained to predict.

    With x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε:

    * ``"epsilon"``: x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t (Ho et al. 2020, eq. 15);
    * ``"sample"``: the network predicts x_0 itself;
    * ``"v_prediction"``: x̂_0 = √ᾱ_t x_t − √(1 − ᾱ_t) v_θ, where v = √ᾱ_t ε − √(1 − ᾱ_t) x_0
      (Salimans & Ho 2022, §4).

    At ᾱ_t = 0, the last timestep of a zero-terminal-SNR schedule (Lin et al. 2024), x_t is pure
    noise and ε_θ says nothing of x_0: ε-prediction then reads x̂_0 as if ᾱ_t were 2⁻²⁴ (as
    diffusers' Euler scheduler does), so the step stays finite. Such schedules are meant for
    v-prediction.

    Args:
        model_output: the network's output at step t, shaped like `sample`.
        sample: x_t.
        alpha_bar_t: ᾱ_t, a Python float (or a tensor broadcastable against `sample`).
        prediction_type: one of `PREDICTION_TYPES`.

    Returns:
        x̂_0, shaped like `sample`.

    Example:
        >>> import torch
        >>> from gandiff.schedulers.parametrisation import predict_x0
        >>> x0, eps, alpha_bar = torch.tensor([0.5]), torch.tensor([2.0]), 0.64
        >>> x_t = alpha_bar**0.5 * x0 + (1 - alpha_bar) ** 0.5 * eps  # 0.8 · 0.5 + 0.6 · 2
        >>> predict_x0(eps, x_t, alpha_bar, "epsilon")  # the exact ε gives back x_0
        tensor([0.5000])
    """
    check_choice("prediction_type", prediction_type, PREDICTION_TYPES)
    if prediction_type == "epsilon":
        if isinstance(alpha_bar_t, torch.Tensor):
            divisor = torch.where(alpha_bar_t == 0, _ZERO_SNR_ALPHA_BAR, alpha_bar_t)
        else:
            divisor = alpha_bar_t if alpha_bar_t > 0 else _ZERO_SNR_ALPHA_BAR
        return (sample - (1 - alpha_bar_t) ** 0.5 * model_output) / divisor**0.5
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


# -- x_t and the v target, for training ---------------------------------------------------------


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
    sqrt_alpha_bar, sqrt_one_minus_alpha_bar = _forward_coefficients(alphas_cumprod, timesteps, original_samples)
    return sqrt_alpha_bar * original_samples + sqrt_one_minus_alpha_bar * noise


def velocity(
    alphas_cumprod: torch.Tensor, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
) -> torch.Tensor:
    """The v-prediction target v = √ᾱ_t ε − √(1 − ᾱ_t) x_0 (Salimans & Ho 2022, §4); pure, like `q_sample`.

    Args:
        alphas_cumprod, original_samples, noise, timesteps: as for `q_sample`.

    Returns:
        v, in `original_samples`' dtype and device.
    """
    sqrt_alpha_bar, sqrt_one_minus_alpha_bar = _forward_coefficients(alphas_cumprod, timesteps, original_samples)
    return sqrt_alpha_bar * noise - sqrt_one_minus_alpha_bar * original_samples


def _forward_coefficients(
    alphas_cumprod: torch.Tensor, timesteps: torch.Tensor | int, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(√ᾱ_t, √(1 − ᾱ_t)) of each sample's timestep, the two coefficients of x_t in eq. 4 (and of v),
    in `like`'s dtype and device, shaped (B, 1, ..., 1) to broadcast over it."""
    index = _timestep_index(timesteps, len(alphas_cumprod), like.device)
    return _per_sample(alphas_cumprod.sqrt(), index, like), _per_sample((1 - alphas_cumprod).sqrt(), index, like)


def _timestep_index(timesteps: torch.Tensor | int, num_train_timesteps: int, device: torch.device) -> torch.Tensor:
    """`timesteps` as int64 indices on `device`, checked to be training timesteps: a negative one
    would silently index from the end of the table (t = −1 is the last, noisiest step)."""
    timesteps = torch.as_tensor(timesteps)
    if timesteps.numel() and (timesteps.min() < 0 or timesteps.max() > num_train_timesteps - 1):
        shown = timesteps.flatten().tolist()
        shown = shown if len(shown) <= 8 else [*shown[:8], "..."]
        raise ValueError(f"timesteps must lie in [0, {num_train_timesteps - 1}] (the training timesteps), got {shown}")
    return timesteps.to(device).long()


def _per_sample(table: torch.Tensor, index: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """table[index] in `like`'s dtype and device, shaped (B, 1, ..., 1) to broadcast over it."""
    # Cast on the table's device first: float64 does not exist on every accelerator (MPS).
    table = table.to(dtype=like.dtype).to(like.device)
    return table[index].reshape(-1, *([1] * (like.ndim - 1)))


# -- keeping x̂_0 in the data range --------------------------------------------------------------


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
        # A range past the dtype's largest number (1e39 for float32) clips nothing; torch would
        # refuse to convert it.
        bound = min(config["clip_sample_range"], torch.finfo(pred_x0.dtype).max)
        return pred_x0.clamp(-bound, bound)
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
    # s divides x̂_0: keep max_value a normal number of the dtype (1e-300 would round to 0 in float32).
    finfo = torch.finfo(flat.dtype)
    max_value = min(max(max_value, finfo.tiny), finfo.max)
    s = torch.quantile(flat.abs(), ratio, dim=1).clamp(min=1, max=max_value).unsqueeze(1)  # (B, 1)
    flat = torch.maximum(torch.minimum(flat, s), -s) / s
    return flat.reshape(pred_x0.shape).to(pred_x0.dtype)
