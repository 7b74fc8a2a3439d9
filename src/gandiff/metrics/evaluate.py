"""Score samples against a data set: every score beside the data's own floor.

==============================  ==================================================================
data set                        metrics (model, and an independent data sample as the floor)
==============================  ==================================================================
ring8, grid25 (mixtures)        VEEGAN / PacGAN mode coverage (modes captured, high-quality
                                fraction, KL of the mode histogram from uniform), sliced Wasserstein
other 2-D sets                  sliced Wasserstein
digits, mnist5k                 Fréchet distance of the shipped classifier's features, classes
                                covered and KL of the predicted-class histogram from uniform,
                                precision and recall (k = 3)
any image set, inception=True   standard Inception FID (optional extra, downloaded weights)
==============================  ==================================================================

The floor is what real data scores under the same protocol and sample size: for points, a
fresh sample of the data set; for digits, the held-out half of the classifier's split compared
with the reference half, as the model's samples are. A model can at best reach the floor.
`point_metrics` and `digit_metrics` score samples (tensors) however they were drawn;
`digit_baselines` gives two trivial "models" of an image set (a Gaussian fitted to the pixels,
the class means) whose scores put a model's between the floor and failure. Sampling a pipeline
and scoring it is `gandiff.evaluation.evaluate_pipeline`.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from .class_coverage import class_coverage
from .digit_classifier import (
    CLASSIFIER_DATASETS,
    classify,
    load_digit_classifier,
    reference_split,
)
from .frechet_distance import frechet_distance
from .mode_coverage import mode_coverage
from .precision_recall import precision_recall
from .sliced_wasserstein import sliced_wasserstein_with_floor

__all__ = ["digit_baselines", "digit_metrics", "held_out_size", "point_metrics"]

# Seeds of the fresh data samples that points are compared with (the training set is drawn with seed 0).
_REFERENCE_SEED, _INDEPENDENT_SEED = 1001, 1002


def _row(label: str, model: float, data: float) -> dict[str, Any]:
    return {"label": label, "model": model, "data": data}


# -- metrics of samples -------------------------------------------------------------------------


def point_metrics(samples: torch.Tensor, dataset: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Scores of 2-D `samples` (N, 2) against the built-in point set `dataset`.

    Args:
        samples: generated points (N, 2).
        dataset: the name of a built-in 2-D set (``ring8``, ``grid25``, ``moons``, ...).

    Returns:
        ``({key: {"label", "model", "data"}}, details)``: mode coverage (mixtures only) and the
        sliced Wasserstein distance to a fresh data sample of N points, each beside the score
        of another fresh data sample of N points; details holds those sizes.

    Raises:
        ValueError: `dataset` is an image set.
    """
    from ..data import load_dataset

    samples = torch.as_tensor(samples).detach().float().cpu()
    reference = load_dataset(dataset, num_samples=len(samples), seed=_REFERENCE_SEED)
    if reference.kind != "points":
        raise ValueError(f"{dataset!r} is an image data set; use digit_metrics")
    independent = load_dataset(dataset, num_samples=len(samples), seed=_INDEPENDENT_SEED).points
    rows = {}
    mixture = reference.mixture
    if mixture is not None:
        model = mode_coverage(samples, mixture.centers, mixture.std)
        data = mode_coverage(independent, mixture.centers, mixture.std)
        rows["modes_captured"] = _row(
            f"modes captured (of {model.num_modes})", model.modes_captured, data.modes_captured
        )
        rows["high_quality_fraction"] = _row(
            "high-quality fraction (< 3σ)", model.high_quality_fraction, data.high_quality_fraction
        )
        rows["mode_kl"] = _row("KL(mode histogram ‖ uniform)", model.kl_from_uniform, data.kl_from_uniform)
    distance = sliced_wasserstein_with_floor(samples, reference.points, independent)
    rows["sliced_wasserstein"] = _row("sliced Wasserstein-2 to fresh data", distance.distance, distance.floor)
    return rows, {"reference_size": len(samples), "floor_size": len(samples)}


def digit_metrics(
    images: torch.Tensor, dataset: str, seed: int = 0, inception: bool = False
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Scores of generated `images` (N, C, H, W) in [-1, 1] against `dataset`.

    The data set is loaded at the images' resolution, so real and generated images take the
    same path to the classifier (resized to its resolution when needed). The model's samples
    and the floor's held-out images are both compared with the reference half; the floor uses
    min(N, held-out size) held-out images, so it has at most the model's sampling noise.

    Args:
        images: generated images in [-1, 1] (the data sets' range; a pipeline's ``"pt"``
            output x in [0, 1] is ``2 x − 1``).
        dataset: "digits" or "mnist5k" for the classifier metrics; any image set when only
            `inception` is wanted.
        seed: chooses the held-out subset when N is smaller than the held-out half.
        inception: add the standard Inception FID (needs ``gandiff[metrics]`` and its weights).

    Returns:
        ``({key: {"label", "model", "data"}}, details)``, details holding the sizes and the
        classifier's accuracy on the held-out half.

    Raises:
        ValueError: `images` is not 4-D, or `dataset` has no shipped classifier and
            `inception` is off.
    """
    images = torch.as_tensor(images).detach().float().cpu()
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    if dataset not in CLASSIFIER_DATASETS and not inception:
        raise ValueError(
            f"gandiff has no offline classifier for {dataset!r} (only for {', '.join(CLASSIFIER_DATASETS)}); "
            "pass inception=True for the standard FID (needs gandiff[metrics] and the Inception weights)"
        )
    real, labels = _real_images(dataset, images.shape[-1])
    reference, held_out = reference_split(labels)
    if len(images) < len(held_out):
        chosen = torch.randperm(len(held_out), generator=torch.Generator().manual_seed(seed))[: len(images)]
        floor_subset = held_out[chosen.sort().values]
    else:
        floor_subset = held_out
    details: dict[str, Any] = {"reference_size": len(reference), "floor_size": len(floor_subset)}
    rows = {}
    if dataset in CLASSIFIER_DATASETS:
        classifier = load_digit_classifier(dataset)
        real_features, real_predicted = _real_classified(dataset, images.shape[-1])
        features, predicted = classify(classifier, images)
        reference_features, floor_features = real_features[reference], real_features[floor_subset]
        details["classifier_held_out_accuracy"] = (real_predicted[held_out] == labels[held_out]).double().mean().item()
        rows["frechet_distance"] = _row(
            "Fréchet distance (classifier features)",
            frechet_distance(features, reference_features),
            frechet_distance(floor_features, reference_features),
        )
        num_classes = classifier.config.num_classes
        model, floor = (
            class_coverage(predicted, num_classes),
            class_coverage(real_predicted[floor_subset], num_classes),
        )
        rows["classes_covered"] = _row(
            f"classes covered (of {num_classes})", model.classes_covered, floor.classes_covered
        )
        rows["class_kl"] = _row("KL(class histogram ‖ uniform)", model.kl_from_uniform, floor.kl_from_uniform)
        model = precision_recall(reference_features, features)
        floor = precision_recall(reference_features, floor_features)
        rows["precision"] = _row("precision (k = 3)", model.precision, floor.precision)
        rows["recall"] = _row("recall (k = 3)", model.recall, floor.recall)
    if inception:
        from .inception_fid import inception_fid

        rows["inception_fid"] = _row(
            "FID (Inception-v3)",
            inception_fid(real[reference], images),
            inception_fid(real[reference], real[floor_subset]),
        )
    return rows, details


@functools.cache
def _real_images(dataset: str, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All images (M, C, R, R) in [-1, 1] and labels (M,) of an image set, loaded once per process."""
    from ..data import load_dataset

    data = load_dataset(dataset, resolution=resolution)
    if data.kind != "image":
        raise ValueError(f"{dataset!r} is a 2-D point set; use point_metrics")
    images = torch.stack([data[i]["sample"] for i in range(len(data))])
    return images, torch.stack([data[i]["label"] for i in range(len(data))])


@functools.cache
def _real_classified(dataset: str, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Classifier features and predictions of `_real_images`, computed once per process."""
    return classify(load_digit_classifier(dataset), _real_images(dataset, resolution)[0])


def digit_baselines(dataset: str, num_samples: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Two trivial "models" of an image set, to score beside a real model's samples.

    * ``"gaussian_fit"``: draws from N(μ, Σ) with the mean and covariance of all the set's
      pixels (then clipped to [-1, 1]): a model that knows the first two moments and nothing
      else. Its Fréchet distance says how far "no structure beyond correlations" lies.
    * ``"class_means"``: the mean image of each class, repeated in turn: blurry, covering every
      class exactly uniformly (it fools class coverage, as it fools the Inception Score), but
      with no variety (recall near 0).

    A model worth its training lies well below both in Fréchet distance. Both are fitted on
    all the set's images, the data a model trains on.

    Args:
        dataset: a labelled image set, ``"digits"`` or ``"mnist5k"``, at its own resolution.
        num_samples: images per baseline.
        seed: seeds the Gaussian draws.

    Returns:
        ``{"gaussian_fit": images, "class_means": images}``, each (num_samples, C, H, W) in [-1, 1].

    Example:
        >>> baselines = digit_baselines("digits", 896)
        >>> rows, _ = digit_metrics(baselines["gaussian_fit"], "digits")
        >>> rows["frechet_distance"]["model"] > 10 * rows["frechet_distance"]["data"]
        True
    """
    from ..data import load_dataset

    images, labels = _real_images(dataset, load_dataset(dataset).sample_shape[-1])
    pixels = images.flatten(1).double()  # (M, C·H·W)
    # Σ^{1/2} from the eigendecomposition: Σ is singular (corner pixels never vary), so no Cholesky.
    eigenvalues, eigenvectors = torch.linalg.eigh(torch.cov(pixels.T))
    root = eigenvectors @ torch.diag(eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T
    noise = torch.randn(
        num_samples, pixels.shape[1], generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    gaussian = (pixels.mean(0) + noise @ root).float().clamp(-1, 1).reshape(num_samples, *images.shape[1:])
    classes = labels.unique()
    means = torch.stack([images[labels == c].mean(0) for c in classes])
    return {"gaussian_fit": gaussian, "class_means": means[torch.arange(num_samples) % len(classes)]}


def held_out_size(dataset: str, resolution: int) -> int:
    """The number of held-out images of a labelled image set: the floor's sample size in `digit_metrics`.

    Args:
        dataset: ``"digits"`` or ``"mnist5k"``.
        resolution: the side the images are loaded at.

    Returns:
        The size of the held-out half of the classifier's split (896 for digits).
    """
    return len(reference_split(_real_images(dataset, resolution)[1])[1])
