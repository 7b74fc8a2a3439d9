"""Sliced Wasserstein distance between two point clouds (Rabin et al. 2011; Bonneel et al. 2015).

SW_p(X, Y)^p is the average over random unit directions θ of W_p(θ·X, θ·Y)^p, the Wasserstein
distance between the 1-D projections, which is exact and cheap in 1-D: sorted values against
sorted values. It is a metric on distributions, reaches 0 only when they agree, and needs no
density estimate, which makes it a good yardstick for 2-D toy samples.

With finite samples even the data itself does not score 0: `sliced_wasserstein_with_floor`
reports, beside a model's distance to a reference sample, the distance of an independent
data sample of the same size to the same reference (the noise floor a perfect model reaches).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["sliced_wasserstein_distance", "SlicedWasserstein", "sliced_wasserstein_with_floor"]


def sliced_wasserstein_distance(
    x: torch.Tensor, y: torch.Tensor, num_projections: int = 256, p: int = 2, seed: int = 0
) -> float:
    """SW_p between the empirical distributions of the rows of `x` (N, D) and `y` (M, D).

    The directions are drawn from a generator seeded with `seed`, so a call is deterministic
    and two calls with the same seed compare samples along the same directions. N and M may
    differ: each 1-D distance integrates |F_x⁻¹(u) − F_y⁻¹(u)|^p exactly over the merged
    quantile grid.

    Args:
        x: points (N, D).
        y: points (M, D), same D.
        num_projections: number of random directions; the estimate's spread shrinks as 1/√this.
        p: the order of the distance (1 or 2 are usual).
        seed: seed of the directions.

    Returns:
        SW_p(x, y) as a float, in the units of the points.
    """
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    y = torch.as_tensor(y).detach().to("cpu", torch.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must be (N, D) and (M, D) point sets, got shapes {tuple(x.shape)}, {tuple(y.shape)}"
        )
    if len(x) == 0 or len(y) == 0:
        raise ValueError("x and y must hold at least one point each")
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(num_projections, x.shape[1], generator=generator, dtype=torch.float64)
    directions = directions / directions.norm(dim=1, keepdim=True)  # (P, D), unit rows
    # One row per direction: sorting along the contiguous last dimension is much faster.
    x_sorted = (directions @ x.T).sort(dim=1).values  # (P, N)
    y_sorted = (directions @ y.T).sort(dim=1).values  # (P, M)

    # The quantile functions are step functions with steps at i/N and j/M: on each interval of
    # the merged grid both are constant, so evaluate them at the interval's midpoint.
    levels = torch.cat([torch.arange(1, len(x) + 1) / len(x), torch.arange(1, len(y) + 1) / len(y)])
    levels = torch.unique(torch.cat([torch.zeros(1), levels.double()]))  # sorted, 0 .. 1
    widths = levels[1:] - levels[:-1]
    midpoints = (levels[1:] + levels[:-1]) / 2
    x_quantiles = x_sorted[:, (midpoints * len(x)).long().clamp(max=len(x) - 1)]  # (P, K)
    y_quantiles = y_sorted[:, (midpoints * len(y)).long().clamp(max=len(y) - 1)]
    per_direction = (widths * (x_quantiles - y_quantiles).abs() ** p).sum(dim=1)  # W_p^p, (P,)
    return float(per_direction.mean() ** (1 / p))


@dataclass(frozen=True)
class SlicedWasserstein:
    """A sliced Wasserstein distance beside its noise floor.

    Attributes:
        distance: SW(samples, reference).
        floor: SW(independent data, reference): a perfect model's score at this sample size.
    """

    distance: float
    floor: float


def sliced_wasserstein_with_floor(
    samples: torch.Tensor, reference: torch.Tensor, independent: torch.Tensor, **options
) -> SlicedWasserstein:
    """SW of `samples` to a `reference` data sample, beside the noise floor.

    Args:
        samples: the model's points (N, D).
        reference: data points (M, D).
        independent: other data points (N, D), drawn independently of `reference`, as many
            as `samples`, so that the floor has the model's sampling noise.
        options: `sliced_wasserstein_distance`'s keyword arguments; both distances use the same
            directions.

    Returns:
        The `SlicedWasserstein` distance and floor.

    Raises:
        ValueError: when `independent` and `samples` differ in size.
    """
    if len(independent) != len(samples):
        raise ValueError(f"independent must hold as many points as samples ({len(samples)}), got {len(independent)}")
    return SlicedWasserstein(
        distance=sliced_wasserstein_distance(samples, reference, **options),
        floor=sliced_wasserstein_distance(independent, reference, **options),
    )
