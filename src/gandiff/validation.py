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
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["check_choice", "check_positive", "check_int", "check_number", "check_bool", "check_type"]


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


# What each annotation asks for, in the words of a JSON file (a config's values come from one).
_SINGULAR = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "null"}
_PLURAL = {bool: "true/false values", int: "integers", float: "numbers", str: "strings"}
_SEQUENCES = (tuple, list, Sequence)


def check_type(name: str, value: Any, annotation: Any) -> None:
    """Raise a `ValueError` when `value` is not of the type a constructor's `annotation` states.

    The annotations of gandiff's constructors are simple (``int``, ``float``, ``bool``, ``str``,
    ``X | None``, ``tuple[int, ...]``, ``Sequence[float]``); those are checked, with JSON's
    view of them: a list is a tuple, an int is a float, a bool is neither. An annotation of
    another shape is not checked here (the constructor's own validation decides).

    Args:
        name: the setting's name, for the message.
        value: the value given, e.g. read from a config file.
        annotation: the evaluated annotation of the constructor's argument.

    Raises:
        ValueError: when `value` does not fit; the message says what the setting takes.

    Example:
        >>> from collections.abc import Sequence
        >>> from gandiff.validation import check_type
        >>> check_type("trained_betas", [1e-4, 2e-2], Sequence[float] | None)
        >>> check_type("trained_betas", "abc", Sequence[float] | None)
        Traceback (most recent call last):
        ...
        ValueError: trained_betas='abc' is not valid: it takes a list of numbers or null
    """
    if not _fits(value, annotation):
        raise ValueError(f"{name}={value!r} is not valid: it takes {_describe(annotation)}")


def _fits(value: Any, annotation: Any) -> bool:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return _is_int(value)
    if annotation is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if origin in _SEQUENCES:
        if hasattr(value, "tolist") and not isinstance(value, numbers.Number):  # an array or a tensor
            return True
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:  # tuple[int, int]: one type per place
            return len(value) == len(args) and all(_fits(v, a) for v, a in zip(value, args))
        return not args or all(_fits(v, args[0]) for v in value)
    return True  # a shape this check does not know


def _describe(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    if origin in _SEQUENCES:
        if origin is tuple and args and args[-1] is not Ellipsis:
            return f"a list of {len(args)} {_PLURAL.get(args[0], 'values')}"
        return f"a list of {_PLURAL.get(args[0], 'values') if args else 'values'}"
    return _SINGULAR.get(annotation, getattr(annotation, "__name__", str(annotation)))
