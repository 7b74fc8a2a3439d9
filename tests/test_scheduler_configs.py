"""Every config a registered scheduler accepts computes finite numbers (issue 13, item 10).

The promise a user relies on: a scheduler either refuses its config in ``__init__`` (one
``ValueError``/``TypeError`` naming the valid range) or samples with it — ``set_timesteps``, a
full loop of ``step`` and ``add_noise`` give finite tensors. Hypothesis searches each registered
scheduler's whole config space (every ``__init__`` argument, drawn by its default's type, with
extreme, non-finite and wrongly typed values mixed in); the regression tests below pin each
case it found.
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gandiff import DDIMScheduler, DDPMScheduler, choices
from gandiff.registry import known_names, lookup

# String settings and the tuples that list their valid values.
CHOICES = {
    "beta_schedule": choices.BETA_SCHEDULES,
    "variance_type": choices.VARIANCE_TYPES,
    "prediction_type": choices.PREDICTION_TYPES,
    "timestep_spacing": choices.TIMESTEP_SPACINGS,
}
JUNK = st.sampled_from(["no", "", None, 0, 1, [], float("nan")])
# Floats from 1e-320 to 1e320 on a log scale (subnormal, tiny, huge, overflowing), both signs,
# non-finite values, and the everyday range where most configs live.
EXTREME_FLOATS = st.one_of(
    st.floats(-320, 320).map(lambda exponent: 10.0**exponent if exponent < 308 else math.inf),
    st.floats(allow_nan=True, allow_infinity=True),
)
EVERYDAY_FLOATS = st.floats(1e-5, 0.99)


def argument_strategy(name: str, default, num_train_timesteps: int) -> st.SearchStrategy:
    """Values for one ``__init__`` argument, chosen by its default's type."""
    if name in CHOICES:
        return st.one_of(st.sampled_from(CHOICES[name]), st.sampled_from(CHOICES[name]), st.just("unknown"))
    if name == "trained_betas":
        betas = st.lists(st.one_of(EVERYDAY_FLOATS, EXTREME_FLOATS), min_size=num_train_timesteps)
        return st.one_of(st.none(), st.none(), betas.map(lambda b: b[:num_train_timesteps]), JUNK)
    if isinstance(default, bool):
        return st.one_of(st.booleans(), st.booleans(), st.booleans(), JUNK)
    if isinstance(default, int):
        return st.one_of(st.integers(0, 2 * num_train_timesteps), st.integers(-2, 2), JUNK)
    if isinstance(default, float):
        return st.one_of(st.just(default), EVERYDAY_FLOATS, EXTREME_FLOATS, JUNK)
    return st.just(default)


@st.composite
def scheduler_configs(draw, cls: type) -> dict:
    num_train_timesteps = draw(st.one_of(st.integers(1, 1000), st.sampled_from([1, 2, 1000])))
    config = {"num_train_timesteps": num_train_timesteps}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name in ("self", "num_train_timesteps") or parameter.kind is not parameter.POSITIONAL_OR_KEYWORD:
            continue
        if draw(st.booleans()):  # leave about half the settings at their defaults
            config[name] = draw(argument_strategy(name, parameter.default, num_train_timesteps))
    return config


def sample_with(scheduler, num_inference_steps: int, eta: float, seed: int) -> list[torch.Tensor]:
    """Every tensor a full sampling loop and add_noise produce."""
    generator = torch.Generator().manual_seed(seed)
    channels = 1
    out_channels = 2 if scheduler.config.get("variance_type") in choices.LEARNED_VARIANCE_TYPES else 1
    scheduler.set_timesteps(num_inference_steps)
    sample = torch.randn(2, channels, 4, 4, generator=generator) * scheduler.init_noise_sigma
    extra = {"eta": eta} if "eta" in inspect.signature(scheduler.step).parameters else {}
    produced = []
    for t in scheduler.timesteps:
        scheduler.scale_model_input(sample, t)  # what the network would be given; part of the protocol
        model_output = torch.randn(2, out_channels, 4, 4, generator=generator)
        out = scheduler.step(model_output, t, sample, generator=generator, **extra)
        produced += [out.prev_sample, out.pred_original_sample]
        sample = out.prev_sample
    num_train_timesteps = scheduler.config.num_train_timesteps
    x0, noise = torch.randn(2, 2, channels, 4, 4, generator=generator)
    for timesteps in (torch.tensor([0, num_train_timesteps - 1]), torch.randint(num_train_timesteps, (2,))):
        produced.append(scheduler.add_noise(x0, noise, timesteps))
    return produced


@pytest.mark.parametrize("name", known_names("scheduler"))
def test_every_accepted_config_samples_finite_numbers(name):
    cls = lookup("scheduler", name)

    @settings(max_examples=300, deadline=None)
    @given(
        config=scheduler_configs(cls),
        steps=st.integers(1, 30),
        eta=st.floats(0, 1),
        seed=st.integers(0, 2**16),
    )
    def check(config, steps, eta, seed):
        try:
            scheduler = cls(**config)
        except (ValueError, TypeError):
            return  # refused in __init__: the other half of the promise
        num_train_timesteps = scheduler.config.num_train_timesteps
        steps = min(steps, num_train_timesteps)
        offset = scheduler.config.get("steps_offset", 0)
        if (
            scheduler.config.get("timestep_spacing") == "leading"
            and (steps - 1) * (num_train_timesteps // steps) + offset >= num_train_timesteps
        ):
            with pytest.raises(ValueError, match="lower steps_offset or num_inference_steps"):
                scheduler.set_timesteps(steps)
            steps = 1  # one step from timestep steps_offset, which __init__ checked is a training timestep
        for tensor in sample_with(scheduler, steps, eta, seed):
            assert torch.isfinite(tensor).all(), f"{name}(**{config}) gave non-finite numbers"

    check()


# -- the cases hypothesis found, each pinned ------------------------------------------------------

SCHEDULERS = [DDPMScheduler, DDIMScheduler]


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_zero_terminal_snr_with_epsilon_prediction_stays_finite(cls):
    """Lin et al. 2024's ᾱ_T = 0 with ε-prediction: x̂_0 = (x_t − √(1 − ᾱ) ε) / √ᾱ was 0/0 at the
    first "trailing" step (t = 999). It is read with ᾱ = 2⁻²⁴ there, as diffusers' Euler scheduler
    does: x̂_0 = (x_t − ε) · 2¹², and the whole loop is finite."""
    scheduler = cls(rescale_betas_zero_snr=True, timestep_spacing="trailing", clip_sample=False)
    assert float(scheduler.alphas_cumprod[-1]) == 0.0
    scheduler.set_timesteps(10)
    x, eps = randn(2, 1, 4, 4, seed=1), randn(2, 1, 4, 4, seed=2)
    out = scheduler.step(eps, 999, x, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out.pred_original_sample, (x - eps) * 2.0**12)
    assert all(torch.isfinite(tensor).all() for tensor in sample_with(scheduler, 10, eta=1.0, seed=0))


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_betas_too_small_to_change_alpha_bar_fail_in_init(cls):
    """1 − 1e-20 == 1 in float64: ᾱ_0 = 1 and the step at t = 0 divided by 1 − ᾱ_0 = 0
    (ZeroDivisionError). The message names the valid range, and its bound works."""
    with pytest.raises(ValueError, match=r"1 − β rounds to 1 in float64.*use betas >= 1e-15"):
        cls(beta_start=1e-20)
    scheduler = cls(beta_start=1e-15)
    assert all(torch.isfinite(tensor).all() for tensor in sample_with(scheduler, 10, eta=1.0, seed=0))


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_betas_whose_alpha_bar_underflows_float32_fail_in_init(cls):
    """β up to 0.9 over 1000 steps takes ᾱ to 9.5e-39 by t = 410 (below float32's smallest normal,
    1.18e-38): 1 / √ᾱ overflowed to inf. A zero-SNR schedule's exact ᾱ_T = 0 stays allowed."""
    with pytest.raises(ValueError, match=r"falls to 9.53e-39 at timestep 410, below float32's smallest normal"):
        cls(beta_end=0.9)
    cls(beta_schedule="squaredcos_cap_v2", rescale_betas_zero_snr=True, prediction_type="v_prediction")


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_bounds_beyond_float32_bound_nothing(cls):
    """clip_sample_range or sample_max_value ≥ 3.4e38 made torch raise "cannot be converted to
    type float without overflow"; such a bound is no bound in float32."""
    x, output = randn(2, 1, 4, 4, seed=1), 5 * randn(2, 1, 4, 4, seed=2)
    huge = cls(clip_sample_range=1e39).step(output, 999, x).pred_original_sample
    torch.testing.assert_close(huge, cls(clip_sample=False).step(output, 999, x).pred_original_sample)
    huge = cls(thresholding=True, sample_max_value=1e39).step(output, 999, x).pred_original_sample
    large = cls(thresholding=True, sample_max_value=1e30).step(output, 999, x).pred_original_sample
    torch.testing.assert_close(huge, large)


@pytest.mark.parametrize("cls", SCHEDULERS)
def test_a_tiny_sample_max_value_thresholds_to_the_sign(cls):
    """sample_max_value=1e-300 rounded to 0 in float32, and x̂_0 / s was 0/0 = NaN. Dynamic
    thresholding clips to ±s and divides by s (Saharia et al. 2022, §2.3): a tiny s gives sign(x̂_0)."""
    x, output = randn(2, 1, 4, 4, seed=1), randn(2, 1, 4, 4, seed=2)
    raw = cls(clip_sample=False).step(output, 999, x).pred_original_sample
    tiny = cls(thresholding=True, sample_max_value=1e-300).step(output, 999, x).pred_original_sample
    assert torch.equal(tiny, torch.sign(raw))


@pytest.mark.parametrize(
    "cls, setting",
    [(cls, setting) for cls in SCHEDULERS for setting in ("clip_sample", "thresholding", "rescale_betas_zero_snr")]
    + [(DDIMScheduler, "set_alpha_to_one")],
)
def test_boolean_settings_must_be_bools(cls, setting):
    """clip_sample: "no" is a true string: x̂_0 was clipped. Booleans must be bools."""
    with pytest.raises(ValueError, match=f"{setting} must be true or false, got 'no'"):
        cls(**{setting: "no"})


@pytest.mark.parametrize("cls", SCHEDULERS)
@pytest.mark.parametrize("timestep", [-1, 1000])
def test_add_noise_refuses_timesteps_outside_training(cls, timestep):
    """t = −1 indexed the table from its end: the noisiest step instead of an error."""
    x0, noise = torch.zeros(2, 3), torch.ones(2, 3)
    with pytest.raises(ValueError, match=rf"timesteps must lie in \[0, 999\] .*\[0, {timestep}\]"):
        cls().add_noise(x0, noise, torch.tensor([0, timestep]))


@pytest.mark.parametrize("cls", SCHEDULERS)
@pytest.mark.parametrize(
    "kwargs, message",
    [
        # set_timesteps failed for every N: the config could never sample.
        ({"num_train_timesteps": 10, "steps_offset": 10}, "steps_offset=10 must be < num_train_timesteps=10"),
        # rescale_zero_terminal_snr divided by √ᾱ_0 − √ᾱ_{T−1} = 0: NaN betas.
        ({"num_train_timesteps": 1, "rescale_betas_zero_snr": True}, "needs num_train_timesteps >= 2"),
        # torch's "new(): invalid data type 'str'" and Python's "'<' not supported".
        ({"trained_betas": "abc"}, "trained_betas must be a list of 1000 numbers in"),
        ({"beta_start": "0.001"}, "beta_start must be a number, got '0.001'"),
        ({"clip_sample_range": float("inf")}, "clip_sample_range must be a finite number"),
        ({"sample_max_value": float("nan")}, "sample_max_value must be a finite number"),
        # 10**8 timesteps built 2.4 GB of tables.
        ({"num_train_timesteps": 10**8}, "num_train_timesteps=100000000 is more than 100,000"),
    ],
)
def test_configs_that_cannot_sample_fail_in_init(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)
