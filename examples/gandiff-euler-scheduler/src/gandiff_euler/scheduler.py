"""Euler's method in σ-space for DDPM-trained networks (Karras et al. 2022, "Elucidating the
Design Space of Diffusion-Based Generative Models").

A DDPM network is trained on x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε. Divided by √ᾱ_t, this is
x_0 + σ_t ε with

    σ_t = √((1 − ᾱ_t) / ᾱ_t),

the form in which Karras et al. write every diffusion model (§2; Table 1, "VP", scales x by
s = 1 / √(σ² + 1)). Sampling solves the probability-flow ODE in σ,

    dx/dσ = (x − D(x; σ)) / σ                                  (eq. 1 with eq. 3, σ(t) = t)

from σ_max down to 0 with Euler's method, which is Algorithm 1 without its second-order
correction (lines 6–8):

    d_i     = (x_i − D(x_i; σ_i)) / σ_i                        (line 4)
    x_{i+1} = x_i + (σ_{i+1} − σ_i) d_i                        (line 5)

The denoiser D wraps the network F as in eq. 7, D(x; σ) = c_skip(σ) x + c_out(σ) F(c_in(σ) x; t):
c_in = 1 / √(σ² + 1) turns x back into the x_t the network was trained on (the pipeline
applies it through ``scale_model_input``), and c_skip, c_out read F as ε (Table 1, VP:
c_skip = 1, c_out = −σ), as v or as x_0.

The settings are those of diffusers' ``EulerDiscreteScheduler`` with its defaults: N timesteps
evenly spaced over [0, T − 1] and not rounded ("linspace"), so the network may be given
fractional timesteps, at which σ is interpolated linearly between training timesteps; the last
σ is 0; no Karras σ schedule; no churn (the sampler is deterministic).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from gandiff import SchedulerMixin, SchedulerOutput, register
from gandiff.choices import PREDICTION_TYPES
from gandiff.schedulers.schedules import make_betas
from gandiff.validation import check_choice, check_positive

__all__ = ["EulerDiscreteScheduler"]


@register("scheduler")
class EulerDiscreteScheduler(SchedulerMixin):
    """Euler sampler of the probability-flow ODE in σ-space (Karras et al. 2022, Algorithm 1).

    It samples any network trained for DDPM, with the ᾱ table of the same configuration keys,
    so ``EulerDiscreteScheduler.from_config(ddpm.config)`` swaps it into a trained pipeline.
    Timesteps are float32 and may be fractional.

    Args:
        num_train_timesteps: T, the number of timesteps the network was trained with.
        beta_start: β of the first training step.
        beta_end: β of the last training step.
        beta_schedule: a gandiff β schedule name (``"linear"``, ``"scaled_linear"``,
            ``"squaredcos_cap_v2"``, ``"cosine"``, ``"sigmoid"``).
        trained_betas: T betas to use as they are, instead of a named schedule.
        prediction_type: what the network predicts: ``"epsilon"``, ``"v_prediction"`` or
            ``"sample"`` (x_0).
        rescale_betas_zero_snr: rescale β so that ᾱ_T = 0 (Lin et al. 2024). σ_T would be
            infinite, so ᾱ_T is set to 2⁻²⁴ (σ_T ≈ 4096), as diffusers does.

    Raises:
        ValueError: for an unknown β schedule or prediction type, or bad β settings.

    Example:
        >>> from gandiff_euler import EulerDiscreteScheduler
        >>> scheduler = EulerDiscreteScheduler()
        >>> scheduler.set_timesteps(4)
        >>> scheduler.timesteps
        tensor([999., 666., 333.,   0.])
        >>> round(scheduler.init_noise_sigma, 2)  # σ_max = √((1 − ᾱ_999) / ᾱ_999)
        157.41
    """

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 0.0001,
        beta_end: float = 0.02,
        beta_schedule: str = "linear",
        trained_betas: Sequence[float] | None = None,
        prediction_type: str = "epsilon",
        rescale_betas_zero_snr: bool = False,
    ):
        check_choice("prediction_type", prediction_type, PREDICTION_TYPES)
        # Built once in float64, as gandiff's DDPM and DDIM build theirs, and only read afterwards.
        betas = make_betas(
            num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, rescale_betas_zero_snr
        )
        self.alphas_cumprod = torch.cumprod(1 - betas, dim=0)
        if rescale_betas_zero_snr:
            self.alphas_cumprod[-1] = 2.0**-24  # float16's smallest subnormal, diffusers' choice
        # σ_t of every training timestep.
        self.train_sigmas = ((1 - self.alphas_cumprod) / self.alphas_cumprod).sqrt()
        # Until set_timesteps is called, sample with every training timestep.
        self.set_timesteps(num_train_timesteps)

    @property
    def init_noise_sigma(self) -> float:
        """σ_max, the first σ of the schedule: sampling starts from x ~ N(0, σ_max² I) (Algorithm 1, line 2)."""
        return float(self.sigmas[0])

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        """Choose N timesteps evenly spaced over [0, T − 1] and their σ, then σ_N = 0.

        Args:
            num_inference_steps: N, the number of Euler steps (at least 2).
            device: where ``self.timesteps`` is put (the network's device).

        Raises:
            ValueError: when N is not an integer of at least 2.
        """
        check_positive("num_inference_steps", num_inference_steps)
        if num_inference_steps < 2:
            raise ValueError("num_inference_steps must be at least 2: one step would start at t = 0, σ_0 ≈ 0.01")
        last = len(self.train_sigmas) - 1  # T − 1
        # float32 is what the network is given; σ is taken at exactly that t.
        timesteps = np.linspace(0, last, num_inference_steps)[::-1].astype(np.float32)
        self.timesteps = torch.from_numpy(timesteps.copy()).to(device)
        # σ_0 > ... > σ_{N−1} > σ_N = 0: the last step lands on D(x; σ_{N−1}), the estimate of x_0.
        self.sigmas = torch.cat([self._sigmas_at(timesteps), torch.zeros(1, dtype=torch.float64)])

    def scale_model_input(self, sample: torch.Tensor, timestep: float | torch.Tensor) -> torch.Tensor:
        """c_in(σ) x = x / √(σ² + 1), which is √ᾱ_t (x_0 + σ_t ε) = x_t: what the DDPM network was trained on.

        Args:
            sample: x in σ-space at `timestep`.
            timestep: an entry of ``self.timesteps``.

        Returns:
            The network's input, shaped like `sample`.
        """
        sigma = float(self.sigmas[self._index(timestep)])
        return sample / (sigma**2 + 1) ** 0.5

    def step(
        self,
        model_output: torch.Tensor,
        timestep: float | torch.Tensor,
        sample: torch.Tensor,
        generator: torch.Generator | list[torch.Generator] | None = None,
    ) -> SchedulerOutput:
        """One Euler step from σ_i to σ_{i+1} (Algorithm 1, lines 4–5).

        Args:
            model_output: the network's output F at (``scale_model_input(sample)``, `timestep`).
            timestep: t_i, an entry of ``self.timesteps``.
            sample: x_i, in σ-space.
            generator: unused (the sampler is deterministic); taken so that every scheduler
                can be driven the same way.

        Returns:
            `SchedulerOutput` with ``prev_sample`` x_{i+1} and ``pred_original_sample`` D(x_i; σ_i).
        """
        # Notation (<variable name> -> <symbol in Karras et al. 2022>)
        # - sigma, sigma_next -> σ_i (t_i in Algorithm 1), σ_{i+1}
        # - sample            -> x_i
        # - model_output      -> F_θ(c_in x_i; c_noise)
        # - denoised          -> D_θ(x_i; σ_i)
        # - derivative        -> d_i = dx/dσ
        # - prev_sample       -> x_{i+1}
        index = self._index(timestep)
        sigma, sigma_next = float(self.sigmas[index]), float(self.sigmas[index + 1])

        # 1. D(x; σ) = c_skip(σ) x + c_out(σ) F, eq. 7.
        c_skip, c_out = self._skip_and_out(sigma)
        denoised = c_skip * sample + c_out * model_output

        # 2. d_i = (x_i − D(x_i; σ_i)) / σ_i, the ODE's dx/dσ (eq. 3; line 4).
        derivative = (sample - denoised) / sigma

        # 3. x_{i+1} = x_i + (σ_{i+1} − σ_i) d_i (line 5). With σ_{i+1} = 0 this is D(x_i; σ_i).
        prev_sample = sample + (sigma_next - sigma) * derivative
        return SchedulerOutput(prev_sample=prev_sample, pred_original_sample=denoised)

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """x_0 + σ_t ε, a draw of q(x_t | x_0) in σ-space (x_t / √ᾱ_t); pure.

        Args:
            original_samples: x_0, a batch of B samples.
            noise: ε, shaped like `original_samples`.
            timesteps: one timestep per sample (or one for all), fractional ones included.

        Returns:
            The noisy samples, in `original_samples`' dtype and device.
        """
        t = torch.as_tensor(timesteps).detach().cpu().double().reshape(-1).numpy()
        sigma = self._sigmas_at(t).to(dtype=original_samples.dtype, device=original_samples.device)
        return original_samples + sigma.reshape(-1, *([1] * (original_samples.ndim - 1))) * noise

    def _sigmas_at(self, timesteps: np.ndarray) -> torch.Tensor:
        """σ at (possibly fractional) timesteps: linear interpolation in the table of training σ."""
        grid = np.arange(len(self.train_sigmas))
        return torch.from_numpy(np.interp(timesteps, grid, self.train_sigmas.numpy()))

    def _skip_and_out(self, sigma: float) -> tuple[float, float]:
        """c_skip(σ) and c_out(σ) of eq. 7, for what the network predicts."""
        if self.config.prediction_type == "epsilon":
            return 1.0, -sigma  # F = ε: D = x − σ ε (Table 1, VP)
        if self.config.prediction_type == "v_prediction":
            # F = v = √ᾱ ε − √(1 − ᾱ) x_0 (Salimans & Ho 2022), with ᾱ = 1 / (σ² + 1).
            return 1 / (sigma**2 + 1), -sigma / (sigma**2 + 1) ** 0.5
        return 0.0, 1.0  # "sample": F = x_0

    def _index(self, timestep: float | torch.Tensor) -> int:
        """The position of `timestep` in the schedule: looked up, so steps carry no state."""
        try:
            return self.timesteps.tolist().index(float(timestep))
        except ValueError:
            raise ValueError(
                f"timestep {float(timestep)} is not in the schedule; step through scheduler.timesteps "
                "after set_timesteps"
            ) from None
