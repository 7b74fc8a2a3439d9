"""Public names imported on first use (PEP 562), for the packages whose names pull in heavy modules.

A package lists ``name -> module that defines it`` and sets its module ``__getattr__`` to
``lazy_getattr(__name__, table, globals())``: ``import gandiff.metrics`` then stays light, and the
first ``gandiff.metrics.inception_fid`` imports its module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, modules: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` that imports ``modules[name]`` and returns its `name`.

    Args:
        package: the package's ``__name__``, for the error message.
        modules: public name -> the absolute name of the module that defines it.
        namespace: the package's ``globals()``; each name is stored there once imported, so later
            lookups do not reach ``__getattr__`` again.

    Returns:
        The ``__getattr__`` function; it raises `AttributeError` for a name not in `modules`.
    """

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(modules[name]), name)
        namespace[name] = value
        return value

    return __getattr__
