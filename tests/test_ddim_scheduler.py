"""DDIMScheduler: η, the looked-up previous timestep, the last step, and closed forms from
Song et al. 2021 (eq. 12 and 16). Behaviour shared with DDPM (validation, purity, add_noise,
generators, round trips) is tested in test_ddpm_scheduler.py for both classes.
"""

from __future__ import annotations

import pytest
import torch

from gandiff import DDIMScheduler, DDPMScheduler

SPACINGS = ["leading", "trailing", "linspace"]


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=seeded(seed), dtype=dtype)


def fake_network(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A deterministic stand-in for ε_θ(x_t, t) that depends on both arguments."""
    return 0.7 * torch.tanh(x) + 0.01 * float(t) ** 0.5


@pytest.mark.parametrize("eta", [-0.1, 1.5, float("nan")])
def test_eta_outside_0_1_is_an_error(eta):
    scheduler = DDIMScheduler()
    scheduler.set_timesteps(10)
    with pytest.raises(ValueError, match=r"eta must lie in \[0, 1\]"):
        scheduler.step(randn(1, 2), 900, randn(1, 2), eta=eta)


def test_before_set_timesteps_every_training_timestep_is_used():
    """diffusers' DDIM refuses to step before set_timesteps; ours steps through all T."""
    scheduler = DDIMScheduler()
    assert scheduler.timesteps.tolist() == list(range(999, -1, -1))
    assert scheduler.previous_timestep(500) == 499


@pytest.mark.parametrize("prediction_type", ["epsilon", "sample", "v_prediction"])
@pytest.mark.parametrize("spacing", SPACINGS)
def test_eta_0_step_is_eq_12(spacing, prediction_type):
    """η = 0: x_{t−1} = √α_{t−1} x̂_0 + √(1 − α_{t−1}) ε̂ (eq. 12 with σ = 0), α_{t−1} being ᾱ at the
    next timestep of the schedule: for linspace 999 -> 888 and trailing 999 -> 899 (diffusers
    steps 999 -> 899 for linspace, since it computes t − T // N)."""
    scheduler = DDIMScheduler(timestep_spacing=spacing, prediction_type=prediction_type, clip_sample=False)
    scheduler.set_timesteps(10)
    assert (
        scheduler.previous_timestep(999 if spacing != "leading" else 900)
        == {
            "leading": 800,
            "trailing": 899,
            "linspace": 888,
        }[spacing]
    )
    x0, eps = randn(3, 4), randn(3, 4, seed=1)
    timesteps = scheduler.timesteps.tolist()
    for t, prev in zip(timesteps, [*timesteps[1:], -1]):
        a_t = float(scheduler.alphas_cumprod[t])
        a_prev = float(scheduler.alphas_cumprod[prev]) if prev >= 0 else 1.0
        x_t = a_t**0.5 * x0 + (1 - a_t) ** 0.5 * eps
        v = a_t**0.5 * eps - (1 - a_t) ** 0.5 * x0
        model_output = {"epsilon": eps, "sample": x0, "v_prediction": v}[prediction_type]
        out = scheduler.step(model_output, t, x_t, generator=seeded(0))
        torch.testing.assert_close(out.pred_original_sample, x0, rtol=1e-8, atol=1e-8)
        torch.testing.assert_close(out.prev_sample, a_prev**0.5 * x0 + (1 - a_prev) ** 0.5 * eps, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("eta", [0.3, 1.0])
def test_eta_sets_sigma_of_eq_16(eta):
    """σ_t(η) = η √((1 − α_{t−1})/(1 − α_t)) √(1 − α_t/α_{t−1}); the mean keeps √(1 − α_{t−1} − σ²) ε."""
    scheduler = DDIMScheduler(timestep_spacing="linspace", clip_sample=False)
    scheduler.set_timesteps(10)
    x, eps = randn(2, 3, 4), randn(2, 3, 4, seed=1)
    t, prev = 888, 777
    a_t, a_prev = float(scheduler.alphas_cumprod[t]), float(scheduler.alphas_cumprod[prev])
    sigma = eta * ((1 - a_prev) / (1 - a_t)) ** 0.5 * (1 - a_t / a_prev) ** 0.5
    x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t**0.5
    z = torch.randn(x.shape, generator=seeded(5), dtype=x.dtype)
    expected = a_prev**0.5 * x0 + (1 - a_prev - sigma**2) ** 0.5 * eps + sigma * z
    got = scheduler.step(eps, t, x, eta=eta, generator=seeded(5)).prev_sample
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("spacing", SPACINGS)
def test_eta_1_is_ddpm_with_posterior_variance(spacing):
    """η = 1 gives σ² = β̃ and the same mean as DDPM's eq. 7 (Song et al. 2021, §4.1): a 10-step
    seeded run of DDIM(η = 1) equals DDPM with variance_type="fixed_small", step by step.
    (Without clipping: DDIM keeps the network's ε when it clips x̂_0, DDPM keeps x_t.)"""
    ddim = DDIMScheduler(timestep_spacing=spacing, clip_sample=False)
    ddpm = DDPMScheduler(timestep_spacing=spacing, clip_sample=False, variance_type="fixed_small")
    samples = []
    for scheduler, kwargs in ((ddim, {"eta": 1.0}), (ddpm, {})):
        scheduler.set_timesteps(10)
        generator, x = seeded(0), randn(4, 2, 3, seed=9)
        trajectory = []
        for t in scheduler.timesteps:
            x = scheduler.step(fake_network(x, t), t, x, generator=generator, **kwargs).prev_sample
            trajectory.append(x)
        samples.append(torch.stack(trajectory))
    torch.testing.assert_close(samples[0], samples[1], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("spacing", SPACINGS)
def test_last_step_with_alpha_set_to_one_returns_x0(spacing):
    """set_alpha_to_one=True: the last step moves to ᾱ = 1, i.e. returns x̂_0, with no noise."""
    scheduler = DDIMScheduler(timestep_spacing=spacing)
    scheduler.set_timesteps(10)
    last = int(scheduler.timesteps[-1])
    x, eps = randn(2, 3), randn(2, 3, seed=1)
    out = scheduler.step(eps, last, x, eta=1.0, generator=seeded(1))
    torch.testing.assert_close(out.prev_sample, out.pred_original_sample, rtol=0, atol=1e-12)


def test_last_step_with_alpha_not_set_to_one_adds_no_noise():
    """set_alpha_to_one=False: the last step moves to ᾱ_0, and adds no noise even with η = 1
    (diffusers adds σ z there, σ > 0). The mean is eq. 12's: √ᾱ_0 x̂_0 + √(1 − ᾱ_0 − σ²) ε."""
    scheduler = DDIMScheduler(timestep_spacing="trailing", set_alpha_to_one=False, clip_sample=False)
    scheduler.set_timesteps(10)
    assert scheduler.final_alpha_cumprod == float(scheduler.alphas_cumprod[0])
    x, eps = randn(2, 3), randn(2, 3, seed=1)
    outs = [scheduler.step(eps, 99, x, eta=1.0, generator=seeded(s)).prev_sample for s in (1, 2)]
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)
    a_t, a_prev = float(scheduler.alphas_cumprod[99]), float(scheduler.alphas_cumprod[0])
    sigma_squared = (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)
    x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t**0.5
    torch.testing.assert_close(outs[0], a_prev**0.5 * x0 + (1 - a_prev - sigma_squared) ** 0.5 * eps)


def test_clipping_keeps_the_network_epsilon():
    """With clip_sample, x̂_0 is clipped but the direction term uses the network's ε (diffusers'
    default, use_clipped_model_output=False)."""
    scheduler = DDIMScheduler(clip_sample=True)
    scheduler.set_timesteps(10)
    x, eps = randn(2, 8) * 4, randn(2, 8, seed=1)
    out = scheduler.step(eps, 900, x)
    a_t, a_prev = float(scheduler.alphas_cumprod[900]), float(scheduler.alphas_cumprod[800])
    x0 = ((x - (1 - a_t) ** 0.5 * eps) / a_t**0.5).clamp(-1, 1)
    torch.testing.assert_close(out.prev_sample, a_prev**0.5 * x0 + (1 - a_prev) ** 0.5 * eps)


def test_eta_0_ignores_the_generator():
    scheduler = DDIMScheduler()
    scheduler.set_timesteps(5)
    x, eps = randn(2, 3), randn(2, 3, seed=1)
    a = scheduler.step(eps, 800, x, generator=seeded(1)).prev_sample
    b = scheduler.step(eps, 800, x, generator=seeded(2)).prev_sample
    torch.testing.assert_close(a, b, rtol=0, atol=0)
