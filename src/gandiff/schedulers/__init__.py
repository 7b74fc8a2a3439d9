from .ddim import DDIMScheduler
from .ddpm import DDPMScheduler
from .scheduling_utils import SchedulerMixin, SchedulerOutput

__all__ = ["DDIMScheduler", "DDPMScheduler", "SchedulerMixin", "SchedulerOutput"]
