"""`load_dataset`: one entry point for every data set gandiff trains on.

``name_or_path`` is read in this order:

1. a built-in name: the 2-D sets ``ring8, grid25, swissroll, moons, circle, line``
   (`points.py`) or the image sets ``digits, mnist5k`` (`images.py`);
2. ``hf:...``: a Hugging Face data set (``hf:NAME``, ``hf:BUILDER:PATH``, ``hf:PATH`` of a
   ``save_to_disk`` folder; see `huggingface.py`);
3. the path of an existing folder: a ``save_to_disk`` folder if it holds one (recognized by its
   ``state.json`` / ``dataset_dict.json``), else a folder of images (see `images.py`).

Built-in names win over folders of the same name: write ``./digits`` for the folder.

Every data set is a map-style ``torch.utils.data.Dataset`` whose items are
``{"sample": FloatTensor, "label": LongTensor scalar}`` — images (C, H, W) in [-1, 1], 2-D points
(2,) in data units; the label is the class index, or 0 when the set is unlabeled — with the
attributes ``num_classes`` (None when unlabeled), ``classes`` (names or None),
``sample_shape``, ``kind`` ("image" or "points"), ``mixture`` (the `GaussianMixture2D` of ring8
and grid25, else None) and ``set_epoch(epoch)``, which a trainer calls before each epoch so that
random flips and crops change from epoch to epoch (a no-op for points). Items can also be asked
for as ``dataset[(epoch, index)]``: the augmentation is then fixed by (seed, epoch, index) alone,
whichever process or DataLoader worker loads it, which is what a sampler that runs ahead of the
training loop across epochs needs.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path

from torch.utils.data import Dataset

from ..validation import check_positive
from .huggingface import is_saved_dataset, load_huggingface
from .images import load_digits, load_image_folder, load_mnist5k
from .points import POINT_SETS, load_points

__all__ = ["load_dataset", "BUILTIN_DATASETS"]

# name -> loader taking (resolution, center_crop, random_flip, num_samples, seed)
_IMAGE_SETS: dict[str, Callable[..., Dataset]] = {"digits": load_digits, "mnist5k": load_mnist5k}
BUILTIN_DATASETS: tuple[str, ...] = (*POINT_SETS, *_IMAGE_SETS)

_FORMS = (
    "a folder of images (PATH; sub-folders are classes), a folder written by datasets' save_to_disk (PATH), "
    "hf:NAME (datasets.load_dataset(NAME)), or hf:BUILDER:PATH (e.g. hf:imagefolder:./images)"
)


def _looks_like_path(text: str) -> bool:
    # So that a mistyped path is reported as a missing folder, not as an unknown data set name.
    return os.sep in text or "/" in text or text.startswith((".", "~"))


def _check_options(resolution: int | None, num_samples: int | None, seed: int) -> None:
    check_positive("resolution", resolution, allow_none=True)
    check_positive("num_samples", num_samples, allow_none=True)
    check_positive("seed", seed, allow_zero=True)


def load_dataset(
    name_or_path: str | os.PathLike,
    *,
    resolution: int | None = None,
    split: str = "train",
    center_crop: bool = False,
    random_flip: bool = False,
    num_samples: int | None = None,
    seed: int = 0,
    image_column: str | None = None,
    label_column: str | None = None,
) -> Dataset:
    """Load a built-in set, an image folder or a Hugging Face data set by name or path.

    Args:
        name_or_path: a built-in name, ``hf:...``, or a folder (see the module docstring).
        resolution: side of the square images; default: the set's own (8 for digits, 28 for
            mnist5k, the shorter side of the first image for folders and Hugging Face sets).
            Ignored by 2-D sets, so one set of training flags serves every data set.
        split: the split of a Hugging Face data set. Sources with a single set of items
            (built-ins, image folders, a saved single ``Dataset``) call it "train".
        center_crop: crop non-square images at the centre rather than at a random offset.
        random_flip: flip images left-right with probability 1/2.
        num_samples: 2-D sets: how many points to draw (default 10,000). Images: keep a
            random subset of this many, chosen with `seed` (default: all).
        seed: draws the 2-D points, the image subset and the flips and crops.
        image_column, label_column: columns of a Hugging Face data set (default: the first
            ``Image`` column and the first ``ClassLabel`` column).

    Returns:
        A map-style Dataset with the items and attributes described in the module docstring.

    Raises:
        ValueError: an unknown name (the message lists the built-in names and the other forms),
            a bad option, or a source that cannot be used (e.g. an empty folder).
        FileNotFoundError: a path that does not exist.
        ImportError: an optional dependency is missing; the message says
            ``pip install "gandiff[data]"``.

    Example:
        >>> from gandiff.data import load_dataset
        >>> points = load_dataset("ring8", num_samples=1000)
        >>> len(points), points.kind, points[0]["sample"].shape, len(points.mixture.centers)
        (1000, 'points', torch.Size([2]), 8)
        >>> digits = load_dataset("digits")  # scikit-learn's 8×8 digits, in [-1, 1]
        >>> len(digits), digits.sample_shape, digits.num_classes
        (1797, (1, 8, 8), 10)
    """
    name_or_path = os.fspath(name_or_path)
    _check_options(resolution, num_samples, seed)
    image_options = dict(
        resolution=resolution, center_crop=center_crop, random_flip=random_flip, num_samples=num_samples, seed=seed
    )
    if name_or_path.startswith("hf:") or (name_or_path not in BUILTIN_DATASETS and is_saved_dataset(name_or_path)):
        source = name_or_path.removeprefix("hf:")
        return load_huggingface(
            source, split=split, image_column=image_column, label_column=label_column, **image_options
        )

    if split != "train":
        raise ValueError(f"{name_or_path!r} has a single split, 'train'; got split={split!r}")
    if image_column is not None or label_column is not None:
        raise ValueError("image_column and label_column apply only to Hugging Face data sets (hf:...)")
    if name_or_path in POINT_SETS:
        return load_points(name_or_path, num_samples=num_samples, seed=seed)
    if name_or_path in _IMAGE_SETS:
        return _IMAGE_SETS[name_or_path](**image_options)
    if Path(name_or_path).expanduser().exists() or _looks_like_path(name_or_path):
        return load_image_folder(name_or_path, **image_options)

    close = difflib.get_close_matches(name_or_path, BUILTIN_DATASETS, n=1)
    suggestion = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"unknown data set {name_or_path!r}{suggestion}; built-in: {', '.join(BUILTIN_DATASETS)}; or {_FORMS}"
    )
