"""How the command's flags read: bounded numbers, the thread default, config fields as flags."""

from __future__ import annotations

import argparse
import functools
import math
import os
import re
from collections.abc import Sequence

# Upper bounds of sizes and counts: far above any run gandiff is meant for, low enough that a
# slip of the keyboard (an extra zero, `1e8`) fails at once instead of filling the memory
# (`plot schedules --num-train-timesteps 1e8` took 23.8 GB) or running for days.
MAX_STEPS = 10**9
MAX_TIMESTEPS = 100_000  # T; Ho et al. use 1,000, Nichol & Dhariwal 4,000
MAX_RESOLUTION = 1024
MAX_BATCH = 65_536
MAX_SAMPLES = 10_000  # drawn in one call by `sample` and `plot reverse`
MAX_POINTS = 10_000_000
MAX_SEED = 2**63 - 1


def whole_number(low: int, high: int):
    """An argparse type: a whole number in [low, high]; ``1e5`` is read as 100000."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not number.is_integer():
                raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
            value = int(number)
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a number >= {low}, got {value}")
        if value > high:
            raise argparse.ArgumentTypeError(f"expected a number <= {high:,}, got {value:,}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in some messages
    return parse


def number(low: float, high: float = math.inf, *, include_low: bool = False, include_high: bool = True):
    """An argparse type: a finite number between `low` and `high` (each end open or closed)."""
    low_sign, high_sign = (">=" if include_low else ">"), ("<=" if include_high else "<")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
        if value < low or (value == low and not include_low):
            raise argparse.ArgumentTypeError(f"expected a number {low_sign} {low:g}, got {text}")
        if value > high or (value == high and not include_high):
            raise argparse.ArgumentTypeError(f"expected a number {high_sign} {high:g}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def or_none(parse):
    """An argparse type: `parse`'s number, or ``none`` to switch the feature off (EMA, clipping)."""

    def parse_or_none(text: str) -> float | str:
        return "none" if text.lower() == "none" else parse(text)

    parse_or_none.__name__ = parse.__name__
    return parse_or_none


steps_type = whole_number(1, MAX_STEPS)  # steps, intervals
seed_type = whole_number(0, MAX_SEED)
timesteps_type = whole_number(1, MAX_TIMESTEPS)
positive_type = number(0)  # loss weights, penalties: any finite number > 0


def default_threads() -> int:
    """``OMP_NUM_THREADS`` when set (the user's or the job scheduler's choice), else 1.

    Why 1: gandiff's networks are small, so a second CPU thread gains little even on an idle
    machine, while under competing load torch's default (one thread per core) makes OpenMP
    threads wait on each other at every operation: 50 DDIM steps took 45 s instead of 2.3 s.
    """
    text = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(text) if text.isdigit() and int(text) > 0 else 1


def flag(name: str) -> str:
    """The command-line flag of a config field: ``max_steps`` -> ``--max-steps``."""
    return "--" + name.replace("_", "-")


def as_flags(message: str, names: Sequence[str]) -> str:
    """`message` with the config fields it names written as the flags that set them.

    The trainers' messages are written for Python (``pass resolution=``, ``ema_decay must lie
    in (0, 1)``); on the command line the same setting is ``--resolution``, ``--ema-decay``.
    ``name='value'`` becomes ``--name value`` and ``name=True`` or a bare ``name=`` ``--name``;
    a bare name is rewritten only when it holds an underscore (so plain words such as "loss" or
    "dataset" in a sentence stay words).
    """
    for name in sorted(names, key=len, reverse=True):
        value = r"(?:='([^']*)'|=True\b|=(?=[\s,;:)]|$))"
        pattern = rf"(?<![\w.-]){name}(?!\w)" + (f"{value}?" if "_" in name else value)
        message = re.sub(pattern, functools.partial(flag_with_value, flag(name)), message)
    return message


def flag_with_value(flag: str, match: re.Match) -> str:
    return f"{flag} {match[1]}" if match[1] else flag
