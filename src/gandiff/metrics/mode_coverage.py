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
    modes_captured: int
    num_modes: int
    high_quality_fraction: float
    kl_from_uniform: float  # inf when no sample is of high quality


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, std: float, threshold: float = 3.0) -> ModeCoverage:
    """Score `samples` (N, 2) against mixture `centers` (K, 2) with component `std`."""
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
