"""Hugging Face `datasets` as gandiff image sets.

Sources (the ``hf:`` prefix is what load_dataset sees; this module gets what follows it):

==========================  ===========================================================
``hf:NAME``                 ``datasets.load_dataset(NAME, split=split)``: a dataset on the
                            Hub, or in the local ``datasets`` cache
``hf:BUILDER:PATH``         ``datasets.load_dataset(BUILDER, data_dir=PATH)`` (a folder) or
                            ``data_files=PATH`` (a file or glob), e.g. ``hf:imagefolder:./pets``,
                            ``hf:parquet:train.parquet``
``PATH`` or ``hf:PATH``     a folder written by ``Dataset.save_to_disk`` or
                            ``DatasetDict.save_to_disk``, read with ``datasets.load_from_disk``
==========================  ===========================================================

Hub names never contain ':', so the first ':' after ``hf:`` always separates a builder from
its path. A saved ``Dataset`` is one set of items and counts as the "train" split; a saved
``DatasetDict`` has its own splits.

Columns: `image_column` defaults to the first column whose feature is ``datasets.Image``;
`label_column` to the first ``ClassLabel`` column (none: unlabeled, every label 0). A label
column may also hold non-negative integers, taken as classes 0..max.

Colour: one channel if the Image feature fixes a grayscale mode or every image is grayscale
(checked from the image headers, stopping at the first colour image), else RGB. `resolution`
defaults to the shorter side of the first image.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from ._optional import import_optional
from .images import GRAYSCALE_MODES, ImageDataset, subset_indices
from .transforms import pil_to_tensor

__all__ = ["HuggingFaceImageDataset", "load_huggingface", "is_saved_dataset"]

_INTEGER_DTYPES = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"})


def is_saved_dataset(path: str | os.PathLike) -> bool:
    """Whether `path` is a folder written by ``save_to_disk`` (by the files that it writes).

    Args:
        path: any path.

    Returns:
        True for a folder holding ``dataset_dict.json``, or ``state.json`` and ``dataset_info.json``.
    """
    folder = Path(path).expanduser()
    return (folder / "dataset_dict.json").is_file() or (
        (folder / "state.json").is_file() and (folder / "dataset_info.json").is_file()
    )


def _open(source: str, split: str) -> Any:
    """The ``datasets.Dataset`` for `source` (the text after ``hf:``, or a saved folder's path)."""
    datasets = import_optional("datasets", "datasets", f"the Hugging Face data set {source!r}")
    if is_saved_dataset(source):
        saved = datasets.load_from_disk(str(Path(source).expanduser()))
        if isinstance(saved, datasets.DatasetDict):
            if split not in saved:
                raise ValueError(f"saved data set {source!r} has no split {split!r}; its splits: {', '.join(saved)}")
            return saved[split]
        if split != "train":
            raise ValueError(
                f"saved data set {source!r} is a single Dataset, read as split 'train'; got split={split!r}"
            )
        return saved
    builder, sep, data_path = source.partition(":")
    if not sep:
        return datasets.load_dataset(source, split=split)
    data_path = os.path.expanduser(data_path)
    if os.path.isdir(data_path):
        return datasets.load_dataset(builder, data_dir=data_path, split=split)
    return datasets.load_dataset(builder, data_files=data_path, split=split)


def _describe_columns(features: Any) -> str:
    return ", ".join(f"{name} ({type(feature).__name__})" for name, feature in features.items())


def _image_column(features: Any, image_column: str | None, source: str) -> str:
    from datasets import Image

    if image_column is None:
        image_columns = [name for name, feature in features.items() if isinstance(feature, Image)]
        if not image_columns:
            raise ValueError(
                f"{source!r} has no column of images; its columns: {_describe_columns(features)}. "
                "Pass image_column=, with a column cast to datasets.Image"
            )
        return image_columns[0]
    if image_column not in features:
        raise ValueError(f"{source!r} has no column {image_column!r}; its columns: {_describe_columns(features)}")
    if not isinstance(features[image_column], Image):
        raise ValueError(
            f"column {image_column!r} of {source!r} holds {type(features[image_column]).__name__}, not images; "
            f"cast it first: dataset.cast_column({image_column!r}, datasets.Image())"
        )
    return image_column


def _label_column(
    dataset: Any, label_column: str | None, source: str
) -> tuple[str | None, int | None, list[str] | None]:
    """(label column or None, num_classes, class names) for `dataset`."""
    from datasets import ClassLabel, Value

    features = dataset.features
    if label_column is None:
        label_columns = [name for name, feature in features.items() if isinstance(feature, ClassLabel)]
        if not label_columns:
            return None, None, None
        label_column = label_columns[0]
    if label_column not in features:
        raise ValueError(f"{source!r} has no column {label_column!r}; its columns: {_describe_columns(features)}")
    feature = features[label_column]
    if isinstance(feature, ClassLabel):
        return label_column, feature.num_classes, list(feature.names)
    if isinstance(feature, Value) and feature.dtype in _INTEGER_DTYPES:
        values = dataset.unique(label_column)
        if not values or min(values) < 0:
            raise ValueError(f"label column {label_column!r} of {source!r} must hold non-negative class indices")
        return label_column, max(values) + 1, None
    raise ValueError(
        f"label column {label_column!r} of {source!r} holds {feature!r}, not class indices; "
        f"encode it first: dataset.class_encode_column({label_column!r})"
    )


def _image_header(example: dict) -> tuple[str, tuple[int, int]]:
    """(mode, size) of a not-yet-decoded Image example, from its header only."""
    from PIL import Image

    source = io.BytesIO(example["bytes"]) if example.get("bytes") else example["path"]
    with Image.open(source) as image:
        return image.mode, image.size


def _mode_and_first_size(dataset: Any, column: str) -> tuple[str, tuple[int, int]]:
    """The mode to convert to ("L" if every image is grayscale, else "RGB") and the first image's (width, height)."""
    from datasets import Image

    # When the feature fixes a mode, decoding converts every image to it: no need to look.
    fixed_mode = dataset.features[column].mode
    undecoded = dataset.select_columns([column]).cast_column(column, Image(decode=False))
    first_size = None
    for batch in undecoded.iter(batch_size=1024):
        for example in batch[column]:
            if example is None:
                continue
            mode, size = _image_header(example)
            first_size = first_size or size
            if fixed_mode is not None:
                return ("L" if fixed_mode in GRAYSCALE_MODES else "RGB"), first_size
            if mode not in GRAYSCALE_MODES:
                return "RGB", first_size
    if first_size is None:
        raise ValueError(f"column {column!r} holds no images")
    return "L", first_size


class HuggingFaceImageDataset(ImageDataset):
    """Rows of a ``datasets.Dataset``: one image column and an optional label column.

    Build it with `load_huggingface`.

    Args:
        dataset: a ``datasets.Dataset``.
        image_column: the column of images.
        label_column: the column of integer labels, or None for an unlabeled set.
        mode: the PIL mode every image is converted to, ``"L"`` or ``"RGB"``.
        **options: the other arguments of `ImageDataset` (resolution, center_crop,
            random_flip, seed, num_classes, classes).
    """

    def __init__(self, dataset: Any, image_column: str, label_column: str | None, *, mode: str, **options):
        columns = [image_column] if label_column is None else [image_column, label_column]
        # Only these columns are read per item, so other columns (captions, metadata) cost nothing.
        self.dataset = dataset.select_columns(columns)
        self.image_column = image_column
        self.label_column = label_column
        self.mode = mode
        super().__init__(channels=1 if mode == "L" else 3, **options)

    def __len__(self) -> int:
        return len(self.dataset)

    def load(self, index: int) -> tuple[torch.Tensor, int]:
        """Row `index`'s image as (C, H, W) float in [0, 1], and its label.

        Args:
            index: the row, in [0, len(self)).

        Returns:
            (image, label); the label is 0 without a label column.
        """
        row = self.dataset[index]
        label = 0 if self.label_column is None else int(row[self.label_column])
        return pil_to_tensor(row[self.image_column], self.mode), label


def load_huggingface(
    source: str,
    *,
    split: str = "train",
    image_column: str | None = None,
    label_column: str | None = None,
    resolution: int | None = None,
    center_crop: bool = False,
    random_flip: bool = False,
    num_samples: int | None = None,
    seed: int = 0,
) -> HuggingFaceImageDataset:
    """Load a Hugging Face data set of images (the forms are listed in the module docstring).

    Args:
        source: ``NAME``, ``BUILDER:PATH``, or the path of a ``save_to_disk`` folder.
        split: which split.
        image_column, label_column: column names; defaults as in the module docstring.
        resolution, center_crop, random_flip, num_samples, seed: as for every image set.

    Returns:
        The data set.

    Raises:
        ImportError: the datasets package is missing (``pip install "gandiff[data]"``).
        ValueError: when the split or a column is missing or of the wrong type.
    """
    dataset = _open(source, split)
    image_column = _image_column(dataset.features, image_column, source)
    label_column, num_classes, classes = _label_column(dataset, label_column, source)
    keep = subset_indices(len(dataset), num_samples, seed)
    if keep is not None:
        dataset = dataset.select(keep)
    mode, first_size = _mode_and_first_size(dataset, image_column)
    return HuggingFaceImageDataset(
        dataset,
        image_column,
        label_column,
        mode=mode,
        resolution=min(first_size) if resolution is None else resolution,
        center_crop=center_crop,
        random_flip=random_flip,
        seed=seed,
        num_classes=num_classes,
        classes=classes,
    )
