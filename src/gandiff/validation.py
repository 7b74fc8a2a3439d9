"""Checks of constructor arguments and settings: one line naming the setting, the valid values and the fix.

Every ``__init__`` of a model, scheduler or config dataclass validates its arguments with these, so
a bad value fails at once with the same kind of message everywhere (``ValueError`` for a value of
the wrong type or range, as the config files that carry such values are data). Torch-free and
gandiff-free: any floor may use them.

Example:
    >>> from gandiff.validation import check_choice, check_number
    >>> check_choice("beta_schedule", "linear", ("linear", "scaled_linear"))
    >>> check_number("dropout", 1.5, at_least=0, below=1)
    Traceback (most recent call last):
    ...
    ValueError: dropout must be a number >= 0 and < 1, got 1.5
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

__all__ = ["check_choice", "check_positive", "check_int", "check_number", "check_bool"]


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise a `ValueError` naming the valid choices when `value` is not one of them.

    Args:
        name: the setting's name, for the message.
        value: the value given.
        choices: the valid values.

    Raises:
        ValueError: when `value` is not in `choices`.
    """
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of: {', '.join(map(repr, choices))}")


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but `True` as a layer count is a mistake, not a 1.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive(name: str, value: Any, allow_zero: bool = False, allow_none: bool = False) -> None:
    """Raise a `ValueError` unless `value` is an int > 0 (or >= 0 with `allow_zero`).

    Args:
        name: the setting's name, for the message.
        value: the value given; a bool is not an int here, nor is a float such as ``2.0``.
        allow_zero: accept 0 too.
        allow_none: accept ``None`` too (an optional setting left unset).

    Raises:
        ValueError: when `value` is not such an int.
    """
    if value is None and allow_none:
        return
    if not (_is_int(value) and (value >= 0 if allow_zero else value > 0)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> None:
    """Raise a `ValueError` unless `value` is an int in ``[minimum, maximum]`` (each bound optional).

    Args:
        name: the setting's name, for the message.
        value: the value given; a bool is not an int here.
        minimum: the smallest valid value; no lower bound when ``None``.
        maximum: the largest valid value; no upper bound when ``None``.

    Raises:
        ValueError: when `value` is not such an int.
    """
    in_range = _is_int(value) and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not in_range:
        raise ValueError(f"{name} must be an integer{_bounds_text(('>=', minimum), ('<=', maximum))}, got {value!r}")


def check_number(
    name: str,
    value: Any,
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
) -> None:
    """Raise a `ValueError` unless `value` is a finite real number within the given bounds.

    NaN and infinities are refused whatever the bounds: in a config they only ever turn every
    result into NaN or inf.

    Args:
        name: the setting's name, for the message.
        value: the value given; ints and floats (numpy's too), not bools or strings.
        above: `value` must be > this.
        at_least: `value` must be >= this.
        below: `value` must be < this.
        at_most: `value` must be <= this.

    Raises:
        ValueError: when `value` is not such a number.

    Example:
        >>> from gandiff.validation import check_number
        >>> check_number("norm_eps", 1e-6, above=0)
        >>> check_number("freq_shift", float("nan"))
        Traceback (most recent call last):
        ...
        ValueError: freq_shift must be a finite number, got nan
    """
    bounds = _bounds_text((">", above), (">=", at_least), ("<", below), ("<=", at_most))
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{name} must be a number{bounds}, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number{bounds}, got {value!r}")
    in_range = (
        (above is None or value > above)
        and (at_least is None or value >= at_least)
        and (below is None or value < below)
        and (at_most is None or value <= at_most)
    )
    if not in_range:
        raise ValueError(f"{name} must be a number{bounds}, got {value!r}")


def _bounds_text(*bounds: tuple[str, float | None]) -> str:
    """``" >= 0 and < 1"`` for the bounds that are set; empty when none is."""
    text = " and ".join(f"{sign} {bound:g}" for sign, bound in bounds if bound is not None)
    return f" {text}" if text else ""


def check_bool(name: str, value: Any) -> None:
    """Raise a `ValueError` unless `value` is ``True`` or ``False`` (not ``"no"``, not 0).

    Args:
        name: the setting's name, for the message.
        value: the value given.

    Raises:
        ValueError: when `value` is not a bool.
    """
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
