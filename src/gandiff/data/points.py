"""Built-in 2-D point sets: the Gaussian mixtures of the mode-collapse benchmarks and four curves.

=========  =================================================================  ==================
name       points                                                             noise (std)
=========  =================================================================  ==================
ring8      8 Gaussians on a circle of radius 2 (Metz et al. 2017)             0.02 (in mixture)
grid25     25 Gaussians at {-4, -2, 0, 2, 4}² (VEEGAN, PacGAN)                0.05 (in mixture)
swissroll  spiral t (cos t, sin t) / 5, t = 1.5π (1 + 2u), radius 0.94..2.83  0.05
moons      scikit-learn's two interleaving half circles, centred, × 2         0.05
circle     uniform on the circle of radius 2 (ring8 with no gaps)             0.05
line       uniform on the segment from (-2, -2) to (2, 2)                     0.05
=========  =================================================================  ==================

u is uniform on [0, 1]. Every set spans a few units around the origin, like the mixtures, so
one model size and learning rate suit all. The sets are unlabeled: conditioning on the mixture
component would hide exactly the mode collapse these sets exist to show.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.utils.data import Dataset

from .toy2d import GaussianMixture2D, grid25, ring8

__all__ = ["PointsDataset", "load_points", "POINT_SETS", "swissroll", "moons", "circle", "line"]

DEFAULT_NUM_POINTS = 10_000
CURVE_NOISE = 0.05


def swissroll(num_samples: int, generator: torch.Generator) -> torch.Tensor:
    """2-D swiss roll (scikit-learn's ``make_swiss_roll`` seen from above), scaled by 1/5.

    Args:
        num_samples: how many points.
        generator: the random generator that draws them.

    Returns:
        (num_samples, 2) float32 points.
    """
    t = 1.5 * math.pi * (1 + 2 * torch.rand(num_samples, generator=generator))
    points = torch.stack([t * t.cos(), t * t.sin()], dim=1) / 5
    return points + CURVE_NOISE * torch.randn(num_samples, 2, generator=generator)


def moons(num_samples: int, generator: torch.Generator) -> torch.Tensor:
    """Two interleaving half circles (scikit-learn's ``make_moons``), centred and scaled by 2.

    Each point picks a moon at random: the upper (cos θ, sin θ) or the lower
    (1 - cos θ, 0.5 - sin θ), θ uniform in [0, π]. Subtracting the centre (0.5, 0.25) and
    doubling gives x in [-3, 3] and y in [-1.5, 1.5].

    Args:
        num_samples: how many points.
        generator: the random generator that draws them.

    Returns:
        (num_samples, 2) float32 points.
    """
    theta = math.pi * torch.rand(num_samples, generator=generator)
    upper = torch.stack([theta.cos(), theta.sin()], dim=1)
    lower = torch.stack([1 - theta.cos(), 0.5 - theta.sin()], dim=1)
    is_upper = torch.randint(2, (num_samples, 1), generator=generator).bool()
    points = (torch.where(is_upper, upper, lower) - torch.tensor([0.5, 0.25])) * 2
    return points + CURVE_NOISE * torch.randn(num_samples, 2, generator=generator)


def circle(num_samples: int, generator: torch.Generator) -> torch.Tensor:
    """Uniform on the circle of radius 2: the continuous counterpart of ring8.

    Args:
        num_samples: how many points.
        generator: the random generator that draws them.

    Returns:
        (num_samples, 2) float32 points.
    """
    angle = 2 * math.pi * torch.rand(num_samples, generator=generator)
    points = 2 * torch.stack([angle.cos(), angle.sin()], dim=1)
    return points + CURVE_NOISE * torch.randn(num_samples, 2, generator=generator)


def line(num_samples: int, generator: torch.Generator) -> torch.Tensor:
    """Uniform on the diagonal segment from (-2, -2) to (2, 2).

    Diagonal rather than along an axis so that the two coordinates are correlated: a model
    that treats them independently fills a square instead of the line.

    Args:
        num_samples: how many points.
        generator: the random generator that draws them.

    Returns:
        (num_samples, 2) float32 points.
    """
    position = 4 * torch.rand(num_samples, 1, generator=generator) - 2
    points = position.expand(num_samples, 2)
    return points + CURVE_NOISE * torch.randn(num_samples, 2, generator=generator)


# name -> the mixture (kept on the data set for mode-coverage evaluation)
_MIXTURES: dict[str, Callable[[], GaussianMixture2D]] = {"ring8": ring8, "grid25": grid25}
# name -> sampler(num_samples, generator) -> (num_samples, 2)
_CURVES: dict[str, Callable[[int, torch.Generator], torch.Tensor]] = {
    "swissroll": swissroll,
    "moons": moons,
    "circle": circle,
    "line": line,
}
POINT_SETS: tuple[str, ...] = (*_MIXTURES, *_CURVES)


class PointsDataset(Dataset):
    """A fixed set of 2-D points, drawn once.

    Items are ``{"sample": (2,) float32, "label": 0}``.

    Attributes:
        points: (N, 2) float32, all the points (for scatter plots against the data).
        mixture: the `GaussianMixture2D` the points came from (ring8, grid25), else None.
        num_classes: None (unlabeled).
        classes: None.
        sample_shape: (2,).
        kind: "points".
    """

    kind = "points"
    sample_shape = (2,)
    num_classes = None
    classes = None

    def __init__(self, points: torch.Tensor, mixture: GaussianMixture2D | None = None):
        self.points = points.float()
        self.mixture = mixture

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        """Point `key`: an index, or an ``(epoch, index)`` pair as image sets take (the epoch
        changes nothing here)."""
        index = key[1] if isinstance(key, tuple) else key
        return {"sample": self.points[index], "label": torch.tensor(0)}

    def get_batch(self, keys: list[int] | list[tuple[int, int]]) -> dict[str, torch.Tensor]:
        """The items of `keys` already stacked, ``{"sample": (B, 2), "label": (B,)}``, in one
        indexing operation: what a DataLoader builds from B `__getitem__` calls, at a fraction of
        the cost (per-item loading takes longer than a training step of a small MLP).

        Args:
            keys: indices, or ``(epoch, index)`` pairs.

        Returns:
            ``{"sample": (B, 2) float32, "label": (B,) zeros}``.
        """
        indices = torch.tensor([key[1] if isinstance(key, tuple) else key for key in keys])
        return {"sample": self.points[indices], "label": torch.zeros(len(indices), dtype=torch.long)}

    def set_epoch(self, epoch: int) -> None:
        """Does nothing (points have no augmentation); here so a trainer can call it on any set.

        Args:
            epoch: the epoch about to start.
        """

    def __repr__(self) -> str:
        return f"PointsDataset(num_points={len(self)}, mixture={self.mixture is not None})"


def load_points(name: str, *, num_samples: int | None = None, seed: int = 0) -> PointsDataset:
    """Draw a built-in 2-D set.

    Args:
        name: one of `POINT_SETS`.
        num_samples: how many points (default 10,000).
        seed: seeds the one generator that draws every point, so a seed fixes the set.

    Returns:
        The `PointsDataset`, with its mixture for ring8 and grid25.

    Raises:
        ValueError: for an unknown name (the message lists `POINT_SETS`).
    """
    generator = torch.Generator().manual_seed(seed)
    num_samples = DEFAULT_NUM_POINTS if num_samples is None else num_samples
    if name in _MIXTURES:
        mixture = _MIXTURES[name]()
        return PointsDataset(mixture.sample(num_samples, generator=generator), mixture=mixture)
    if name in _CURVES:
        return PointsDataset(_CURVES[name](num_samples, generator))
    raise ValueError(f"unknown 2-D set {name!r}; known: {', '.join(POINT_SETS)}")
