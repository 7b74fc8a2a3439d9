from .ddim import DDIMScheduler
from .ddpm import DDPMScheduler
from .protocol import SchedulerMixin, SchedulerOutput

__all__ = ["DDIMScheduler", "DDPMScheduler", "SchedulerMixin", "SchedulerOutput"]
