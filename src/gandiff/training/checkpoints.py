"""Checkpoints: everything a run needs to continue exactly as if it had never stopped.

A checkpoint is a folder ``<output_dir>/checkpoints/checkpoint-<step>`` with two files:

    state.safetensors   every tensor: model and EMA weights, optimizer moments, RNG states
    state.json          everything else: the structure those tensors sit in, the step, the
                        data position, the run's config, the LR schedulers

Nothing is pickled, so loading a checkpoint from elsewhere cannot run code. A checkpoint is
written under a hidden staging name and renamed when complete (`gandiff.saving.atomic_directory`):
a process killed while writing leaves the previous checkpoints as they were and a hidden
``.checkpoint-<step>.tmp-*`` folder that the next save removes. Only the main process writes;
the RNG states of every process are gathered to it first.

The checkpoints folder holds one line of history. A run resumed from checkpoint N continues a
new branch: the checkpoints after N belong to the abandoned continuation and are moved aside,
to ``checkpoints/abandoned-<time>/`` (`set_aside_checkpoints`), before the run writes anything.
So ``latest`` is the newest checkpoint of the current run, and ``checkpoints_total_limit``
prunes the current run's oldest, never the resumed run's new ones in favour of an abandoned one.
``latest`` also skips a checkpoint whose files cannot be loaded (one line names the file) and
takes the newest one that can.
"""

from __future__ import annotations

import datetime
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
    "CorruptCheckpointError",
    "CheckpointMismatchError",
    "check_checkpoint",
    "set_aside_checkpoints",
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
_ABANDONED = "abandoned-"


class CorruptCheckpointError(ValueError):
    """A checkpoint file cannot be read: empty, cut short, or not what gandiff wrote (the message
    names the file)."""


class CheckpointMismatchError(ValueError):
    """A checkpoint holds tensors of other names or shapes than the networks built now."""


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
        # When a checkpoint of this step exists, the save replaces its two files in one commit:
        # a kill leaves the old one or the new one, never neither.
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


def check_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Check that a checkpoint's files can be loaded, without loading its tensors.

    ``state.json`` must be a JSON object with the step and the saved groups, and
    ``state.safetensors`` a complete safetensors file holding every tensor the JSON names (its
    header states each tensor's place: a file cut short is caught without reading the data).

    Args:
        path: a checkpoint folder.

    Returns:
        The parsed ``state.json``.

    Raises:
        CorruptCheckpointError: naming the file that is missing, empty, cut short or corrupt.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    state_file, tensors_file = path / _STATE, path / _TENSORS
    try:
        text = state_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CorruptCheckpointError(f"{state_file} cannot be read ({err})") from err
    if not text.strip():
        raise CorruptCheckpointError(f"{state_file} is empty (a crash while it was written?)")
    try:
        state = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise CorruptCheckpointError(f"{state_file} is not valid JSON ({err})") from err
    if not isinstance(state, dict) or not all(
        key in state for key in ("step", "modules", "optimizers", "lr_schedulers", "rng")
    ):
        raise CorruptCheckpointError(f"{state_file} is not a gandiff checkpoint's state (no step, modules, ...)")
    try:
        with safe_open(str(tensors_file), framework="pt") as tensors:
            stored = set(tensors.keys())
    except FileNotFoundError as err:
        raise CorruptCheckpointError(f"{tensors_file} is missing") from err
    except (SafetensorError, OSError) as err:
        raise CorruptCheckpointError(f"{tensors_file} is cut short or corrupt ({err})") from err
    missing = [key for key in _tensor_keys(state) if key not in stored]
    if missing:
        raise CorruptCheckpointError(
            f"{tensors_file} lacks {len(missing)} tensor(s) that {_STATE} names (e.g. {missing[0]!r})"
        )
    return state


def find_checkpoint(output_dir: str | os.PathLike, resume_from_checkpoint: str | None) -> Path | None:
    """The checkpoint to resume from: ``"latest"`` of `output_dir` (None if there is none yet), or a path.

    ``"latest"`` is the newest checkpoint that can be loaded: a newer one whose files are empty,
    cut short or corrupt is skipped with a warning naming the file, and the warning says which
    one is used instead.

    Args:
        output_dir: the run's output folder.
        resume_from_checkpoint: None, ``"latest"``, or a checkpoint folder.

    Returns:
        The checkpoint folder, or None when there is nothing to resume from.

    Raises:
        FileNotFoundError: a given folder is not a complete checkpoint (the message lists the
            run's checkpoints).
        CorruptCheckpointError: a given checkpoint's files cannot be loaded (naming the file).
    """
    if resume_from_checkpoint is None:
        return None
    if resume_from_checkpoint == "latest":
        skipped = []
        for candidate in reversed(list_checkpoints(output_dir)):
            try:
                check_checkpoint(candidate)
            except CorruptCheckpointError as err:
                logger.warning("%s: skipping %s", err, candidate.name)
                skipped.append(candidate.name)
                continue
            if skipped:
                logger.warning("resuming from %s, the newest checkpoint that loads", candidate.name)
            return candidate
        return None
    path = Path(resume_from_checkpoint)
    if not (path / _STATE).is_file():
        available = ", ".join(p.name for p in list_checkpoints(output_dir)) or "none"
        raise FileNotFoundError(
            f"{path} is not a complete checkpoint (no {_STATE}); checkpoints in {Path(output_dir) / CHECKPOINTS_DIR}: "
            f"{available}. Pass 'latest' or one of those folders."
        )
    try:
        check_checkpoint(path)
    except CorruptCheckpointError as err:
        raise CorruptCheckpointError(
            f"{err}; resume from another checkpoint, or pass 'latest' for the newest one that loads"
        ) from err
    return path


def set_aside_checkpoints(output_dir: str | os.PathLike, resumed: str | os.PathLike | None) -> Path | None:
    """Move the checkpoints that are not part of the current run out of its line of history.

    Resuming from checkpoint N abandons the continuation that had been written after it: the
    checkpoints after N (and unloadable ones, which `find_checkpoint` skipped) go to
    ``checkpoints/abandoned-<time>/``, where ``latest`` and pruning no longer see them. Nothing
    is deleted. A new run (`resumed` None) over a folder that holds only unloadable checkpoints
    sets them all aside. Main process only.

    Args:
        output_dir: the run's output folder.
        resumed: the checkpoint the run resumes from, or None for a new run.

    Returns:
        The folder they went to, or None when nothing was moved.
    """
    checkpoints = Path(output_dir) / CHECKPOINTS_DIR
    resumed = Path(resumed).resolve() if resumed is not None else None
    step = checkpoint_step(resumed) if resumed is not None else -1
    newer = [p for p in list_checkpoints(output_dir) if p.resolve() != resumed and checkpoint_step(p) > step]
    broken = [p for p in list_checkpoints(output_dir) if p.resolve() != resumed and p not in newer and not _loads(p)]
    if not newer and not broken:
        return None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = checkpoints / f"{_ABANDONED}{stamp}"
    for n in range(2, 1000):  # two set-asides within a second
        if not aside.exists():
            break
        aside = checkpoints / f"{_ABANDONED}{stamp}-{n}"
    aside.mkdir()
    for path in newer + broken:
        os.replace(path, aside / path.name)
    if resumed is None:
        why = "they cannot be loaded, and a new run starts"
    elif newer:
        why = f"this run resumes from {resumed.name}; they continued the abandoned run after it" + (
            " or cannot be loaded" if broken else ""
        )
    else:
        why = "they cannot be loaded"
    logger.warning(
        "moved %s to %s: %s (nothing deleted; remove that folder when no longer needed)",
        _names(newer + broken),
        aside,
        why,
    )
    return aside


def _names(paths: list[Path]) -> str:
    return ", ".join(p.name for p in paths)


def _loads(path: Path) -> bool:
    try:
        check_checkpoint(path)
    except CorruptCheckpointError:
        return False
    return True


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

    The checkpoint supplies the weights, the optimizers' state (Adam's moments, step counts), the
    schedules' positions and the RNG states. The optimizers' settings (learning rate, betas, ...)
    stay those they were built with, i.e. the run's current settings, and each learning rate is
    set to its schedule's value at the resumed step: a changed learning rate or schedule applies
    from the first resumed step. With unchanged settings that value is the saved one.

    Args:
        path: the checkpoint folder.
        modules, optimizers, lr_schedulers: ``{name: object}`` to load into, by the names they
            were saved under. A scheduler is a ``LambdaLR`` (or any scheduler with ``base_lrs``
            and ``lr_lambdas``) of one of the optimizers.
        rng: this process's trainer generator.
        process_index: this process's rank (picks its saved RNG states).
        num_processes: processes of the resumed run; a warning when it differs from the saved one.

    Returns:
        The trainer state (``step``, the data position, the saved config, ...).

    Raises:
        CorruptCheckpointError: a file of the checkpoint cannot be read (naming it).
        CheckpointMismatchError: a module's tensors differ in name or shape from the checkpoint's.
        ValueError: the checkpoint lacks a module, optimizer or scheduler asked for.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    state = check_checkpoint(path)
    try:
        tensors = load_file(str(path / _TENSORS))
    except (SafetensorError, OSError) as err:  # changed since the check
        raise CorruptCheckpointError(
            f"{path / _TENSORS} is cut short or corrupt ({err}); resume from another checkpoint"
        ) from None
    for group, targets in (("modules", modules), ("optimizers", optimizers), ("lr_schedulers", lr_schedulers)):
        missing = sorted(set(targets) - set(state[group]))
        if missing:
            raise ValueError(f"checkpoint {path} has no {group} {missing}; it holds {sorted(state[group])}")
    for name, module in modules.items():
        saved = _join(state["modules"][name], tensors)
        _check_same_tensors(path, name, saved, module.state_dict())
        module.load_state_dict(saved)
    settings = {name: [_settings(group) for group in o.param_groups] for name, o in optimizers.items()}
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(_join(state["optimizers"][name], tensors))
        for group, own in zip(optimizer.param_groups, settings[name]):
            group.update(own)
    for name, scheduler in lr_schedulers.items():
        scheduler.load_state_dict(_join(state["lr_schedulers"][name], tensors))
        _reschedule(scheduler)
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


def _settings(group: dict[str, Any]) -> dict[str, Any]:
    """An optimizer parameter group's settings (lr, betas, eps, ...): all but its parameters."""
    return {k: v for k, v in group.items() if k != "params"}


def _reschedule(scheduler) -> None:
    """Set each learning rate to the schedule's value at its position, from the current base rates.

    ``initial_lr`` is the rate each parameter group was built with (LambdaLR records it), so a
    changed learning rate becomes the new base; LambdaLR's own ``step()`` computes the same
    ``base_lr × λ(step)``.
    """
    optimizer = scheduler.optimizer
    scheduler.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
    rates = [base * factor(scheduler.last_epoch) for base, factor in zip(scheduler.base_lrs, scheduler.lr_lambdas)]
    for group, rate in zip(optimizer.param_groups, rates):
        group["lr"] = rate
    scheduler._last_lr = rates  # what get_last_lr() reports


def _check_same_tensors(path: Path, name: str, saved: dict[str, Any], built: dict[str, Any]) -> None:
    """Refuse, naming the first difference, a checkpoint whose tensors do not fit the network built now
    (torch's own error is a traceback listing every mismatch)."""
    unexpected, missing = sorted(set(saved) - set(built)), sorted(set(built) - set(saved))
    if unexpected or missing:
        detail = (
            f"has {unexpected[0]!r}, which the network built now lacks"
            if unexpected
            else (f"lacks {missing[0]!r}, which the network built now has")
        )
        raise CheckpointMismatchError(f"{path.name}'s {name} {detail}")
    for key, tensor in saved.items():
        if isinstance(tensor, torch.Tensor) and tuple(tensor.shape) != tuple(built[key].shape):
            shape = "×".join(map(str, tensor.shape)) or "scalar"
            now = "×".join(map(str, built[key].shape)) or "scalar"
            raise CheckpointMismatchError(
                f"{path.name}'s {name} has {key!r} of shape {shape}; the network built now, {now}"
            )


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
