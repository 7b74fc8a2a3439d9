"""Improved precision and recall (Kynkäänniemi et al. 2019), k-nearest-neighbour manifolds.

Each set of features is approximated by the union of balls around its points, each ball's
radius the distance to the point's k-th nearest neighbour in the same set (k = 3 in the
paper). Then

    precision = fraction of generated samples inside the real manifold    (are samples realistic?)
    recall    = fraction of real samples inside the generated manifold    (is the data covered?)

A collapsed generator keeps a high precision and loses recall; blurry or noisy samples lose
precision. Unlike the Fréchet distance the two numbers say which of the two went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["PrecisionRecall", "precision_recall", "manifold_radii", "inside_manifold"]


@dataclass(frozen=True)
class PrecisionRecall:
    """Improved precision and recall, each a fraction in [0, 1].

    Attributes:
        precision: the fraction of generated samples inside the real manifold.
        recall: the fraction of real samples inside the generated manifold.
    """

    precision: float
    recall: float


def manifold_radii(points: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Distance from each row of `points` (N, D) to its k-th nearest other row, (N,).

    Args:
        points: (N, D) features.
        k: which neighbour, 1 .. N − 1.

    Returns:
        (N,) radii.

    Raises:
        ValueError: when k is not in 1 .. N − 1.
    """
    if not 1 <= k < len(points):
        raise ValueError(f"k must be in 1 .. N-1 = {len(points) - 1}, got {k}")
    distances = torch.cdist(points, points)  # (N, N), the diagonal is each point's 0 to itself
    # The (k+1)-th smallest of each row skips the point itself (a duplicate counts as a neighbour).
    return distances.kthvalue(k + 1, dim=1).values


def inside_manifold(
    queries: torch.Tensor, points: torch.Tensor, radii: torch.Tensor, chunk: int = 1024
) -> torch.Tensor:
    """Whether each query (Q, D) lies within `radii` (N,) of at least one of `points` (N, D), (Q,) bool.

    Args:
        queries: (Q, D) features to test.
        points: (N, D) the centres of the balls.
        radii: (N,) the balls' radii (`manifold_radii`).
        chunk: queries per distance block, which bounds memory to chunk × N distances.

    Returns:
        (Q,) bool.
    """
    inside = [(torch.cdist(block, points) <= radii).any(dim=1) for block in queries.split(chunk)]
    return torch.cat(inside)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> PrecisionRecall:
    """Precision and recall of `fake` (M, D) against `real` (N, D) features, k-NN radii.

    Both are fractions in [0, 1]. They depend on the set sizes (bigger sets, smaller radii),
    so compare scores computed with the same N and M, beside a real-vs-real floor.

    Args:
        real: (N, D) features of data.
        fake: (M, D) features of generated samples.
        k: the neighbour whose distance sets each ball's radius (3 in the paper).

    Returns:
        The `PrecisionRecall`.

    Raises:
        ValueError: when the features are not (N, D) and (M, D) with the same D.

    Example:
        >>> import torch
        >>> from gandiff.metrics import precision_recall
        >>> real = torch.arange(10.0)[:, None]  # points 0, 1, ..., 9 on a line
        >>> precision_recall(real, real[:5], k=1)  # samples only 0..4; its balls (radius 1) reach 5
        PrecisionRecall(precision=1.0, recall=0.6)
    """
    real = torch.as_tensor(real).detach().to("cpu", torch.float64)
    fake = torch.as_tensor(fake).detach().to("cpu", torch.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real and fake must be (N, D) and (M, D) features, got {tuple(real.shape)}, {tuple(fake.shape)}"
        )
    precision = inside_manifold(fake, real, manifold_radii(real, k)).double().mean().item()
    recall = inside_manifold(real, fake, manifold_radii(fake, k)).double().mean().item()
    return PrecisionRecall(precision=precision, recall=recall)
