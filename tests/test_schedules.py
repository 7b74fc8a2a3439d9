"""β schedules and the shared scheduler helpers, checked against closed forms derived here.

diffusers parity of the same tables is in test_scheduler_parity.py.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gandiff.schedulers.schedules import (
    BETA_SCHEDULES,
    cosine_betas,
    make_betas,
    rescale_zero_terminal_snr,
)
from gandiff.schedulers.scheduling_utils import (
    PREDICTION_TYPES,
    dynamic_threshold,
    predict_epsilon,
    predict_x0,
    previous_timestep,
    q_sample,
    randn_tensor,
    select_timesteps,
    spaced_timesteps,
    velocity,
)

# -- β schedules -----------------------------------------------------------------------------------


def test_linear_schedule_is_ho_et_al():
    """β from 1e-4 to 0.02 over T = 1000, so √ᾱ_T ≈ 6.4e-3 (REFERENCES.md, DDPM), from the product."""
    betas = make_betas(1000, 1e-4, 0.02, "linear")
    assert betas.dtype == torch.float64 and betas.shape == (1000,)
    expected = [1e-4 + i * (0.02 - 1e-4) / 999 for i in range(1000)]
    torch.testing.assert_close(betas, torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=0)
    sqrt_alpha_bar_T = math.sqrt(math.prod(1 - b for b in expected))
    assert float(torch.cumprod(1 - betas, 0)[-1].sqrt()) == pytest.approx(sqrt_alpha_bar_T, rel=1e-10)
    assert sqrt_alpha_bar_T == pytest.approx(6.4e-3, abs=0.05e-3)


def test_cosine_schedule_follows_f_of_t():
    """Nichol & Dhariwal 2021: ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2), s = 0.008;
    β capped at 0.999, which only the last step reaches, so ᾱ_T = ᾱ_{T−1} · (1 − 0.999) ≈ 2.4e-9."""
    T = 1000

    def f(t):
        return math.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2

    alpha_bar = torch.cumprod(1 - cosine_betas(T), 0)
    expected = torch.tensor([f(t) / f(0) for t in range(1, T)], dtype=torch.float64)
    torch.testing.assert_close(alpha_bar[:-1], expected, rtol=1e-9, atol=0)
    assert (cosine_betas(T)[:-1] < 0.999).all() and cosine_betas(T)[-1] == 0.999
    alpha_bar_T = f(T - 1) / f(0) * (1 - 0.999)
    assert float(alpha_bar[-1]) == pytest.approx(alpha_bar_T, rel=1e-9)
    assert alpha_bar_T == pytest.approx(2.4e-9, rel=0.05)


def test_cosine_alias_and_ignored_range():
    """ "cosine" is "squaredcos_cap_v2", which ignores beta_start and beta_end (as diffusers does)."""
    torch.testing.assert_close(make_betas(50, 1e-4, 0.02, "cosine"), make_betas(50, 0.3, 0.2, "squaredcos_cap_v2"))


def test_scaled_linear_and_sigmoid_endpoints():
    """scaled_linear: √β linear, so β runs exactly from beta_start to beta_end and √β is evenly
    spaced. sigmoid: beta_start + (beta_end − beta_start) · sigmoid(±6) at the ends."""
    scaled = make_betas(100, 0.00085, 0.012, "scaled_linear")
    assert float(scaled[0]) == pytest.approx(0.00085) and float(scaled[-1]) == pytest.approx(0.012)
    steps = scaled.sqrt().diff()
    torch.testing.assert_close(steps, torch.full_like(steps, float(steps[0])))
    sigmoid = make_betas(100, 1e-4, 0.02, "sigmoid")
    s = 1 / (1 + math.exp(-6))
    assert float(sigmoid[0]) == pytest.approx(1e-4 + (0.02 - 1e-4) * (1 - s))
    assert float(sigmoid[-1]) == pytest.approx(1e-4 + (0.02 - 1e-4) * s)


def test_zero_terminal_snr_rescale():
    """Lin et al. 2024, Algorithm 1: √ᾱ is mapped affinely so that ᾱ_T = 0 and ᾱ_0 is kept."""
    betas = make_betas(1000, 1e-4, 0.02, "linear")
    before = betas.clone()
    rescaled = rescale_zero_terminal_snr(betas)
    torch.testing.assert_close(betas, before, rtol=0, atol=0)  # input untouched
    old = torch.cumprod(1 - betas, 0).sqrt()
    new = torch.cumprod(1 - rescaled, 0).sqrt()
    assert float(new[-1]) == 0.0 and float(rescaled[-1]) == 1.0
    assert float(new[0]) == pytest.approx(float(old[0]), rel=1e-12)
    expected = (old - old[-1]) * old[0] / (old[0] - old[-1])
    torch.testing.assert_close(new, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(make_betas(1000, 1e-4, 0.02, "linear", rescale_betas_zero_snr=True), rescaled)


def test_trained_betas_are_used_verbatim():
    betas = [0.1, 0.2, 0.3]
    torch.testing.assert_close(make_betas(3, 1e-4, 0.02, "cosine", trained_betas=betas), torch.tensor(betas).double())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"beta_schedule": "cosin"}, "'linear', 'scaled_linear', 'squaredcos_cap_v2', 'cosine', 'sigmoid'"),
        ({"num_train_timesteps": 0}, "num_train_timesteps must be an integer > 0"),
        ({"beta_start": 0.02, "beta_end": 0.02}, "0 < beta_start < beta_end < 1"),
        ({"beta_start": 0.0, "beta_end": 0.02}, "0 < beta_start < beta_end < 1"),
        ({"beta_schedule": "sigmoid", "beta_start": 0.03}, "0 < beta_start < beta_end < 1"),
        ({"trained_betas": [0.1] * 9}, "trained_betas has 9 values but num_train_timesteps=10"),
        ({"trained_betas": [0.1] * 9 + [1.0]}, r"lie in \(0, 1\)"),
        ({"trained_betas": [0.1] * 9 + [float("nan")]}, r"lie in \(0, 1\)"),
    ],
)
def test_make_betas_rejects_bad_settings(kwargs, message):
    settings_ = {"num_train_timesteps": 10, "beta_start": 1e-4, "beta_end": 0.02, "beta_schedule": "linear", **kwargs}
    with pytest.raises(ValueError, match=message):
        make_betas(**settings_)


def test_cosine_ignores_a_reversed_range():
    """beta_start >= beta_end only matters for the schedules that read them."""
    assert make_betas(10, 0.5, 0.1, "squaredcos_cap_v2").shape == (10,)


@pytest.mark.parametrize("schedule", BETA_SCHEDULES)
def test_every_schedule_is_a_valid_noise_schedule(schedule):
    betas = make_betas(1000, 1e-4, 0.02, schedule)
    assert ((betas > 0) & (betas < 1)).all()
    assert (torch.cumprod(1 - betas, 0).diff() < 0).all()  # ᾱ strictly decreasing


# -- timesteps -------------------------------------------------------------------------------------


def test_spacings_for_T_1000_N_10():
    """REFERENCES.md (diffusers 0.42.1 behaviour, Lin et al. 2024 Table 2)."""
    assert spaced_timesteps(1000, 10, "leading").tolist() == list(range(900, -1, -100))
    assert spaced_timesteps(1000, 10, "trailing").tolist() == list(range(999, 0, -100))
    assert spaced_timesteps(1000, 10, "linspace").tolist() == list(range(999, -1, -111))
    assert spaced_timesteps(1000, 10, "leading", steps_offset=1).tolist() == list(range(901, 0, -100))
    assert spaced_timesteps(1000, 10, "leading").dtype == torch.int64


@settings(max_examples=200, deadline=None)
@given(
    num_train_timesteps=st.integers(1, 2000),
    fraction=st.floats(0, 1),
    spacing=st.sampled_from(["leading", "trailing", "linspace"]),
)
def test_spaced_timesteps_are_a_descending_subset(num_train_timesteps, fraction, spacing):
    n = max(1, round(fraction * num_train_timesteps))
    timesteps = spaced_timesteps(num_train_timesteps, n, spacing)
    assert len(timesteps) == n
    assert (timesteps.diff() < 0).all()
    assert 0 <= int(timesteps[-1]) and int(timesteps[0]) <= num_train_timesteps - 1
    # "trailing" and "linspace" start at the noisiest timestep; numpy's (and so diffusers')
    # linspace of one point is its start, 0.
    if spacing == "trailing" or (spacing == "linspace" and n > 1):
        assert int(timesteps[0]) == num_train_timesteps - 1


@pytest.mark.parametrize(
    "args, message",
    [
        ((1000, None, None), "exactly one of num_inference_steps"),
        ((1000, 10, [5, 1]), "exactly one of num_inference_steps"),
        ((1000, 0, None), "num_inference_steps must be an integer > 0"),
        ((1000, 1001, None), "exceeds num_train_timesteps=1000"),
        ((1000, None, [5, 5, 1]), "strictly descending"),
        ((1000, None, [1, 5]), "strictly descending"),
        ((1000, None, [1000, 5]), r"lie in \[0, 999\]"),
        ((1000, None, [5, -1]), r"lie in \[0, 999\]"),
        ((1000, None, []), "non-empty list of integers"),
        ((1000, None, [5.0, 1.0]), "non-empty list of integers"),
    ],
)
def test_select_timesteps_rejects_bad_requests(args, message):
    with pytest.raises(ValueError, match=message):
        select_timesteps(*args, spacing="leading")


def test_steps_offset_past_the_last_timestep_is_an_error():
    with pytest.raises(ValueError, match="lower steps_offset"):
        spaced_timesteps(1000, 1000, "leading", steps_offset=1)


def test_previous_timestep_is_the_next_entry():
    timesteps = torch.tensor([999, 888, 777, 0])
    assert [previous_timestep(timesteps, t) for t in (999, 888, 777, 0)] == [888, 777, 0, -1]
    assert previous_timestep(timesteps, torch.tensor(888)) == 777
    with pytest.raises(ValueError, match="timestep 500 is not in the schedule"):
        previous_timestep(timesteps, 500)


# -- x_0, ε and v ----------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(alpha_bar=st.floats(1e-4, 1 - 1e-4), prediction_type=st.sampled_from(PREDICTION_TYPES))
def test_predictions_invert_the_forward_process(alpha_bar, prediction_type):
    """For x_t = √ᾱ x_0 + √(1 − ᾱ) ε and the exact model output of each type, predict_x0 and
    predict_epsilon give back x_0 and ε."""
    generator = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(2, 4, 3, generator=generator, dtype=torch.float64)
    x_t = alpha_bar**0.5 * x0 + (1 - alpha_bar) ** 0.5 * eps
    v = alpha_bar**0.5 * eps - (1 - alpha_bar) ** 0.5 * x0
    output = {"epsilon": eps, "sample": x0, "v_prediction": v}[prediction_type]
    x0_tolerance = 1e-9 / alpha_bar  # ε-prediction divides by √ᾱ
    torch.testing.assert_close(predict_x0(output, x_t, alpha_bar, prediction_type), x0, rtol=1e-9, atol=x0_tolerance)
    torch.testing.assert_close(predict_epsilon(output, x_t, alpha_bar, prediction_type), eps, rtol=1e-9, atol=1e-7)


def test_unknown_prediction_type_names_the_choices():
    with pytest.raises(ValueError, match="'epsilon', 'sample', 'v_prediction'"):
        predict_x0(torch.zeros(1), torch.zeros(1), 0.5, "eps")


def test_q_sample_and_velocity_closed_forms():
    alphas_cumprod = torch.cumprod(1 - make_betas(1000, 1e-4, 0.02, "linear"), 0)
    x0 = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    eps = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    t = torch.tensor([0, 500, 999])
    a = alphas_cumprod[t].view(3, 1, 1, 1)
    torch.testing.assert_close(q_sample(alphas_cumprod, x0, eps, t), a.sqrt() * x0 + (1 - a).sqrt() * eps)
    torch.testing.assert_close(velocity(alphas_cumprod, x0, eps, t), a.sqrt() * eps - (1 - a).sqrt() * x0)
    # One timestep for the whole batch, as an int or a 0-d tensor.
    one_for_all = q_sample(alphas_cumprod, x0, eps, torch.tensor(500))
    torch.testing.assert_close(q_sample(alphas_cumprod, x0, eps, 500), one_for_all)


# -- thresholding and noise ------------------------------------------------------------------------


def test_dynamic_threshold_closed_form():
    """Saharia et al. 2022: s = quantile(|x̂_0|, p) clamped to [1, max]; x̂_0 ← clip(x̂_0, −s, s)/s."""
    x = torch.tensor([[0.5, -3.0, 2.0, 1.0], [0.2, -0.4, 0.9, 0.1]])
    out = dynamic_threshold(x, ratio=0.75, max_value=2.5)
    s0 = min(max(float(torch.quantile(x[0].abs(), 0.75)), 1.0), 2.5)  # 2.25
    torch.testing.assert_close(out[0], x[0].clamp(-s0, s0) / s0)
    torch.testing.assert_close(out[1], x[1])  # s clamped to 1: inside [-1, 1] nothing changes
    half = dynamic_threshold(x.half(), ratio=0.75, max_value=2.5)
    assert half.dtype == torch.float16
    torch.testing.assert_close(half.float(), out, atol=2e-3, rtol=0)


def test_randn_tensor_per_sample_generators():
    """A list of generators draws sample i from generator i only, as diffusers does."""
    together = randn_tensor((2, 3), [torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)])
    torch.testing.assert_close(together[1:], randn_tensor((1, 3), torch.Generator().manual_seed(2)))
    single = randn_tensor((2, 3), torch.Generator().manual_seed(1))
    torch.testing.assert_close(single, torch.randn(2, 3, generator=torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="pass one per sample"):
        randn_tensor((3, 3), [torch.Generator()] * 2)
