"""Turn a local folder (and, with the Hub issue, a repo id) into a local path.

Every `from_pretrained` in gandiff resolves its files through `resolve_path` / `resolve_file`,
so there is one place that knows where pretrained files come from.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["resolve_path", "resolve_file"]


def resolve_path(pretrained_path: str | os.PathLike, subfolder: str | None = None) -> Path:
    """The local folder holding a saved object (`subfolder` inside `pretrained_path`)."""
    root = Path(pretrained_path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(
            f"no folder at {str(pretrained_path)!r}; pass the folder written by save_pretrained"
        )
    folder = root / subfolder if subfolder else root
    if not folder.is_dir():
        present = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir())) or "none"
        raise FileNotFoundError(f"{root} has no subfolder {subfolder!r}; subfolders present: {present}")
    return folder


def resolve_file(pretrained_path: str | os.PathLike, filename: str, subfolder: str | None = None) -> Path:
    """The local path of `filename` inside a saved folder; a clear error when it is missing."""
    folder = resolve_path(pretrained_path, subfolder)
    path = folder / filename
    if not path.is_file():
        present = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
        raise FileNotFoundError(f"{folder} has no {filename}; it holds: {present}")
    return path
