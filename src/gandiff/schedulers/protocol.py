"""The scheduler protocol: what every scheduler keeps and every diffusion pipeline relies on.

A scheduler owns the noise schedule and the update rule; it never calls the network. A
pipeline only uses::

    scheduler.set_timesteps(num_inference_steps, device=None)
    scheduler.timesteps                      # 1-D tensor, descending (integers for DDPM, DDIM)
    scheduler.order                          # network calls per step (1 for DDPM, DDIM)
    scheduler.init_noise_sigma               # scale of the starting noise
    scheduler.scale_model_input(x, t)        # what the network is given at step t
    out = scheduler.step(model_output, t, x, generator=None)
    out.prev_sample, out.pred_original_sample
    scheduler.add_noise(x0, noise, timesteps)   # q(x_t | x_0), for training; pure

and diffusers' calling conventions hold: ``step(..., return_dict=False)`` returns the tuple
``(prev_sample, pred_original_sample)``, ``len(scheduler)`` is ``num_train_timesteps`` and
``scheduler.compatibles`` lists the scheduler classes its config moves to.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..configuration import ConfigMixin
from ..outputs import Output
from ..registry import known_names, lookup

__all__ = ["SchedulerMixin", "SchedulerOutput"]


@dataclass
class SchedulerOutput(Output):
    """One reverse step: x_{t-1} and the model's estimate of x_0 at step t; ``to_tuple()``
    is what ``step(..., return_dict=False)`` returns.

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
    order: int = 1  # network calls per step; a second-order sampler (Heun) sets 2
    init_noise_sigma: float = 1.0
    timesteps: torch.Tensor

    def __len__(self) -> int:
        """``num_train_timesteps``, T: the length diffusers gives a scheduler."""
        return self.config.num_train_timesteps

    def __bool__(self) -> bool:
        # A scheduler is an object, not a container: `__len__` must not make `if scheduler:`
        # depend on (or fail for the lack of) num_train_timesteps.
        return True

    @property
    def compatibles(self) -> list[type[SchedulerMixin]]:
        """The scheduler classes this one's config moves to with ``Cls.from_config(config)``,
        itself included: every registered scheduler, plugins' too (diffusers' ``compatibles``).
        """
        # dict.fromkeys: a class registered under two names is listed once.
        return list(dict.fromkeys(lookup("scheduler", name) for name in known_names("scheduler")))

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
        *,
        return_dict: bool = True,
    ) -> SchedulerOutput | tuple[torch.Tensor, torch.Tensor]:
        """One reverse step from `sample` at `timestep` to the next timestep of the schedule.

        Args:
            model_output: the network's output at (``scale_model_input(sample, timestep)``, `timestep`).
            timestep: an entry of ``self.timesteps``.
            sample: the current sample.
            generator: a `torch.Generator`, or one per sample, for the step's noise.
            return_dict: ``False`` returns ``output.to_tuple()``, as diffusers does.

        Returns:
            `SchedulerOutput` with the next sample and the estimate of x_0, or the tuple
            ``(prev_sample, pred_original_sample)`` with ``return_dict=False``.
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
