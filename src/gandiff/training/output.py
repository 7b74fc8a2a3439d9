"""The result of a run: a pipeline folder with a model card, and the pictures beside it.

    <output_dir>/pipeline/      model_index.json, one folder per component (EMA weights),
                                README.md (model card: config, final metrics, samples), samples.png
    <output_dir>/loss_curve.png

``Pipeline.from_pretrained("<output_dir>/pipeline")`` loads it; `gandiff sample <output_dir>`
finds it too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..saving import atomic_directory

__all__ = ["PIPELINE_DIR", "save_run_output", "find_pipeline_folder", "mode_coverage_metrics"]

PIPELINE_DIR = "pipeline"
SAMPLES_NAME = "samples.png"


def find_pipeline_folder(path: str | os.PathLike) -> str | os.PathLike:
    """A run's output folder -> its ``pipeline`` folder; anything else (a pipeline folder, a Hub
    repo id) as it is.

    Args:
        path: a run's output folder, a pipeline folder or a Hub repo id.

    Returns:
        What ``Pipeline.from_pretrained`` should be given.
    """
    if (Path(path) / PIPELINE_DIR / "model_index.json").is_file() and not (Path(path) / "model_index.json").is_file():
        return Path(path) / PIPELINE_DIR
    return path


def save_run_output(pipeline, config, metrics: dict[str, Any], sample_grid) -> Path:
    """Save `pipeline` with its model card and `sample_grid` (a PIL image), atomically.

    Args:
        pipeline: the trained pipeline (EMA weights).
        config: the run's training config (its ``output_dir``, ``hub_model_id`` and settings
            go into the model card).
        metrics: the final evaluation numbers for the model card.
        sample_grid: a PIL image of samples, saved as ``samples.png``.

    Returns:
        The pipeline folder, ``<output_dir>/pipeline``.
    """
    target = Path(config.output_dir) / PIPELINE_DIR
    with atomic_directory(target) as staging:
        pipeline.save_pretrained(staging)
        sample_grid.save(staging / SAMPLES_NAME)
        name = config.hub_model_id or str(target)
        (staging / "README.md").write_text(
            model_card(staging, name, type(pipeline), config, metrics), encoding="utf-8"
        )
    return target


def model_card(folder: Path, name: str, pipeline_cls: type, config, metrics: dict[str, Any]) -> str:
    """The README.md of a trained pipeline: the Hub module's card (usage, metrics, samples,
    component configs) followed by how it was trained."""
    from ..hub import make_model_card

    card = str(make_model_card(folder, name, pipeline_cls, metrics=metrics, sample_file=SAMPLES_NAME))
    if hasattr(config, "num_inference_steps"):
        kind, samples = "a diffusion model", f"drawn with DDIM in {config.num_inference_steps} steps"
    else:
        kind, samples = f"a GAN ({config.loss} loss, regularizer {config.regularizer})", "drawn from the generator"
    weights = f"an exponential moving average (decay {config.ema_decay})" if config.ema_decay else "the last step's"
    training = [
        "",
        "## Training",
        "",
        (
            f"Trained as {kind} with `gandiff train` on `{config.dataset}` for {config.max_steps} steps, batch "
            f"{config.batch_size} per process. The weights are {weights}; the samples above are {samples}. "
            "The run's settings:"
        ),
        "",
        "```json",
        config.to_json().strip(),
        "```",
        "",
    ]
    return card.rstrip("\n") + "\n" + "\n".join(training)


def mode_coverage_metrics(samples, mixture) -> dict[str, Any]:
    """VEEGAN / PacGAN mode coverage of 2-D samples against a Gaussian mixture, for the model card.

    Args:
        samples: (N, 2) generated points.
        mixture: the data's `GaussianMixture2D`.

    Returns:
        ``{"modes captured": "k / K", "high-quality samples": fraction}``.
    """
    from ..metrics.mode_coverage import mode_coverage

    score = mode_coverage(samples.detach().cpu(), mixture.centers, mixture.std)
    return {
        "modes captured": f"{score.modes_captured} / {score.num_modes}",
        "high-quality samples": round(score.high_quality_fraction, 4),
    }
