"""Which errors are the user's to fix, and the one line each is shown as."""

from __future__ import annotations

import errno
import sys


class UploadError(Exception):
    """A finished run whose pipeline is saved, but whose upload to the Hub failed."""


# What the disk or the file system refused: the user's to fix (free space, another folder).
FILE_SYSTEM_ERRNOS = {
    errno.ENOSPC: "free some space or write elsewhere",
    errno.EDQUOT: "free some space or write elsewhere",
    errno.EFBIG: "write elsewhere",
    errno.EROFS: "choose a folder you can write to",
    errno.EACCES: "choose a path you can read and write",
    errno.EPERM: "choose a path you can read and write",
    errno.ENAMETOOLONG: "choose a shorter path",
    errno.ELOOP: "the path has a symbolic link loop",
}


def user_error_types() -> tuple[type[BaseException], ...]:
    """The errors that are the user's to fix, shown as one line; anything else is a bug in
    gandiff and keeps its traceback.

    * ``ValueError``: gandiff's check of a setting, a flag or a file's content (DESIGN: invalid
      values raise ValueError naming the valid ones), and undecodable JSON or text.
    * ``FileNotFoundError``, ``FileExistsError``, ``NotADirectoryError``, ``IsADirectoryError``:
      a path the user gave.
    * ``PermissionError``: a read-only file or folder; a gated or private Hub repo (`gandiff.hub`
      turns huggingface_hub's errors into builtin ones).
    * ``HubError`` (`gandiff.hub`; also ``ConnectionError``, ``TimeoutError``): the Hub cannot be
      reached, answers too slowly, refuses, or sent a corrupt file.
    * ``OSError`` with an errno of `FILE_SYSTEM_ERRNOS`: a full disk, a read-only file system.
    * ``ImportError``: an optional package is missing (the messages name the extra to install).
    * ``MemoryError``, ``torch.OutOfMemoryError``: the sizes asked for do not fit.
    * ``NonFiniteLossError``: the run diverged with these settings;
      ``InceptionWeightsUnavailableError``: weights that must be downloaded first;
      ``UploadError``: a finished, saved run whose upload failed (the message says where the
      result is and how to upload it).

    Not in the list: ``TypeError``, ``AttributeError``, ``KeyError``, ``IndexError``,
    ``RuntimeError``, ``RecursionError``. In gandiff's own code they mean a bug. Input of the wrong
    type, kind or depth is caught where it is read (`gandiff.configuration.load_config_file`,
    ``from_config``, the pipeline's component check) and raised as a ValueError naming the file
    or setting (`ComponentKindError` and `RegistryError` are ValueErrors too).
    """
    import torch

    from ..hub import HubError
    from ..metrics.inception_fid import InceptionWeightsUnavailableError
    from ..training.divergence import NonFiniteLossError

    return (
        ValueError,
        HubError,
        FileNotFoundError,
        FileExistsError,
        NotADirectoryError,
        IsADirectoryError,
        PermissionError,
        ConnectionError,
        TimeoutError,
        ImportError,
        MemoryError,
        torch.OutOfMemoryError,
        NonFiniteLossError,
        InceptionWeightsUnavailableError,
        UploadError,
    )


def user_error_message(err: Exception) -> str | None:
    """The one line to print for `err` when it is the user's to fix (`user_error_types`), else None."""
    file_system = isinstance(err, OSError) and err.errno in FILE_SYSTEM_ERRNOS
    if not (file_system or isinstance(err, user_error_types())):
        return None
    if isinstance(err, OSError) and err.errno is not None and err.strerror:
        # the OS's "[Errno 28] No space left on device: 'x.png'" as "x.png: no space left on device; ..."
        where = f"{err.filename}: " if err.filename is not None else ""
        hint = FILE_SYSTEM_ERRNOS.get(err.errno)
        message = f"{where}{err.strerror[0].lower()}{err.strerror[1:]}" + (f"; {hint}" if hint else "")
    else:
        message = str(err) or type(err).__name__
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def end_progress_bars() -> None:
    """Close any open progress bar, so that an error starts on a line of its own instead of
    after the bar's last frame."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        for bar in list(getattr(tqdm.tqdm, "_instances", ())):
            bar.close()
