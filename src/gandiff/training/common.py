"""What both trainers share: the run settings, the accelerator, data batches, warm-up, EMA.

Each trainer (`gandiff.training.diffusion`, `gandiff.training.gan`) reads top to bottom as its
algorithm; the pieces here are the plumbing around it, written once so the two never drift
apart. Checkpoints live in `checkpoints`, logs and progress in `logger`, pictures in `plots`,
the final pipeline folder and model card in `output`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import math
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..configuration import check_choice
from .config import LR_SCHEDULES, MIXED_PRECISION, MODEL_SIZES, REPORT_TO, TrainingConfig

logger = logging.getLogger(__name__)

__all__ = [
    "TrainingConfig",
    "NonFiniteLossError",
    "MIXED_PRECISION",
    "MODEL_SIZES",
    "REPORT_TO",
    "make_accelerator",
    "seed_everything",
    "load_training_data",
    "EpochBatchSampler",
    "make_batches",
    "LR_SCHEDULES",
    "lr_scheduler",
    "make_ema",
    "make_adam",
    "clip_grad_norm",
    "autocast",
    "backward",
    "check_finite",
    "check_output_dir",
    "start_run",
    "samples_path",
    "warn_changed_settings",
    "num_classes_for",
]

# the package each tracker needs, for the install hint when it is missing
_TRACKER_PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite: the run stopped before the weights were updated with it."""


# -- accelerator, seeds -----------------------------------------------------------------------


def make_accelerator(config: TrainingConfig):
    """An `accelerate.Accelerator` for the run; trackers checked before anything is written.

    Gradient accumulation is done by the trainers themselves (they show every micro-batch), so
    the accelerator is not told about it.

    Args:
        config: the run's settings (``mixed_precision``, ``report_to``, ``output_dir``).

    Returns:
        The accelerator.

    Raises:
        ImportError: when the tracker of ``report_to`` is not installed.
        ValueError: for fp16 without a GPU.
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    if config.report_to is not None and importlib.util.find_spec(_TRACKER_PACKAGES[config.report_to]) is None:
        package = _TRACKER_PACKAGES[config.report_to]
        raise ImportError(f"report_to={config.report_to!r} needs the {package} package: pip install {package}")
    if config.mixed_precision == "fp16" and not torch.cuda.is_available():
        raise ValueError("mixed_precision='fp16' needs a GPU; on a CPU use 'bf16' (or 'no')")
    # accelerate keeps one precision setting per process; a second run in the same process (a
    # notebook, the quickstart) may ask for another. Only that setting is forgotten: the process
    # group of a distributed run (PartialState) stays.
    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision") != config.mixed_precision:
        AcceleratorState._reset_state(reset_partial_state=False)
    # Several processes without a GPU (`accelerate launch --multi_gpu` or torchrun on a CPU
    # machine): accelerate makes a CPU process group (gloo) only when told the run is on CPUs;
    # otherwise each process would silently train alone.
    multi_cpu = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
    return Accelerator(
        cpu=multi_cpu,
        mixed_precision=config.mixed_precision,
        log_with=config.report_to,
        project_dir=config.output_dir,
    )


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch's global generators (model initialization, dropout).

    Args:
        seed: the seed; numpy gets it modulo 2³².
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# -- data -------------------------------------------------------------------------------------


def load_training_data(config: TrainingConfig):
    """The run's data set, from `gandiff.data.load_dataset` with the config's data settings.

    Args:
        config: the run's settings.

    Returns:
        The data set.
    """
    from ..data import load_dataset

    return load_dataset(
        config.dataset,
        resolution=config.resolution,
        center_crop=config.center_crop,
        random_flip=config.random_flip,
        num_samples=config.num_samples,
        seed=config.seed,
    )


def num_classes_for(config: TrainingConfig, dataset) -> int | None:
    """The number of classes to condition on: the data's when ``class_conditional``, else None.

    Args:
        config: the run's settings.
        dataset: the run's data set.

    Returns:
        The number of classes, or None.

    Raises:
        ValueError: when ``class_conditional`` is set and the data set has no labels.
    """
    if not config.class_conditional:
        return None
    if not dataset.num_classes:
        raise ValueError(f"class_conditional=True, but the data set {config.dataset!r} has no labels")
    return dataset.num_classes


class EpochBatchSampler(torch.utils.data.Sampler):
    """Batches of keys for one process, epoch after epoch, from any position: exact resume.

    Epoch e is the permutation of the data drawn from a generator seeded with ``seed + e``,
    cut into global batches of ``batch_size × num_processes`` (an incomplete last one is
    dropped); process r takes the r-th slice of ``batch_size`` of each. So every sample of an
    epoch is seen once across processes, and the order depends only on the seed, never on how
    often the run was interrupted. `start` is the number of batches this process already took.

    With ``epoch_keys`` the keys are ``(epoch, index)`` pairs, which gandiff's data sets take:
    an item's augmentation (flip, crop) is then seeded by its epoch and index alone, whichever
    DataLoader worker loads it and however far ahead workers prefetch. Otherwise keys are
    plain indices, for any map-style data set.

    Args:
        num_items: the size of the data set.
        batch_size: samples per process per batch.
        seed: epoch e is shuffled with ``seed + e``.
        process_index: this process's rank r.
        num_processes: the number of processes.
        start: batches this process already took (to resume).
        epoch_keys: yield ``(epoch, index)`` keys instead of indices.

    Raises:
        ValueError: when the data set holds less than one global batch.
    """

    def __init__(
        self,
        num_items: int,
        batch_size: int,
        seed: int,
        process_index: int = 0,
        num_processes: int = 1,
        start: int = 0,
        epoch_keys: bool = False,
    ):
        self.num_items, self.batch_size, self.seed = num_items, batch_size, seed
        self.process_index, self.num_processes, self.start = process_index, num_processes, start
        self.epoch_keys = epoch_keys
        self.batches_per_epoch = num_items // (batch_size * num_processes)
        if self.batches_per_epoch == 0:
            raise ValueError(
                f"the data set has {num_items} samples, fewer than one batch of {batch_size} × {num_processes} "
                "process(es); lower the batch size or add data"
            )

    def __iter__(self) -> Iterator[list]:
        epoch, position = divmod(self.start, self.batches_per_epoch)
        global_batch = self.batch_size * self.num_processes
        while True:
            order = torch.randperm(self.num_items, generator=torch.Generator().manual_seed(self.seed + epoch))
            for b in range(position, self.batches_per_epoch):
                first = b * global_batch + self.process_index * self.batch_size
                indices = order[first : first + self.batch_size].tolist()
                yield [(epoch, i) for i in indices] if self.epoch_keys else indices
            epoch, position = epoch + 1, 0

    def __len__(self) -> int:  # endless; DataLoader only needs this for its own len()
        return 2**62


def make_batches(dataset, config: TrainingConfig, accelerator, start: int) -> Iterator[dict[str, torch.Tensor]]:
    """An endless iterator of this process's batches (dicts of tensors on the accelerator's
    device), resuming after `start` batches.

    Args:
        dataset: the run's data set.
        config: the run's settings (``batch_size``, ``seed``, ``num_workers``).
        accelerator: the run's accelerator (device, process index and count).
        start: batches this process already took.

    Yields:
        ``{"sample": ..., "label": ...}`` batches on the accelerator's device.
    """
    sampler = EpochBatchSampler(
        len(dataset),
        config.batch_size,
        config.seed,
        accelerator.process_index,
        accelerator.num_processes,
        start,
        # gandiff's data sets (they have set_epoch) take (epoch, index) keys; see the sampler
        epoch_keys=hasattr(dataset, "set_epoch"),
    )
    if hasattr(dataset, "get_batch") and config.num_workers == 0:
        # In-memory sets (2-D points) stack a whole batch in one indexing operation; same batches.
        for keys in sampler:
            yield {k: v.to(accelerator.device) for k, v in dataset.get_batch(keys).items()}
        return
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=config.num_workers,
        # The loader draws its workers' base seed when an iterator starts; its own generator
        # keeps that draw out of torch's global stream, which a resumed run must replay exactly.
        generator=torch.Generator().manual_seed(config.seed),
        pin_memory=accelerator.device.type == "cuda",
    )
    for batch in loader:
        yield {k: v.to(accelerator.device, non_blocking=True) for k, v in batch.items()}


# -- optimization -----------------------------------------------------------------------------


def _lr_factor(step: int, warmup_steps: int, total_steps: int, schedule: str) -> float:
    """The multiple of the base learning rate at optimizer step `step` (0-based)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return 0.5 * (1.0 + math.cos(math.pi * progress))  # cosine: 1 -> 0 over the steps after warm-up


def lr_scheduler(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int, schedule: str = "constant"
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over `warmup_steps` optimizer steps, then constant (Ho et al.'s schedule)
    or a cosine decay to 0 at `total_steps` (``schedule="cosine"``).

    Args:
        optimizer: the optimizer whose learning rate is scheduled.
        warmup_steps: steps of the linear warm-up (0: none).
        total_steps: the step at which the cosine reaches 0.
        schedule: one of `LR_SCHEDULES`.

    Returns:
        The scheduler; call its ``step()`` after every optimizer step.

    Raises:
        ValueError: for an unknown schedule.
    """
    check_choice("lr_schedule", schedule, LR_SCHEDULES)
    factor = functools.partial(_lr_factor, warmup_steps=warmup_steps, total_steps=total_steps, schedule=schedule)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def autocast(accelerator):
    """The mixed-precision context of the forward passes (a no-op context for fp32 runs, which
    skips accelerate's per-call setup: ~0.3 ms, several % of a small network's step).

    Args:
        accelerator: the run's accelerator.

    Returns:
        A context manager.
    """
    if accelerator.mixed_precision == "no":
        return contextlib.nullcontext()
    return accelerator.autocast()


def backward(accelerator, loss: torch.Tensor) -> None:
    """``loss.backward()``, through accelerate when it must scale the loss (fp16).

    Without a gradient scaler accelerate's ``backward`` only adds checks for setups gandiff does
    not use (DeepSpeed, LOMO), one of which searches the installed packages on every call.

    Args:
        accelerator: the run's accelerator.
        loss: the scalar loss.
    """
    if accelerator.scaler is not None:
        accelerator.backward(loss)
    else:
        loss.backward()


def make_adam(parameters, learning_rate: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam, with torch's multi-tensor ("foreach") update on every device (torch picks it only
    for GPUs; on a CPU it saves a loop over the parameters, ~7% of a small U-Net's step).

    Args:
        parameters: the parameters to optimize.
        learning_rate: the base learning rate.
        betas: Adam's (β1, β2).

    Returns:
        The optimizer.
    """
    return torch.optim.Adam(parameters, lr=learning_rate, betas=betas, foreach=True)


def clip_grad_norm(accelerator, model: torch.nn.Module, optimizer, max_norm: float | None) -> float:
    """Clip the gradients' global norm to `max_norm` (None: measure only) and return it.

    fp16 gradients are unscaled first; then torch's own clipping, without accelerate's search of
    every prepared model for the one whose parameters these are.

    Args:
        accelerator: the run's accelerator.
        model: the model whose gradients are clipped.
        optimizer: its optimizer (for unscaling).
        max_norm: the largest global norm; None only measures.

    Returns:
        The global norm before clipping.
    """
    accelerator.unscale_gradients(optimizer)
    return float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm or float("inf")))


def make_ema(model: torch.nn.Module, decay: float | None):
    """An EMA of `model`'s weights, θ_ema ← decay · θ_ema + (1 − decay) · θ, or None.

    torch's `AveragedModel` with `get_ema_multi_avg_fn`; buffers (batch-norm statistics) are
    averaged too, so the averaged network is complete. Its first update copies the weights.

    Args:
        model: the trained model.
        decay: the EMA decay in (0, 1), or None for no EMA.

    Returns:
        The `AveragedModel` (call ``update_parameters(model)`` after each step), or None.
    """
    if decay is None:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    ema.requires_grad_(False)
    return ema


def check_finite(step: int, values: dict[str, torch.Tensor], last_checkpoint: Path | None) -> None:
    """Raise `NonFiniteLossError` naming the step and the loss when a value is NaN or infinite.

    Args:
        step: the current optimizer step.
        values: the losses by name.
        last_checkpoint: the last checkpoint written, named in the message.

    Raises:
        NonFiniteLossError: when a value is NaN or infinite.
    """
    for name, value in values.items():
        if not math.isfinite(float(value)):
            kept = (
                f"the last good checkpoint is {last_checkpoint}"
                if last_checkpoint
                else "no checkpoint was written yet"
            )
            raise NonFiniteLossError(
                f"{name} is {float(value)} at step {step}; the run stopped before updating the weights with it "
                f"({kept}). Try a lower learning rate, gradient clipping (max_grad_norm), or mixed_precision='no'."
            )


# -- output folder ----------------------------------------------------------------------------


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


def warn_changed_settings(config: TrainingConfig, saved: dict[str, Any], checkpoint: Path) -> None:
    """Warn when a run is resumed with settings that change its results.

    Args:
        config: the settings now.
        saved: the saved run's ``training_config.json``, parsed.
        checkpoint: the checkpoint being resumed, named in the warning.
    """
    changes = config.changes_from(saved)
    if changes:
        shown = ", ".join(f"{k}: {json.dumps(old)} -> {json.dumps(new)}" for k, (old, new) in changes.items())
        logger.warning("resuming %s with changed settings (%s): the run will not continue exactly", checkpoint, shown)
