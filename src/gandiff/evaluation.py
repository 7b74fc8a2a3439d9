"""Sample a pipeline and score it against its data set: `evaluate_pipeline`, what ``gandiff
evaluate`` runs.

`evaluate_pipeline` loads the pipeline (a folder, a run's output folder or a Hub repo id),
draws N samples with `gandiff.pipelines.sampling.draw_samples` (balanced class labels, one
seed) and scores them with the metrics the data set supports (`gandiff.metrics.evaluate`: mode
coverage and sliced Wasserstein for 2-D sets, classifier Fréchet distance, class coverage,
precision and recall for digits, optionally the Inception FID), each beside the data's own
floor; `format_table` writes the result as the markdown table the command prints.
"""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from typing import Any

import torch

from .choices import SCHEDULERS
from .metrics.evaluate import digit_metrics, held_out_size, point_metrics
from .pipelines.pipeline import Pipeline
from .pipelines.sampling import draw_samples

__all__ = ["SCHEDULERS", "evaluate_pipeline", "format_table", "load_pipeline", "sample_pipeline"]

# The VEEGAN / PacGAN protocol draws 2,500 samples.
DEFAULT_NUM_POINTS = 2500


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
            rejection sampling for a diffusion one, a data set the metrics do not cover, or one
            of the other kind (points for an image model, or images for a point model).
        gandiff.metrics.InceptionWeightsUnavailableError: `inception` without the weights.

    Example:
        >>> result = evaluate_pipeline("out/quickstart/ddpm", "digits", scheduler="ddim",
        ...                            num_inference_steps=50)  # doctest: +SKIP
        >>> score = result["metrics"]["frechet_distance"]  # doctest: +SKIP
        >>> score["model"] / score["data"]  # how far above the floor  # doctest: +SKIP
    """
    from .data import BUILTIN_DATASETS, POINT_SETS

    name = str(pipeline) if isinstance(pipeline, (str, os.PathLike)) else type(pipeline).__name__
    pipeline = load_pipeline(pipeline, scheduler)
    kind = "points" if dataset in POINT_SETS else "image"
    makes = "points" if len(pipeline.network.sample_shape) == 1 else "image"
    # found before sampling, not as a shape error deep in a metric (a name that is no built-in
    # set may be a typo: load_dataset names the close match)
    if makes != kind and (kind == "points" or dataset in BUILTIN_DATASETS):
        raise ValueError(
            f"{name} makes {'2-D points' if makes == 'points' else 'images'}, but {dataset!r} is "
            f"{'a 2-D point set' if kind == 'points' else 'not a 2-D point set'}: evaluate it against the data set it learned"
        )
    diffusion = pipeline.is_diffusion
    if diffusion and num_inference_steps is None:
        num_inference_steps = pipeline.scheduler.config.num_train_timesteps
    if num_samples is None and kind == "points":
        num_samples = DEFAULT_NUM_POINTS
    elif num_samples is None:
        num_samples = held_out_size(dataset, resolution=pipeline.network.sample_shape[-1])
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
        from .saving import write_text_atomic

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
    from .registry import lookup
    from .training.output import find_pipeline_folder

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
