"""``gandiff`` itself: parse, set the threads, run the command, turn a user error into one line."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence

from .commands import COMMANDS
from .errors import end_progress_bars, user_error_message
from .flags import as_flags
from .parser import build_parser


def use_threads(threads: int) -> None:
    """Run torch's CPU work on `threads` threads (see `default_threads`)."""
    import torch

    torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != threads:
        # torch sizes the inter-op pool once per process, before any inter-op work; a second
        # command in the same process (a notebook, the tests) keeps the first size.
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(threads)


# argparse destinations that are not flags: the command words and the positional paths
NOT_FLAGS = {"command", "method", "picture", "path", "run"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``gandiff`` command.

    Args:
        argv: the arguments after ``gandiff`` (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 2 for an error that is the user's to fix, printed as one
        line on stderr (as argparse does for a bad flag). Other errors are bugs: they propagate
        with their traceback.

    Example:
        >>> main(["plot", "schedules", "--out", "schedules.png"])  # doctest: +SKIP
        wrote schedules.png
        0
    """
    args = build_parser().parse_args(argv)
    import torch

    threads = torch.get_num_threads()
    use_threads(args.threads)
    try:
        COMMANDS[args.command](args)
    except Exception as err:
        message = user_error_message(err)
        if message is None:
            raise
        # the Python names of the settings this command's flags set (`train`: every config field)
        flags = [name for name in vars(args) if name not in NOT_FLAGS]
        message = as_flags(message, flags)
        end_progress_bars()
        print(f"gandiff: error: {message}", file=sys.stderr)
        return 2
    finally:
        torch.set_num_threads(threads)  # for callers in the same process
    return 0
