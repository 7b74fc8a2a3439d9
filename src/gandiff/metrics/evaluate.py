"""Evaluate a trained pipeline against its data set: every score beside the data's own floor.

`evaluate_pipeline` draws N samples and picks the metrics the data set supports:

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
`point_metrics` and `digit_metrics` score samples drawn elsewhere; `digit_baselines` gives two
trivial "models" of an image set (a Gaussian fitted to the pixels, the class means) whose scores
put a model's between the floor and failure.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
from pathlib import Path
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

__all__ = [
    "SCHEDULERS",
    "digit_baselines",
    "digit_metrics",
    "evaluate_pipeline",
    "format_table",
    "load_pipeline",
    "point_metrics",
    "sample_pipeline",
]

# The VEEGAN / PacGAN protocol draws 2,500 samples.
DEFAULT_NUM_POINTS = 2500
SCHEDULERS = {"ddpm": "DDPMScheduler", "ddim": "DDIMScheduler"}
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


# -- sampling -------------------------------------------------------------------------------------


@torch.no_grad()
def sample_pipeline(
    pipeline,
    num_samples: int,
    *,
    num_inference_steps: int | None = None,
    eta: float | None = None,
    batch_size: int = 500,
    seed: int = 0,
    rejection_sampling: bool = False,
) -> torch.Tensor:
    """`num_samples` samples of `pipeline` in model space: points as they are, images in [-1, 1].

    Drawn by `gandiff.pipelines.sampling.draw_samples`: in batches from one generator seeded
    with `seed`; a class-conditional network gets the labels 0, 1, 2, ... in turn, so every
    class is asked for equally often.

    Args:
        pipeline: a `DDPMPipeline` or `GANPipeline`.
        num_samples: how many samples.
        num_inference_steps: reverse steps of a diffusion pipeline (default: its scheduler's T).
        eta: DDIM's η (diffusion only).
        batch_size: samples per pipeline call.
        seed: seeds the sampling.
        rejection_sampling: sample a GAN pipeline with discriminator rejection sampling
            (`GANPipeline`'s ``rejection_sampling``).

    Returns:
        Points (num_samples, D), or images (num_samples, C, H, W) in [-1, 1].

    Raises:
        ValueError: `num_inference_steps` or `eta` given for a one-step (GAN) pipeline, or
            `rejection_sampling` for a diffusion one.
    """
    from ..pipelines.sampling import draw_samples

    options: dict[str, Any] = {}
    if pipeline.is_diffusion:
        options["num_inference_steps"] = num_inference_steps or pipeline.scheduler.config.num_train_timesteps
        if eta is not None:
            options["eta"] = eta
    elif num_inference_steps is not None or eta is not None:
        raise ValueError(
            f"{type(pipeline).__name__} samples in one step; num_inference_steps and eta are for diffusion"
        )
    if rejection_sampling:
        if pipeline.is_diffusion:
            raise ValueError(
                f"rejection_sampling filters a GAN's samples with its discriminator; "
                f"{type(pipeline).__name__} has none: sample it without"
            )
        options["rejection_sampling"] = True
    samples = draw_samples(pipeline, num_samples, seed=seed, batch_size=batch_size, **options)
    return samples * 2 - 1 if samples.ndim == 4 else samples  # images: [0, 1] -> [-1, 1]


# -- the whole evaluation -------------------------------------------------------------------------


def evaluate_pipeline(
    pipeline,
    dataset: str,
    num_samples: int | None = None,
    *,
    scheduler: str | None = None,
    num_inference_steps: int | None = None,
    eta: float | None = None,
    batch_size: int = 500,
    seed: int = 0,
    inception: bool = False,
    rejection_sampling: bool = False,
    json_path: str | os.PathLike | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """Sample `pipeline` and score the samples against `dataset` (see the module docstring).

    Args:
        pipeline: a `Pipeline`, or the folder (a run's output folder or a pipeline folder) or
            Hub repo id to load one from.
        dataset: the built-in data set the model was trained on.
        num_samples: how many samples (default: 2,500 for points, as VEEGAN and PacGAN; the
            held-out half's size for images: 896 for digits, 2,500 for mnist5k).
        scheduler: "ddpm" or "ddim" to sample a diffusion pipeline with that scheduler (made
            from its own scheduler's config); the given pipeline is not changed.
        num_inference_steps: reverse steps of a diffusion pipeline (default: the scheduler's T).
        eta: DDIM's η.
        batch_size: samples per pipeline call.
        seed: seeds the sampling.
        inception: add the standard Inception FID for images (``gandiff[metrics]``).
        rejection_sampling: sample a GAN pipeline with discriminator rejection sampling.
        json_path: write the result there as JSON (atomically; missing folders are created).
        verbose: print the result as a markdown table.

    Returns:
        ``{"pipeline", "dataset", "num_samples", "scheduler", "num_inference_steps", "eta",
        "seed", "rejection_sampling", "details", "metrics": {key: {"label", "model", "data"}}}``,
        "data" being the floor.

    Raises:
        ValueError: an unknown scheduler, a scheduler or steps for a GAN pipeline,
            rejection sampling for a diffusion one, or a data set the metrics do not cover.
        gandiff.metrics.InceptionWeightsUnavailableError: `inception` without the weights.

    Example:
        >>> result = evaluate_pipeline("out/quickstart/ddpm", "digits", scheduler="ddim",
        ...                            num_inference_steps=50)  # doctest: +SKIP
        >>> score = result["metrics"]["frechet_distance"]  # doctest: +SKIP
        >>> score["model"] / score["data"]  # how far above the floor  # doctest: +SKIP
    """
    from ..data import POINT_SETS

    name = str(pipeline) if isinstance(pipeline, (str, os.PathLike)) else type(pipeline).__name__
    pipeline = load_pipeline(pipeline, scheduler)
    kind = "points" if dataset in POINT_SETS else "image"
    diffusion = pipeline.is_diffusion
    if diffusion and num_inference_steps is None:
        num_inference_steps = pipeline.scheduler.config.num_train_timesteps
    if num_samples is None and kind == "points":
        num_samples = DEFAULT_NUM_POINTS
    elif num_samples is None:
        num_samples = _held_out_size(dataset, resolution=pipeline.network.sample_shape[-1])
    samples = sample_pipeline(
        pipeline,
        num_samples,
        num_inference_steps=num_inference_steps,
        eta=eta,
        batch_size=batch_size,
        seed=seed,
        rejection_sampling=rejection_sampling,
    )
    if kind == "points":
        rows, details = point_metrics(samples, dataset)
    else:
        rows, details = digit_metrics(samples, dataset, seed=seed, inception=inception)
    result = {
        "pipeline": name,
        "dataset": dataset,
        "num_samples": num_samples,
        "scheduler": type(pipeline.scheduler).__name__ if diffusion else None,
        "num_inference_steps": num_inference_steps,
        "eta": eta,
        "seed": seed,
        "rejection_sampling": rejection_sampling,
        "details": details,
        "metrics": rows,
    }
    if verbose:
        print(format_table(result))
    if json_path is not None:
        from ..saving import write_text_atomic

        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(json_path, json.dumps(_finite(result), indent=2, ensure_ascii=False) + "\n")
    return result


def format_table(result: dict[str, Any]) -> str:
    """The metrics of `evaluate_pipeline`'s result as a markdown table, model beside floor.

    Args:
        result: what `evaluate_pipeline` returns (or its JSON read back).

    Returns:
        A title line, a blank line and the table, without a final newline.
    """
    sampler = f", {result['scheduler']} {result['num_inference_steps']} steps" if result.get("scheduler") else ""
    if result.get("rejection_sampling"):
        sampler += ", discriminator rejection sampling"
    lines = [
        f"{result['pipeline']} on {result['dataset']}: {result['num_samples']} samples{sampler}, seed {result['seed']}",
        "",
        "| metric | model | data (floor) |",
        "|---|---|---|",
    ]
    for row in result["metrics"].values():
        lines.append(f"| {row['label']} | {_number(row['model'])} | {_number(row['data'])} |")
    return "\n".join(lines)


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def _finite(value: Any) -> Any:
    """JSON has no inf or nan: write them as strings."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


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


def _held_out_size(dataset: str, resolution: int) -> int:
    return len(reference_split(_real_images(dataset, resolution)[1])[1])


def load_pipeline(pipeline, scheduler: str | None = None):
    """A pipeline from a folder, a run's output folder or a Hub repo id, with its scheduler
    swapped when asked.

    Args:
        pipeline: a `Pipeline` (returned as it is, or as a copy with the other scheduler), or
            where to load one from (`gandiff.training.output.find_pipeline_folder` finds a
            run's ``pipeline`` folder).
        scheduler: ``"ddpm"`` or ``"ddim"``: a scheduler of that kind made from the pipeline's
            own scheduler config (the same β schedule; no retraining). None keeps it.

    Returns:
        The pipeline. A given pipeline is never changed: a swap returns a shallow copy.

    Raises:
        ValueError: an unknown scheduler name, or a scheduler asked of a pipeline without one.
    """
    from ..pipelines.pipeline import Pipeline
    from ..registry import lookup
    from ..training.output import find_pipeline_folder

    if isinstance(pipeline, (str, os.PathLike)):
        pipeline = Pipeline.from_pretrained(find_pipeline_folder(pipeline))
    if scheduler is None:
        return pipeline
    if scheduler not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {scheduler!r}; choose one of: {', '.join(SCHEDULERS)}")
    if not pipeline.is_diffusion:
        raise ValueError(f"{type(pipeline).__name__} has no scheduler to swap")
    swapped = copy.copy(pipeline)  # the same components and settings; only the copy's scheduler changes
    swapped.scheduler = lookup("scheduler", SCHEDULERS[scheduler]).from_config(pipeline.scheduler.config)
    return swapped
