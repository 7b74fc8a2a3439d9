"""The version of gandiff, in the one place it is written.

pyproject.toml reads it (``[tool.setuptools.dynamic]``), ``gandiff.__version__`` re-exports it, and
the modules that stamp saves (``_gandiff_version``) or talk to the Hub import it from here, so no
module needs the package ``__init__``.
"""

__version__ = "0.1.0"
