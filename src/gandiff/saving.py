"""Atomic writes: a crash or an error while saving never replaces a good save with half of one."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "write_text_atomic",
    "atomic_directory",
    "SAVE_MARKERS",
    "WEIGHTS_NAME",
    "SAFETENSORS_WEIGHTS_NAMES",
    "PICKLE_WEIGHTS_NAMES",
]

# The weights file a model's save_pretrained writes.
WEIGHTS_NAME = "model.safetensors"
# The weights files a model is read from, in this order: ours, then diffusers'. Pickles are read
# (and downloaded from the Hub) only when the caller allows it: they can carry code.
SAFETENSORS_WEIGHTS_NAMES = (WEIGHTS_NAME, "diffusion_pytorch_model.safetensors")
PICKLE_WEIGHTS_NAMES = ("diffusion_pytorch_model.bin", "pytorch_model.bin")

# Files that mark a folder as something save_pretrained wrote (ours or diffusers'); only such
# a folder (or an empty one) may be replaced by a new save.
SAVE_MARKERS = ("model_index.json", "config.json", "scheduler_config.json")


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file through a temporary file and a rename.

    Readers see the old content or the new one, never a part of it.

    Args:
        path: the file to write; its folder must exist.
        text: the content, written as UTF-8.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target`.

    If the body raises (or the process dies), `target` is untouched and the temporary folder
    is removed (or left as a hidden ``.name.tmp-*`` folder beside it). An existing `target`
    must be empty or a previous save, so that saving never deletes unrelated files.

    Args:
        target: the folder the save ends up in.

    Yields:
        The temporary folder to write the save into.

    Raises:
        FileExistsError: when `target` is a file, or a folder holding files that are not a save.
    """
    target = Path(target).expanduser().absolute()
    if target.exists():
        if not target.is_dir():
            raise FileExistsError(f"{target} exists and is a file; save into a folder path")
        contents = {p.name for p in target.iterdir()}
        if contents and not contents.intersection(SAVE_MARKERS):
            raise FileExistsError(
                f"{target} exists and holds files that are not a gandiff save ({', '.join(sorted(contents)[:5])}); "
                "save into a new or empty folder"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # Swap: the old save moves aside before the new one takes its name, and is deleted last.
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.replace(target, old / "save")
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
