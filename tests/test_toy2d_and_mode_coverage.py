"""Built-in 2-D mixtures and the VEEGAN/PacGAN mode-coverage metric."""

import math

import torch

from gandiff.data import grid25, ring8
from gandiff.metrics.mode_coverage import mode_coverage


def test_ring8_has_eight_distinct_modes_on_the_circle():
    mixture = ring8(radius=2.0, std=0.02)
    centers = mixture.centers.double()
    distances = torch.cdist(centers, centers) + torch.eye(8) * 1e9
    # Neighbours on a regular octagon of radius r are 2 r sin(π/8) apart (a repeated angle would give 0).
    torch.testing.assert_close(distances.min(), torch.tensor(2 * 2.0 * math.sin(math.pi / 8), dtype=torch.float64))
    torch.testing.assert_close(centers.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))


def test_grid25_centers():
    centers = grid25().centers
    assert centers.shape == (25, 2)
    assert sorted(set(centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_true_samples_cover_every_mode_with_the_closed_form_quality():
    """For a 2-D isotropic Gaussian, P(‖x − μ‖ < 3σ) = 1 − exp(−9/2) ≈ 0.9889 (chi with 2 dof)."""
    for mixture in (ring8(), grid25()):
        samples = mixture.sample(20_000, generator=torch.Generator().manual_seed(0))
        score = mode_coverage(samples, mixture.centers, mixture.std)
        assert score.modes_captured == score.num_modes
        assert abs(score.high_quality_fraction - (1 - math.exp(-4.5))) < 0.003
        assert score.kl_from_uniform < 0.01


def test_collapsed_and_off_target_samples():
    mixture = ring8()
    collapsed = mixture.centers[3].expand(100, 2)
    score = mode_coverage(collapsed, mixture.centers, mixture.std)
    assert score.modes_captured == 1 and score.high_quality_fraction == 1.0
    assert math.isclose(score.kl_from_uniform, math.log(8))  # all mass on one of 8 modes
    nowhere = torch.zeros(50, 2)  # the ring's centre is 2 away from every mode
    score = mode_coverage(nowhere, mixture.centers, mixture.std)
    assert score.modes_captured == 0 and score.high_quality_fraction == 0.0 and score.kl_from_uniform == math.inf
