"""Fréchet distance: the closed form between Gaussians, checked against numbers derived here."""

import math

import pytest
import torch

from gandiff.metrics.frechet_distance import (
    frechet_distance,
    frechet_distance_from_statistics,
    gaussian_statistics,
)


def test_diagonal_covariances_match_the_closed_form():
    """Diagonal Σ1 = diag(a), Σ2 = diag(b) commute, so (Σ1 Σ2)^½ = diag(√(a b)) and
    d² = ‖μ1 − μ2‖² + Σ_i (a_i + b_i − 2 √(a_i b_i)) = ‖μ1 − μ2‖² + Σ_i (√a_i − √b_i)²."""
    mu1, mu2 = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 1.0, 0.0])
    a, b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.25])
    # ‖μ1 − μ2‖² = 1 + 0 + 4 = 5; (1 − 3)² + (2 − 1)² + (0.5 − 0.5)² = 4 + 1 + 0 = 5
    expected = 10.0
    assert frechet_distance_from_statistics(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(
        expected, abs=1e-12
    )


def test_rotated_covariance_against_eigenvalues():
    """Σ1 = I and Σ2 = R diag(λ) Rᵀ: (Σ1 Σ2)^½ = Σ2^½, whose trace is Σ √λ_i whatever the rotation."""
    angle = 0.7
    rotation = torch.tensor(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], dtype=torch.float64
    )
    sigma2 = rotation @ torch.diag(torch.tensor([4.0, 0.09], dtype=torch.float64)) @ rotation.T
    zero = torch.zeros(2)
    # Tr(I) + Tr(Σ2) − 2 (√4 + √0.09) = 2 + 4.09 − 2 · 2.3 = 1.49
    assert frechet_distance_from_statistics(zero, torch.eye(2), zero, sigma2) == pytest.approx(1.49, abs=1e-12)


def test_full_covariances_against_scipy_sqrtm():
    """Non-commuting full covariances: compare with scipy.linalg.sqrtm of Σ1 Σ2 (pytorch-fid's formula)."""
    scipy_linalg = pytest.importorskip("scipy.linalg")
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(6, 6, generator=generator, dtype=torch.float64)
    b = torch.randn(6, 6, generator=generator, dtype=torch.float64)
    sigma1, sigma2 = a @ a.T + 0.1 * torch.eye(6), b @ b.T + 0.1 * torch.eye(6)
    mu1, mu2 = (torch.randn(6, generator=generator, dtype=torch.float64) for _ in range(2))
    root = scipy_linalg.sqrtm((sigma1 @ sigma2).numpy()).real
    expected = float((mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * root.trace())
    assert frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-9)


def test_identical_statistics_give_zero_and_singular_covariances_are_fine():
    features = torch.randn(50, 8, generator=torch.Generator().manual_seed(1))
    features[:, 0] = 0  # a dead feature (a ReLU unit that never fires): Σ is singular
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-9)


def test_samples_converge_to_the_closed_form():
    """Two samples of 20,000 from N(0, I) and N(μ, diag(4)) in 3-D: d² = ‖μ‖² + 3 (1 − 2)² = 3 + 3 = 6
    for μ = (1, 1, 1); the estimate's bias is about Tr(Σ1 + Σ2)/N ≈ 15/20,000."""
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(20_000, 3, generator=generator)
    y = 1 + 2 * torch.randn(20_000, 3, generator=generator)
    assert frechet_distance(x, y) == pytest.approx(6.0, abs=0.15)


def test_statistics_and_shape_errors():
    mu, sigma = gaussian_statistics(torch.tensor([[0.0, 0.0], [2.0, 2.0]]))
    torch.testing.assert_close(mu, torch.tensor([1.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(sigma, torch.full((2, 2), 2.0, dtype=torch.float64))  # unbiased: 2 / (2 − 1)
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_statistics(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="do not match"):
        frechet_distance(torch.zeros(4, 2), torch.zeros(4, 3))
