"""A training run's samples at each of its checkpoints: how a 2-D model learned, and for GANs
whether and when modes were dropped."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from .canvas import require_matplotlib
from .samples_2d import plot_samples_2d

__all__ = ["checkpoint_samples", "plot_checkpoints_2d", "read_run_config"]


def read_run_config(run: str | os.PathLike) -> dict[str, Any]:
    """The settings of a training run, from its ``training_config.json``.

    Args:
        run: a run's output folder (``--output-dir`` of ``gandiff train``).

    Returns:
        The saved config: ``_class_name`` (``"GANTrainingConfig"`` or
        ``"DiffusionTrainingConfig"``), ``dataset``, and every other setting of the run.

    Raises:
        FileNotFoundError: the folder does not exist, or holds no ``training_config.json``.
    """
    run = Path(run)
    if not run.is_dir():
        raise FileNotFoundError(f"no run folder {run}; pass the --output-dir of a `gandiff train` run")
    path = run / "training_config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run} is not the output folder of a training run: it has no training_config.json")
    return json.loads(path.read_text(encoding="utf-8"))


def checkpoint_samples(
    run: str | os.PathLike,
    num_samples: int = 1000,
    seed: int = 0,
    num_inference_steps: int | None = None,
) -> dict[str, torch.Tensor]:
    """Samples of a training run's network at each of its checkpoints, oldest first.

    The run's pipeline folder (written when the run finishes) gives the architecture and, for
    diffusion, the scheduler; each checkpoint gives the weights of the network that samples:
    the EMA when the run keeps one (what the saved pipeline holds), else the generator (GAN) or
    the denoiser (diffusion). Every checkpoint is sampled with the same seed, so the panels
    differ only by the weights.

    Args:
        run: a run's output folder, with ``checkpoints/`` and ``pipeline/``.
        num_samples: samples per checkpoint.
        seed: seeds the sampling.
        num_inference_steps: reverse steps of a diffusion run (default: its T).

    Returns:
        ``{"step <n>": samples}``: points (num_samples, 2) for 2-D runs, images in [-1, 1] otherwise.

    Raises:
        FileNotFoundError: no such run, no checkpoints, or no pipeline folder yet.
    """
    from ..evaluation import sample_pipeline
    from ..pipelines.pipeline import Pipeline
    from ..training.checkpoints import (
        checkpoint_modules,
        checkpoint_step,
        list_checkpoints,
        load_module_weights,
    )
    from ..training.output import PIPELINE_DIR

    read_run_config(run)  # a missing or foreign folder is named as such
    checkpoints = list_checkpoints(run)
    if not checkpoints:
        raise FileNotFoundError(
            f"{run} has no checkpoints (checkpoints/checkpoint-<step>); train with "
            "--checkpoint-every N (and --checkpoints-total-limit to keep more than 3)"
        )
    folder = Path(run) / PIPELINE_DIR
    if not (folder / "model_index.json").is_file():
        raise FileNotFoundError(
            f"{run} has no pipeline folder yet; the run writes it when it finishes, and its "
            "components give the architecture the checkpoints' weights are loaded into"
        )
    pipeline = Pipeline.from_pretrained(folder)
    pipeline.set_progress_bar_config(disable=True)
    diffusion = pipeline.is_diffusion
    network = pipeline.network
    samples = {}
    for checkpoint in checkpoints:
        # The trainers' names: "ema" is the average of "model" (diffusion) or "generator" (GAN).
        name = "ema" if "ema" in checkpoint_modules(checkpoint) else ("model" if diffusion else "generator")
        network.load_state_dict(load_module_weights(checkpoint, name))
        network.eval()
        samples[f"step {checkpoint_step(checkpoint)}"] = sample_pipeline(
            pipeline, num_samples, num_inference_steps=num_inference_steps if diffusion else None, seed=seed
        )
    return samples


def plot_checkpoints_2d(
    run: str | os.PathLike,
    path: str | os.PathLike,
    num_samples: int = 1000,
    seed: int = 0,
    num_inference_steps: int | None = None,
) -> Path:
    """A 2-D training run's samples at each of its checkpoints, over its data: how the model
    learned, and for GANs whether and when modes were dropped.

    For ring8 and grid25 each panel gives the modes captured and the high-quality fraction
    (VEEGAN / PacGAN protocol, see `plot_samples_2d`).

    Args:
        run: the output folder of a 2-D ``gandiff train gan`` or ``gandiff train ddpm`` run.
        path: the PNG to write.
        num_samples, seed, num_inference_steps: see `checkpoint_samples`.

    Returns:
        `path`.

    Raises:
        FileNotFoundError: see `checkpoint_samples`.
        ValueError: the run trained on images.
        ImportError: matplotlib is missing (checked before any sampling).

    Example:
        >>> plot_checkpoints_2d("out/ring8-gan", "checkpoints.png")  # doctest: +SKIP
    """
    from ..data import POINT_SETS, load_dataset

    require_matplotlib()
    config = read_run_config(run)
    dataset = config.get("dataset")
    if dataset not in POINT_SETS:
        raise ValueError(
            f"{run} trained on {dataset!r}, not a 2-D point set ({', '.join(POINT_SETS)}): "
            "checkpoint scatter plots are for 2-D runs; sample image runs with `gandiff sample`"
        )
    data = load_dataset(dataset, num_samples=2000, seed=1001)  # not the training draw (seed 0)
    panels = checkpoint_samples(run, num_samples, seed, num_inference_steps)
    kind = "GAN" if config.get("_class_name") == "GANTrainingConfig" else "diffusion"
    title = f"{Path(run).name}: {kind} samples (red) over {dataset} (grey) at each checkpoint"
    if data.mixture is not None:
        title += "; +: modes, circles: 3σ"
    return plot_samples_2d(panels, path, data=data.points, mixture=data.mixture, title=title)
