"""2-D mixtures of Gaussians used by the mode-collapse benchmarks.

`ring8`: 8 Gaussians evenly spaced on a circle (Metz et al. 2017, Unrolled GAN: radius 2, std
0.02). The angles are 2πk/8 for k = 0..7; the often-copied ``linspace(0, 2π, 8)`` repeats its
first angle as its last and so has only 7 distinct modes.
`grid25`: 25 Gaussians at {-4, -2, 0, 2, 4}², std 0.05 (VEEGAN, PacGAN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["GaussianMixture2D", "ring8", "grid25"]


@dataclass(frozen=True)
class GaussianMixture2D:
    """Equal-weight isotropic Gaussians: `centers` (K, 2), one shared `std`.

    Attributes:
        centers: (K, 2) float32, the means of the K components.
        std: the standard deviation of every component, along each axis.

    Example:
        >>> import torch
        >>> from gandiff.data import ring8
        >>> mixture = ring8()
        >>> mixture.centers.shape, mixture.std
        (torch.Size([8, 2]), 0.02)
        >>> mixture.sample(100, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([100, 2])
    """

    centers: torch.Tensor
    std: float

    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw points, each from a uniformly chosen component.

        Args:
            num_samples: how many points.
            generator: the random generator; torch's global one when None.

        Returns:
            (num_samples, 2) float32 points.
        """
        component = torch.randint(len(self.centers), (num_samples,), generator=generator)
        noise = torch.randn(num_samples, 2, generator=generator)
        return self.centers[component] + self.std * noise


def ring8(radius: float = 2.0, std: float = 0.02) -> GaussianMixture2D:
    """8 Gaussians evenly spaced on a circle, at angles 2πk/8 (Metz et al. 2017).

    Args:
        radius: the circle's radius.
        std: each Gaussian's standard deviation.

    Returns:
        The mixture.
    """
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    centers = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture2D(centers=centers.float(), std=std)


def grid25(spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """25 Gaussians on a 5×5 grid centred at the origin (VEEGAN, PacGAN).

    Args:
        spacing: the distance between neighbouring centres.
        std: each Gaussian's standard deviation.

    Returns:
        The mixture; with the defaults its centres are {-4, -2, 0, 2, 4}².
    """
    axis = spacing * torch.arange(-2, 3, dtype=torch.float32)
    centers = torch.cartesian_prod(axis, axis)
    return GaussianMixture2D(centers=centers, std=std)
