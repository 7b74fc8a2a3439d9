"""gandiff-euler-scheduler: an example gandiff plugin that adds `EulerDiscreteScheduler`.

gandiff imports this package through the ``gandiff.plugins`` entry point (see pyproject.toml);
the import registers the scheduler, so saved pipelines that name it load by name.
"""

from .scheduler import EulerDiscreteScheduler

__all__ = ["EulerDiscreteScheduler"]
