"""Built-in 2-D sets through load_dataset: items, attributes, seeds, shapes of the curves."""

import math

import pytest
import torch
from torch.utils.data import DataLoader

from gandiff.data import POINT_SETS, GaussianMixture2D, load_dataset
from gandiff.metrics.mode_coverage import mode_coverage

# The noise std of the four curves, from points.py's table.
CURVE_NOISE = 0.05


@pytest.mark.parametrize("name", POINT_SETS)
def test_items_and_attributes_follow_the_contract(name):
    dataset = load_dataset(name)
    assert len(dataset) == 10_000  # the documented default size
    item = dataset[0]
    assert set(item) == {"sample", "label"}
    assert item["sample"].shape == (2,) and item["sample"].dtype == torch.float32
    assert item["label"].shape == () and item["label"].dtype == torch.int64 and item["label"].item() == 0
    assert dataset.kind == "points" and dataset.sample_shape == (2,)
    assert dataset.num_classes is None and dataset.classes is None
    assert isinstance(dataset.mixture, GaussianMixture2D) == (name in ("ring8", "grid25"))
    dataset.set_epoch(3)  # a no-op the trainer may call on any set
    torch.testing.assert_close(dataset[0]["sample"], item["sample"])
    torch.testing.assert_close(dataset[(3, 0)]["sample"], item["sample"])  # (epoch, index) keys work too


def test_a_dataloader_batches_points_and_labels():
    batch = next(iter(DataLoader(load_dataset("moons"), batch_size=64)))
    assert batch["sample"].shape == (64, 2) and batch["label"].shape == (64,)
    assert batch["label"].dtype == torch.int64


@pytest.mark.parametrize("name", POINT_SETS)
def test_the_seed_fixes_the_points_and_num_samples_sets_the_size(name):
    first = load_dataset(name, seed=1, num_samples=500)
    assert len(first) == 500
    torch.testing.assert_close(first.points, load_dataset(name, seed=1, num_samples=500).points)
    assert not torch.equal(first.points, load_dataset(name, seed=2, num_samples=500).points)


def test_ring8_points_fall_evenly_on_eight_distinct_modes():
    dataset = load_dataset("ring8")
    centers = dataset.mixture.centers
    # Nearest neighbours on a regular octagon of radius 2 are 2 · 2 sin(π/8) ≈ 1.53 apart; a
    # repeated angle (linspace(0, 2π, 8)) would put two centres at distance 0.
    separations = torch.cdist(centers, centers) + 1e9 * torch.eye(8)
    assert separations.min().item() == pytest.approx(4 * math.sin(math.pi / 8), rel=1e-5)
    nearest = torch.cdist(dataset.points, centers).argmin(dim=1)
    counts = torch.bincount(nearest, minlength=8)
    # Each mode gets Binomial(10,000, 1/8) points: mean 1,250, std sqrt(10,000 · 1/8 · 7/8) ≈ 33.
    assert (counts - 1250).abs().max().item() < 5 * 33
    score = mode_coverage(dataset.points, centers, dataset.mixture.std)
    assert score.modes_captured == 8


def test_grid25_points_cover_the_25_modes():
    dataset = load_dataset("grid25")
    assert sorted(set(dataset.mixture.centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert dataset.mixture.std == 0.05  # VEEGAN and PacGAN's grid
    assert mode_coverage(dataset.points, dataset.mixture.centers, dataset.mixture.std).modes_captured == 25


def _within_noise(distance: torch.Tensor) -> bool:
    """Distances of noisy points from their noiseless curve: the 2-D noise has E|n| = σ sqrt(π/2)
    (a Rayleigh variable), and the distance to a curve is at most |n|, so a mean distance under
    σ sqrt(π/2) + a margin, and no point beyond 6σ, says the points lie on the curve."""
    mean_ok = distance.mean().item() < CURVE_NOISE * math.sqrt(math.pi / 2) + 0.01
    return mean_ok and distance.max().item() < 6 * CURVE_NOISE


def test_circle_is_the_circle_of_radius_2():
    points = load_dataset("circle").points
    assert _within_noise((points.norm(dim=1) - 2).abs())
    # The angle is uniform: each quadrant holds a quarter of the points (std 43 of 10,000).
    quadrant = (points[:, 0] > 0).long() * 2 + (points[:, 1] > 0).long()
    assert (torch.bincount(quadrant) - 2500).abs().max().item() < 5 * 43


def test_line_is_the_diagonal_segment_from_minus_2_to_2():
    points = load_dataset("line").points
    distance_to_diagonal = (points[:, 0] - points[:, 1]).abs() / math.sqrt(2)
    assert _within_noise(distance_to_diagonal)
    along = points.sum(dim=1) / 2  # position on the diagonal, uniform on [-2, 2]
    assert along.min().item() < -1.9 and along.max().item() > 1.9
    assert along.abs().max().item() < 2 + 6 * CURVE_NOISE


def test_moons_lie_on_two_unit_half_circles():
    points = load_dataset("moons").points
    # Undo the centring and scaling (points = (moon - (0.5, 0.25)) · 2) to get sklearn's moons:
    # the upper one on the unit circle about (0, 0), the lower one about (1, 0.5).
    moons = points / 2 + torch.tensor([0.5, 0.25])
    to_upper = (moons.norm(dim=1) - 1).abs()
    to_lower = ((moons - torch.tensor([1.0, 0.5])).norm(dim=1) - 1).abs()
    distance = torch.minimum(to_upper, to_lower) * 2  # back in data units
    assert _within_noise(distance)
    upper = to_upper < to_lower
    assert abs(upper.float().mean().item() - 0.5) < 0.03  # each point picks a moon with p = 1/2


def test_swissroll_spirals_out_from_radius_0_94_to_2_83():
    points = load_dataset("swissroll").points
    # t = 1.5π (1 + 2u) runs over [1.5π, 4.5π], and the radius is t / 5.
    radius = points.norm(dim=1)
    assert radius.min().item() > 1.5 * math.pi / 5 - 6 * CURVE_NOISE
    assert radius.max().item() < 4.5 * math.pi / 5 + 6 * CURVE_NOISE
    # On the spiral the angle equals t = 5 r modulo 2π. Radial noise σ moves 5 r by N(0, (5σ)²) =
    # N(0, 0.25²), so the median |error| is about 0.674 · 0.25 ≈ 0.17; points off the spiral
    # would have uniform errors, median π/2.
    angle = torch.atan2(points[:, 1], points[:, 0])
    angle_error = torch.remainder(angle - 5 * radius + math.pi, 2 * math.pi) - math.pi  # in [-π, π)
    assert angle_error.abs().median().item() < 0.25


def test_image_options_do_not_change_2d_sets():
    plain = load_dataset("ring8", num_samples=100)
    with_image_options = load_dataset("ring8", num_samples=100, resolution=32, random_flip=True, center_crop=True)
    torch.testing.assert_close(plain.points, with_image_options.points)


def test_unknown_names_list_the_built_in_names_and_the_other_forms():
    with pytest.raises(ValueError) as error:
        load_dataset("ring9")
    message = str(error.value)
    assert "did you mean 'ring8'" in message
    for name in (*POINT_SETS, "digits", "mnist5k", "hf:NAME", "PATH"):
        assert name in message


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="single split"):
        load_dataset("ring8", split="test")
    with pytest.raises(ValueError, match="num_samples"):
        load_dataset("ring8", num_samples=0)
    with pytest.raises(ValueError, match="seed"):
        load_dataset("ring8", seed=-1)
    with pytest.raises(ValueError, match="Hugging Face"):
        load_dataset("ring8", image_column="image")


def test_get_batch_stacks_what_a_dataloader_collates():
    # The trainers take whole batches from get_batch; it must equal DataLoader's default collation
    # of the same keys, plain indices and (epoch, index) pairs alike.
    data = load_dataset("grid25", num_samples=100)
    indices = [7, 3, 99, 0, 42]
    collated = next(iter(DataLoader(data, batch_sampler=[indices])))
    for keys in (indices, [(5, i) for i in indices]):
        batch = data.get_batch(keys)
        assert torch.equal(batch["sample"], collated["sample"])
        assert torch.equal(batch["label"], collated["label"]) and batch["label"].dtype == collated["label"].dtype


def test_trainer_batches_are_the_same_with_and_without_get_batch():
    from types import SimpleNamespace

    from gandiff.training.common import make_batches

    class PerItem(torch.utils.data.Dataset):  # the same points, without get_batch
        def __init__(self, data):
            self.data = data

        def __len__(self):
            return len(self.data)

        def __getitem__(self, key):
            return self.data[key]

        def set_epoch(self, epoch):
            pass

    data = load_dataset("ring8", num_samples=64)
    config = SimpleNamespace(batch_size=8, seed=3, num_workers=0)
    accelerator = SimpleNamespace(process_index=0, num_processes=1, device=torch.device("cpu"))
    fast, slow = (
        make_batches(data, config, accelerator, start=5),
        make_batches(PerItem(data), config, accelerator, start=5),
    )
    for _ in range(12):  # crosses an epoch boundary (8 batches per epoch)
        a, b = next(fast), next(slow)
        assert torch.equal(a["sample"], b["sample"]) and torch.equal(a["label"], b["label"])
