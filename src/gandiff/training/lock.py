"""One writer per output folder: a lock file naming the run that writes it.

Two runs writing one folder interleave their logs, prune each other's checkpoints and remove
each other's staging folders. So a run holds ``<output_dir>/train.lock`` from before it reads
the folder until it has saved its pipeline. The file says who holds it, as JSON::

    {"pid": 4242, "host": "node-3", "started": "2026-12-05T01:50:12+00:00"}

Holding is an exclusive `fcntl.flock` on that file, which the operating system drops when the
process ends, however it ends: a run killed by SIGKILL or the OOM killer leaves the file with
its content but no lock. The next run then takes it over, saying whose it was. A file whose
holder ran on another host cannot be checked from here (network file systems do not all pass
locks on), so it is refused with the way out: delete the file once that run has stopped.

Only the main process of an `accelerate` run takes the lock; the other processes write nothing
into the folder. (POSIX only: `fcntl`.)
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import fcntl
import json
import logging
import os
import socket
from pathlib import Path

from ..saving import process_alive

logger = logging.getLogger(__name__)

__all__ = ["LOCK_NAME", "OutputDirInUseError", "OutputDirLock"]

LOCK_NAME = "train.lock"


class OutputDirInUseError(FileExistsError):
    """Another run writes the output folder (the message names its PID and host)."""


def _holder_text(holder: dict) -> str:
    started = f", started {holder['started']}" if holder.get("started") else ""
    return f"PID {holder.get('pid', '?')} on host {holder.get('host', '?')}{started}"


class OutputDirLock:
    """The lock of one output folder, held by this process from `acquire` to `release`.

    Args:
        output_dir: the run's folder; created (with its parents) by `acquire` when missing.
    """

    # folder -> the lock this process holds on it (a second trainer in one process takes it over)
    _held: dict[Path, OutputDirLock] = {}

    def __init__(self, output_dir: str | os.PathLike):
        self.folder = Path(output_dir).expanduser().absolute()
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None
        self._pid = os.getpid()
        self._created_folder = False

    def acquire(self) -> None:
        """Take the lock, or refuse with the holder's PID and host.

        Raises:
            OutputDirInUseError: a live run holds the folder, or a run on another host may.
            FileExistsError: the output folder is a file.
        """
        if self.folder.exists() and not self.folder.is_dir():
            raise FileExistsError(f"output_dir {self.folder} is a file; choose a folder")
        previous = self._held.get(self.folder)
        if previous is not None:  # an earlier trainer of this process (a notebook's failed run)
            previous.release()
        if not self.folder.exists():
            self.folder.mkdir(parents=True)
            self._created_folder = True
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            if not _try_lock(fd):
                holder = _read(fd)
                os.close(fd)
                raise OutputDirInUseError(
                    f"output_dir {self.folder} is in use by another gandiff run ({_holder_text(holder)}); wait for it "
                    "to finish or stop it, or choose another output_dir"
                )
            # A holder that released meanwhile deleted the file we opened: lock the new one.
            with contextlib.suppress(FileNotFoundError):
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    break
            os.close(fd)
        holder = _read(fd)
        if holder:  # a run that ended without releasing: killed, or out of memory
            if holder.get("host", socket.gethostname()) != socket.gethostname():
                os.close(fd)
                raise OutputDirInUseError(
                    f"output_dir {self.folder} is locked by a gandiff run on another host ({_holder_text(holder)}), "
                    f"which cannot be checked from here; if that run has stopped, delete {self.path}"
                )
            logger.warning(
                "output_dir %s: taking over the lock of a run that stopped without releasing it (%s)",
                self.folder,
                _holder_text(holder),
            )
        started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started}).encode(), 0)
        os.fsync(fd)
        self._fd, self._pid = fd, os.getpid()
        self._held[self.folder] = self
        atexit.register(self.release)  # an exception ends the process: not a stale lock

    def release(self) -> None:
        """Give the lock up: delete the file, then unlock. Safe to call twice.

        The file goes first, so a run waiting on it sees a new file rather than one that a third
        run may lock at the same time. A folder that `acquire` created and that holds nothing
        else (a run refused before it wrote anything) goes too.
        """
        if self._fd is None or os.getpid() != self._pid:  # a forked child (a DataLoader worker) holds nothing
            return
        atexit.unregister(self.release)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None
        if self._held.get(self.folder) is self:
            del self._held[self.folder]
        if self._created_folder:
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only when empty

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._fd is not None


def _try_lock(fd: int) -> bool:
    """An exclusive lock on `fd` without waiting; False when another process holds one."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks (some network or FUSE mounts): the named PID decides
        holder = _read(fd)
        return not (holder.get("host") == socket.gethostname() and process_alive(holder.get("pid")))
    return True


def _read(fd: int) -> dict:
    """The holder the lock file names: {} when it is empty (a run killed while taking it), and
    ``{"pid": "?"}`` when it is unreadable (it was not gandiff that wrote it)."""
    size = os.fstat(fd).st_size
    try:
        holder = json.loads(os.pread(fd, min(size, 4096), 0).decode("utf-8")) if size else {}
    except (UnicodeDecodeError, ValueError):
        return {"pid": "?"}
    return holder if isinstance(holder, dict) else {"pid": "?"}
