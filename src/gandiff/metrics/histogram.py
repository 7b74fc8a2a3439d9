"""KL divergence of a histogram from uniform: how evenly samples spread over K modes or classes.

Shared by the 2-D mode coverage (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018) and
the Stacked-MNIST style class coverage (Metz et al. 2017): both count the samples that land
on each mode and report ``KL(p ‖ uniform) = Σ_k p_k log(p_k K)``, 0 when every mode gets the
same share and log K when every sample lands on one mode.
"""

from __future__ import annotations

import math

import torch

__all__ = ["kl_from_uniform"]


def kl_from_uniform(counts: torch.Tensor) -> float:
    """KL(p ‖ uniform) in nats for the histogram `counts` (K,), with 0 log 0 = 0.

    Args:
        counts: (K,) non-negative counts.

    Returns:
        The divergence: 0 for an even histogram, log K when one bin holds everything, and
        ``inf`` for an empty histogram (no sample to spread).

    Example:
        >>> import math
        >>> from gandiff.metrics import kl_from_uniform
        >>> kl_from_uniform([5, 5, 5, 5]), kl_from_uniform([20, 0, 0, 0]) == math.log(4)
        (0.0, True)
    """
    counts = torch.as_tensor(counts, dtype=torch.float64)
    total = counts.sum().item()
    if total == 0:
        return math.inf
    p = counts / total
    return torch.where(p > 0, p * torch.log(p * len(counts)), torch.zeros_like(p)).sum().item()
