"""Improved precision and recall (Kynkäänniemi et al. 2019) on point sets with known answers."""

import pytest
import torch

from gandiff.metrics.precision_recall import manifold_radii, precision_recall

# Ten real points on a line, x = 0 .. 9. With k = 3 the third-nearest neighbour is 3 away for
# the two ends (neighbours at 1, 2, 3) and 2 away for every other point (1, 1, 2).
LINE = torch.stack([torch.arange(10.0), torch.zeros(10)], dim=1)


def test_radii_on_a_line():
    torch.testing.assert_close(
        manifold_radii(LINE.double(), k=3), torch.tensor([3.0, *[2.0] * 8, 3.0], dtype=torch.float64)
    )


def test_precision_counts_samples_inside_some_ball():
    fake = torch.tensor(
        [
            [4.5, 0.0],  # on the line: inside
            [4.5, 1.9],  # √(0.5² + 1.9²) = 1.965 from (4, 0), radius 2: inside
            [4.5, 2.1],  # √(0.5² + 2.1²) = 2.159 from (4, 0) and (5, 0): outside
            [20.0, 0.0],  # 11 from (9, 0), radius 3: outside
            [-2.5, 0.0],  # 2.5 from (0, 0), radius 3: inside
            [-3.5, 0.0],  # 3.5 from (0, 0): outside
        ]
    )
    assert precision_recall(LINE, fake, k=3).precision == pytest.approx(3 / 6)


def test_recall_is_precision_with_the_roles_swapped():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(200, 4, generator=generator), 0.5 + torch.randn(150, 4, generator=generator)
    assert precision_recall(a, b).recall == precision_recall(b, a).precision


def test_identical_sets_score_one_and_a_collapsed_set_covers_one_point():
    real = torch.randn(300, 5, generator=torch.Generator().manual_seed(1))
    assert precision_recall(real, real) == precision_recall(real, real.clone())
    assert precision_recall(real, real).precision == 1.0 and precision_recall(real, real).recall == 1.0
    # Every sample is real point 7: all are realistic (precision 1), but the generated balls
    # have radius 0 and hold only that one real point (recall 1/300).
    collapsed = real[7].expand(100, 5)
    score = precision_recall(real, collapsed)
    assert score.precision == 1.0
    assert score.recall == pytest.approx(1 / 300)


def test_fresh_data_scores_high_shifted_and_spread_data_lower():
    """Same-distribution sets of 1,000 in 4-D score about 0.9 here (the k-NN balls miss the
    tails); a shift by 2 σ costs both; a generator 3× too wide keeps recall, loses precision."""
    generator = torch.Generator().manual_seed(2)
    real, fresh = torch.randn(1000, 4, generator=generator), torch.randn(1000, 4, generator=generator)
    floor = precision_recall(real, fresh)
    assert floor.precision > 0.85 and floor.recall > 0.85
    shifted = precision_recall(real, fresh + 2.0)
    assert shifted.precision < floor.precision - 0.3 and shifted.recall < floor.recall - 0.3
    wide = precision_recall(real, 3 * fresh)
    assert wide.precision < floor.precision - 0.3 and wide.recall > 0.9


def test_bad_arguments():
    with pytest.raises(ValueError, match="k must be"):
        precision_recall(LINE[:3], LINE, k=3)
    with pytest.raises(ValueError, match="features"):
        precision_recall(LINE, torch.zeros(5, 3))
