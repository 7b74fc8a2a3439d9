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

import json
import logging
import os
from pathlib import Path
from typing import Any

from ..saving import atomic_directory, write_text_atomic
from .checkpoints import CHECKPOINTS_DIR, CorruptCheckpointError, check_checkpoint, find_checkpoint, list_checkpoints
from .config import TrainingConfig

logger = logging.getLogger(__name__)

__all__ = [
    "PIPELINE_DIR",
    "check_output_path",
    "check_output_dir",
    "previous_run",
    "loadable_checkpoints",
    "plan_run",
    "start_run",
    "samples_path",
    "save_run_output",
    "find_pipeline_folder",
    "mode_coverage_metrics",
]

PIPELINE_DIR = "pipeline"
SAMPLES_NAME = "samples.png"
CONFIG_NAME = "training_config.json"
# What a run writes into its folder (the lock and the checkpoints' own files aside).
_RUN_FILES = (CHECKPOINTS_DIR, "log.jsonl", PIPELINE_DIR, CONFIG_NAME, "samples", "loss_curve.png")


def check_output_path(output_dir: str | os.PathLike) -> None:
    """Refuse an output folder that cannot be written, before anything is written.

    Args:
        output_dir: the run's folder (it need not exist).

    Raises:
        FileExistsError: `output_dir`, or a folder above it, is a file.
        PermissionError: the folder (or the nearest existing one above it) is not writable.
    """
    path = Path(output_dir).expanduser().absolute()
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"output_dir {output_dir} is a file; choose a folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise FileExistsError(f"output_dir {output_dir} lies under {existing}, which is a file; choose another folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"output_dir {output_dir}: {existing} is not writable; choose another output_dir")


def previous_run(output_dir: str | os.PathLike) -> list[str]:
    """What a previous run left in `output_dir`: the names of its files and folders among a run's.

    Args:
        output_dir: the run's folder.

    Returns:
        E.g. ``["checkpoints", "log.jsonl", "training_config.json"]``; empty for a new folder.
    """
    path = Path(output_dir)
    return [name for name in _RUN_FILES if (path / name).exists()]


def check_output_dir(output_dir: str | os.PathLike, resuming: bool) -> None:
    """Refuse to start a new run over a previous one that can be resumed or has finished.

    A folder that holds only what a run leaves before its first checkpoint (its settings, log
    and sample pictures, checkpoints that cannot be loaded) holds nothing to resume: a new run
    starts it over.

    Args:
        output_dir: the run's folder.
        resuming: whether the run resumes from a checkpoint (then a previous run is expected).

    Raises:
        FileExistsError: when `output_dir` is a file, or holds a resumable or finished run and
            the run does not resume.
    """
    check_output_path(output_dir)
    path = Path(output_dir)
    if resuming or not path.is_dir():
        return
    kept = [p.name for p in loadable_checkpoints(path)[-1:]] + [PIPELINE_DIR] * (path / PIPELINE_DIR).exists()
    if kept:
        raise FileExistsError(
            f"{path} holds a previous run ({', '.join(kept)}); resume it with resume_from_checkpoint='latest', "
            "or choose a new output_dir"
        )


def loadable_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """The checkpoints of `output_dir` whose files load (`check_checkpoint`).

    Args:
        output_dir: the run's folder.

    Returns:
        The checkpoint folders, oldest first; empty when none loads.
    """
    loadable = []
    for path in list_checkpoints(output_dir):
        try:
            check_checkpoint(path)
        except CorruptCheckpointError:
            continue
        loadable.append(path)
    return loadable


def plan_run(config: TrainingConfig) -> Path | None:
    """Where the run starts: the checkpoint it resumes from, or None for a new run.

    Called by the main process while it holds the output folder's lock, before anything is
    written. The cases:

    * ``resume_from_checkpoint`` names a checkpoint, or ``"latest"`` finds one that loads: resume it.
    * ``"latest"`` in a folder without any run: a new run (so a job script can always pass it).
    * ``"latest"`` in a folder whose run left no loadable checkpoint: refused, saying why and
      which command starts the run over.
    * No ``resume_from_checkpoint``: a new run, unless the folder holds a loadable checkpoint or
      a saved pipeline; over the leftovers of a run that stopped before its first checkpoint it
      starts over, saying so.

    Args:
        config: the run's settings.

    Returns:
        The checkpoint folder, or None.

    Raises:
        FileNotFoundError: nothing to resume in a folder that holds a run, or a checkpoint path
            that is not one.
        FileExistsError: a new run over a resumable or finished one.
        CorruptCheckpointError: a named checkpoint whose files cannot be loaded.
    """
    path = Path(config.output_dir)
    checkpoint = find_checkpoint(path, config.resume_from_checkpoint)
    if checkpoint is not None:
        if checkpoint.resolve().parent != (path / CHECKPOINTS_DIR).resolve():
            check_output_dir(path, resuming=False)  # another run's checkpoint starts this folder's run
        return checkpoint
    left = previous_run(path)
    if config.resume_from_checkpoint == "latest" and left:
        if (path / PIPELINE_DIR).exists() and not list_checkpoints(path):
            raise FileNotFoundError(
                f"{path} holds a saved pipeline but no checkpoint to resume from; start a new run in another output_dir"
            )
        broken = list_checkpoints(path)
        why = (
            f"its checkpoints ({', '.join(p.name for p in broken)}) cannot be loaded"
            if broken
            else f"the run stopped before its first checkpoint{_last_logged_step(path)}"
        )
        raise FileNotFoundError(
            f"{path} holds no checkpoint to resume from: {why}. Start the run over with the same command without "
            "resume_from_checkpoint"
        )
    check_output_dir(path, resuming=False)
    if left:
        logger.warning(
            "%s holds a run that left no checkpoint to resume (%s); starting it over", path, ", ".join(left)
        )
    return None


def _last_logged_step(path: Path) -> str:
    from .logger import read_log

    records = read_log(path)
    return f" (its log reaches step {records[-1].get('step')})" if records else ""


def start_run(accelerator, config: TrainingConfig) -> None:
    """Write the ``training_config.json`` of a new run (main process), once every process has
    checked that the folder holds no previous run.

    Args:
        accelerator: the run's accelerator.
        config: the run's settings.
    """
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        Path(config.output_dir).mkdir(parents=True, exist_ok=True)
        write_text_atomic(Path(config.output_dir) / CONFIG_NAME, config.to_json())


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


def save_run_output(pipeline, config, metrics: dict[str, Any], sample_grid, resumed: list | tuple = ()) -> Path:
    """Save `pipeline` with its model card and `sample_grid` (a PIL image), atomically.

    Args:
        pipeline: the trained pipeline (EMA weights).
        config: the run's training config (its ``output_dir``, ``hub_model_id`` and settings
            go into the model card).
        metrics: the final evaluation numbers for the model card.
        sample_grid: a PIL image of samples, saved as ``samples.png``.
        resumed: the settings the run changed when resumed, ``[{"step": N, "changed": {name:
            [before, after]}}, ...]``; the model card says which steps used which values.

    Returns:
        The pipeline folder, ``<output_dir>/pipeline``.
    """
    target = Path(config.output_dir) / PIPELINE_DIR
    with atomic_directory(target) as staging:
        pipeline.save_pretrained(staging)
        sample_grid.save(staging / SAMPLES_NAME)
        name = config.hub_model_id or str(target)
        (staging / "README.md").write_text(
            model_card(staging, name, type(pipeline), config, metrics, resumed), encoding="utf-8"
        )
    return target


def model_card(
    folder: Path, name: str, pipeline_cls: type, config, metrics: dict[str, Any], resumed: list | tuple = ()
) -> str:
    """The README.md of a trained pipeline: the Hub module's card (usage, metrics, samples,
    component configs) followed by how it was trained: the settings of its last stretch, and
    what earlier stretches used when the run was resumed with changed settings."""
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
    for change in resumed:
        shown = ", ".join(
            f"`{k}` {json.dumps(old)} → {json.dumps(new)}" for k, (old, new) in change["changed"].items()
        )
        training += [
            f"Resumed at step {change['step']} with changed settings, used from step {change['step'] + 1}: {shown}.",
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
