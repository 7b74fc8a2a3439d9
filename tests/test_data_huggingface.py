"""Hugging Face data sets: saved folders, hf:NAME, hf:BUILDER:PATH, columns, splits, colour."""

import sys

import datasets
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from gandiff.data import load_dataset

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _solid(color, size=(6, 4)):
    """A solid RGB PIL image, `size` = (width, height)."""
    return Image.new("RGB", size, color)


def _colored(labels=(0, 1, 2, 1)):
    """Four solid images (red, green, blue, green) with a ClassLabel and a caption column."""
    colors = {0: RED, 1: GREEN, 2: BLUE}
    features = datasets.Features(
        {
            "caption": datasets.Value("string"),
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=["red", "green", "blue"]),
        }
    )
    return datasets.Dataset.from_dict(
        {
            "caption": [f"image {i}" for i in range(len(labels))],
            "image": [_solid(colors[label]) for label in labels],
            "label": list(labels),
        },
        features=features,
    )


def _channel_means(sample):
    return sample.mean(dim=(1, 2))


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "saved"
    _colored().save_to_disk(str(path))
    return path


@pytest.mark.parametrize("prefix", ["", "hf:"])
def test_a_saved_dataset_loads_by_path_with_or_without_hf_prefix(saved, prefix):
    dataset = load_dataset(prefix + str(saved))
    assert len(dataset) == 4
    assert dataset.kind == "image" and dataset.mixture is None
    assert dataset.num_classes == 3 and dataset.classes == ["red", "green", "blue"]
    assert dataset.sample_shape == (3, 4, 4)  # the first image is 6 × 4: shorter side 4
    items = [dataset[i] for i in range(4)]
    assert [item["label"].item() for item in items] == [0, 1, 2, 1]
    # Solid colours stay solid through resize and crop; 255 -> 1, 0 -> -1.
    expected = [(1.0, -1.0, -1.0), (-1.0, 1.0, -1.0), (-1.0, -1.0, 1.0), (-1.0, 1.0, -1.0)]
    for item, colour in zip(items, expected, strict=True):
        assert item["sample"].shape == (3, 4, 4) and item["label"].dtype == torch.int64
        torch.testing.assert_close(_channel_means(item["sample"]), torch.tensor(colour))


def test_resolution_flip_subset_and_dataloader_workers(saved):
    dataset = load_dataset(str(saved), resolution=8, random_flip=True, num_samples=3, seed=1)
    assert len(dataset) == 3 and dataset.sample_shape == (3, 8, 8)
    expected = torch.stack([dataset[i]["sample"] for i in range(3)])
    # The Arrow-backed data set must survive being sent to worker processes.
    batch = next(iter(DataLoader(dataset, batch_size=3, num_workers=2)))
    torch.testing.assert_close(batch["sample"], expected)


def test_a_saved_dataset_dict_offers_its_splits(tmp_path):
    path = tmp_path / "dict"
    datasets.DatasetDict({"train": _colored((0, 0)), "test": _colored((2, 2, 2))}).save_to_disk(str(path))
    assert len(load_dataset(str(path))) == 2
    test = load_dataset(str(path), split="test")
    assert len(test) == 3 and test[0]["label"].item() == 2
    with pytest.raises(ValueError, match="no split 'validation'.*train, test"):
        load_dataset(str(path), split="validation")


def test_a_saved_single_dataset_is_the_train_split(saved):
    with pytest.raises(ValueError, match="single Dataset"):
        load_dataset(str(saved), split="test")


def test_explicit_columns_and_integer_labels(tmp_path):
    path = tmp_path / "two_images"
    datasets.Dataset.from_dict(
        {
            "photo": [_solid(RED), _solid(RED)],
            "mask": [_solid(BLUE), _solid(BLUE)],
            "digit": [4, 1],
            "name": ["x", "y"],
        },
        features=datasets.Features(
            {
                "photo": datasets.Image(),
                "mask": datasets.Image(),
                "digit": datasets.Value("int64"),
                "name": datasets.Value("string"),
            }
        ),
    ).save_to_disk(str(path))

    default = load_dataset(str(path))
    # The first Image column is the default; an int column is not a ClassLabel, so unlabeled.
    torch.testing.assert_close(_channel_means(default[0]["sample"]), torch.tensor([1.0, -1.0, -1.0]))
    assert default.num_classes is None and default[0]["label"].item() == 0

    chosen = load_dataset(str(path), image_column="mask", label_column="digit")
    torch.testing.assert_close(_channel_means(chosen[0]["sample"]), torch.tensor([-1.0, -1.0, 1.0]))
    assert chosen.num_classes == 5  # integer labels are classes 0..max, max = 4
    assert [chosen[i]["label"].item() for i in range(2)] == [4, 1]

    with pytest.raises(ValueError, match="no column 'img'.*photo"):
        load_dataset(str(path), image_column="img")
    with pytest.raises(ValueError, match=r"not images.*cast_column"):
        load_dataset(str(path), image_column="name")
    with pytest.raises(ValueError, match="class_encode_column"):
        load_dataset(str(path), label_column="name")


def test_a_dataset_without_images_is_refused(tmp_path):
    path = tmp_path / "numbers"
    datasets.Dataset.from_dict({"x": [1.0, 2.0]}).save_to_disk(str(path))
    with pytest.raises(ValueError, match=r"no column of images.*x \(Value\)"):
        load_dataset(str(path))


def test_grayscale_images_give_one_channel(tmp_path):
    gray = [Image.fromarray(np.full((4, 4), value, dtype=np.uint8), "L") for value in (0, 255)]
    all_gray = tmp_path / "gray"
    datasets.Dataset.from_dict({"image": gray}, features=datasets.Features({"image": datasets.Image()})).save_to_disk(
        str(all_gray)
    )
    dataset = load_dataset(str(all_gray))
    assert dataset.sample_shape == (1, 4, 4)
    torch.testing.assert_close(dataset[1]["sample"], torch.ones(1, 4, 4))

    mixed = tmp_path / "mixed"
    datasets.Dataset.from_dict(
        {"image": [gray[1], _solid(RED, size=(4, 4))]}, features=datasets.Features({"image": datasets.Image()})
    ).save_to_disk(str(mixed))
    assert load_dataset(str(mixed)).sample_shape == (3, 4, 4)  # one colour image: all RGB

    # A feature with a fixed mode converts every image to that mode when decoding.
    fixed = tmp_path / "fixed"
    datasets.Dataset.from_dict(
        {"image": [_solid(RED, size=(4, 4))]}, features=datasets.Features({"image": datasets.Image(mode="L")})
    ).save_to_disk(str(fixed))
    assert load_dataset(str(fixed)).sample_shape == (1, 4, 4)


def test_hf_imagefolder_builder_reads_a_local_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")  # keep ~/.cache clean
    for name, color in (("blue", BLUE), ("red", RED)):
        for i in range(2):
            (tmp_path / "images" / name).mkdir(parents=True, exist_ok=True)
            _solid(color, size=(5, 5)).save(tmp_path / "images" / name / f"{i}.png")
    dataset = load_dataset(f"hf:imagefolder:{tmp_path / 'images'}")
    assert len(dataset) == 4 and dataset.sample_shape == (3, 5, 5)
    assert dataset.num_classes == 2 and dataset.classes == ["blue", "red"]  # the builder's ClassLabel
    for i in range(4):
        item = dataset[i]
        color = torch.tensor([1.0, -1.0, -1.0]) if item["label"].item() == 1 else torch.tensor([-1.0, -1.0, 1.0])
        torch.testing.assert_close(_channel_means(item["sample"]), color)


def test_hf_names_and_builder_files_go_to_datasets_load_dataset(monkeypatch, tmp_path):
    calls = []

    def fake_load_dataset(path, **kwargs):
        calls.append((path, kwargs))
        return _colored()

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    assert len(load_dataset("hf:someone/pets", split="test")) == 4
    load_dataset("hf:parquet:shards/*.parquet")
    load_dataset(f"hf:imagefolder:{tmp_path}")
    assert calls == [
        ("someone/pets", {"split": "test"}),
        ("parquet", {"data_files": "shards/*.parquet", "split": "train"}),
        ("imagefolder", {"data_dir": str(tmp_path), "split": "train"}),
    ]


def test_a_missing_datasets_package_names_the_data_extra(monkeypatch, saved):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` raise ImportError
    for source in ("hf:someone/pets", str(saved)):
        with pytest.raises(ImportError, match=r"'datasets'.*pip install \"gandiff\[data\]\""):
            load_dataset(source)
