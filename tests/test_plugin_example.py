"""The example plugin package examples/gandiff-euler-scheduler, installed for real with pip.

pip builds the package and installs it into a temporary folder (``--target``), writing the
same dist-info, with its ``gandiff.plugins`` entry point, that a user's ``pip install`` writes.
The checks then run in one fresh interpreter with that folder on PYTHONPATH, so gandiff can
find the plugin only through the entry point, and this process's registry stays untouched;
each check is reported as its own test.

Expected numbers come from diffusers 0.42.1's ``EulerDiscreteScheduler`` with its default
settings (the reference implementation of the same sampler), and from the closed-form
solution of the probability-flow ODE for Gaussian data (Karras et al. 2022, eq. 1 and 3).
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "gandiff-euler-scheduler"
RESULTS_MARKER = "PLUGIN-CHECK-RESULTS "

CHECKS: dict[str, Callable[[], None]] = {}


def check(function: Callable[[], None]) -> Callable[[], None]:
    """Mark a function as a check that runs in the interpreter where the plugin is installed."""
    CHECKS[function.__name__] = function
    return function


# -- installing, and running the checks in a fresh interpreter -----------------------------------


def pip_install_command(source: Path, target: Path) -> list[str]:
    """pip's command to build and install `source` into `target`.

    Offline when the installed setuptools can build wheels by itself (70.1 and later ship
    ``bdist_wheel``; older ones need the ``wheel`` package); otherwise pip builds in an isolated
    environment and fetches setuptools from PyPI.
    """
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "--quiet"]
    if _setuptools_builds_wheels():
        command += ["--no-build-isolation", "--no-index"]
    return [*command, "--target", str(target), str(source)]


def _setuptools_builds_wheels() -> bool:
    if importlib.util.find_spec("setuptools") is None:
        return False
    from importlib.metadata import version

    major, minor = (int(part) for part in version("setuptools").split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def check_results(tmp_path_factory) -> dict[str, str]:
    """Install the example with pip, run every check in one interpreter, return check -> outcome."""
    work = tmp_path_factory.mktemp("plugin")
    # pip builds in the source tree (build/, *.egg-info): build a copy, leave the repository clean.
    source = shutil.copytree(EXAMPLE, work / "source", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = work / "site"
    command = pip_install_command(source, site)
    installed = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, f"pip could not install the example plugin:\n{installed.stderr}"

    env = {**os.environ, "PLUGIN_SITE": str(site)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_plugin_example; test_plugin_example.run_checks()"
    ran = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=300
    )
    lines = [line for line in ran.stdout.splitlines() if line.startswith(RESULTS_MARKER)]
    assert ran.returncode == 0 and lines, f"the checks did not run:\n{ran.stdout}\n{ran.stderr}"
    return json.loads(lines[-1][len(RESULTS_MARKER) :])


def run_checks() -> None:
    """In the interpreter with the plugin installed: run every check, print their outcomes."""
    torch.set_num_threads(1)
    results = {}
    for name, function in CHECKS.items():
        try:
            function()
            results[name] = "ok"
        except Exception:  # noqa: BLE001 - a failing check must not stop the others; its traceback is the report
            results[name] = traceback.format_exc()
    print(RESULTS_MARKER + json.dumps(results))


# -- the checks, in the order they run -----------------------------------------------------------


def _euler():
    from gandiff.registry import lookup

    return lookup("scheduler", "EulerDiscreteScheduler")


@check
def registry_finds_the_scheduler_through_the_entry_point():
    from importlib.metadata import entry_points

    from gandiff import registry

    (entry_point,) = [ep for ep in entry_points(group=registry.PLUGIN_GROUP) if ep.name == "euler"]
    assert entry_point.value == "gandiff_euler"
    assert entry_point.dist.metadata["Name"] == "gandiff-euler-scheduler"
    assert "gandiff_euler" not in sys.modules, "nothing imported the plugin before the registry was asked"

    cls = registry.lookup("scheduler", "EulerDiscreteScheduler")
    assert cls.__module__ == "gandiff_euler.scheduler"
    assert "EulerDiscreteScheduler" in registry.known_names("scheduler")
    # The package pip installed, not the source tree.
    assert Path(sys.modules["gandiff_euler"].__file__).is_relative_to(os.environ["PLUGIN_SITE"])


@check
def the_plugins_docstring_examples_run():
    import gandiff_euler.scheduler

    result = doctest.testmod(gandiff_euler.scheduler)
    assert result.attempted > 0 and result.failed == 0, result


@check
def a_saved_pipeline_with_the_scheduler_reloads_and_samples():
    from gandiff import DDPMPipeline, MLPDenoiser, Pipeline

    torch.manual_seed(0)
    denoiser = MLPDenoiser(hidden_dim=16, num_layers=1, time_embedding_dim=8)
    pipe = DDPMPipeline(denoiser=denoiser, scheduler=_euler()(prediction_type="v_prediction"))
    with tempfile.TemporaryDirectory() as folder:
        pipe.save_pretrained(folder)
        index = json.loads((Path(folder) / "model_index.json").read_text())
        assert index["scheduler"] == ["gandiff", "EulerDiscreteScheduler"]
        loaded = Pipeline.from_pretrained(folder)
    assert type(loaded) is DDPMPipeline and type(loaded.scheduler) is _euler()
    assert loaded.scheduler.config == pipe.scheduler.config

    for p in (pipe, loaded):
        p.set_progress_bar_config(disable=True)
    settings = {"batch_size": 4, "num_inference_steps": 7, "output_type": "pt"}
    points = loaded(generator=torch.Generator().manual_seed(0), **settings).points
    assert points.shape == (4, 2) and torch.isfinite(points).all()
    assert torch.equal(points, pipe(generator=torch.Generator().manual_seed(0), **settings).points)


@check
def a_ddpm_config_swaps_to_euler_with_from_config():
    from gandiff import DDPMPipeline, DDPMScheduler, MLPDenoiser

    ddpm = DDPMScheduler(
        num_train_timesteps=500, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction", clip_sample=False
    )
    warnings = _WarningCollector()
    logging.getLogger("gandiff").addHandler(warnings)
    try:
        euler = _euler().from_config(ddpm.config)
    finally:
        logging.getLogger("gandiff").removeHandler(warnings)
    # The settings both take carry over, so Euler samples the process the network was trained on.
    assert (euler.config.num_train_timesteps, euler.config.beta_schedule, euler.config.prediction_type) == (
        500,
        "squaredcos_cap_v2",
        "v_prediction",
    )
    assert torch.equal(euler.alphas_cumprod, ddpm.alphas_cumprod)
    # DDPM-only keys are kept without a warning (they belong to a sibling scheduler) and survive
    # the way back.
    assert euler.config.variance_type == "fixed_small" and warnings.messages == []
    assert DDPMScheduler.from_config(euler.config).config == ddpm.config

    pipe = DDPMPipeline(denoiser=MLPDenoiser(hidden_dim=16, num_layers=1, num_train_timesteps=500), scheduler=ddpm)
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = _euler().from_config(pipe.scheduler.config)
    points = pipe(
        batch_size=3, num_inference_steps=5, generator=torch.Generator().manual_seed(0), output_type="pt"
    ).points
    assert points.shape == (3, 2) and torch.isfinite(points).all()


class _WarningCollector(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@check
def euler_converges_to_the_ode_solution_for_gaussian_data():
    """For data N(0, s²), D(x; σ) = s² x / (s² + σ²), and dx/dσ = σ x / (s² + σ²) is solved by
    x(σ) ∝ √(s² + σ²): from σ_max down to 0, x shrinks by s / √(s² + σ_max²). Euler's method
    is first order, so its error falls tenfold with ten times the steps."""
    s = 0.5
    errors = {}
    for steps in (100, 1000):  # with T = 1000, both give integer timesteps
        scheduler = _euler()()
        scheduler.set_timesteps(steps)
        x = torch.full((1,), scheduler.init_noise_sigma, dtype=torch.float64)
        for t in scheduler.timesteps:
            x_t = scheduler.scale_model_input(x, t)
            alpha_bar = float(scheduler.alphas_cumprod[int(t)])
            # The exact ε-prediction E[ε | x_t] for x_0 ~ N(0, s²).
            epsilon = (1 - alpha_bar) ** 0.5 * x_t / (alpha_bar * s**2 + 1 - alpha_bar)
            x = scheduler.step(epsilon, t, x).prev_sample
        exact = scheduler.init_noise_sigma * s / math.sqrt(s**2 + scheduler.init_noise_sigma**2)
        errors[steps] = abs(float(x) / exact - 1)
    assert errors[1000] < 5e-3, errors
    assert 8 < errors[100] / errors[1000] < 12, errors


# -- parity with diffusers -----------------------------------------------------------------------


def _diffusers_euler(ours, **settings):
    """diffusers' scheduler with our float64 ᾱ table: diffusers keeps its tables in float32
    (σ then differs by up to 8e-5 relative), so handing it ours isolates the algorithm."""
    import diffusers

    diffusers.utils.logging.set_verbosity_error()  # its "call scale_model_input first" notice
    theirs = diffusers.EulerDiscreteScheduler(**settings)
    theirs.alphas_cumprod = ours.alphas_cumprod.clone()
    return theirs


def _fake_model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A deterministic stand-in for a network, depending on both its input and t."""
    return 0.5 * torch.tanh(x) + torch.cos(t / 100) * torch.linspace(-1, 1, x.shape[-1])


def assert_close_at_scale(actual: torch.Tensor, expected: torch.Tensor, tolerance: float, where: str) -> None:
    """max |actual − expected| ≤ tolerance · max(1, max |expected|).

    Relative to the tensor's scale rather than elementwise: at σ ≈ 157 an element is a
    difference of terms of size ~σ, so float32 rounding (one ulp of σ: 1.5e-5) may be larger
    than the element itself.
    """
    error = (actual.double() - expected.double()).abs().max().item()
    scale = max(1.0, expected.double().abs().max().item())
    assert error <= tolerance * scale, f"{where}: max error {error:.3g} at scale {scale:.3g}"


@check
def timesteps_sigmas_and_steps_match_diffusers():
    import diffusers

    for prediction_type in ("epsilon", "v_prediction", "sample"):
        for steps in (4, 7, 10, 50):  # 7 and 50 give fractional timesteps
            ours = _euler()(prediction_type=prediction_type)
            theirs = _diffusers_euler(ours, prediction_type=prediction_type)
            ours.set_timesteps(steps)
            theirs.set_timesteps(steps)
            where = f"{prediction_type}, {steps} steps"
            assert torch.equal(ours.timesteps, theirs.timesteps), where
            torch.testing.assert_close(ours.sigmas.float(), theirs.sigmas, rtol=1e-5, atol=0)
            assert math.isclose(ours.init_noise_sigma, float(theirs.init_noise_sigma), rel_tol=1e-6), where

            # Both are given the same x_i at every step (diffusers' trajectory).
            sample = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(steps)) * ours.init_noise_sigma
            for t in ours.timesteps:
                model_input = theirs.scale_model_input(sample, t)
                assert_close_at_scale(ours.scale_model_input(sample, t), model_input, 1e-5, f"{where}, model input")
                output = _fake_model(model_input, t)
                mine, reference = ours.step(output, t, sample), theirs.step(output, t, sample)
                for field in ("prev_sample", "pred_original_sample"):
                    assert_close_at_scale(getattr(mine, field), getattr(reference, field), 1e-5, f"{where}, {field}")
                sample = reference.prev_sample

    # The tables themselves agree to diffusers' float32 precision.
    untouched = diffusers.EulerDiscreteScheduler()
    torch.testing.assert_close(_euler()().alphas_cumprod.float(), untouched.alphas_cumprod, rtol=0, atol=1e-6)


@check
def a_full_sampling_loop_matches_diffusers():
    import diffusers

    for steps in (10, 25):
        ours = _euler()()
        with_our_tables = _diffusers_euler(ours)
        untouched = diffusers.EulerDiscreteScheduler()
        finals = []
        for scheduler in (ours, with_our_tables, untouched):
            scheduler.set_timesteps(steps)
            sample = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0)) * scheduler.init_noise_sigma
            for t in scheduler.timesteps:
                output = _fake_model(scheduler.scale_model_input(sample, t), t)
                sample = scheduler.step(output, t, sample).prev_sample
            finals.append(sample)
        assert_close_at_scale(finals[0], finals[1], 1e-5, f"{steps} steps")
        # diffusers' own float32 tables: σ differs by up to 8e-5 relative (see _diffusers_euler).
        assert_close_at_scale(finals[0], finals[2], 1e-4, f"{steps} steps, diffusers' float32 tables")


@check
def the_pipeline_samples_what_diffusers_loop_samples():
    """DDPMPipeline honours init_noise_sigma and scale_model_input: its samples equal diffusers'
    Euler loop (noise × init_noise_sigma, then scale_model_input -> network -> step)."""
    from gandiff import DDPMPipeline, MLPDenoiser

    torch.manual_seed(0)
    denoiser = MLPDenoiser(hidden_dim=16, num_layers=1, time_embedding_dim=8)
    pipe = DDPMPipeline(denoiser=denoiser, scheduler=_euler()())
    pipe.set_progress_bar_config(disable=True)
    points = pipe(
        batch_size=5, num_inference_steps=8, generator=torch.Generator().manual_seed(1), output_type="pt"
    ).points

    theirs = _diffusers_euler(pipe.scheduler)
    theirs.set_timesteps(8)
    sample = torch.randn(5, 2, generator=torch.Generator().manual_seed(1)) * theirs.init_noise_sigma
    with torch.no_grad():
        for t in theirs.timesteps:
            sample = theirs.step(denoiser(theirs.scale_model_input(sample, t), t), t, sample).prev_sample
    assert_close_at_scale(points, sample, 1e-5, "pipeline")


# -- the tests: one per check, all from the one run ----------------------------------------------


@pytest.mark.parametrize("name", list(CHECKS))
def test_installed_plugin(check_results, name):
    assert set(check_results) == set(CHECKS), "every check must report"
    assert check_results[name] == "ok", check_results[name]
