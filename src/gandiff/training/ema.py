"""The exponential moving average (EMA) of the weights, which samples and the saved pipeline use.

After update t (t = 0, 1, 2, ... counts the updates already averaged),

    θ_ema ← d_t · θ_ema + (1 − d_t) · θ,    d_t = min(decay, (1 + t) / (10 + t)),   d_0 = 0

the decay warm-up of diffusers' ``EMAModel`` (its default, ``use_ema_warmup=False``). With a
constant d = 0.999 from the first step, the average still holds e^(−400/1000) ≈ 67% of the
random initial weights after 400 steps, and a short run samples grey noise; with the warm-up,
the average forgets its start within a few dozen steps and reaches the full decay after ~9,000.

torch's `AveragedModel` with `get_ema_multi_avg_fn` offers only a constant decay (its first update
copies the weights). So the EMA is torch's `AveragedModel`, whose ``n_averaged`` buffer counts
the updates (t above) and is saved in its state dict, hence in checkpoints: a resumed run continues
the warm-up where it stopped. Only its averaging function is ours: torch's EMA update at d_t.
"""

from __future__ import annotations

import torch

__all__ = ["make_ema", "ema_decay"]


def ema_decay(decay: float, num_averaged: int) -> float:
    """The decay of the EMA update after `num_averaged` updates: min(decay, (1 + t) / (10 + t)).

    The warm-up of diffusers' ``EMAModel.get_decay`` (``update_after_step=0``, ``min_decay=0``),
    whose ``optimization_step`` is ``num_averaged + 1``; 0 for the first update (a copy).

    Args:
        decay: the largest decay, in (0, 1).
        num_averaged: t, the updates already averaged.

    Returns:
        d_t.

    Example:
        >>> [round(ema_decay(0.999, t), 4) for t in (0, 1, 10, 1000, 10_000)]
        [0.0, 0.1818, 0.55, 0.9911, 0.999]
    """
    if num_averaged == 0:
        return 0.0
    return min(decay, (1 + num_averaged) / (10 + num_averaged))


def _warmed_up_ema_update(decay: float):
    """An ``AveragedModel`` ``multi_avg_fn``: torch's EMA update at d_t = `ema_decay` (decay, t)."""
    from torch.optim.swa_utils import get_ema_multi_avg_fn

    def update(ema_params: list[torch.Tensor], model_params: list[torch.Tensor], num_averaged: torch.Tensor) -> None:
        get_ema_multi_avg_fn(ema_decay(decay, int(num_averaged)))(ema_params, model_params, num_averaged)

    return update


def make_ema(model: torch.nn.Module, decay: float | None):
    """An EMA of `model`'s weights with diffusers' decay warm-up (module docstring), or None.

    Buffers (batch-norm statistics) are averaged too, so the averaged network is complete. Its
    first update copies the weights.

    Args:
        model: the trained model.
        decay: the EMA's largest decay in (0, 1), or None for no EMA.

    Returns:
        The `AveragedModel` (call ``update_parameters(model)`` after each step), or None.
    """
    if decay is None:
        return None
    from torch.optim.swa_utils import AveragedModel

    ema = AveragedModel(model, multi_avg_fn=_warmed_up_ema_update(decay), use_buffers=True)
    ema.requires_grad_(False)
    return ema
