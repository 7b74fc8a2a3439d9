"""The variance of the reverse step: σ_t² = β_t (fixed_large) against β̃_t (fixed_small), with
1000 steps and with few.

    python3 docs/tutorials/reverse-variance.py [--quick] [--out DIR]

One ε-prediction `MLPDenoiser` is trained on ring8; the same network then samples with a
`DDPMScheduler` whose ``variance_type`` is ``fixed_small`` (σ_t² = β̃_t, the posterior variance
of Ho et al. 2020, eq. 7) or ``fixed_large`` (σ_t² = β_t), with 1000, 100, 50, 25 and 10 steps
(respaced as in Nichol & Dhariwal 2021, §4). Also drawn: the two variances, and their ratio,
along each sampling schedule.

Writes figures/reverse-variance-*.png and generated/reverse-variance.md.
"""

from __future__ import annotations

import torch
from _common import (
    NUM_EVAL_SAMPLES,
    load_points,
    markdown_table,
    parse_args,
    sample_diffusion,
    score_points,
    spread_around_modes,
    train_denoiser,
)
from matplotlib.figure import Figure

from gandiff import DDPMScheduler
from gandiff.metrics import mode_coverage
from gandiff.plot import plot_samples_2d

VARIANCES = {"σ² = β̃ (fixed_small)": "fixed_small", "σ² = β (fixed_large)": "fixed_large"}
STEP_COUNTS = (1000, 100, 50, 25, 10)


def step_variances(scheduler: DDPMScheduler, num_inference_steps: int) -> tuple[list[int], list[float], list[float]]:
    """(t, β, β̃) of each step of the sampling schedule, except the last, which adds no noise.

    A step from t to the previous kept timestep t' has β = 1 − ᾱ_t / ᾱ_t' and
    β̃ = (1 − ᾱ_t') / (1 − ᾱ_t) · β, as `DDPMScheduler.step` computes them."""
    scheduler.set_timesteps(num_inference_steps)
    alpha_bar = scheduler.alphas_cumprod
    timesteps, betas, tilde_betas = [], [], []
    for t in scheduler.timesteps.tolist():
        previous = scheduler.previous_timestep(t)
        if previous < 0:
            continue
        beta = 1 - float(alpha_bar[t] / alpha_bar[previous])
        timesteps.append(t)
        betas.append(beta)
        tilde_betas.append(float((1 - alpha_bar[previous]) / (1 - alpha_bar[t])) * beta)
    return timesteps, betas, tilde_betas


def plot_variances(path, scheduler: DDPMScheduler) -> None:
    figure = Figure(figsize=(12, 4.2), dpi=100, layout="constrained")
    variance_axis, ratio_axis = figure.subplots(1, 2)
    for steps, colour in zip(STEP_COUNTS, ("black", "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728"), strict=True):
        timesteps, betas, tilde_betas = step_variances(scheduler, steps)
        marker = None if steps == 1000 else "."
        variance_axis.plot(timesteps, betas, color=colour, marker=marker, label=f"β, {steps} steps")
        variance_axis.plot(
            timesteps, tilde_betas, color=colour, marker=marker, linestyle="--", label=f"β̃, {steps} steps"
        )
        ratio_axis.plot(
            timesteps,
            torch.tensor(tilde_betas) / torch.tensor(betas),
            color=colour,
            marker=marker,
            label=f"{steps} steps",
        )
    variance_axis.set(
        yscale="log",
        title="σ² of each reverse step: β (solid) and β̃ (dashed)",
        xlabel="t",
        ylabel="variance of the step",
    )
    ratio_axis.set(title="β̃ / β = (1 − ᾱ_prev) / (1 − ᾱ_t)", xlabel="t", ylabel="ratio", ylim=(0, 1.05))
    variance_axis.legend(fontsize=7, ncol=2)
    ratio_axis.legend(fontsize=8)
    for axis in (variance_axis, ratio_axis):
        axis.grid(alpha=0.3)
    figure.suptitle(
        "the two fixed reverse variances along each sampling schedule (linear β, T = 1000, 'leading' spacing)"
    )
    figure.savefig(path, dpi=100)


def main() -> None:
    run = parse_args("reverse-variance", __doc__)
    max_steps = 150 if run.quick else 4000
    num_samples = 500 if run.quick else NUM_EVAL_SAMPLES
    step_counts = (100, 10) if run.quick else STEP_COUNTS
    data, mixture = load_points("ring8")

    trained = train_denoiser(data, DDPMScheduler(clip_sample=False), max_steps)
    pipeline, training_scheduler = trained.pipeline, trained.pipeline.scheduler
    rows, samples = [], {}
    for name, variance_type in VARIANCES.items():
        # Same network, same config; only σ_t² changes.
        pipeline.scheduler = DDPMScheduler.from_config(training_scheduler.config, variance_type=variance_type)
        for steps in step_counts:
            points, seconds = sample_diffusion(pipeline, num_samples, steps)
            if steps in (1000, 50, 25, 10) or run.quick:
                samples[f"{name}, {steps} steps"] = points
            scores = score_points(points, "ring8")
            kl = mode_coverage(points, mixture.centers, mixture.std).kl_from_uniform
            rows.append(
                [
                    name,
                    steps,
                    f"{scores.modes_captured} / {scores.num_modes}",
                    f"{scores.high_quality_fraction:.1%}",
                    f"{kl:.3f}",
                    f"{scores.median_distance:.2f}",
                    f"{scores.sliced_wasserstein:.3f} ({scores.sliced_wasserstein_floor:.3f})",
                    f"{seconds:.1f}",
                ]
            )
            print(rows[-1], flush=True)

    plot_variances(run.figure("variances"), DDPMScheduler())
    plot_samples_2d(
        samples,
        run.figure("samples"),
        data=data[:2000],
        mixture=mixture,
        title=f"one ε-prediction network ({max_steps} training steps), sampled with σ² = β̃ (top) and σ² = β (bottom)",
    )
    table = markdown_table(
        [
            "reverse variance",
            "steps",
            "modes captured",
            "high quality",
            "KL(modes ‖ uniform)",
            f"median distance to a mode, in σ (data: {spread_around_modes(data, mixture):.2f})",
            "sliced Wasserstein (floor)",
            "sampling (s)",
        ],
        rows,
    )
    run.write_generated(f"""
One network, trained for {max_steps} steps on ring8 (ε-prediction, linear β, $T = 1000$); each row
samples {num_samples:,} points from the same starting noise with the `DDPMScheduler` made from
its config with the variance type and number of steps shown:

{table}
""")


if __name__ == "__main__":
    main()
