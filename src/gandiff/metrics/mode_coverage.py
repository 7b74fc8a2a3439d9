"""Mode coverage of 2-D samples, as measured in VEEGAN (Srivastava et al. 2017) and PacGAN
(Lin et al. 2018): a sample is *high quality* when it lies within 3 standard deviations of its
nearest mode, and a mode is *captured* when it is the nearest mode of at least one high-quality
sample. The KL divergence of the high-quality samples' mode histogram from uniform says how
evenly the captured modes are covered (0 when perfectly even).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .histogram import kl_from_uniform

__all__ = ["ModeCoverage", "mode_coverage"]


@dataclass(frozen=True)
class ModeCoverage:
    """The mode-coverage scores of a set of 2-D samples.

    Attributes:
        modes_captured: modes that are the nearest mode of at least one high-quality sample.
        num_modes: K, the number of modes of the mixture.
        high_quality_fraction: the share of samples within `threshold` std of their nearest mode.
        kl_from_uniform: KL(p ‖ uniform) in nats of the high-quality samples' mode histogram;
            inf when no sample is of high quality.
    """

    modes_captured: int
    num_modes: int
    high_quality_fraction: float
    kl_from_uniform: float  # inf when no sample is of high quality


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, std: float, threshold: float = 3.0) -> ModeCoverage:
    """Score `samples` (N, 2) against mixture `centers` (K, 2) with component `std`.

    Args:
        samples: (N, 2) generated points.
        centers: (K, 2) the mixture's modes.
        std: the standard deviation of each mixture component.
        threshold: how many `std` from its nearest mode a sample may lie and be high quality
            (3 in VEEGAN and PacGAN).

    Returns:
        The `ModeCoverage`.

    Example:
        >>> import torch
        >>> from gandiff.data import ring8
        >>> from gandiff.metrics import mode_coverage
        >>> mixture = ring8()
        >>> samples = torch.cat([mixture.centers[:3], torch.tensor([[9.0, 9.0]])])  # 3 modes, 1 miss
        >>> score = mode_coverage(samples, mixture.centers, mixture.std)
        >>> score.modes_captured, score.num_modes, score.high_quality_fraction
        (3, 8, 0.75)
        >>> round(score.kl_from_uniform, 4)  # log(8 / 3): three modes evenly covered
        0.9808
    """
    samples = torch.as_tensor(samples, dtype=torch.float64)
    centers = torch.as_tensor(centers, dtype=torch.float64)
    distances = torch.cdist(samples, centers)  # (N, K)
    nearest_distance, nearest_mode = distances.min(dim=1)
    high_quality = nearest_distance < threshold * std
    counts = torch.bincount(nearest_mode[high_quality], minlength=len(centers))
    return ModeCoverage(
        modes_captured=int((counts > 0).sum()),
        num_modes=len(centers),
        high_quality_fraction=high_quality.double().mean().item(),
        kl_from_uniform=kl_from_uniform(counts),
    )
