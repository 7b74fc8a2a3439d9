"""β schedules: how much noise the forward process adds at each of its T steps.

Every function returns a float64 tensor ``betas`` of length T, where ``betas[t]`` is the β of
the step from x_t to x_{t+1} in the 0-indexed timesteps that schedulers and networks use (the
papers' β_1..β_T). Schedulers build ``alphas_cumprod`` (ᾱ) from it once, in float64.

Schedules, with the diffusers names that configs use:

* ``linear``: β evenly spaced from `beta_start` to `beta_end` (Ho et al. 2020, §4).
* ``scaled_linear``: √β evenly spaced (latent diffusion, Rombach et al. 2022).
* ``squaredcos_cap_v2`` (alias ``cosine``): Nichol & Dhariwal 2021, §3.2.
* ``sigmoid``: β follows a sigmoid from `beta_start` to `beta_end` (GeoDiff, Xu et al. 2022).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..choices import BETA_SCHEDULES, RANGED_BETA_SCHEDULES
from ..validation import check_bool, check_choice, check_number, check_positive

__all__ = [
    "BETA_SCHEDULES",
    "make_betas",
    "linear_betas",
    "scaled_linear_betas",
    "cosine_betas",
    "sigmoid_betas",
    "rescale_zero_terminal_snr",
    "check_alpha_bar",
    "MAX_TRAIN_TIMESTEPS",
]

# A bound on T for configs read from files: the tables take 24 bytes per timestep, and models are
# trained with T = 1000 (Ho et al.) to 4000 (Nichol & Dhariwal).
MAX_TRAIN_TIMESTEPS = 100_000
# The smallest normal float32. Steps read x_0 from ε as (x_t − √(1 − ᾱ_t) ε) / √ᾱ_t in the
# sample's dtype: with ᾱ_t below this, 1 / √ᾱ_t overflows float32 (or ᾱ_t is 0 and it is NaN).
_SMALLEST_ALPHA_BAR = torch.finfo(torch.float32).tiny


def linear_betas(num_train_timesteps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    """β_t evenly spaced from `beta_start` to `beta_end` (Ho et al. 2020: 1e-4 to 0.02, T = 1000).

    Args:
        num_train_timesteps: T.
        beta_start: β of the first step.
        beta_end: β of the last step.

    Returns:
        The T betas, float64.

    Example:
        >>> from gandiff.schedulers.schedules import linear_betas
        >>> betas = linear_betas(1000, 1e-4, 0.02)
        >>> betas.shape, betas.dtype, betas[0].item(), betas[-1].item()
        (torch.Size([1000]), torch.float64, 0.0001, 0.02)
    """
    return torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float64)


def scaled_linear_betas(num_train_timesteps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    """√β_t evenly spaced from √`beta_start` to √`beta_end` (latent diffusion's schedule).

    Args:
        num_train_timesteps, beta_start, beta_end: T and the β of the first and last step, as for `linear_betas`.

    Returns:
        The T betas, float64.
    """
    return torch.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=torch.float64) ** 2


def cosine_betas(num_train_timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal 2021's cosine schedule (§3.2).

    ᾱ(t) = f(t) / f(0) with f(t) = cos²((t/T + s) / (1 + s) · π/2), and
    β_t = min(1 − ᾱ(t) / ᾱ(t−1), `max_beta`). f(T) = 0, so the last β would be 1; the cap keeps
    ᾱ_T > 0 (about 2.4e-9 for T = 1000).

    Args:
        num_train_timesteps: T.
        s: the small offset that keeps β_1 from being too small near t = 0 (0.008 in the paper).
        max_beta: the cap on β.

    Returns:
        The T betas, float64.
    """
    t = torch.arange(num_train_timesteps + 1, dtype=torch.float64) / num_train_timesteps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)


def sigmoid_betas(num_train_timesteps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    """β_t = beta_start + (beta_end − beta_start) · sigmoid(x), x evenly spaced in [−6, 6] (GeoDiff).

    Args:
        num_train_timesteps: T.
        beta_start: the lower limit of β.
        beta_end: the upper limit of β.

    Returns:
        The T betas, float64.
    """
    x = torch.linspace(-6, 6, num_train_timesteps, dtype=torch.float64)
    return torch.sigmoid(x) * (beta_end - beta_start) + beta_start


def rescale_zero_terminal_snr(betas: torch.Tensor) -> torch.Tensor:
    """Lin et al. 2024, Algorithm 1: shift and scale √ᾱ so that ᾱ_T = 0 and ᾱ_0 is unchanged.

    With ᾱ_T = 0 the last training step sees pure noise, as sampling starts from pure noise
    (zero signal-to-noise ratio). x_0 cannot be recovered from ε at t = T then, so Lin et al.
    pair it with v-prediction.

    Args:
        betas: the T betas of a schedule; not modified.

    Returns:
        New betas; the last one is exactly 1.
    """
    sqrt_alpha_bar = torch.cumprod(1 - betas, dim=0).sqrt()
    first, last = sqrt_alpha_bar[0], sqrt_alpha_bar[-1]
    sqrt_alpha_bar = (sqrt_alpha_bar - last) * first / (first - last)
    alpha_bar = sqrt_alpha_bar**2
    alphas = torch.cat([alpha_bar[:1], alpha_bar[1:] / alpha_bar[:-1]])
    return 1 - alphas


def make_betas(
    num_train_timesteps: int,
    beta_start: float,
    beta_end: float,
    beta_schedule: str,
    trained_betas: Sequence[float] | torch.Tensor | None = None,
    rescale_betas_zero_snr: bool = False,
) -> torch.Tensor:
    """The float64 betas a scheduler config describes, validated.

    `trained_betas`, when given, are used as they are and `beta_schedule` is ignored (as in
    diffusers).

    Args:
        num_train_timesteps: T.
        beta_start: β of the first step (linear, scaled_linear and sigmoid schedules).
        beta_end: β of the last step (same schedules).
        beta_schedule: one of `BETA_SCHEDULES`.
        trained_betas: T betas in (0, 1) to use as they are.
        rescale_betas_zero_snr: rescale to ᾱ_T = 0 (`rescale_zero_terminal_snr`).

    Returns:
        The T betas, float64.

    Raises:
        ValueError: naming the fix, for an unknown schedule, a T outside [1, `MAX_TRAIN_TIMESTEPS`],
            a range that is not 0 < beta_start < beta_end < 1 (for schedules that read it),
            trained betas of the wrong length or outside (0, 1), or betas whose ᾱ_t a sampler
            cannot divide by (see `check_alpha_bar`).
    """
    check_positive("num_train_timesteps", num_train_timesteps)
    if num_train_timesteps > MAX_TRAIN_TIMESTEPS:
        raise ValueError(
            f"num_train_timesteps={num_train_timesteps} is more than {MAX_TRAIN_TIMESTEPS:,}; diffusion models "
            "are trained with 1000 to 4000 timesteps"
        )
    check_choice("beta_schedule", beta_schedule, BETA_SCHEDULES)
    check_bool("rescale_betas_zero_snr", rescale_betas_zero_snr)
    if rescale_betas_zero_snr and num_train_timesteps < 2:
        raise ValueError(
            "rescale_betas_zero_snr needs num_train_timesteps >= 2: it moves the last ᾱ to 0 and keeps the first"
        )
    if trained_betas is not None:
        betas = _checked_trained_betas(trained_betas, num_train_timesteps)
    else:
        if beta_schedule in RANGED_BETA_SCHEDULES:
            check_number("beta_start", beta_start)
            check_number("beta_end", beta_end)
        if beta_schedule in RANGED_BETA_SCHEDULES and not 0 < beta_start < beta_end < 1:
            raise ValueError(
                f"beta_schedule={beta_schedule!r} needs 0 < beta_start < beta_end < 1, got beta_start={beta_start!r}, "
                f"beta_end={beta_end!r} (Ho et al. 2020 use 1e-4 and 0.02)"
            )
        if beta_schedule == "linear":
            betas = linear_betas(num_train_timesteps, beta_start, beta_end)
        elif beta_schedule == "scaled_linear":
            betas = scaled_linear_betas(num_train_timesteps, beta_start, beta_end)
        elif beta_schedule == "sigmoid":
            betas = sigmoid_betas(num_train_timesteps, beta_start, beta_end)
        else:  # "squaredcos_cap_v2" and its alias "cosine"
            betas = cosine_betas(num_train_timesteps)
    if rescale_betas_zero_snr:
        betas = rescale_zero_terminal_snr(betas)
    check_alpha_bar(betas, zero_terminal_snr=rescale_betas_zero_snr)
    return betas


def check_alpha_bar(betas: torch.Tensor, zero_terminal_snr: bool = False) -> None:
    """Raise `ValueError` unless a sampler can divide by every 1 − ᾱ_t and √ᾱ_t of `betas`.

    The reverse steps divide by 1 − ᾱ_t (DDPM's posterior, Ho et al. 2020 eq. 7; DDIM's σ_t,
    Song et al. 2021 eq. 16) and by √ᾱ_t (x_0 read from ε, eq. 15). So ᾱ_t = Π_{s≤t} (1 − β_s)
    must fall at every step in float64 — a β below about 1e-15 leaves 1 − β = 1 — and must stay
    a normal float32 number (≥ 1.2e-38), which a schedule of large β underflows. A zero-terminal-
    SNR schedule (Lin et al. 2024) ends at exactly ᾱ_T = 0 by design, and only there.

    Args:
        betas: the T betas, float64.
        zero_terminal_snr: the last ᾱ is 0 on purpose (`rescale_zero_terminal_snr`).

    Raises:
        ValueError: naming the first timestep at fault and the valid range.
    """
    alpha_bar = torch.cumprod(1 - betas, dim=0)
    positive = alpha_bar[:-1] if zero_terminal_snr else alpha_bar
    underflow = (positive < _SMALLEST_ALPHA_BAR).nonzero()
    if len(underflow):
        t = int(underflow[0, 0])
        raise ValueError(
            f"ᾱ = Π (1 − β) falls to {float(alpha_bar[t]):.3g} at timestep {t}, below float32's smallest normal "
            f"number {_SMALLEST_ALPHA_BAR:.3g}, so x_0 = (x_t − √(1 − ᾱ) ε) / √ᾱ overflows; lower beta_end or "
            f"num_train_timesteps (Ho et al.'s β from 1e-4 to 0.02 over 1000 steps end at ᾱ = 4e-5)"
        )
    previous = torch.cat([alpha_bar.new_ones(1), alpha_bar[:-1]])
    flat = (alpha_bar >= previous).nonzero()
    if len(flat):
        t = int(flat[0, 0])
        raise ValueError(
            f"β at timestep {t} is {float(betas[t]):.3g}: so small that 1 − β rounds to 1 in float64, ᾱ does not "
            "fall and the reverse step would divide by zero; use betas >= 1e-15"
        )


def _checked_trained_betas(trained_betas: Sequence[float] | torch.Tensor, num_train_timesteps: int) -> torch.Tensor:
    try:
        betas = torch.as_tensor(trained_betas, dtype=torch.float64).flatten().clone()
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(
            f"trained_betas must be a list of {num_train_timesteps} numbers in (0, 1), got {trained_betas!r}"
        ) from None
    if betas.numel() != num_train_timesteps:
        raise ValueError(
            f"trained_betas has {betas.numel()} values but num_train_timesteps={num_train_timesteps}; "
            "give one β per training timestep"
        )
    if not ((betas > 0) & (betas < 1)).all():
        raise ValueError("every trained_betas value must lie in (0, 1): each step keeps some signal and adds noise")
    return betas
