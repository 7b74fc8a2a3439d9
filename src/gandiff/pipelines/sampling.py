"""Drawing many samples from a pipeline: balanced class labels, batches, one seed.

Every caller that wants N samples (evaluation, the trainers' sample pictures, ``gandiff
sample``, the plots) draws them the same way:

* a class-conditional network is asked for its classes in turn, 0, 1, ..., K − 1, 0, 1, ...,
  so each class gets ⌊N/K⌋ or ⌈N/K⌉ of the N samples, and a class histogram of the samples
  can be read against a uniform request;
* the samples come in batches (memory), all drawn from one generator seeded once, on the
  pipeline's device, so one seed fixes all N samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .pipeline import ImagePipelineOutput, Pipeline

__all__ = ["balanced_labels", "draw_samples", "expand_class_labels"]


def balanced_labels(num_samples: int, num_classes: int | None) -> torch.Tensor | None:
    """The labels 0, 1, ..., num_classes − 1, 0, 1, ... of `num_samples` samples: every class equally often.

    Args:
        num_samples: how many labels.
        num_classes: the network's number of classes; ``None`` (or 0) for an unconditional network.

    Returns:
        A LongTensor (num_samples,) on the CPU, or ``None`` for an unconditional network.

    Example:
        >>> balanced_labels(7, 3).tolist()
        [0, 1, 2, 0, 1, 2, 0]
        >>> balanced_labels(7, None) is None
        True
    """
    if not num_classes:
        return None
    return torch.arange(num_samples) % num_classes


def expand_class_labels(
    class_labels: int | Sequence[int] | torch.Tensor | None, batch_size: int, device: torch.device
) -> torch.Tensor | None:
    """One label per sample, as a LongTensor on `device`: a pipeline's ``class_labels`` argument.

    Args:
        class_labels: one int for the whole batch, one label per sample, or ``None``.
        batch_size: the number of samples.
        device: where the labels go (the network's device).

    Returns:
        The labels (batch_size,), or ``None`` when none were given.

    Raises:
        ValueError: labels that are neither one int nor one per sample.
    """
    if class_labels is None:
        return None
    labels = torch.as_tensor(class_labels, dtype=torch.long, device=device)
    if labels.ndim == 0:
        labels = labels.expand(batch_size)
    if labels.shape != (batch_size,):
        raise ValueError(f"class_labels must be one int or {batch_size} labels, got shape {tuple(labels.shape)}")
    return labels


def draw_samples(
    pipeline: Pipeline, num_samples: int, *, seed: int = 0, batch_size: int | None = None, **options: Any
) -> torch.Tensor:
    """`num_samples` samples of `pipeline`, in batches from one generator seeded with `seed`,
    with `balanced_labels` for a class-conditional network.

    Args:
        pipeline: any `Pipeline` (its ``num_classes`` says whether it takes labels).
        num_samples: how many samples.
        seed: seeds the one generator, made on the pipeline's device, that every batch draws from.
        batch_size: samples per pipeline call; all in one call by default.
        **options: further arguments of the pipeline's call, e.g. ``num_inference_steps``,
            ``eta`` or ``rejection_sampling``.

    Returns:
        The pipeline's ``"pt"`` output: images (num_samples, C, H, W) in [0, 1], or points
        (num_samples, D) in data units.

    Raises:
        ValueError: `num_samples` or `batch_size` below 1.

    Example:
        >>> from gandiff import GANPipeline, MLPGenerator
        >>> pipe = GANPipeline(generator=MLPGenerator(num_classes=4))
        >>> draw_samples(pipe, 10, seed=0, batch_size=4).shape  # labels 0, 1, 2, 3, 0, 1, ...
        torch.Size([10, 2])
    """
    if num_samples < 1 or (batch_size is not None and batch_size < 1):
        raise ValueError(f"num_samples and batch_size must be at least 1, got {num_samples} and {batch_size}")
    batch_size = batch_size or num_samples
    generator = torch.Generator(pipeline.device).manual_seed(seed)
    labels = balanced_labels(num_samples, pipeline.num_classes)
    batches = []
    for start in range(0, num_samples, batch_size):
        size = min(batch_size, num_samples - start)
        batch_labels = None if labels is None else labels[start : start + size]
        out = pipeline(batch_size=size, generator=generator, class_labels=batch_labels, output_type="pt", **options)
        batches.append(out.images if isinstance(out, ImagePipelineOutput) else out.points)
    return torch.cat(batches)
