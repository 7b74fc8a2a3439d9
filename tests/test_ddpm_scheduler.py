"""DDPMScheduler: validation, purity, noise handling and closed forms (Ho et al. 2020).

Tests of behaviour both schedulers share (tables, add_noise, generators, config round trips)
are parametrized over DDPMScheduler and DDIMScheduler here. Expected numbers are computed in
the tests from the paper's equations, in float64.
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from gandiff import DDIMScheduler, DDPMScheduler
from gandiff.registry import lookup
from gandiff.schedulers.ddpm import VARIANCE_TYPES

SCHEDULERS = [DDPMScheduler, DDIMScheduler]
SPACINGS = ["leading", "trailing", "linspace"]


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=seeded(seed), dtype=dtype)


def mean_and_std(scheduler, model_output, t, sample, **kwargs):
    """The step's mean and noise std, from two seeds: x_{t−1} = mean + std · z with z drawn by
    ``torch.randn(shape, generator=...)``, so two draws give two equations."""
    outs, noises = [], []
    for seed in (1, 2):
        outs.append(scheduler.step(model_output, t, sample, generator=seeded(seed), **kwargs).prev_sample)
        noises.append(torch.randn(sample.shape, generator=seeded(seed), dtype=sample.dtype))
    std = (outs[0] - outs[1]) / (noises[0] - noises[1])
    return outs[0] - std * noises[0], std


def model_channels(variance_type: str, channels: int = 3) -> int:
    return 2 * channels if variance_type.startswith("learned") else channels


# -- construction and validation ----------------------------------------------------------------------


def test_bare_scheduler_is_ho_et_al():
    """T = 1000, β linear 1e-4 .. 0.02, ε-prediction, σ² = β̃, clipped x̂_0 (REFERENCES.md)."""
    scheduler = DDPMScheduler()
    config = scheduler.config
    assert config.num_train_timesteps == 1000 and config.beta_schedule == "linear"
    assert (config.beta_start, config.beta_end) == (1e-4, 0.02)
    assert config.prediction_type == "epsilon" and config.variance_type == "fixed_small" and config.clip_sample
    assert float(scheduler.betas[0]) == 1e-4 and float(scheduler.betas[-1]) == pytest.approx(0.02, rel=1e-15)
    assert scheduler.timesteps.tolist() == list(range(999, -1, -1))
    assert scheduler.init_noise_sigma == 1.0
    x = randn(2, 3)
    assert scheduler.scale_model_input(x, 5) is x


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_registered_by_name(cls):
    assert lookup("scheduler", cls.__name__) is cls


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"beta_schedule": "quadratic"}, "'linear', 'scaled_linear', 'squaredcos_cap_v2', 'cosine', 'sigmoid'"),
        ({"prediction_type": "eps"}, "'epsilon', 'sample', 'v_prediction'"),
        ({"timestep_spacing": "even"}, "'leading', 'trailing', 'linspace'"),
        ({"num_train_timesteps": 0}, "num_train_timesteps must be an integer > 0"),
        ({"num_train_timesteps": -5}, "num_train_timesteps must be an integer > 0"),
        ({"num_train_timesteps": 10.0}, "num_train_timesteps must be an integer > 0"),
        ({"steps_offset": -1}, "steps_offset must be an integer >= 0"),
        ({"beta_start": 0.02, "beta_end": 1e-4}, "0 < beta_start < beta_end < 1"),
        ({"trained_betas": [0.01] * 999}, "trained_betas has 999 values but num_train_timesteps=1000"),
        ({"trained_betas": [0.0] * 1000}, r"lie in \(0, 1\)"),
        ({"clip_sample_range": 0.0}, "clip_sample_range must be > 0"),
        ({"dynamic_thresholding_ratio": 1.5}, r"must lie in \(0, 1\]"),
        ({"sample_max_value": -1.0}, "sample_max_value must be > 0"),
    ],
)
@pytest.mark.parametrize("cls", SCHEDULERS)
def test_invalid_settings_fail_in_init_naming_the_fix(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_unknown_variance_type_names_the_choices():
    """diffusers accepts variance_type="other" and runs it as fixed_small; we refuse it."""
    choices = "'fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log', 'learned', 'learned_range'"
    with pytest.raises(ValueError, match=choices):
        DDPMScheduler(variance_type="other")


def test_ddim_takes_no_variance_type():
    assert "variance_type" not in inspect.signature(DDIMScheduler.__init__).parameters
    with pytest.raises(TypeError):
        DDIMScheduler(variance_type="fixed_large")


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_settings_are_read_only_through_config(cls):
    """One way to read a setting: obj.config.x; none is copied to an attribute."""
    scheduler = cls()
    for name in scheduler.config:
        assert not hasattr(scheduler, name), name


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_set_timesteps_errors(cls):
    scheduler = cls()
    with pytest.raises(ValueError, match="exceeds num_train_timesteps=1000"):
        scheduler.set_timesteps(1001)
    with pytest.raises(ValueError, match="num_inference_steps must be an integer > 0"):
        scheduler.set_timesteps(0)
    with pytest.raises(ValueError, match="exactly one of"):
        scheduler.set_timesteps(10, timesteps=[10, 0])
    with pytest.raises(ValueError, match="strictly descending"):
        scheduler.set_timesteps(timesteps=[0, 10])


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_custom_timesteps_and_device(cls):
    scheduler = cls()
    scheduler.set_timesteps(timesteps=[999, 500, 20], device="cpu")
    assert scheduler.timesteps.dtype == torch.int64 and scheduler.timesteps.tolist() == [999, 500, 20]
    assert [scheduler.previous_timestep(t) for t in (999, 500, 20)] == [500, 20, -1]


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_stepping_a_timestep_outside_the_schedule_is_an_error(cls):
    scheduler = cls()
    scheduler.set_timesteps(10)
    with pytest.raises(ValueError, match="timestep 950 is not in the schedule"):
        scheduler.step(randn(1, 3), 950, randn(1, 3))


def test_learned_variance_needs_twice_the_channels():
    scheduler = DDPMScheduler(variance_type="learned_range")
    with pytest.raises(ValueError, match="2 × 3 channels"):
        scheduler.step(randn(1, 3, 2, 2), 999, randn(1, 3, 2, 2))


# -- config round trips -------------------------------------------------------------------------------


def test_ddpm_ddim_ddpm_round_trip_keeps_every_key(tmp_path):
    ddpm = DDPMScheduler(variance_type="fixed_large", beta_schedule="squaredcos_cap_v2", clip_sample=False)
    ddim = DDIMScheduler.from_config(ddpm.config)
    assert ddim.config.variance_type == "fixed_large"  # kept, unused
    assert set(ddim.config) == set(ddpm.config) | {"set_alpha_to_one"}
    back = DDPMScheduler.from_config(ddim.config)
    assert {k: back.config[k] for k in ddpm.config} == dict(ddpm.config)
    assert back.config.set_alpha_to_one is True
    torch.testing.assert_close(back.alphas_cumprod, ddpm.alphas_cumprod, rtol=0, atol=0)
    ddim.save_config(tmp_path)
    assert DDIMScheduler.from_pretrained(tmp_path).config == ddim.config


# -- purity -------------------------------------------------------------------------------------------


def _tables(scheduler):
    names = ("betas", "alphas", "alphas_cumprod")
    return {name: getattr(scheduler, name).clone() for name in names}


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_tables_are_float64_and_never_mutated(cls):
    scheduler = cls(beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction")
    before = _tables(scheduler)
    for name, table in before.items():
        assert table.dtype == torch.float64 and table.device.type == "cpu", name
    scheduler.set_timesteps(7)
    x = randn(2, 3, 4, 4, dtype=torch.float16)
    for t in scheduler.timesteps:
        x = scheduler.step(randn(2, 3, 4, 4, dtype=torch.float16), t, x, generator=seeded(0)).prev_sample
    scheduler.add_noise(x, randn(2, 3, 4, 4, dtype=torch.float16), torch.tensor([3, 900]))
    scheduler.get_velocity(x, randn(2, 3, 4, 4, dtype=torch.float16), torch.tensor([3, 900]))
    for name, table in before.items():
        after = getattr(scheduler, name)
        assert after.dtype == torch.float64 and after.device.type == "cpu", name
        torch.testing.assert_close(after, table, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("cls", SCHEDULERS)
def test_add_noise_keeps_the_dtype_and_matches_q(cls, dtype):
    """q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I), Ho et al. eq. 4, with per-sample timesteps."""
    scheduler = cls()
    x0, noise = randn(3, 2, 4, seed=1, dtype=dtype), randn(3, 2, 4, seed=2, dtype=dtype)
    t = torch.tensor([0, 499, 999])
    noisy = scheduler.add_noise(x0, noise, t)
    velocity = scheduler.get_velocity(x0, noise, t)
    assert noisy.dtype == dtype and velocity.dtype == dtype
    a = scheduler.alphas_cumprod[t].view(3, 1, 1)
    tolerance = {"rtol": 1e-2, "atol": 1e-2} if dtype in (torch.float16, torch.bfloat16) else {}
    torch.testing.assert_close(noisy.double(), a.sqrt() * x0.double() + (1 - a).sqrt() * noise.double(), **tolerance)
    torch.testing.assert_close(
        velocity.double(), a.sqrt() * noise.double() - (1 - a).sqrt() * x0.double(), **tolerance
    )


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_add_noise_follows_the_sample_device_without_moving_the_tables(cls):
    """On another device (meta here: no data, any machine) the result lives there; the tables stay on the CPU."""
    scheduler = cls()
    x = torch.empty(2, 3, 4, device="meta", dtype=torch.float16)
    for method in (scheduler.add_noise, scheduler.get_velocity):
        out = method(x, x, torch.tensor([1, 999]))
        assert out.device.type == "meta" and out.dtype == torch.float16 and out.shape == x.shape
    assert scheduler.alphas_cumprod.device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cls", SCHEDULERS)
def test_cuda_samples_with_a_cpu_generator_match_the_cpu(cls):
    """Noise is drawn on the generator's device, so a CPU seed gives the same step on the GPU."""
    scheduler = cls(clip_sample=False)
    scheduler.set_timesteps(10, device="cuda")
    kwargs = {"eta": 1.0} if cls is DDIMScheduler else {}
    x, model_output = randn(2, 3, 4), randn(2, 3, 4, seed=1)
    t = scheduler.timesteps[2]
    on_gpu = scheduler.step(model_output.cuda(), t, x.cuda(), generator=seeded(4), **kwargs).prev_sample
    on_cpu = scheduler.step(model_output, t.cpu(), x, generator=seeded(4), **kwargs).prev_sample
    torch.testing.assert_close(on_gpu.cpu(), on_cpu)
    noisy = scheduler.add_noise(x.cuda(), model_output.cuda(), scheduler.timesteps[:2])
    assert noisy.is_cuda and scheduler.alphas_cumprod.device.type == "cpu"


# -- noise --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_list_of_generators_gives_per_sample_reproducibility(cls):
    """Sample i's noise comes from generator i alone: the same seed gives the same sample
    whatever the rest of the batch (diffusers' convention)."""
    scheduler = cls(clip_sample=False)
    scheduler.set_timesteps(10)
    kwargs = {"eta": 1.0} if cls is DDIMScheduler else {}
    t = scheduler.timesteps[3]
    x, model_output = randn(2, 3, 4), randn(2, 3, 4, seed=1)
    batch = scheduler.step(model_output, t, x, generator=[seeded(11), seeded(12)], **kwargs).prev_sample
    alone = scheduler.step(model_output[1:], t, x[1:], generator=[seeded(12)], **kwargs).prev_sample
    torch.testing.assert_close(batch[1:], alone, rtol=0, atol=0)
    swapped = scheduler.step(model_output, t, x, generator=[seeded(12), seeded(11)], **kwargs).prev_sample
    assert not torch.equal(swapped, batch)


@pytest.mark.parametrize("schedule", ["linear", "squaredcos_cap_v2"])
@pytest.mark.parametrize("variance_type", VARIANCE_TYPES)
def test_no_nan_for_any_variance_type_at_any_timestep(variance_type, schedule):
    """Every t of the full 1000-step chain gives a finite sample. Learned variances get a
    model output that strays outside their range (negative σ², |v| > 1)."""
    scheduler = DDPMScheduler(variance_type=variance_type, beta_schedule=schedule)
    channels = model_channels(variance_type, 1)
    x = randn(4, 1)
    generator = seeded(0)
    for t in scheduler.timesteps:
        model_output = randn(4, channels, seed=int(t)) * 2
        out = scheduler.step(model_output, t, x, generator=generator)
        assert torch.isfinite(out.prev_sample).all() and torch.isfinite(out.pred_original_sample).all(), int(t)
        x = out.prev_sample


@pytest.mark.parametrize("variance_type", VARIANCE_TYPES)
@pytest.mark.parametrize(
    "settings, last_timestep",
    [
        ({"timestep_spacing": "leading"}, 0),
        ({"timestep_spacing": "trailing"}, 99),
        ({"timestep_spacing": "linspace"}, 0),
        ({"timestep_spacing": "leading", "steps_offset": 1}, 1),
    ],
)
def test_last_step_adds_no_noise(settings, last_timestep, variance_type):
    """Algorithm 2: z = 0 at the last step, whatever its timestep. The step then returns the
    posterior mean μ̃ (eq. 7) with ᾱ_prev = 1, which is x̂_0 itself. diffusers adds noise when
    the last timestep is not 0 (std √β' = 0.32 for trailing + fixed_large)."""
    scheduler = DDPMScheduler(variance_type=variance_type, clip_sample=False, **settings)
    scheduler.set_timesteps(10)
    assert int(scheduler.timesteps[-1]) == last_timestep
    x, model_output = randn(2, 3), randn(2, model_channels(variance_type), seed=1)
    outs = [scheduler.step(model_output, last_timestep, x, generator=seeded(s)).prev_sample for s in (1, 2)]
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)
    a = float(scheduler.alphas_cumprod[last_timestep])
    x0 = (x.double() - (1 - a) ** 0.5 * model_output[:, :3].double()) / a**0.5
    torch.testing.assert_close(outs[0].double(), x0, rtol=1e-5, atol=1e-5)


def test_custom_schedule_last_step_adds_no_noise():
    scheduler = DDPMScheduler(variance_type="fixed_large")
    scheduler.set_timesteps(timesteps=[900, 400, 10])
    x, model_output = randn(2, 3), randn(2, 3, seed=1)
    outs = [scheduler.step(model_output, 10, x, generator=seeded(s)).prev_sample for s in (1, 2)]
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


# -- closed forms -------------------------------------------------------------------------------------


def test_full_chain_step_is_algorithm_2():
    """With all T steps and no clipping, eq. 7 with x̂_0 from eq. 15 is Algorithm 2, line 4:
    x_{t−1} = (x_t − β_t / √(1 − ᾱ_t) · ε_θ) / √α_t + σ_t z."""
    scheduler = DDPMScheduler(clip_sample=False, variance_type="fixed_large")
    x, eps = randn(2, 3, 4, dtype=torch.float64), randn(2, 3, 4, seed=1, dtype=torch.float64)
    for t in (999, 500, 1):
        beta, alpha_bar = float(scheduler.betas[t]), float(scheduler.alphas_cumprod[t])
        z = torch.randn(x.shape, generator=seeded(3), dtype=torch.float64)
        expected = (x - beta / (1 - alpha_bar) ** 0.5 * eps) / (1 - beta) ** 0.5 + beta**0.5 * z
        got = scheduler.step(eps, t, x, generator=seeded(3)).prev_sample
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("variance_type", VARIANCE_TYPES)
def test_respaced_posterior_closed_form(variance_type, spacing):
    """Each step of a 10-step schedule uses the respaced β'_t = 1 − ᾱ_t/ᾱ_prev (Nichol & Dhariwal
    2021, §4) in eq. 7: mean √ᾱ_prev β'/(1 − ᾱ_t) x̂_0 + √(1 − β') (1 − ᾱ_prev)/(1 − ᾱ_t) x_t and
    σ² = β̃' = (1 − ᾱ_prev)/(1 − ᾱ_t) β' ("fixed_small"), β' ("fixed_large"; diffusers'
    "fixed_large_log" gives NaN), the model's σ² ("learned") or exp(v' log β' + (1 − v') log β̃')
    ("learned_range", Nichol & Dhariwal eq. 15)."""
    scheduler = DDPMScheduler(variance_type=variance_type, timestep_spacing=spacing, clip_sample=False)
    scheduler.set_timesteps(10)
    x = randn(2, 3, 4, dtype=torch.float64)
    model_output = randn(2, model_channels(variance_type), 4, seed=1, dtype=torch.float64)
    eps, extra = model_output[:, :3], model_output[:, 3:]
    if variance_type == "learned":
        extra = extra.abs() * 0.1  # a variance
    model_output = torch.cat([eps, extra], dim=1)
    for t, prev in zip(scheduler.timesteps[:-1].tolist(), scheduler.timesteps[1:].tolist()):
        a_t, a_prev = float(scheduler.alphas_cumprod[t]), float(scheduler.alphas_cumprod[prev])
        beta = 1 - a_t / a_prev
        beta_tilde = (1 - a_prev) / (1 - a_t) * beta
        x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t**0.5
        expected_mean = a_prev**0.5 * beta / (1 - a_t) * x0 + (1 - beta) ** 0.5 * (1 - a_prev) / (1 - a_t) * x
        expected_std = {
            "fixed_small": beta_tilde**0.5,
            "fixed_small_log": beta_tilde**0.5,
            "fixed_large": beta**0.5,
            "fixed_large_log": beta**0.5,
            "learned": extra.sqrt(),
            "learned_range": torch.exp(
                0.5 * ((1 + extra) / 2 * math.log(beta) + (1 - extra) / 2 * math.log(beta_tilde))
            ),
        }[variance_type]
        mean, std = mean_and_std(scheduler, model_output, t, x)
        # Recovering std divides by z_1 − z_2, which costs a few digits where the draws are close.
        expected_std = torch.as_tensor(expected_std, dtype=torch.float64).expand_as(std)
        torch.testing.assert_close(mean, expected_mean, rtol=1e-6, atol=1e-9)
        torch.testing.assert_close(std, expected_std, rtol=1e-6, atol=1e-9)


def test_clip_and_threshold_apply_to_x0():
    """clip_sample clips x̂_0 to ±clip_sample_range; thresholding replaces clipping."""
    x, eps = randn(4, 8) * 3, randn(4, 8, seed=1)
    clipped = DDPMScheduler(clip_sample_range=0.5).step(eps, 999, x).pred_original_sample
    assert clipped.abs().max() <= 0.5 and clipped.abs().max() == 0.5
    thresholded = DDPMScheduler(thresholding=True, sample_max_value=3.0).step(eps, 999, x).pred_original_sample
    assert thresholded.abs().max() <= 1.0
    free = DDPMScheduler(clip_sample=False).step(eps, 999, x).pred_original_sample
    assert free.abs().max() > 3.0
