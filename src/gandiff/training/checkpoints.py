"""Checkpoints: everything a run needs to continue exactly as if it had never stopped.

A checkpoint is a folder ``<output_dir>/checkpoints/checkpoint-<step>`` with two files:

    state.safetensors   every tensor: model and EMA weights, optimizer moments, RNG states
    state.json          everything else: the structure those tensors sit in, the step, the
                        data position, the run's config, the LR schedulers

Nothing is pickled, so loading a checkpoint from elsewhere cannot run code. The folder is
written under a temporary name and renamed when complete (`gandiff.saving.atomic_directory`):
a process killed while writing leaves the previous checkpoints as they were and a hidden
``.checkpoint-<step>.tmp-*`` folder that the next save removes. Only the main process writes;
the RNG states of every process are gathered to it first.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..saving import atomic_directory

logger = logging.getLogger(__name__)

__all__ = [
    "CHECKPOINTS_DIR",
    "capture_rng_state",
    "checkpoint_modules",
    "checkpoint_step",
    "find_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_module_weights",
    "restore_rng_state",
    "save_checkpoint",
]

CHECKPOINTS_DIR = "checkpoints"
_NAME = re.compile(r"checkpoint-(\d+)")
_TENSORS, _STATE = "state.safetensors", "state.json"


# -- nested state <-> (JSON, tensors) -----------------------------------------------------------
# Optimizer and RNG states are nested dicts, lists and tuples of numbers and tensors. Tensors
# go to safetensors under their path in the tree; the JSON keeps a marker in their place.
# Markers also keep what JSON would lose: tuples, and dicts with integer keys (an optimizer's
# per-parameter state is keyed by parameter index, and torch matches those keys exactly).


def _split(tree: Any, tensors: dict[str, torch.Tensor], path: str) -> Any:
    if isinstance(tree, torch.Tensor):
        tensors[path] = tree.detach().cpu().contiguous().clone()  # clone: safetensors refuses shared storage
        return {"__tensor__": path}
    if isinstance(tree, np.ndarray):
        tensors[path] = torch.from_numpy(tree.astype(np.int64) if tree.dtype.kind in "ui" else tree.copy())
        return {"__ndarray__": path, "dtype": tree.dtype.str}
    if isinstance(tree, dict):
        if all(isinstance(k, str) for k in tree):
            return {k: _split(v, tensors, f"{path}/{k}") for k, v in tree.items()}
        return {"__items__": [[k, _split(v, tensors, f"{path}/{k}")] for k, v in tree.items()]}
    if isinstance(tree, tuple):
        return {"__tuple__": [_split(v, tensors, f"{path}/{i}") for i, v in enumerate(tree)]}
    if isinstance(tree, list):
        return [_split(v, tensors, f"{path}/{i}") for i, v in enumerate(tree)]
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    raise TypeError(f"cannot checkpoint a {type(tree).__name__} at {path}")


def _join(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(tree, dict):
        if "__tensor__" in tree:
            return tensors[tree["__tensor__"]]
        if "__ndarray__" in tree:
            return tensors[tree["__ndarray__"]].numpy().astype(np.dtype(tree["dtype"]))
        if "__items__" in tree:
            return {k: _join(v, tensors) for k, v in tree["__items__"]}
        if "__tuple__" in tree:
            return tuple(_join(v, tensors) for v in tree["__tuple__"])
        return {k: _join(v, tensors) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_join(v, tensors) for v in tree]
    return tree


# -- random-number generators -------------------------------------------------------------------


def capture_rng_state(rng: torch.Generator) -> dict[str, Any]:
    """The state of every random-number generator a training step may draw from: Python's,
    numpy's, torch's global one (model initialization, dropout, augmentation) and `rng`, the
    trainer's own (t, ε, z, interpolation weights).

    Args:
        rng: the trainer's generator.

    Returns:
        ``{"python", "numpy", "torch", "trainer"}`` states, and ``"cuda"`` (every device's)
        when CUDA is available.
    """
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "trainer": rng.get_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any], rng: torch.Generator) -> None:
    """Set every generator back to a state from `capture_rng_state`.

    Args:
        state: what `capture_rng_state` returned (possibly through a checkpoint).
        rng: the trainer's generator, set to ``state["trainer"]``.
    """
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    rng.set_state(state["trainer"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# -- saving ---------------------------------------------------------------------------------------


def list_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """The complete checkpoints of a run, oldest first (half-written ones are hidden folders).

    Args:
        output_dir: the run's output folder.

    Returns:
        The ``checkpoints/checkpoint-<step>`` folders, by step; empty when there are none.
    """
    folder = Path(output_dir) / CHECKPOINTS_DIR
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and _NAME.fullmatch(p.name) and (p / _STATE).is_file()]
    return sorted(found, key=lambda p: int(_NAME.fullmatch(p.name).group(1)))


def save_checkpoint(
    accelerator,
    output_dir: str | os.PathLike,
    step: int,
    *,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    lr_schedulers: dict[str, Any],
    rng: torch.Generator,
    trainer_state: dict[str, Any],
    total_limit: int | None,
) -> Path:
    """Write checkpoint `step` atomically (main process), keep the newest `total_limit`; return its path.

    Every process must call this: each contributes its RNG state.

    Args:
        accelerator: the run's `accelerate.Accelerator` (main-process check, gathering, barrier).
        output_dir: the run's output folder; the checkpoint goes to
            ``<output_dir>/checkpoints/checkpoint-<step>``.
        step: the optimizer step just completed.
        modules: ``{name: module}`` whose state dicts to save (networks, EMA).
        optimizers: ``{name: optimizer}``.
        lr_schedulers: ``{name: learning-rate scheduler}``.
        rng: this process's trainer generator.
        trainer_state: JSON values saved beside (data position, config, ...).
        total_limit: keep this many newest checkpoints (None: all).

    Returns:
        The checkpoint folder (on every process).
    """
    from accelerate.utils import gather_object

    rng_states = gather_object([capture_rng_state(rng)])  # one per process, in rank order
    path = Path(output_dir) / CHECKPOINTS_DIR / f"checkpoint-{step}"
    if accelerator.is_main_process:
        from safetensors.torch import save_file

        tensors: dict[str, torch.Tensor] = {}
        state = {
            "step": step,
            **trainer_state,
            "modules": {name: _split(m.state_dict(), tensors, f"modules/{name}") for name, m in modules.items()},
            "optimizers": {
                name: _split(o.state_dict(), tensors, f"optimizers/{name}") for name, o in optimizers.items()
            },
            "lr_schedulers": {
                name: _split(s.state_dict(), tensors, f"lr_schedulers/{name}") for name, s in lr_schedulers.items()
            },
            "rng": _split(rng_states, tensors, "rng"),
        }
        _remove_unfinished(path.parent)
        if path.exists():  # a run resumed from an earlier checkpoint passes this step again
            _remove(path)
        with atomic_directory(path) as staging:
            save_file(tensors, str(staging / _TENSORS))
            (staging / _STATE).write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")  # last: marks complete
        if total_limit is not None:
            for old in list_checkpoints(output_dir)[:-total_limit]:
                _remove(old)
    accelerator.wait_for_everyone()
    return path


def _remove(folder: Path) -> None:
    """Delete a checkpoint so that a kill half-way leaves no half-deleted checkpoint visible."""
    hidden = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
    os.replace(folder, hidden / folder.name)
    shutil.rmtree(hidden, ignore_errors=True)


def _remove_unfinished(folder: Path) -> None:
    """Remove what a killed save left behind (hidden staging and deletion folders)."""
    if folder.is_dir():
        for leftover in folder.glob(".checkpoint-*"):
            shutil.rmtree(leftover, ignore_errors=True)


# -- loading --------------------------------------------------------------------------------------


def find_checkpoint(output_dir: str | os.PathLike, resume_from_checkpoint: str | None) -> Path | None:
    """The checkpoint to resume from: ``"latest"`` of `output_dir` (None if there is none yet), or a path.

    Args:
        output_dir: the run's output folder.
        resume_from_checkpoint: None, ``"latest"``, or a checkpoint folder.

    Returns:
        The checkpoint folder, or None when there is nothing to resume from.

    Raises:
        FileNotFoundError: a given folder is not a complete checkpoint (the message lists the
            run's checkpoints).
    """
    if resume_from_checkpoint is None:
        return None
    if resume_from_checkpoint == "latest":
        checkpoints = list_checkpoints(output_dir)
        return checkpoints[-1] if checkpoints else None
    path = Path(resume_from_checkpoint)
    if not (path / _STATE).is_file():
        available = ", ".join(p.name for p in list_checkpoints(output_dir)) or "none"
        raise FileNotFoundError(
            f"{path} is not a complete checkpoint (no {_STATE}); checkpoints in {Path(output_dir) / CHECKPOINTS_DIR}: "
            f"{available}. Pass 'latest' or one of those folders."
        )
    return path


def load_checkpoint(
    path: str | os.PathLike,
    *,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    lr_schedulers: dict[str, Any],
    rng: torch.Generator,
    process_index: int = 0,
    num_processes: int = 1,
) -> dict[str, Any]:
    """Load a checkpoint into the given objects (strictly) and restore this process's RNGs.

    Args:
        path: the checkpoint folder.
        modules, optimizers, lr_schedulers: ``{name: object}`` to load into, by the names they
            were saved under.
        rng: this process's trainer generator.
        process_index: this process's rank (picks its saved RNG states).
        num_processes: processes of the resumed run; a warning when it differs from the saved one.

    Returns:
        The trainer state (``step``, the data position, the saved config, ...).

    Raises:
        ValueError: the checkpoint lacks a module, optimizer or scheduler asked for, or one of its
            files is damaged (the message names the file).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    state = _read_state(path)
    try:
        tensors = load_file(str(path / _TENSORS))
    except (SafetensorError, OSError) as err:
        raise ValueError(
            f"{path / _TENSORS} is not a readable safetensors file ({err}); it may be truncated: resume from "
            "another checkpoint"
        ) from None
    for group, targets in (("modules", modules), ("optimizers", optimizers), ("lr_schedulers", lr_schedulers)):
        missing = sorted(set(targets) - set(state[group]))
        if missing:
            raise ValueError(f"checkpoint {path} has no {group} {missing}; it holds {sorted(state[group])}")
        for name, target in targets.items():
            target.load_state_dict(_join(state[group][name], tensors))
    rng_states = _join(state["rng"], tensors)
    if num_processes != len(rng_states):
        logger.warning(
            "checkpoint %s was written by %d process(es), resumed by %d: the run continues, but not exactly "
            "as it would have",
            path,
            len(rng_states),
            num_processes,
        )
    restore_rng_state(rng_states[process_index % len(rng_states)], rng)
    return {k: v for k, v in state.items() if k not in ("modules", "optimizers", "lr_schedulers", "rng")}


def checkpoint_step(path: str | os.PathLike) -> int:
    """The step a checkpoint was written at, read from its folder name ``checkpoint-<step>``.

    Args:
        path: a checkpoint folder.

    Returns:
        The optimizer step.

    Raises:
        ValueError: the folder is not named ``checkpoint-<step>``.
    """
    match = _NAME.fullmatch(Path(path).name)
    if match is None:
        raise ValueError(f"{path} is not a checkpoint folder: checkpoint folders are named checkpoint-<step>")
    return int(match.group(1))


def _read_state(path: Path) -> dict[str, Any]:
    if not (path / _STATE).is_file():
        raise FileNotFoundError(f"{path} is not a complete checkpoint (no {_STATE})")
    try:
        return json.loads((path / _STATE).read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(
            f"{path / _STATE} is not a readable checkpoint state ({type(err).__name__}: {err}); it may be "
            "truncated: resume from another checkpoint"
        ) from None


def checkpoint_modules(path: str | os.PathLike) -> list[str]:
    """The names of the modules whose weights a checkpoint holds.

    The trainers name them ``"generator"`` and ``"discriminator"`` (GAN), ``"model"``
    (diffusion), and ``"ema"`` for the moving average of the generator or model when the run
    keeps one.

    Args:
        path: a checkpoint folder.

    Returns:
        The names, sorted.

    Raises:
        FileNotFoundError: `path` is not a complete checkpoint.
    """
    return sorted(_read_state(Path(path))["modules"])


def load_module_weights(path: str | os.PathLike, name: str) -> dict[str, torch.Tensor]:
    """The weights of one module of a checkpoint, as a state dict for ``load_state_dict``.

    Only that module's tensors are read, not the optimizer moments beside them. An EMA is saved
    as torch's `AveragedModel` (the averaged network under ``module.``, plus an ``n_averaged``
    count); it comes back as the averaged network's own state dict, so it loads into the same
    network class as the raw weights, e.g. a pipeline's generator.

    Args:
        path: a checkpoint folder, ``<output_dir>/checkpoints/checkpoint-<step>``.
        name: the module, one of `checkpoint_modules` (``"ema"``, ``"generator"``, ``"model"``, ...).

    Returns:
        ``{parameter or buffer name: tensor}`` on the CPU.

    Raises:
        FileNotFoundError: `path` is not a complete checkpoint.
        ValueError: the checkpoint has no module `name` (the message lists those it has).

    Example:
        >>> weights = load_module_weights("out/run/checkpoints/checkpoint-500", "ema")  # doctest: +SKIP
        >>> pipeline.generator.load_state_dict(weights)  # doctest: +SKIP
    """
    from safetensors import safe_open

    path = Path(path)
    modules = _read_state(path)["modules"]
    if name not in modules:
        raise ValueError(f"checkpoint {path} has no module {name!r}; it holds {sorted(modules)}")
    tree = modules[name]
    with safe_open(str(path / _TENSORS), framework="pt") as tensors:
        state = _join(tree, {key: tensors.get_tensor(key) for key in _tensor_keys(tree)})
    if "n_averaged" in state and all(k == "n_averaged" or k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items() if k != "n_averaged"}
    return state


def _tensor_keys(tree: Any) -> list[str]:
    """The safetensors keys of the tensors a `_split` tree refers to."""
    if isinstance(tree, dict):
        own = [tree[marker] for marker in ("__tensor__", "__ndarray__") if marker in tree]
        return own + [key for value in tree.values() if isinstance(value, (dict, list)) for key in _tensor_keys(value)]
    if isinstance(tree, list):
        return [key for value in tree for key in _tensor_keys(value)]
    return []
