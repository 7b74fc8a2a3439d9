"""``python -m gandiff``: the ``gandiff`` command (see `gandiff.cli`)."""

from .cli import main

raise SystemExit(main())
