"""Fréchet distance between two sets of features, each summarized by a Gaussian.

    d²((μ1, Σ1), (μ2, Σ2)) = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½)

the squared 2-Wasserstein distance between N(μ1, Σ1) and N(μ2, Σ2) (Dowson & Landau 1982).
With Inception-v3 pool features it is the FID of Heusel et al. 2017 (see `inception_fid`);
with the features of gandiff's digit classifier it is the offline score of
`gandiff.metrics.digit_classifier`. Scores are comparable only under the same features and
the same sample sizes: the estimate is biased upwards by about Tr(Σ)(1/N1 + 1/N2) from the
mean term alone, which is why every score is reported beside a data-vs-data floor.
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_statistics", "frechet_distance_from_statistics", "frechet_distance"]


def gaussian_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of the rows of `features` (N, D), in float64.

    Args:
        features: (N, D) with N >= 2.

    Returns:
        (mean, covariance), on the CPU.

    Raises:
        ValueError: when `features` is not (N, D) with N >= 2.
    """
    features = torch.as_tensor(features).detach().to("cpu", torch.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be (N, D) with N >= 2, got shape {tuple(features.shape)}")
    return features.mean(dim=0), torch.cov(features.T)


def frechet_distance_from_statistics(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> float:
    """d² between N(`mu1`, `sigma1`) and N(`mu2`, `sigma2`) (module docstring).

    Tr((Σ1 Σ2)^½) is computed without a general matrix square root: Σ1 Σ2 has the same
    eigenvalues as the symmetric positive semi-definite S = Σ1^½ Σ2 Σ1^½, so the trace is
    Σ √λ_i(S), with `eigh` (stable, real) instead of scipy's `sqrtm` of a non-symmetric
    product (which returns complex values and needs an ε-regularized retry when Σ1 is singular).

    Args:
        mu1: (D,) mean of the first Gaussian.
        sigma1: (D, D) covariance of the first Gaussian.
        mu2: (D,) mean of the second Gaussian.
        sigma2: (D, D) covariance of the second Gaussian.

    Returns:
        d², >= 0.

    Raises:
        ValueError: when the shapes do not match.
    """
    mu1, mu2, sigma1, sigma2 = (torch.as_tensor(t, dtype=torch.float64) for t in (mu1, mu2, sigma1, sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(
            f"statistics do not match: means {tuple(mu1.shape)}, {tuple(mu2.shape)}; "
            f"covariances {tuple(sigma1.shape)}, {tuple(sigma2.shape)}"
        )
    eigenvalues, eigenvectors = torch.linalg.eigh(sigma1)
    sqrt_sigma1 = eigenvectors @ torch.diag(eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T
    product = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
    product = (product + product.T) / 2  # symmetric up to rounding; eigh reads one triangle only
    trace_sqrt = torch.linalg.eigvalsh(product).clamp(min=0).sqrt().sum()
    distance = (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return max(float(distance), 0.0)  # rounding can leave -1e-12 for identical statistics


def frechet_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Fréchet distance between the Gaussians fitted to the rows of `x` (N, D) and `y` (M, D).

    Args:
        x: (N, D) features of one set, N >= 2.
        y: (M, D) features of the other, M >= 2.

    Returns:
        d² of the module docstring (a squared distance, as FID is).

    Example:
        >>> import torch
        >>> from gandiff.metrics import frechet_distance
        >>> x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
        >>> round(frechet_distance(x, x + torch.tensor([3.0, 4.0])), 6)  # same Σ: ‖μ1 − μ2‖² = 25
        25.0
        >>> round(frechet_distance(x, 2 * x), 6)  # ‖(1, 1)‖² + Tr(Σ + 4Σ − 2 · 2Σ), Σ = 4/3 I: 2 + 8/3
        4.666667
    """
    return frechet_distance_from_statistics(*gaussian_statistics(x), *gaussian_statistics(y))
