"""Data sets: built-in 2-D sets and digit images, image folders, Hugging Face data sets."""

from .datasets import BUILTIN_DATASETS, load_dataset
from .images import ImageDataset, load_digits, load_image_folder, load_mnist5k
from .points import POINT_SETS, PointsDataset, load_points
from .toy2d import GaussianMixture2D, grid25, ring8
from .transforms import ImageTransform

__all__ = [
    "BUILTIN_DATASETS",
    "POINT_SETS",
    "GaussianMixture2D",
    "ImageDataset",
    "ImageTransform",
    "PointsDataset",
    "grid25",
    "load_dataset",
    "load_digits",
    "load_image_folder",
    "load_mnist5k",
    "load_points",
    "ring8",
]
