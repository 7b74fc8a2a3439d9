"""Timesteps of sampling: which N of the T training timesteps, and which one comes next.

`spaced_timesteps` spaces N steps over the T training timesteps as diffusers does (Lin et al.
2024, Table 2); `select_timesteps` also takes a custom descending schedule (DDIM's τ);
`previous_timestep` looks the next timestep up in the schedule rather than computing it, so it
is right for every spacing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..choices import TIMESTEP_SPACINGS
from ..validation import check_choice, check_positive

__all__ = ["spaced_timesteps", "select_timesteps", "previous_timestep"]


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
        >>> from gandiff.schedulers.timesteps import spaced_timesteps
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
        >>> from gandiff.schedulers.timesteps import previous_timestep
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
