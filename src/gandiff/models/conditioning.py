"""Class labels for class-conditional models (Mirza & Osindero 2014): one check for every model."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["check_class_labels"]


def check_class_labels(
    class_labels: torch.Tensor | Sequence[int] | None,
    num_classes: int | None,
    batch_size: int,
    device: torch.device | None = None,
) -> torch.Tensor | None:
    """Validate class labels for a model with `num_classes` classes (None: unconditional).

    Args:
        class_labels: one integer label per sample, or None.
        num_classes: the model's number of classes; None for an unconditional model.
        batch_size: the number of samples.
        device: where the returned labels are put.

    Returns:
        The labels as a LongTensor of shape (batch_size,) on `device`, or None for an
        unconditional model.

    Raises:
        ValueError: when labels are missing for a conditional model, given to an unconditional
            one, of the wrong shape or type, or out of ``[0, num_classes)``.
    """
    if num_classes is None:
        if class_labels is not None:
            raise ValueError(
                "this model is unconditional (num_classes=None) but class_labels were given; "
                "drop them, or build the model with num_classes"
            )
        return None
    if class_labels is None:
        raise ValueError(
            f"this model is class-conditional (num_classes={num_classes}); pass class_labels, "
            f"integers of shape ({batch_size},) in [0, {num_classes})"
        )
    labels = torch.as_tensor(class_labels, device=device)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"class_labels must be integers, got dtype {labels.dtype}")
    if labels.shape != (batch_size,):
        raise ValueError(f"class_labels must have shape ({batch_size},), one per sample; got {tuple(labels.shape)}")
    if batch_size > 0:
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"class labels must be in [0, {num_classes}) for num_classes={num_classes}; "
                f"got values from {low} to {high}"
            )
    return labels.long()
