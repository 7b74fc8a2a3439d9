"""Test helper: the exact denoiser of a mixture of isotropic Gaussians, and a sampling loop.

For data x_0 ~ Σ_k π_k N(μ_k, s_k² I) and x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, everything is Gaussian:

    x_t | k            ~ N(√ᾱ μ_k, (ᾱ s_k² + 1 − ᾱ) I)
    E[x_0 | x_t, k]    = μ_k + √ᾱ s_k² / (ᾱ s_k² + 1 − ᾱ) · (x_t − √ᾱ μ_k)
    E[x_0 | x_t]       = Σ_k p(k | x_t) E[x_0 | x_t, k],   p(k | x_t) ∝ π_k N(x_t; √ᾱ μ_k, ...)
    ε*(x_t, t)         = (x_t − √ᾱ E[x_0 | x_t]) / √(1 − ᾱ)

ε* minimises E||ε − ε_θ(x_t, t)||², so it is the network a perfect training run would give:
a sampler fed with it must reproduce the mixture, up to its own discretisation error.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class IsotropicMixture:
    """Σ_k weights_k N(means_k, stds_k² I) in D dimensions."""

    means: torch.Tensor  # (K, D)
    stds: torch.Tensor  # (K,)
    weights: torch.Tensor  # (K,), sums to 1

    @classmethod
    def ring(cls, num_modes: int = 8, radius: float = 2.0, std: float = 0.1) -> IsotropicMixture:
        """`num_modes` equal-weight modes at angles 2πk/num_modes on a circle."""
        angles = torch.arange(num_modes, dtype=torch.float64) * (2 * torch.pi / num_modes)
        means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
        return cls(means, torch.full((num_modes,), std, dtype=torch.float64), torch.full((num_modes,), 1 / num_modes))

    def sample(self, num_samples: int, generator: torch.Generator) -> torch.Tensor:
        """(num_samples, D) float32 draws."""
        component = torch.multinomial(self.weights.double(), num_samples, replacement=True, generator=generator)
        noise = torch.randn(num_samples, self.means.shape[1], generator=generator, dtype=torch.float64)
        return (self.means[component] + self.stds[component, None] * noise).float()

    def posterior_mean(self, x_t: torch.Tensor, alpha_bar: float) -> torch.Tensor:
        """E[x_0 | x_t] under the forward process with ᾱ = `alpha_bar`, in float64."""
        x_t = x_t.double()
        dim = x_t.shape[1]
        scaled_means = alpha_bar**0.5 * self.means  # (K, D)
        variances = alpha_bar * self.stds**2 + 1 - alpha_bar  # (K,), of x_t | k
        offsets = x_t[:, None, :] - scaled_means  # (N, K, D)
        squared_distances = (offsets**2).sum(dim=2)  # (N, K); torch.cdist is far slower at this size
        log_weights = (
            torch.log(self.weights.double()) - 0.5 * dim * torch.log(variances) - 0.5 * squared_distances / variances
        )
        responsibilities = torch.softmax(log_weights, dim=1)  # p(k | x_t), (N, K)
        gains = alpha_bar**0.5 * self.stds**2 / variances  # (K,)
        # E[x_0 | x_t, k], (N, K, D)
        component_means = self.means + gains[:, None] * offsets
        return (responsibilities[:, :, None] * component_means).sum(dim=1)


class MixtureOracle(torch.nn.Module):
    """The exact network for an `IsotropicMixture`: ``oracle(x_t, t)`` -> ε*, x̂_0 or v*.

    Args:
        mixture: the data distribution.
        alphas_cumprod: the scheduler's ᾱ table, indexed by the training timestep t.
        prediction_type: what to return, as a scheduler's ``prediction_type``.
    """

    def __init__(self, mixture: IsotropicMixture, alphas_cumprod: torch.Tensor, prediction_type: str = "epsilon"):
        super().__init__()
        self.mixture = mixture
        self.alphas_cumprod = alphas_cumprod.double().clone()
        self.prediction_type = prediction_type

    def forward(self, x_t: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        alpha_bar = float(self.alphas_cumprod[int(t)])
        x0 = self.mixture.posterior_mean(x_t, alpha_bar)
        epsilon = (x_t.double() - alpha_bar**0.5 * x0) / (1 - alpha_bar) ** 0.5
        if self.prediction_type == "epsilon":
            out = epsilon
        elif self.prediction_type == "sample":
            out = x0
        else:  # "v_prediction": v = √ᾱ ε − √(1 − ᾱ) x_0
            out = alpha_bar**0.5 * epsilon - (1 - alpha_bar) ** 0.5 * x0
        return out.to(x_t.dtype)


def sample_with(scheduler, network, num_samples: int, num_inference_steps: int, seed: int, **step_kwargs):
    """The pipeline's loop, minimal: x_T ~ N(0, σ_init² I), then network -> scheduler.step."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(num_samples, 2, generator=generator) * scheduler.init_noise_sigma
    scheduler.set_timesteps(num_inference_steps)
    for t in scheduler.timesteps:
        model_output = network(scheduler.scale_model_input(x, t), t)
        x = scheduler.step(model_output, t, x, generator=generator, **step_kwargs).prev_sample
    return x
