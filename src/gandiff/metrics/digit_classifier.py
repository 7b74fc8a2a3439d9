"""The small digit classifiers whose features the offline Fréchet distance, class coverage and
precision/recall use: gandiff's stand-in for Inception-v3 on the built-in digit data sets.

TF-GAN scores MNIST models the same way, with a small classifier of the domain (LeNet
features) instead of an ImageNet network that needs downloaded weights and sees 8 × 8 digits
as noise. One classifier per data set, at the set's own resolution, ships inside the package
(``weights/<name>/``: ``config.json``, ``model.safetensors``, and ``training.json`` saying how
it was trained); ``scripts/train_digit_classifier.py`` retrains it deterministically.

Each data set is split once, by `reference_split`, into two halves of equal class counts: the
classifier trains on the *reference* half, and the *held-out* half gives its test accuracy and
the floor of every score: a generated sample is compared with the reference half exactly as
the held-out half is. Scores are comparable only with the same classifier; report the floor
beside them.
"""

from __future__ import annotations

import functools
import importlib.resources

import torch
import torch.nn.functional as F
from torch import nn

from ..models.modeling import ModelMixin
from ..validation import check_positive

__all__ = [
    "CLASSIFIER_DATASETS",
    "DigitClassifier",
    "load_digit_classifier",
    "reference_split",
    "classify",
    "to_resolution",
]

# Data sets with a shipped classifier: load_dataset(name) at its own resolution is what it trained on.
CLASSIFIER_DATASETS = ("digits", "mnist5k")


class DigitClassifier(ModelMixin):
    """A LeNet-style classifier of single-channel images in [-1, 1].

    ``len(channels)`` blocks of (3 × 3 convolution, ReLU, 2 × 2 max-pool), then a hidden layer of
    `feature_dim` ReLU units (the *features* the metrics use, like Inception's pool3) and a
    linear layer to `num_classes` logits.

    Not registered: it is a part of the metrics, never a component of a pipeline.

    Args:
        resolution: side of the square input images.
        in_channels: image channels.
        channels: output channels of each convolution block.
        feature_dim: size of the feature layer.
        num_classes: number of classes (logits).
    """

    def __init__(
        self,
        resolution: int = 8,
        in_channels: int = 1,
        channels: tuple[int, ...] = (16, 32),
        feature_dim: int = 64,
        num_classes: int = 10,
    ):
        super().__init__()
        for name, value in (
            ("resolution", resolution),
            ("in_channels", in_channels),
            ("feature_dim", feature_dim),
            ("num_classes", num_classes),
        ):
            check_positive(name, value)
        if resolution >> len(channels) < 1:
            raise ValueError(
                f"{len(channels)} blocks halve the size {len(channels)} times: too many for resolution {resolution}"
            )
        blocks: list[nn.Module] = []
        for in_c, out_c in zip((in_channels, *channels[:-1]), channels, strict=True):
            blocks += [nn.Conv2d(in_c, out_c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        self.convolutions = nn.Sequential(*blocks)
        side = resolution >> len(channels)  # each pool floors the size in half
        self.feature_layer = nn.Linear(channels[-1] * side * side, feature_dim)
        self.classifier = nn.Linear(feature_dim, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The feature layer's activations, which the Fréchet distance compares.

        Args:
            images: (B, C, R, R) images in [-1, 1].

        Returns:
            (B, feature_dim) features.
        """
        resolution = self.config.resolution
        expected = (self.config.in_channels, resolution, resolution)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"expected images of shape (B, {', '.join(map(str, expected))}), got {tuple(images.shape)}; "
                "resize them with gandiff.metrics.digit_classifier.to_resolution"
            )
        return F.relu(self.feature_layer(self.convolutions(images).flatten(1)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Classify images.

        Args:
            images: (B, C, R, R) images in [-1, 1].

        Returns:
            (B, num_classes) logits.
        """
        return self.classifier(self.features(images))


@functools.cache
def load_digit_classifier(dataset: str) -> DigitClassifier:
    """The classifier shipped for `dataset` (one of `CLASSIFIER_DATASETS`), in eval mode.

    Loaded strictly from safetensors, once per process; treat it as read-only.

    Args:
        dataset: ``"digits"`` or ``"mnist5k"``.

    Returns:
        The classifier, in eval mode, its parameters frozen.

    Raises:
        ValueError: for a data set without a shipped classifier.
    """
    if dataset not in CLASSIFIER_DATASETS:
        known = ", ".join(CLASSIFIER_DATASETS)
        raise ValueError(f"no digit classifier for {dataset!r}; gandiff ships one for: {known}")
    folder = importlib.resources.files(__package__) / "weights" / dataset
    with importlib.resources.as_file(folder) as path:
        model = DigitClassifier.from_pretrained(path)
    return model.requires_grad_(False)


def reference_split(labels: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a labelled set into a reference half and a held-out half with equal class counts.

    Items are visited in a random order drawn from `seed`; within each class they go
    alternately to the reference and the held-out half (the reference half gets the odd
    one out).

    Args:
        labels: (N,) class labels.
        seed: seeds the visiting order.

    Returns:
        (reference indices, held-out indices), each sorted.

    Example:
        >>> import torch
        >>> from gandiff.metrics.digit_classifier import reference_split
        >>> reference, held_out = reference_split(torch.tensor([0, 0, 0, 1, 1, 1, 1]))
        >>> len(reference), len(held_out)  # class 0: 2 + 1; class 1: 2 + 2
        (4, 3)
    """
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    seen: dict[int, int] = {}
    reference, held_out = [], []
    for index in order.tolist():
        label = int(labels[index])
        position = seen.get(label, 0)  # how many of this class came before
        (reference if position % 2 == 0 else held_out).append(index)
        seen[label] = position + 1
    return torch.tensor(sorted(reference)), torch.tensor(sorted(held_out))


def to_resolution(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Resize square images (B, C, H, W) in [-1, 1] to `resolution`, as the data sets resize
    (bicubic, antialiased when shrinking); the same size is returned as it is.

    Args:
        images: (B, C, H, W) square images in [-1, 1].
        resolution: the new side.

    Returns:
        (B, C, resolution, resolution) images in [-1, 1].
    """
    from ..data.transforms import resize_shorter_side

    if images.shape[-1] == resolution and images.shape[-2] == resolution:
        return images
    return resize_shorter_side((images + 1) / 2, resolution) * 2 - 1


@torch.no_grad()
def classify(
    classifier: DigitClassifier, images: torch.Tensor, batch_size: int = 500
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (N, feature_dim) and predicted classes (N,) of images (N, C, H, W) in [-1, 1].

    Images of another size (a model trained on digits resized to 32 × 32) are first brought
    to the classifier's resolution with `to_resolution`.

    Args:
        classifier: a `DigitClassifier`, e.g. from `load_digit_classifier`.
        images: (N, C, H, W) square images in [-1, 1].
        batch_size: images per forward pass.

    Returns:
        (features (N, feature_dim), predicted classes (N,)).
    """
    images = to_resolution(torch.as_tensor(images).detach().float().cpu(), classifier.config.resolution)
    features, predicted = [], []
    for batch in images.split(batch_size):
        batch_features = classifier.features(batch)
        features.append(batch_features)
        predicted.append(classifier.classifier(batch_features).argmax(dim=1))
    return torch.cat(features), torch.cat(predicted)
