"""The output folder of a run: checked before anything is written, and what ends up in it.

    <output_dir>/training_config.json   the run's settings, written when a new run starts
    <output_dir>/samples/step-*.png     sample pictures during the run
    <output_dir>/pipeline/      model_index.json, one folder per component (EMA weights),
                                README.md (model card: config, final metrics, samples), samples.png
    <output_dir>/loss_curve.png
    (checkpoints and log.jsonl: `gandiff.training.checkpoints`, `gandiff.training.logger`)

``Pipeline.from_pretrained("<output_dir>/pipeline")`` loads it; `gandiff sample <output_dir>`
finds it too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..saving import atomic_directory
from .config import TrainingConfig

__all__ = [
    "PIPELINE_DIR",
    "check_output_dir",
    "start_run",
    "samples_path",
    "save_run_output",
    "find_pipeline_folder",
    "mode_coverage_metrics",
]

PIPELINE_DIR = "pipeline"
SAMPLES_NAME = "samples.png"


def check_output_dir(output_dir: str | os.PathLike, resuming: bool) -> None:
    """Refuse to start a new run over a previous one: its checkpoints and logs would be mixed.

    Args:
        output_dir: the run's folder.
        resuming: whether the run resumes from a checkpoint (then a previous run is expected).

    Raises:
        FileExistsError: when `output_dir` is a file, or holds a previous run and the run does
            not resume.
    """
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"output_dir {path} is a file; choose a folder")
    if resuming or not path.is_dir():
        return
    previous = [
        name for name in ("checkpoints", "log.jsonl", "pipeline", "training_config.json") if (path / name).exists()
    ]
    if previous:
        raise FileExistsError(
            f"{path} holds a previous run ({', '.join(previous)}); resume it with resume_from_checkpoint='latest' "
            "(--resume-from-checkpoint latest), or choose a new output_dir"
        )


def start_run(accelerator, config: TrainingConfig) -> None:
    """Create the output folder of a new run with its ``training_config.json`` (main process),
    once every process has checked that the folder holds no previous run.

    Args:
        accelerator: the run's accelerator.
        config: the run's settings.
    """
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        Path(config.output_dir).mkdir(parents=True, exist_ok=True)
        (Path(config.output_dir) / "training_config.json").write_text(config.to_json(), encoding="utf-8")


def samples_path(config: TrainingConfig, step: int) -> Path:
    """Where the sample picture of `step` goes: ``<output_dir>/samples/step-<step>.png``.

    Args:
        config: the run's settings.
        step: the optimizer step.

    Returns:
        The path; its folder is created.
    """
    folder = Path(config.output_dir) / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"step-{step:07d}.png"


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
