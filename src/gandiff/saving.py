"""Saving safely: a save replaces only gandiff's own files, atomically, and deletes nothing else.

Every file name of a save lives here. A save into a folder ``target`` (`atomic_directory`) goes:

1. **Recover.** Finish a save that a crash interrupted after its commit point (step 4), and
   remove the staging folders and temporary files of killed saves: hidden names of the shape
   ``.<name>.tmp-<pid>-<hex>`` that only gandiff makes, whose process is gone.
2. **Stage.** The caller writes the complete new save into a hidden staging folder: beside
   `target` when it does not exist yet, inside it otherwise (`target` itself, which may be a
   mount point or the working directory, is never renamed). Every staged file and folder is
   fsynced.
3. **New target:** the staging folder is renamed to `target`; the folder appears complete or not
   at all.
4. **Existing target:** a manifest (the files to move in; stale files of gandiff's to remove) is
   written into the staging folder, which is then renamed to ``target/.gandiff-commit-*``. That
   rename is the commit point. Rolling forward then renames each staged file over its namesake,
   removes the stale files and deletes the commit folder. Rolling forward is idempotent: a crash
   half-way is finished by the next save or load (`recover_interrupted_save`), so `target` always
   holds one complete save, the old one before the commit point and the new one after it.

"Stale" is narrow: another weights file of the same component (``diffusion_pytorch_model.bin``
beside a new ``model.safetensors``), and the component folders a pipeline no longer has, only
when they hold nothing but config and weights files. Anything else in the folder (notes,
``evaluation.json``, data) survives every save. Files and folders get the umask's permissions.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

__all__ = [
    "write_text_atomic",
    "atomic_directory",
    "use_umask_permissions",
    "recover_interrupted_save",
    "process_alive",
    "SAVE_MARKERS",
    "MODEL_INDEX_NAME",
    "CONFIG_NAME",
    "SCHEDULER_CONFIG_NAME",
    "WEIGHTS_NAME",
    "DIFFUSERS_WEIGHTS_NAME",
    "DIFFUSERS_VERSION",
    "SAFETENSORS_WEIGHTS_NAMES",
    "PICKLE_WEIGHTS_NAMES",
]

MODEL_INDEX_NAME = "model_index.json"  # a pipeline: its class and components
CONFIG_NAME = "config.json"  # a model's constructor arguments
SCHEDULER_CONFIG_NAME = "scheduler_config.json"
# Files that mark a folder as something save_pretrained wrote (ours or diffusers').
SAVE_MARKERS = (MODEL_INDEX_NAME, CONFIG_NAME, SCHEDULER_CONFIG_NAME)
# Two layouts (see DESIGN.md, "Files on disk"): a save whose classes all have a diffusers twin is
# written in diffusers' layout, so diffusers loads it; any other save in gandiff's own.
WEIGHTS_NAME = "model.safetensors"  # a model's weights, gandiff's layout
DIFFUSERS_WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"  # a model's weights, diffusers' layout
# The diffusers release whose file names, config keys and model_index.json entries a save in
# diffusers' layout follows (tests load such saves with that release). Written as
# `_diffusers_version`, the key by which gandiff tells a diffusers-layout file from its own; raise
# it only after checking a newer release.
DIFFUSERS_VERSION = "0.42.1"
# A model's weights, in the order they are read: ours, diffusers'; pickles only on request.
SAFETENSORS_WEIGHTS_NAMES = (WEIGHTS_NAME, DIFFUSERS_WEIGHTS_NAME)
PICKLE_WEIGHTS_NAMES = ("diffusion_pytorch_model.bin", "pytorch_model.bin")
_WEIGHTS_NAMES = (*SAFETENSORS_WEIGHTS_NAMES, *PICKLE_WEIGHTS_NAMES)
# What a component folder of a pipeline holds when gandiff or diffusers wrote it.
_COMPONENT_FILES = frozenset((CONFIG_NAME, SCHEDULER_CONFIG_NAME, *_WEIGHTS_NAMES))

# Staging folders and temporary files: ".<name>.tmp-<pid>-<8 hex>". The pid tells whether the
# writer is still alive; only names of exactly this shape are ever removed as leftovers.
_STAGING = re.compile(r"\.(?P<name>.+)\.tmp-(?P<pid>\d+)-[0-9a-f]{8}")
_COMMIT_PREFIX = ".gandiff-commit-"
_MANIFEST = ".gandiff-manifest.json"
# Staging folders of this process still being written (threads may save concurrently).
_ACTIVE: set[Path] = set()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file through a temporary file, fsync and a rename.

    Readers see the old content or the new one, never a part of it. The file gets the umask's
    permissions; temporary files that killed writers left for the same name are removed.

    Args:
        path: the file to write; its folder must exist.
        text: the content, written as UTF-8.
    """
    path = Path(path).absolute()
    _remove_dead_staging(path.parent, only_name=path.name)
    tmp = path.parent / _staging_name(path.name)
    _ACTIVE.add(tmp)
    try:
        # os.open with 0o666 lets the umask decide (mkstemp would force 0600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        _ACTIVE.discard(tmp)


def use_umask_permissions(path: str | os.PathLike) -> None:
    """Give a file the permissions a new file gets under the umask (0644 by default).

    For files written by libraries that force 0600 (safetensors' ``save_file`` writes a private
    temporary file and renames it).

    Args:
        path: the file to change.
    """
    path = Path(path).absolute()
    # The umask cannot be read without setting it (which races with other threads): a new empty
    # file in the same folder shows its effect instead.
    probe = path.parent / _staging_name(path.name)
    _ACTIVE.add(probe)
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        os.close(fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(probe)
        _ACTIVE.discard(probe)
    os.chmod(path, mode)


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a staging folder; on success its files replace their namesakes in `target`.

    Files in `target` that the staging folder does not hold survive, except stale files of
    gandiff's own (see the module docstring). If the body raises, `target` is untouched and the
    staging folder is removed; if the process dies, the next save removes it.

    Args:
        target: the folder the save ends up in (created with its parents when missing).

    Yields:
        The empty staging folder to write the complete save into.

    Raises:
        FileExistsError: when `target` is a file, or when a file of the save would replace a
            folder of the same name.
    """
    target = Path(target).expanduser().absolute()
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is a file; save into a folder path")
    _recover(target, tidy=True)
    fresh = not target.exists()
    if fresh:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / _staging_name(target.name)
    else:
        staging = target / _staging_name("gandiff")
    staging.mkdir()  # mode 0o777 less the umask (tempfile.mkdtemp would force 0700)
    _ACTIVE.add(staging)
    try:
        yield staging
        _fsync_tree(staging)
        if fresh:
            try:
                os.rename(staging, target)
                _fsync_dir(target.parent)
                return
            except OSError:
                if not target.is_dir():  # someone else made it meanwhile: merge into it instead
                    raise
        _commit(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # nothing left once the commit folder took it
        raise
    finally:
        _ACTIVE.discard(staging)


def recover_interrupted_save(path: str | os.PathLike) -> None:
    """Finish a save of `path` (or of the pipeline folder holding it) that a crash interrupted.

    Loaders call this first, so that they read the complete new save rather than a mix. Also
    brings back a folder that earlier gandiff versions had moved aside (``.<name>.old-*``)
    when the process died between their two renames. Anything that is not a local path is left
    alone.

    Args:
        path: the folder about to be loaded (a Hub repo id is ignored).

    Raises:
        OSError: when an interrupted save is found but cannot be finished (e.g. read-only).
    """
    try:
        path = Path(path).expanduser().absolute()
    except (TypeError, ValueError):
        return
    _recover(path, tidy=False)


# -- commit and roll forward --------------------------------------------------------------------


def _commit(staging: Path, target: Path) -> None:
    writes = sorted(
        (p.relative_to(staging).as_posix() for p in staging.rglob("*") if not p.is_dir()),
        # Config files last (model_index.json the very last): a reader that finds the
        # config also finds the weights it describes.
        key=lambda rel: (rel.endswith(".json"), PurePosixPath(rel).name == MODEL_INDEX_NAME, rel),
    )
    for rel in writes:
        _check_writable(target, rel)
    remove, remove_dirs = _stale(target, writes)
    manifest = {"write": writes, "remove": remove, "remove_dirs": remove_dirs}
    fd = os.open(staging / _MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(manifest, f)
        f.flush()
        os.fsync(f.fileno())
    _fsync_dir(staging)
    commit = target / f"{_COMMIT_PREFIX}{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}"
    os.rename(staging, commit)  # the commit point
    _fsync_dir(target)
    _roll_forward(commit)


def _roll_forward(commit: Path) -> None:
    """Move a committed save into place; safe to repeat after a crash, or from a second process."""
    target = commit.parent
    try:
        manifest = json.loads((commit / _MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:  # another process finished it meanwhile
        return
    touched = {target}
    for rel in manifest["write"]:
        source = commit / rel
        if source.is_file():  # else an earlier, interrupted roll-forward moved it already
            destination = target / rel
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, destination)
            touched.add(destination.parent)
    for rel in manifest["remove"]:
        with contextlib.suppress(FileNotFoundError):
            (target / rel).unlink()
        touched.add((target / rel).parent)
    for rel in manifest["remove_dirs"]:  # deepest first; only folders left empty
        with contextlib.suppress(OSError):
            (target / rel).rmdir()
    for folder in touched:
        with contextlib.suppress(FileNotFoundError):
            _fsync_dir(folder)
    shutil.rmtree(commit, ignore_errors=True)


def _check_writable(target: Path, rel: str) -> None:
    """Refuse before the commit point what rolling forward could not do."""
    path = target
    for part in PurePosixPath(rel).parts[:-1]:
        path = path / part
        if path.exists() and not path.is_dir():
            raise FileExistsError(f"{path} is a file, but the save needs a folder there; move it away and save again")
    if (target / rel).is_dir():
        raise FileExistsError(f"{target / rel} is a folder, but the save writes a file there; move it away")


def _stale(target: Path, writes: list[str]) -> tuple[list[str], list[str]]:
    """gandiff's files in `target` that the new save makes wrong, and folders to remove if emptied.

    1. Other weights files of a component whose weights are written (read in a fixed order, an
       old ``diffusion_pytorch_model.safetensors`` would otherwise shadow nothing but confuse).
    2. Component folders of the previous pipeline that the new one lacks, when they hold only
       config and weights files.
    """
    written = set(writes)
    remove: list[str] = []
    remove_dirs: list[str] = []
    for level in sorted(
        {str(PurePosixPath(rel).parent) for rel in writes if PurePosixPath(rel).name in _WEIGHTS_NAMES}
    ):
        for name in _WEIGHTS_NAMES:
            rel = name if level == "." else f"{level}/{name}"
            if rel not in written and (target / rel).is_file():
                remove.append(rel)
    if MODEL_INDEX_NAME in written:
        new_components = {PurePosixPath(rel).parts[0] for rel in writes if "/" in rel}
        for name in _old_components(target / MODEL_INDEX_NAME):
            folder = target / name
            if name in new_components or folder.is_symlink() or not folder.is_dir():
                continue
            entries = list(folder.rglob("*"))
            files = [p for p in entries if not p.is_dir()]
            if all(p.name in _COMPONENT_FILES and not p.is_symlink() for p in files):
                remove += [p.relative_to(target).as_posix() for p in files]
                dirs = [p for p in entries if p.is_dir()] + [folder]
                remove_dirs += sorted((p.relative_to(target).as_posix() for p in dirs), key=len, reverse=True)
    return remove, remove_dirs


def _old_components(model_index: Path) -> list[str]:
    """The component names a previous ``model_index.json`` lists (plain names only)."""
    try:
        index = json.loads(model_index.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(index, dict):
        return []
    # A name from a file is used as a path: only plain identifiers, never "../x".
    return [name for name in index if isinstance(name, str) and name.isidentifier() and not name.startswith("_")]


# -- recovery and leftovers ---------------------------------------------------------------------


def _recover(target: Path, tidy: bool) -> None:
    """Finish interrupted commits in `target` and its parent; `tidy` also removes dead staging."""
    _restore_moved_aside(target, tidy)
    for folder in (target.parent, target):
        if not folder.is_dir():
            continue
        for commit in sorted(folder.glob(_COMMIT_PREFIX + "*")):
            try:
                _roll_forward(commit)
            except OSError as err:
                raise OSError(
                    f"{folder} holds a save that a crash interrupted ({commit.name}) and finishing it failed: {err}"
                ) from err
        if tidy:
            _remove_dead_staging(folder)


def _remove_dead_staging(folder: Path, only_name: str | None = None) -> None:
    """Remove ``.<name>.tmp-<pid>-<hex>`` leftovers whose process is gone (or gandiff's old
    ``.<name>.tmp-XXXXXXXX`` staging folders, which carry no pid)."""
    pattern = f".{glob.escape(only_name)}.tmp-*" if only_name else ".*.tmp-*"
    try:
        candidates = list(folder.glob(pattern))
    except OSError:
        return
    for path in candidates:
        match = _STAGING.fullmatch(path.name)
        if match and (only_name is None or match["name"] == only_name) and not _writer_alive(path, int(match["pid"])):
            _remove_path(path)


def _restore_moved_aside(target: Path, tidy: bool) -> None:
    """Undo the swap of earlier gandiff versions, which moved the old save to
    ``.<name>.old-XXXXXXXX/save`` and then the new one from ``.<name>.tmp-XXXXXXXX`` to `target`:
    a crash between the two renames left `target` missing."""
    parent, name = target.parent, target.name
    if not name or not parent.is_dir():
        return
    old_shape = re.compile(rf"\.{re.escape(name)}\.(old|tmp)-[a-z0-9_]{{8}}")
    for leftover in sorted(parent.glob(f".{glob.escape(name)}.*-*")):
        match = old_shape.fullmatch(leftover.name)
        if not match or not leftover.is_dir():
            continue
        saved = leftover / "save"
        if match[1] == "old" and saved.is_dir():
            if not target.exists():
                os.replace(saved, target)  # the old save is complete; the new one never arrived
                _fsync_dir(parent)
            elif tidy:
                # The swap finished; what the old save held that the new one lacks was the
                # user's (the old code moved it aside with the save): put it back.
                _move_missing(saved, target)
            else:
                continue
        elif not tidy:
            continue
        _remove_path(leftover)


def _move_missing(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        if path.is_dir() or path.name in _COMPONENT_FILES or path.name == MODEL_INDEX_NAME:
            continue
        destination = target / path.relative_to(source)
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, destination)


def _writer_alive(path: Path, pid: int) -> bool:
    if pid == os.getpid():
        return path in _ACTIVE
    return process_alive(pid)


def process_alive(pid: object) -> bool:
    """Whether a process with id `pid` exists on this host: the one check behind every "is the
    writer of this file still running" (interrupted saves here, the output-folder lock of training).

    Args:
        pid: a process id as read from a file name or a lock file; anything but a positive int is
            no process (``os.kill`` would read 0 and negative ids as process groups).

    Returns:
        True when the process exists, also when it belongs to another user.
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else (PermissionError); when unsure, alive
        return True
    return True


def _staging_name(name: str) -> str:
    return f".{name[:200]}.tmp-{os.getpid()}-{os.urandom(4).hex()}"


def _remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# -- fsync -------------------------------------------------------------------------------------


def _fsync_tree(folder: Path) -> None:
    """Put every file and folder under `folder` on disk, so a rename never publishes lost data."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        elif path.is_dir():
            _fsync_dir(path)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except (PermissionError, IsADirectoryError):  # platforms that cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder; the rename is still atomic
        pass
    finally:
        os.close(fd)
