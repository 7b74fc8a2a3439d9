"""The tutorials in docs/tutorials: every script runs (in its --quick setting), writes the figures
its page shows and the numbers its page includes, and those numbers agree with closed forms
computed here, independently of gandiff; every page refers only to files that exist."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "docs" / "tutorials"
NAMES = [
    "gan-minimax",
    "mode-collapse",
    "forward-process",
    "prediction-targets",
    "reverse-variance",
    "schedules",
    "ddim",
    "gans-vs-diffusion",
]
PAGES = ["index", *NAMES]
# A quick run takes seconds on an idle core; the limit leaves room for a busy machine.
TIMEOUT_S = 600

FIGURE_LINK = re.compile(r"\]\((figures/[^)\s]+\.png)\)")
SNIPPET = re.compile(r'^--8<-- "([^"]+)"\s*$', re.MULTILINE)
LOCAL_LINK = re.compile(r"\]\(([^)\s#:]+\.(?:md|py))(?:#[^)]*)?\)")


# -- running a script ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory) -> dict[str, Path]:
    """Each script's --quick output folder, run on first use (one run per script per session)."""
    outputs: dict[str, Path] = {}

    def run(name: str) -> Path:
        if name not in outputs:
            out = tmp_path_factory.mktemp(name)
            env = {**os.environ, "PYTHONHASHSEED": "0", "HF_HUB_OFFLINE": "1"}
            result = subprocess.run(
                [sys.executable, str(TUTORIALS / f"{name}.py"), "--quick", "--out", str(out)],
                check=False,
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
            )
            assert result.returncode == 0, (
                f"{name}.py --quick failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
            outputs[name] = out
        return outputs[name]

    return run


def generated(out: Path, name: str) -> str:
    path = out / "generated" / f"{name}.md"
    assert path.is_file(), f"{name}.py did not write {path}"
    return path.read_text(encoding="utf-8")


def tables(markdown: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of `markdown`, as lists of {header: cell} rows."""
    found, lines = [], markdown.splitlines()
    i = 0
    while i < len(lines) - 1:
        if lines[i].startswith("|") and re.fullmatch(r"\|(---\|)+", lines[i + 1].strip()):
            header = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                rows.append(dict(zip(header, cells, strict=True)))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def number(cell: str) -> float:
    """The first number in a table cell ("0.52 ± 0.01" -> 0.52, "7 / 8" -> 7, "45.2%" -> 0.452)."""
    match = re.search(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|inf", cell)
    assert match, f"no number in {cell!r}"
    value = float(match.group())
    return value / 100 if cell.strip().endswith("%") else value


def plus_minus(cell: str) -> tuple[float, float]:
    value, error = cell.split("±")
    return float(value), float(error)


# -- every script: its page's figures and its generated numbers ----------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_script_writes_the_figures_and_numbers_its_page_shows(name, quick_runs):
    out = quick_runs(name)
    page = (TUTORIALS / f"{name}.md").read_text(encoding="utf-8")
    figures = FIGURE_LINK.findall(page)
    assert figures, f"{name}.md shows no figure"
    for figure in figures:
        path = out / figure
        assert path.is_file(), f"{name}.md shows {figure}, which {name}.py --quick did not write"
        with Image.open(path) as image:
            image.verify()  # a complete, valid PNG
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width >= 400 and image.height >= 200, (figure, image.size)
            extrema = image.convert("L").getextrema()
            assert extrema[1] - extrema[0] > 100, f"{figure} is blank (grey levels {extrema})"
    written = {p.name for p in (out / "figures").glob("*.png")}
    assert written == {Path(f).name for f in figures}, "every figure the script draws is shown on its page"
    text = generated(out, name)
    assert f"docs/tutorials/{name}.py" in text and "--quick" in text, "the footer says how the numbers were made"
    assert tables(text), f"generated/{name}.md has no table"


# -- the numbers, against closed forms ----------------------------------------------------------


def _jsd_and_value(mean: float, std: float) -> tuple[float, float]:
    """JSD(N(0, 1) ‖ N(mean, std²)) and V(G, D*) by adaptive quadrature (scipy), each from its
    own definition: Goodfellow et al. 2014, Theorem 1 says V = 2·JSD − 2 log 2."""
    from scipy import integrate, stats

    p_r, p_g = stats.norm(0, 1), stats.norm(mean, std)

    def jsd_integrand(x):
        r, g = p_r.pdf(x), p_g.pdf(x)
        m = (r + g) / 2
        return 0.5 * (r * np.log(r / m) if r > 0 else 0.0) + 0.5 * (g * np.log(g / m) if g > 0 else 0.0)

    def value_integrand(x):
        r, g = p_r.pdf(x), p_g.pdf(x)
        return (r * np.log(r / (r + g)) if r > 0 else 0.0) + (g * np.log(g / (r + g)) if g > 0 else 0.0)

    points = sorted({0.0, mean})
    jsd = integrate.quad(jsd_integrand, -30, 30, points=points, limit=200, epsabs=1e-12)[0]
    value = integrate.quad(value_integrand, -30, 30, points=points, limit=200, epsabs=1e-12)[0]
    return jsd, value


def test_gan_minimax_numbers_are_the_closed_form(quick_runs):
    text = generated(quick_runs("gan-minimax"), "gan-minimax")
    rows = tables(text)[0]
    assert len(rows) >= 5
    for row in rows:
        mean, std = (float(v) for v in re.fullmatch(r"N\(([-\d.]+), ([\d.]+)²\)", row["p_g (p_r = N(0, 1))"]).groups())
        jsd, value = _jsd_and_value(mean, std)
        assert float(row["JSD(p_r ‖ p_g)"]) == pytest.approx(jsd, abs=2e-6), row
        assert float(row["V(G, D*)"]) == pytest.approx(value, abs=2e-6), row
        assert float(row["2·JSD − 2 log 2"]) == pytest.approx(value, abs=2e-6), row
        # A trained discriminator cannot beat D* (up to the sampling noise of the estimate).
        assert float(row["V(G, D) − V(G, D*), same samples"]) < 5e-3, row
        if mean == 0 and std == 1:
            assert float(row["V(G, D*)"]) == pytest.approx(-math.log(4), abs=1e-6)
    assert f"{-math.log(4):.6f}" in text  # the minimum of the game, −log 4, is stated


def _linear_alphas_cumprod(num_train_timesteps: int = 1000) -> np.ndarray:
    """ᾱ of Ho et al.'s schedule: β linear from 1e-4 to 0.02."""
    return np.cumprod(1 - np.linspace(1e-4, 0.02, num_train_timesteps, dtype=np.float64))


def _cosine_alphas_cumprod(num_train_timesteps: int = 1000, s: float = 0.008) -> np.ndarray:
    """ᾱ of Nichol & Dhariwal 2021, eq. 17, with β_t = min(1 − ᾱ_t / ᾱ_{t−1}, 0.999) as in their code."""

    def f(t):
        return math.cos((t / num_train_timesteps + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - f(i + 1) / f(i), 0.999) for i in range(num_train_timesteps)]
    return np.cumprod(1 - np.array(betas))


def test_forward_process_chain_matches_the_closed_form(quick_runs):
    text = generated(quick_runs("forward-process"), "forward-process")
    alpha_bar = _linear_alphas_cumprod()
    rows = tables(text)[0]
    assert [int(r["t"]) for r in rows] == [0, 10, 50, 100, 250, 500, 750, 999]
    for row in rows:
        t = int(row["t"])
        assert float(row["ᾱ_t"]) == pytest.approx(alpha_bar[t], rel=1e-5)
        assert float(row["√ᾱ_t"]) == pytest.approx(math.sqrt(alpha_bar[t]), abs=2e-6)
        assert float(row["1 − ᾱ_t"]) == pytest.approx(1 - alpha_bar[t], abs=2e-6)
        coefficient, error = plus_minus(row["chain: fitted c in x_t ≈ c·x_0"])
        assert abs(coefficient - math.sqrt(alpha_bar[t])) < 5 * error + 1e-6, row
        variance, error = plus_minus(row["chain: residual variance"])
        assert abs(variance - (1 - alpha_bar[t])) < 5 * error + 1e-6, row
    stated = re.search(r"is ([\d.]+e[-+]\d+), and from .* ([\d.]+e[-+]\d+)\.", text.replace("\n", " "))
    differences = [float(x) for x in stated.groups()]
    assert max(differences) < 1e-12  # the exact recursion equals the closed form to float64 rounding


def test_schedules_numbers_are_the_closed_forms(quick_runs):
    text = generated(quick_runs("schedules"), "schedules")
    schedule_rows, trained_rows = tables(text)
    expected = {"linear": _linear_alphas_cumprod(), "cosine": _cosine_alphas_cumprod()}
    assert [r["schedule"] for r in schedule_rows] == list(expected)
    for row in schedule_rows:
        alpha_bar = expected[row["schedule"]]
        for t in (250, 500, 750, 999):
            assert float(row[f"ᾱ_{t}"]) == pytest.approx(alpha_bar[t], rel=2e-3), (row, t)
        assert int(row["first t with SNR < 1"]) == int(np.argmax(alpha_bar < 0.5))  # SNR = ᾱ / (1 − ᾱ) < 1
        assert int(row["first t with accuracy < 50%"]) <= int(row["first t with accuracy < 1/8 + 0.01"])
    assert len(trained_rows) == 4


def test_mode_collapse_shows_the_vanishing_gradient(quick_runs):
    text = generated(quick_runs("mode-collapse"), "mode-collapse")
    gradient_rows, gan_rows = tables(text)
    first, last = gradient_rows[0], gradient_rows[-1]
    assert int(first["D steps"]) == 0
    # Once D rejects the samples (D(G(z)) → 0), the saturating loss's gradient, weighted by
    # D(G(z)) per sample, falls far below the non-saturating one, weighted by 1 − D(G(z)).
    assert number(last["mean D(G(z))"]) < 0.1
    assert number(last["ratio non-sat. / sat."]) > 5
    assert number(last["‖∇_θG‖ saturating"]) < number(first["‖∇_θG‖ saturating"])
    assert [r["GAN"] for r in gan_rows] == [
        "minimax (saturating)",
        "non-saturating",
        "hinge",
        "WGAN-GP",
        "PacGAN2 (non-saturating)",
    ]
    for row in gan_rows:
        captured, total = (int(v) for v in row["modes captured"].split(" / "))
        assert total == 8 and 0 <= captured <= 8
        assert 0 <= number(row["high quality"]) <= 1
    assert int(gan_rows[3]["D steps per G step"]) == 5  # WGAN-GP's n_critic (Gulrajani et al. 2017)


def test_prediction_targets_errors_are_consistent(quick_runs):
    text = generated(quick_runs("prediction-targets"), "prediction-targets")
    sample_rows, error_rows = tables(text)
    assert len(sample_rows) == 6
    alpha_bar = _linear_alphas_cumprod()
    targets = ("ε (epsilon)", "x_0 (sample)", "v (v_prediction)")
    for row in error_rows:
        t = int(row["t"])
        for target in targets:
            # x_t = √ᾱ x_0 + √(1 − ᾱ) ε, so x̂_0 − x_0 = −√((1 − ᾱ)/ᾱ) (ε̂ − ε) for any model.
            x0_error = float(row[f"‖x̂_0 − x_0‖², {target}"])
            epsilon_error = float(row[f"‖ε̂ − ε‖², {target}"])
            assert x0_error == pytest.approx((1 - alpha_bar[t]) / alpha_bar[t] * epsilon_error, rel=2e-2), (t, target)


def test_reverse_variance_table(quick_runs):
    text = generated(quick_runs("reverse-variance"), "reverse-variance")
    rows = tables(text)[0]
    assert {r["reverse variance"] for r in rows} == {"σ² = β̃ (fixed_small)", "σ² = β (fixed_large)"}
    spread = next(k for k in rows[0] if k.startswith("median distance to a mode"))
    # The data's median distance to its mode is σ√(2 log 2), the median radius of a 2-D Gaussian.
    assert float(re.search(r"data: ([\d.]+)", spread).group(1)) == pytest.approx(math.sqrt(2 * math.log(2)), abs=0.03)
    for row in rows:
        assert 0 <= number(row["high quality"]) <= 1
        assert number(row[spread]) > 0 and number(row["sampling (s)"]) >= 0


def test_ddim_with_eta_zero_is_deterministic(quick_runs):
    text = generated(quick_runs("ddim"), "ddim")
    sample_rows, consistency_rows = tables(text)
    assert {r["sampler"] for r in sample_rows} == {"DDPM (σ² = β̃)", "DDIM η = 0", "DDIM η = 1", "DDPM σ² = β"}
    by_eta = {r["DDIM"]: r for r in consistency_rows}
    other_noise = next(k for k in consistency_rows[0] if "other noise" in k)
    # η = 0: x_0 is a function of x_T alone (Song et al. 2021, eq. 12 with σ = 0).
    assert float(by_eta["η = 0"][other_noise]) == 0
    assert float(by_eta["η = 1"][other_noise]) > 0.05
    # η = 1 is DDPM's ancestral sampler with σ² = β̃ (Song et al. 2021, eq. 16): the same samples.
    difference = re.search(r"the largest difference between their [\d,]+ samples is\s+([\d.]+e[-+]\d+)", text)
    assert difference and float(difference.group(1)) < 1e-4


def test_gans_vs_diffusion_table(quick_runs):
    from gandiff import MLPDenoiser, MLPDiscriminator, MLPGenerator

    text = generated(quick_runs("gans-vs-diffusion"), "gans-vs-diffusion")
    rows = tables(text)[0]
    assert [r["model"].split(",")[0] for r in rows] == ["GAN", "DDPM", "DDIM"]
    for row in rows:
        modes = [int(m) for m in row["modes captured, seeds 0 / 1 / 2"].split(" / ")]
        assert len(modes) == 3 and all(0 <= m <= 8 for m in modes)
    gan_parameters = sum(p.numel() for m in (MLPGenerator(), MLPDiscriminator()) for p in m.parameters())
    ddpm_parameters = sum(p.numel() for p in MLPDenoiser().parameters())
    assert f"({gan_parameters:,} parameters in all)" in text.replace("\n", " ")
    assert f"({ddpm_parameters:,} parameters)" in text.replace("\n", " ")


# -- the pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_page_refers_only_to_files_that_exist(page):
    """Figures, included snippets (with their sections) and linked pages and scripts exist,
    so `mkdocs build --strict` and pymdownx.snippets (check_paths) find them."""
    text = (TUTORIALS / f"{page}.md").read_text(encoding="utf-8")
    for figure in FIGURE_LINK.findall(text):
        assert (TUTORIALS / figure).is_file(), f"{page}.md shows {figure}, which does not exist: run the script"
    for snippet in SNIPPET.findall(text):
        path, _, section = snippet.partition(":")
        assert (ROOT / path).is_file(), f"{page}.md includes {path}, which does not exist"
        if section:
            source = (ROOT / path).read_text(encoding="utf-8")
            assert f"--8<-- [start:{section}]" in source and f"--8<-- [end:{section}]" in source, snippet
    for link in LOCAL_LINK.findall(text):
        assert (TUTORIALS / link).is_file(), f"{page}.md links to {link}, which does not exist"
    if page != "index":
        assert f'--8<-- "docs/tutorials/generated/{page}.md"' in text, "the page includes its generated numbers"
        assert f"python3 docs/tutorials/{page}.py" in text, "the page says how to re-run it"
