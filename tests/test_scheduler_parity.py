"""Parity with diffusers 0.42.1's DDPMScheduler and DDIMScheduler, the reference implementation.

diffusers keeps its tables in float32, ours are float64, so the tables are compared to float32
precision, and the step comparisons hand diffusers our float64 tables (`with_our_tables`):
then both sides do the same float32 arithmetic on the samples, and any difference is in the
update rule. Seeded end-to-end runs compare against diffusers untouched.

Where diffusers is wrong, these tests leave it out and the closed-form tests cover us:
* ``fixed_large_log`` samples NaN (it takes √(log β)): compared with diffusers' ``fixed_large``,
  which computes the σ = √β it means; closed form in test_ddpm_scheduler.py.
* it adds noise at the last step when that timestep is not 0 (``trailing``, ``steps_offset``,
  custom schedules): those last steps are compared on x̂_0 only; test_last_step_adds_no_noise.
* DDIM's previous timestep ``t − T // N`` is wrong for ``linspace``, and for ``trailing`` when
  N does not divide T: those are left out here; test_ddim_scheduler.py checks eq. 12 with the
  looked-up timestep.
* ``trailing`` spacing sometimes gives N + 1 timesteps ending at −1 (T = 1000, N = 61): we
  compare the first N and check ours has N.
* ``variance_type="other"`` is accepted by diffusers: ours refuses it (test_ddpm_scheduler.py).
"""

from __future__ import annotations

import inspect

import pytest
import torch

diffusers = pytest.importorskip("diffusers")

from gandiff import DDIMScheduler, DDPMScheduler  # noqa: E402

SCHEDULES = ["linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid"]
DDIM_SCHEDULES = ["linear", "scaled_linear", "squaredcos_cap_v2"]  # diffusers' DDIM has no sigmoid
PREDICTION_TYPES = ["epsilon", "sample", "v_prediction"]
SPACINGS = ["leading", "trailing", "linspace"]
# fixed_large_log is left out: diffusers gives NaN (see the module docstring).
DDPM_VARIANCE_TYPES = ["fixed_small", "fixed_small_log", "fixed_large", "learned", "learned_range"]
PAIRS = [(DDPMScheduler, diffusers.DDPMScheduler), (DDIMScheduler, diffusers.DDIMScheduler)]
# Every (ours, theirs, schedule) that diffusers can build; test_schedules.py checks the sigmoid
# schedule, which diffusers' DDIM lacks, against its closed form.
PAIRS_AND_SCHEDULES = [
    (ours, theirs, schedule)
    for ours, theirs in PAIRS
    for schedule in (DDIM_SCHEDULES if theirs is diffusers.DDIMScheduler else SCHEDULES)
]


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def with_our_tables(theirs, ours):
    """Give a diffusers scheduler our float64 tables, so that a step comparison isolates the
    update rule from float32 table rounding (the tables are compared in test_tables_match)."""
    theirs.betas = ours.betas.clone()
    theirs.alphas = ours.alphas.clone()
    theirs.alphas_cumprod = ours.alphas_cumprod.clone()
    if hasattr(ours, "final_alpha_cumprod"):
        theirs.final_alpha_cumprod = torch.tensor(ours.final_alpha_cumprod, dtype=torch.float64)
    return theirs


def step_pair(ours, theirs, settings, num_inference_steps=10, their_settings=None):
    """Our scheduler and diffusers' built from the same settings (or `their_settings` for
    diffusers), diffusers' given our tables, both set to the same `num_inference_steps`."""
    mine = ours(**settings)
    reference = with_our_tables(theirs(**(settings if their_settings is None else their_settings)), mine)
    mine.set_timesteps(num_inference_steps)
    reference.set_timesteps(num_inference_steps)
    return mine, reference


def model_inputs(seed: int, variance_type: str | None = None, scale: float = 1.0):
    """A float32 sample x_t (2, 3, 4, 4) and a model output; 6 channels for the learned variance
    types, the last 3 being σ² ("learned", so positive) or v ("learned_range")."""
    generator = seeded(seed)
    sample = torch.randn(2, 3, 4, 4, generator=generator) * scale
    channels = 6 if variance_type in ("learned", "learned_range") else 3
    model_output = torch.randn(2, channels, 4, 4, generator=generator)
    if variance_type == "learned":
        model_output[:, 3:] = model_output[:, 3:].abs()
    return model_output, sample


def assert_steps_match(ours, theirs, step_kwargs=None, scale=1.0, skip_last_noise=False):
    """Every step of the schedule, with two seeds each: x̂_0 equal, and x_{t−1} equal for both
    seeds, which makes both the mean and the noise scale equal (x_{t−1} = mean + σ z)."""
    step_kwargs = step_kwargs or {}
    variance_type = ours.config.get("variance_type")
    assert torch.equal(ours.timesteps, theirs.timesteps)
    last = len(ours.timesteps) - 1
    for i, t in enumerate(ours.timesteps):
        model_output, sample = model_inputs(seed=i, variance_type=variance_type, scale=scale)
        for seed in (10, 11):
            a = ours.step(model_output, t, sample, generator=seeded(seed), **step_kwargs)
            b = theirs.step(model_output, t, sample, generator=seeded(seed), **step_kwargs)
            torch.testing.assert_close(a.pred_original_sample, b.pred_original_sample, rtol=1e-5, atol=1e-5)
            if not (skip_last_noise and i == last):
                torch.testing.assert_close(a.prev_sample, b.prev_sample, rtol=1e-5, atol=1e-5)


# -- configuration ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_same_config_keys_and_defaults(ours, theirs):
    """Configs move between the libraries unchanged: the same keys, order and defaults."""

    def defaults(cls):
        return [(n, p.default) for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"]

    assert defaults(ours) == defaults(theirs)


@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_configs_load_in_both_directions(ours, theirs):
    reference = theirs(beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction", timestep_spacing="trailing")
    settings = {k: v for k, v in reference.config.items() if not k.startswith("_")}  # diffusers' metadata
    mine = ours.from_config(reference.config)
    assert dict(mine.config) == settings
    torch.testing.assert_close(mine.alphas_cumprod, reference.alphas_cumprod.double(), rtol=1e-5, atol=1e-9)
    back = theirs.from_config(dict(mine.config))
    assert {k: v for k, v in back.config.items() if not k.startswith("_")} == settings


# -- tables and timesteps -----------------------------------------------------------------------------


@pytest.mark.parametrize("rescale", [False, True])
@pytest.mark.parametrize("ours, theirs, schedule", PAIRS_AND_SCHEDULES)
def test_tables_match(ours, theirs, schedule, rescale):
    """β and ᾱ equal diffusers' to float32 precision. diffusers' float32 cumprod drifts by up to
    ~1e-6 relative over 1000 steps; in its float32 zero-SNR rescale, β of the first steps (ratios
    of ᾱ near 1) and of the last steps (ratios of ᾱ near 0) lose a few more digits."""
    mine = ours(beta_schedule=schedule, rescale_betas_zero_snr=rescale)
    reference = theirs(beta_schedule=schedule, rescale_betas_zero_snr=rescale)
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if rescale else {"rtol": 1e-6, "atol": 0}
    torch.testing.assert_close(mine.betas, reference.betas.double(), **tolerance)
    torch.testing.assert_close(mine.alphas_cumprod, reference.alphas_cumprod.double(), rtol=1e-5, atol=1e-9)
    if rescale:
        assert float(mine.alphas_cumprod[-1]) == float(reference.alphas_cumprod[-1]) == 0.0


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("num_train_timesteps", [1000, 999, 37])
def test_timesteps_match_for_every_step_count(num_train_timesteps, spacing):
    """Every N from 1 to T, including diffusers' rounding (linspace [999, 888, ..., 0] for N = 10)."""
    mine = DDPMScheduler(num_train_timesteps=num_train_timesteps, timestep_spacing=spacing, steps_offset=0)
    reference = diffusers.DDPMScheduler(num_train_timesteps=num_train_timesteps, timestep_spacing=spacing)
    for n in range(1, num_train_timesteps + 1):
        mine.set_timesteps(n)
        reference.set_timesteps(n)
        assert len(mine.timesteps) == n
        assert torch.equal(mine.timesteps, reference.timesteps[:n]), n  # diffusers: sometimes N + 1 (trailing)


def test_leading_steps_offset_matches():
    mine, reference = DDPMScheduler(steps_offset=1), diffusers.DDPMScheduler(steps_offset=1)
    for n in (1, 7, 10, 50, 999):
        mine.set_timesteps(n)
        reference.set_timesteps(n)
        assert torch.equal(mine.timesteps, reference.timesteps)


# -- DDPM steps ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
@pytest.mark.parametrize("variance_type", DDPM_VARIANCE_TYPES)
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_ddpm_steps_match(schedule, variance_type, prediction_type, spacing):
    """x̂_0 (eq. 15), the posterior mean (eq. 7) and the noise scale of every step of a 10-step
    respaced schedule. The trailing schedule's last step (t = 99) is compared on x̂_0 only.
    "learned" gets a positive σ² (diffusers takes √ of a negative one, NaN; ours clamps to 0)."""
    settings = dict(
        beta_schedule=schedule,
        variance_type=variance_type,
        prediction_type=prediction_type,
        timestep_spacing=spacing,
        clip_sample=False,
    )
    mine, reference = step_pair(DDPMScheduler, diffusers.DDPMScheduler, settings)
    assert_steps_match(mine, reference, skip_last_noise=spacing == "trailing")


@pytest.mark.parametrize("spacing", SPACINGS)
def test_ddpm_fixed_large_log_is_diffusers_fixed_large(spacing):
    """diffusers' fixed_large_log samples NaN; the σ it means, √β (GLIDE's "max_log"), is what
    its fixed_large computes."""
    settings = {"timestep_spacing": spacing, "clip_sample": False}
    mine, reference = step_pair(
        DDPMScheduler,
        diffusers.DDPMScheduler,
        {**settings, "variance_type": "fixed_large_log"},
        their_settings={**settings, "variance_type": "fixed_large"},
    )
    assert_steps_match(mine, reference, skip_last_noise=spacing == "trailing")


@pytest.mark.parametrize(
    "settings",
    [
        {"clip_sample": True},
        {"clip_sample": True, "clip_sample_range": 2.0},
        {"thresholding": True, "dynamic_thresholding_ratio": 0.9, "sample_max_value": 1.5},
        {"rescale_betas_zero_snr": True, "prediction_type": "v_prediction", "timestep_spacing": "trailing"},
        {"beta_schedule": "squaredcos_cap_v2", "rescale_betas_zero_snr": True, "prediction_type": "v_prediction"},
        {"steps_offset": 1},
    ],
)
@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_clipping_thresholding_and_zero_snr_steps_match(ours, theirs, settings):
    """Samples of scale 3 so that clipping and thresholding act. The last step is compared on x̂_0
    only where its timestep is not 0 (diffusers' DDPM adds noise there)."""
    mine, reference = step_pair(ours, theirs, settings)
    ddim = ours is DDIMScheduler
    for step_kwargs in ({"eta": 0.0}, {"eta": 1.0}) if ddim else ({},):
        assert_steps_match(mine, reference, step_kwargs, scale=3.0, skip_last_noise=int(mine.timesteps[-1]) != 0)


def test_ddpm_custom_timesteps_match():
    mine = DDPMScheduler(variance_type="fixed_large", clip_sample=False)
    reference = with_our_tables(diffusers.DDPMScheduler(variance_type="fixed_large", clip_sample=False), mine)
    for scheduler in (mine, reference):
        scheduler.set_timesteps(timesteps=[999, 700, 420, 100, 3, 0])
    assert_steps_match(mine, reference)


# -- DDIM steps ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("set_alpha_to_one", [True, False])
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize(
    "spacing, num_inference_steps",
    [("leading", 10), ("leading", 7), ("trailing", 10), ("trailing", 20)],  # trailing: N divides T
)
@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
@pytest.mark.parametrize("schedule", DDIM_SCHEDULES)
def test_ddim_steps_match(schedule, prediction_type, spacing, num_inference_steps, eta, set_alpha_to_one):
    """eq. 12 and 16 where diffusers' previous timestep t − T//N is the schedule's next entry.
    With set_alpha_to_one=False and η > 0 diffusers adds noise at the last step: x̂_0 only there."""
    settings = dict(
        beta_schedule=schedule,
        prediction_type=prediction_type,
        timestep_spacing=spacing,
        set_alpha_to_one=set_alpha_to_one,
        clip_sample=False,
    )
    mine, reference = step_pair(DDIMScheduler, diffusers.DDIMScheduler, settings, num_inference_steps)
    assert_steps_match(mine, reference, {"eta": eta}, skip_last_noise=not set_alpha_to_one and eta > 0)


# -- the forward process ------------------------------------------------------------------------------


@pytest.mark.parametrize("ours, theirs, schedule", PAIRS_AND_SCHEDULES)
def test_add_noise_and_velocity_match(ours, theirs, schedule):
    """Against diffusers' own float32 tables. atol 1e-5: at t = 0 diffusers computes 1 − ᾱ_0 = 1e-4
    in float32, which keeps about 3 digits (the reason our tables are float64)."""
    mine, reference = ours(beta_schedule=schedule), theirs(beta_schedule=schedule)
    generator = seeded(0)
    x0, noise = torch.randn(2, 8, 3, 4, 4, generator=generator)
    timesteps = torch.tensor([0, 1, 250, 500, 998, 999, 12, 700])
    torch.testing.assert_close(
        mine.add_noise(x0, noise, timesteps), reference.add_noise(x0, noise, timesteps), rtol=1e-5, atol=1e-5
    )
    torch.testing.assert_close(
        mine.get_velocity(x0, noise, timesteps), reference.get_velocity(x0, noise, timesteps), rtol=1e-5, atol=1e-5
    )


# -- seeded sampling, diffusers untouched -------------------------------------------------------------


def _sample(scheduler, num_inference_steps, **step_kwargs):
    generator = seeded(0)
    x = torch.randn(2, 3, 4, 4, generator=generator)
    scheduler.set_timesteps(num_inference_steps)
    for t in scheduler.timesteps:
        model_output = 0.5 * torch.tanh(x) + 0.1 * torch.cos(t.float() / 100)  # a stand-in network
        x = scheduler.step(model_output, t, x, generator=generator, **step_kwargs).prev_sample
    return x


@pytest.mark.parametrize(
    "ours, theirs, settings, steps, step_kwargs",
    [
        (DDPMScheduler, diffusers.DDPMScheduler, {}, 1000, {}),  # Ho et al.
        (DDPMScheduler, diffusers.DDPMScheduler, {"variance_type": "fixed_large"}, 1000, {}),  # ddpm-cifar10-32
        (DDPMScheduler, diffusers.DDPMScheduler, {"beta_schedule": "squaredcos_cap_v2"}, 50, {}),
        (DDIMScheduler, diffusers.DDIMScheduler, {}, 50, {"eta": 0.0}),
        (DDIMScheduler, diffusers.DDIMScheduler, {}, 50, {"eta": 1.0}),
    ],
)
def test_seeded_sampling_gives_diffusers_samples(ours, theirs, settings, steps, step_kwargs):
    """The whole loop with one generator (noise drawn with diffusers' calls, in the same order)
    gives diffusers' samples; the small difference is diffusers' float32 tables."""
    mine = _sample(ours(**settings), steps, **step_kwargs)
    reference = _sample(theirs(**settings), steps, **step_kwargs)
    torch.testing.assert_close(mine, reference, rtol=1e-4, atol=1e-4)
