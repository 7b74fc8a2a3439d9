"""The old home of the scheduler helpers, kept so that existing imports keep working.

Each concept now has a file of its own; import from there in new code:

* `gandiff.schedulers.protocol`: `SchedulerMixin`, `SchedulerOutput`;
* `gandiff.schedulers.alpha_bar`: `AlphaBarScheduler`, `check_sampling_options`;
* `gandiff.schedulers.parametrisation`: `predict_x0`, `predict_epsilon`, `q_sample`, `velocity`,
  `clip_predicted_x0`, `dynamic_threshold`;
* `gandiff.schedulers.timesteps`: `spaced_timesteps`, `select_timesteps`, `previous_timestep`;
* `gandiff.torch_utils`: `randn_tensor`; `gandiff.choices`: `PREDICTION_TYPES`, `TIMESTEP_SPACINGS`.
"""

from __future__ import annotations

from ..choices import PREDICTION_TYPES, TIMESTEP_SPACINGS
from ..torch_utils import randn_tensor
from .alpha_bar import AlphaBarScheduler, check_sampling_options
from .parametrisation import clip_predicted_x0, dynamic_threshold, predict_epsilon, predict_x0, q_sample, velocity
from .protocol import SchedulerMixin, SchedulerOutput
from .timesteps import previous_timestep, select_timesteps, spaced_timesteps

__all__ = [
    "SchedulerMixin",
    "AlphaBarScheduler",
    "SchedulerOutput",
    "PREDICTION_TYPES",
    "TIMESTEP_SPACINGS",
    "check_sampling_options",
    "predict_x0",
    "predict_epsilon",
    "clip_predicted_x0",
    "dynamic_threshold",
    "select_timesteps",
    "spaced_timesteps",
    "previous_timestep",
    "randn_tensor",
    "q_sample",
    "velocity",
]
