"""What both trainers share: the run settings, the accelerator, data batches, warm-up, EMA.

Each trainer (`gandiff.training.diffusion`, `gandiff.training.gan`) reads top to bottom as its
algorithm; the pieces here are the plumbing around it, written once so the two never drift
apart. Checkpoints live in `checkpoints`, logs and progress in `logger`, pictures in `plots`,
the final pipeline folder and model card in `output`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.util
import json
import logging
import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..configuration import check_choice
from .checkpoints import load_checkpoint, save_checkpoint

logger = logging.getLogger(__name__)

__all__ = [
    "TrainingConfig",
    "ResumableTrainer",
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

MIXED_PRECISION = ("no", "bf16", "fp16")
REPORT_TO = ("tensorboard", "wandb")
MODEL_SIZES = ("tiny", "small", "base")
LR_SCHEDULES = ("constant", "cosine")
# the package each tracker needs, for the install hint when it is missing
_TRACKER_PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite: the run stopped before the weights were updated with it."""


@dataclass
class TrainingConfig:
    """Settings every trainer takes; saved with the run as ``training_config.json``.

    Trainers subclass this with their own settings (model, schedule, loss). Fields are plain
    JSON values, so a config round-trips through `to_json` and `from_dict(json.loads(...))`.
    The settings below come in three groups: the data (`dataset` .. `num_workers`), the model and
    its optimization (`model_size` .. `seed`), and the run (`output_dir` .. `hub_model_id`).

    Attributes:
        dataset: a built-in name (``ring8``, ``grid25``, ``digits``, ``mnist5k``, ...), an image
            folder, or ``hf:<name>``; see `gandiff.data.load_dataset`.
        resolution: image height and width (images are resized); None keeps the data's.
        center_crop, random_flip: image augmentation, see `gandiff.data.load_dataset`.
        num_samples: how many points to draw from a 2-D set (or a subset of images).
        class_conditional: condition the model on the data's labels.
        num_workers: DataLoader worker processes (0: load in the training process).
        model_size: ``"tiny"``, ``"small"`` or ``"base"`` (see each trainer's presets).
        batch_size: samples per process per micro-batch.
        max_steps: optimizer steps of the run.
        learning_rate: None for the trainer's default.
        lr_warmup_steps: linear warm-up of the learning rate from ~0 over this many steps.
        lr_schedule: after the warm-up, ``"constant"`` (Ho et al.) or ``"cosine"``: a half cosine
            from the learning rate down to 0 at ``max_steps`` (Loshchilov & Hutter 2017), which
            lets small models settle on sharp data such as the 2-D mixtures. Under ``"cosine"``,
            resuming with another ``max_steps`` stretches the rest of the decay to the new end.
        gradient_accumulation_steps: micro-batches per optimizer step.
        max_grad_norm: clip the gradients' global norm to this (None: no clipping).
        mixed_precision: ``"no"``, ``"bf16"`` (CPU or GPU) or ``"fp16"`` (GPU); losses stay fp32.
        ema_decay: decay of the exponential moving average of the weights, which is what
            samples and the saved pipeline use; None trains and saves without one.
        seed: seeds the model initialization, the data order and every random draw.
        output_dir: where checkpoints, logs, samples and the pipeline go.
        checkpoint_every: save a checkpoint every this many steps (and always at the end).
        checkpoints_total_limit: keep only this many most recent checkpoints (None: all).
        resume_from_checkpoint: ``"latest"`` or the path of a checkpoint folder.
        log_every: log (JSONL, trackers, progress bar) every this many steps.
        sample_every: save a sample grid every this many steps (0: only at the end).
        num_sample_images: samples per grid (points: per scatter plot).
        report_to: also log to ``"tensorboard"`` or ``"wandb"`` (installed separately).
        push_to_hub: upload the pipeline to the Hub repo `hub_model_id` at the end.
        hub_model_id: ``"namespace/name"`` of that repo.

    Raises:
        ValueError: for an invalid setting, naming the valid values.
    """

    dataset: str = "ring8"
    resolution: int | None = None
    center_crop: bool = False
    random_flip: bool = False
    num_samples: int | None = None
    class_conditional: bool = False
    num_workers: int = 0

    model_size: str = "small"
    batch_size: int = 64
    max_steps: int = 1000
    learning_rate: float | None = None
    lr_warmup_steps: int = 0
    lr_schedule: str = "constant"
    gradient_accumulation_steps: int = 1
    max_grad_norm: float | None = None
    mixed_precision: str = "no"
    ema_decay: float | None = 0.999
    seed: int = 0

    output_dir: str = "out/run"
    checkpoint_every: int = 500
    checkpoints_total_limit: int | None = 3
    resume_from_checkpoint: str | None = None
    log_every: int = 10
    sample_every: int = 500
    num_sample_images: int = 64
    report_to: str | None = None
    push_to_hub: bool = False
    hub_model_id: str | None = None

    # Settings that may change between a run and its resumption without changing the result.
    RESUMABLE_CHANGES = frozenset(
        {
            "max_steps",
            "output_dir",
            "checkpoint_every",
            "checkpoints_total_limit",
            "resume_from_checkpoint",
            "log_every",
            "sample_every",
            "num_sample_images",
            "report_to",
            "push_to_hub",
            "hub_model_id",
            "num_workers",
        }
    )

    def __post_init__(self) -> None:
        check_choice("model_size", self.model_size, MODEL_SIZES)
        check_choice("mixed_precision", self.mixed_precision, MIXED_PRECISION)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_choice("report_to", self.report_to, (None, *REPORT_TO))
        for name in (
            "batch_size",
            "max_steps",
            "gradient_accumulation_steps",
            "checkpoint_every",
            "log_every",
            "num_sample_images",
        ):
            _check_int(name, getattr(self, name), minimum=1)
        for name in ("lr_warmup_steps", "sample_every", "num_workers", "seed"):
            _check_int(name, getattr(self, name), minimum=0)
        if self.checkpoints_total_limit is not None:
            _check_int("checkpoints_total_limit", self.checkpoints_total_limit, minimum=1)
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ValueError(f"ema_decay must lie in (0, 1) (or be None for no EMA), got {self.ema_decay!r}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be > 0 (or None for no clipping), got {self.max_grad_norm!r}")
        if self.push_to_hub and not self.hub_model_id:
            raise ValueError("push_to_hub needs hub_model_id, the 'namespace/name' of the repo to upload to")

    def to_dict(self) -> dict[str, Any]:
        """The settings as a dict, with ``_class_name`` first.

        Returns:
            A JSON-serializable dict.
        """
        return {"_class_name": type(self).__name__, **dataclasses.asdict(self)}

    def to_json(self) -> str:
        """The settings as indented JSON, as ``training_config.json`` holds them.

        Returns:
            The JSON text, ending with a newline.
        """
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        """Build a config from `to_dict`'s output (or the parsed ``training_config.json``).

        Args:
            data: settings by name; metadata keys (starting with ``_``) are ignored, lists
                become tuples.

        Returns:
            The config.

        Raises:
            ValueError: for a setting this class does not have, or an invalid value.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(k for k in data if k not in names and not k.startswith("_"))
        if unknown:
            raise ValueError(f"{cls.__name__} has no setting(s) {unknown}; settings: {sorted(names)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
        return cls(**values)

    def changes_from(self, saved: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """Settings that differ from a saved run's and would change its results.

        Args:
            saved: the saved run's ``training_config.json``, parsed.

        Returns:
            ``{name: (saved value, current value)}``, leaving out `RESUMABLE_CHANGES`.
        """
        now = json.loads(self.to_json())
        return {
            k: (saved.get(k), v)
            for k, v in now.items()
            if k not in self.RESUMABLE_CHANGES and not k.startswith("_") and saved.get(k) != v
        }


def _check_int(name: str, value: Any, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


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


class ResumableTrainer:
    """What both trainers share around checkpoints: saving the current step and resuming one.

    A subclass sets ``config``, ``accelerator``, ``step``, ``batches_taken``, ``last_checkpoint``
    and defines ``_state()``: the modules, optimizers, lr schedulers and generator to save.
    """

    def save_checkpoint(self) -> Path:
        """Write a checkpoint of the current step (weights, EMA, optimizers, RNG, data position).

        Returns:
            The checkpoint folder.
        """
        self.last_checkpoint = save_checkpoint(
            self.accelerator,
            self.config.output_dir,
            self.step,
            **self._state(),
            total_limit=self.config.checkpoints_total_limit,
            trainer_state={
                "batches_taken": self.batches_taken,
                "num_processes": self.accelerator.num_processes,
                "config": self.config.to_dict(),
            },
        )
        return self.last_checkpoint

    def _resume(self, path: Path) -> None:
        state = load_checkpoint(
            path,
            **self._state(),
            process_index=self.accelerator.process_index,
            num_processes=self.accelerator.num_processes,
        )
        self.step, self.batches_taken, self.last_checkpoint = state["step"], state["batches_taken"], path
        warn_changed_settings(self.config, state["config"], path)
        logger.info("resumed from %s at step %d", path, self.step)
