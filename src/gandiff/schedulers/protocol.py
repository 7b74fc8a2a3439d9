"""The scheduler protocol: what every scheduler keeps and every diffusion pipeline relies on.

A scheduler owns the noise schedule and the update rule; it never calls the network. A
pipeline only uses::

    scheduler.set_timesteps(num_inference_steps, device=None)
    scheduler.timesteps                      # 1-D tensor, descending (integers for DDPM, DDIM)
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
    """One reverse step: x_{t-1} and the model's estimate of x_0 at step t.

    Attributes:
        prev_sample: x_{t−1}, the next sample of the reverse process.
        pred_original_sample: x̂_0, the estimate of the clean sample made at step t.
    """

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
    registry_kind = "scheduler"  # how the registry files every subclass, a plugin's too
    init_noise_sigma: float = 1.0
    timesteps: torch.Tensor

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        """Choose the timesteps of sampling, descending, as ``self.timesteps``.

        Args:
            num_inference_steps: how many reverse steps sampling takes.
            device: where ``self.timesteps`` is put (the network's device).
        """
        raise NotImplementedError

    def scale_model_input(self, sample: torch.Tensor, timestep: int | torch.Tensor) -> torch.Tensor:
        """What the network is given at `timestep`: the identity for DDPM and DDIM.

        Args:
            sample: the current sample.
            timestep: an entry of ``self.timesteps``.

        Returns:
            The network's input, shaped like `sample`.
        """
        return sample

    def step(
        self,
        model_output: torch.Tensor,
        timestep: int | torch.Tensor,
        sample: torch.Tensor,
        generator: torch.Generator | list[torch.Generator] | None = None,
    ) -> SchedulerOutput:
        """One reverse step from `sample` at `timestep` to the next timestep of the schedule.

        Args:
            model_output: the network's output at (``scale_model_input(sample, timestep)``, `timestep`).
            timestep: an entry of ``self.timesteps``.
            sample: the current sample.
            generator: a `torch.Generator`, or one per sample, for the step's noise.

        Returns:
            `SchedulerOutput` with the next sample and the estimate of x_0.
        """
        raise NotImplementedError

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """A draw of the forward process at `timesteps` from clean samples, for training; pure.

        Args:
            original_samples: x_0, a batch of clean samples.
            noise: ε ~ N(0, I), shaped like `original_samples`.
            timesteps: one timestep per sample (or one for all).

        Returns:
            The noisy samples x_t, shaped like `original_samples`.
        """
        raise NotImplementedError
