"""Import an optional dependency of the data loaders, or say how to install it."""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = 'pip install "gandiff[data]"'


def import_optional(module: str, package: str, needed_for: str) -> ModuleType:
    """Import `module` on first use, so that ``import gandiff`` never pays for it.

    Args:
        module: the module to import, e.g. ``"sklearn.datasets"``.
        package: its name on PyPI, e.g. ``"scikit-learn"`` (not always the module's name).
        needed_for: what the caller is loading, for the error message.

    Raises:
        ImportError: naming the package and the ``data`` extra that installs it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{needed_for} needs the optional package {package!r}, which is not installed; "
            f"install gandiff's data extra: {INSTALL_HINT}"
        ) from error
