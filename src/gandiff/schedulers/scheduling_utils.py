"""The scheduler protocol every diffusion pipeline relies on, and nothing else.

A scheduler owns the noise schedule and the update rule; it never calls the network. A
pipeline only uses::

    scheduler.set_timesteps(num_inference_steps, device=None)
    scheduler.timesteps                      # 1-D LongTensor, descending
    scheduler.init_noise_sigma               # scale of the starting noise
    scheduler.scale_model_input(x, t)        # what the network is given at step t
    out = scheduler.step(model_output, t, x, generator=None)
    out.prev_sample, out.pred_original_sample
    scheduler.add_noise(x0, noise, timesteps)   # q(x_t | x_0), for training; pure
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..configuration import ConfigMixin

__all__ = ["SchedulerMixin", "SchedulerOutput"]


@dataclass
class SchedulerOutput:
    """One reverse step: x_{t-1} and the model's estimate of x_0 at step t."""

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class SchedulerMixin(ConfigMixin):
    """Base of every scheduler: its config file name and the protocol above.

    Subclasses set ``self.timesteps`` in ``set_timesteps`` and implement ``step`` and
    ``add_noise``. DDPM and DDIM start from unit-variance noise and give the network x_t as
    it is, so ``init_noise_sigma`` is 1 and ``scale_model_input`` is the identity here;
    schedulers of other families (k-diffusion style) override both, and pipelines honour them.
    """

    config_name = "scheduler_config.json"
    init_noise_sigma: float = 1.0
    timesteps: torch.Tensor

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        raise NotImplementedError

    def scale_model_input(self, sample: torch.Tensor, timestep: int | torch.Tensor) -> torch.Tensor:
        return sample

    def step(
        self,
        model_output: torch.Tensor,
        timestep: int | torch.Tensor,
        sample: torch.Tensor,
        generator: torch.Generator | list[torch.Generator] | None = None,
    ) -> SchedulerOutput:
        raise NotImplementedError

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
