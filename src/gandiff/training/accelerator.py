"""The accelerator of a run, and the two calls of a step that go through it: autocast, backward.

`accelerate` does the device work, so the same trainer runs on one CPU, one GPU or many
processes. The helpers here skip accelerate's per-call work where a run does not need it (fp32
runs, no gradient scaler): on small networks that work is several percent of a step.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os

import torch

from .config import TrainingConfig

__all__ = ["make_accelerator", "autocast", "backward"]

# the package each tracker needs, for the install hint when it is missing
_TRACKER_PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}


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
