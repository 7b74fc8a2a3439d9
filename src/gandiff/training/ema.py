"""The exponential moving average (EMA) of the weights, which samples and the saved pipeline use."""

from __future__ import annotations

import torch

__all__ = ["make_ema"]


def make_ema(model: torch.nn.Module, decay: float | None):
    """An EMA of `model`'s weights, θ_ema ← decay · θ_ema + (1 − decay) · θ, or None.

    torch's `AveragedModel` with `get_ema_multi_avg_fn`; buffers (batch-norm statistics) are
    averaged too, so the averaged network is complete. Its first update copies the weights.

    Args:
        model: the trained model.
        decay: the EMA decay in (0, 1), or None for no EMA.

    Returns:
        The `AveragedModel` (call ``update_parameters(model)`` after each step), or None.
    """
    if decay is None:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    ema.requires_grad_(False)
    return ema
