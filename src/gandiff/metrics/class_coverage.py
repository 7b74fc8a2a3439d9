"""Class coverage of generated digits: the Stacked-MNIST style mode count (Metz et al. 2017).

A pretrained classifier labels each generated sample; a class is *covered* when at least
`min_count` samples are given its label (1 in the Stacked-MNIST protocol of Unrolled GAN,
VEEGAN and PacGAN), and the KL divergence of the predicted-class histogram from uniform says
how evenly they are covered (0 when even; log 10 ≈ 2.30 when every sample is one digit).
The built-in digit sets are balanced to within a few percent, so uniform is their histogram.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .histogram import kl_from_uniform

__all__ = ["ClassCoverage", "class_coverage"]


@dataclass(frozen=True)
class ClassCoverage:
    """How many classes the generated samples cover, and how evenly.

    Attributes:
        classes_covered: classes predicted for at least `min_count` samples.
        num_classes: the number of classes.
        kl_from_uniform: KL(p ‖ uniform) in nats of the predicted-class histogram.
        counts: the number of samples predicted as each class.
    """

    classes_covered: int
    num_classes: int
    kl_from_uniform: float
    counts: tuple[int, ...]


def class_coverage(predicted: torch.Tensor, num_classes: int, min_count: int = 1) -> ClassCoverage:
    """Coverage of `predicted` class indices (N,) over `num_classes` classes.

    Args:
        predicted: (N,) class indices in 0 .. num_classes − 1, e.g. a classifier's predictions.
        num_classes: the number of classes.
        min_count: samples a class needs to count as covered.

    Returns:
        The `ClassCoverage`.

    Raises:
        ValueError: when `predicted` is not (N,) indices in range.

    Example:
        >>> from gandiff.metrics import class_coverage
        >>> class_coverage([0, 0, 1, 1], num_classes=4)  # half the classes, evenly
        ClassCoverage(classes_covered=2, num_classes=4, kl_from_uniform=0.6931471805599453, counts=(2, 2, 0, 0))
    """
    predicted = torch.as_tensor(predicted).detach().cpu().long()
    if predicted.ndim != 1 or (len(predicted) and not 0 <= int(predicted.min()) <= int(predicted.max()) < num_classes):
        raise ValueError(f"predicted must be (N,) class indices in 0 .. {num_classes - 1}")
    counts = torch.bincount(predicted, minlength=num_classes)
    return ClassCoverage(
        classes_covered=int((counts >= min_count).sum()),
        num_classes=num_classes,
        kl_from_uniform=kl_from_uniform(counts),
        counts=tuple(counts.tolist()),
    )
