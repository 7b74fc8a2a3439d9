"""DDIM: the network trained for DDPM, sampled in 10 to 100 steps, with η = 0 and η = 1.

    python3 docs/tutorials/ddim.py [--quick] [--out DIR]

One ε-prediction `MLPDenoiser` is trained on ring8 with a `DDPMScheduler`. Without retraining,
the pipeline's scheduler is swapped for a `DDIMScheduler` built from the same config, which
samples with Song et al. 2021, eq. 12: η = 0 (deterministic) and η = 1 (the DDPM posterior's
variance β̃), at 10, 20, 50 and 100 steps; DDPM with σ² = β at the same step counts, and DDPM
with all 1000 steps, complete Song et al.'s Table 1 layout. Each is timed and scored; then
DDIM's determinism and the consistency of its samples across step counts are measured.

Writes figures/ddim-*.png and generated/ddim.md.
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

from gandiff import DDIMScheduler, DDPMScheduler
from gandiff.metrics import mode_coverage
from gandiff.plot import plot_reverse_process, plot_samples_2d

STEP_COUNTS = (10, 20, 50, 100)


@torch.no_grad()
def ddim_from(pipeline, x_T: torch.Tensor, num_inference_steps: int, eta: float, noise_seed: int) -> torch.Tensor:
    """The sampling loop of `DDPMPipeline`, from a given x_T, with the steps' own noise (η > 0)
    drawn from a separate seed: x_T and the noise along the way can be varied apart."""
    scheduler, network = pipeline.scheduler, pipeline.network
    generator = torch.Generator().manual_seed(noise_seed)
    scheduler.set_timesteps(num_inference_steps)
    sample = x_T
    for t in scheduler.timesteps:
        sample = scheduler.step(network(sample, t), t, sample, eta=eta, generator=generator).prev_sample
    return sample


def plot_quality(path, curves: dict[str, dict[int, tuple[float, float]]], reference: tuple[float, float]) -> None:
    figure = Figure(figsize=(12, 4.2), dpi=100, layout="constrained")
    quality_axis, time_axis = figure.subplots(1, 2)
    for name, by_steps in curves.items():
        steps = list(by_steps)
        quality_axis.plot(steps, [by_steps[s][0] for s in steps], marker="o", label=name)
        time_axis.plot(steps, [by_steps[s][1] for s in steps], marker="o", label=name)
    quality_axis.axhline(reference[0], color="black", linestyle="--", label="DDPM, 1000 steps")
    time_axis.axhline(reference[1], color="black", linestyle="--", label="DDPM, 1000 steps")
    quality_axis.set(
        xscale="log",
        ylim=(0, 1),
        title="high-quality fraction (within 3σ of a mode)",
        xlabel="sampling steps (network evaluations)",
    )
    time_axis.set(
        xscale="log",
        yscale="log",
        title="sampling time per sample",
        xlabel="sampling steps",
        ylabel="ms per sample (one CPU thread)",
    )
    for axis in (quality_axis, time_axis):
        axis.set_xticks(list(STEP_COUNTS), [str(s) for s in STEP_COUNTS])
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.savefig(path, dpi=100)


def main() -> None:
    run = parse_args("ddim", __doc__)
    max_steps = 150 if run.quick else 4000
    num_samples = 500 if run.quick else NUM_EVAL_SAMPLES
    step_counts = (10, 20) if run.quick else STEP_COUNTS
    full_steps = 100 if run.quick else 1000
    data, mixture = load_points("ring8")

    trained = train_denoiser(data, DDPMScheduler(clip_sample=False), max_steps)
    pipeline = trained.pipeline
    ddpm_config = pipeline.scheduler.config
    ddim = DDIMScheduler.from_config(ddpm_config)  # the swap: same tables, DDIM's step
    ddpm_large = DDPMScheduler.from_config(ddpm_config, variance_type="fixed_large")
    rows, samples, curves = [], {}, {}

    def evaluate(label: str, steps: int, points: torch.Tensor, seconds: float) -> tuple[float, float]:
        scores = score_points(points, "ring8")
        kl = mode_coverage(points, mixture.centers, mixture.std).kl_from_uniform
        per_sample_ms = 1000 * seconds / len(points)
        rows.append(
            [
                label,
                steps,
                f"{scores.modes_captured} / {scores.num_modes}",
                f"{scores.high_quality_fraction:.1%}",
                f"{kl:.3f}",
                f"{scores.median_distance:.2f}",
                f"{scores.sliced_wasserstein:.3f} ({scores.sliced_wasserstein_floor:.3f})",
                f"{per_sample_ms:.3f}",
            ]
        )
        print(rows[-1], flush=True)
        return scores.high_quality_fraction, per_sample_ms

    points, seconds = sample_diffusion(pipeline, num_samples, full_steps)
    reference = evaluate("DDPM (σ² = β̃)", full_steps, points, seconds)
    samples[f"DDPM, {full_steps} steps"] = points
    for eta in (0.0, 1.0):
        name = f"DDIM η = {eta:g}"
        pipeline.scheduler = ddim
        curves[name] = {}
        for steps in step_counts:
            points, seconds = sample_diffusion(pipeline, num_samples, steps, eta=eta)
            curves[name][steps] = evaluate(name, steps, points, seconds)
            samples[f"{name}, {steps} steps"] = points
    pipeline.scheduler = ddpm_large
    curves["DDPM σ² = β"] = {}
    for steps in step_counts:
        points, seconds = sample_diffusion(pipeline, num_samples, steps)
        curves["DDPM σ² = β"][steps] = evaluate("DDPM σ² = β", steps, points, seconds)

    # Determinism and consistency: one x_T, sampled with other noise along the way and with
    # another number of steps.
    pipeline.scheduler = ddim
    x_T = torch.randn(num_samples, 2, generator=torch.Generator().manual_seed(5))
    consistency_rows = []
    for eta in (0.0, 1.0):
        first = ddim_from(pipeline, x_T, step_counts[0], eta, noise_seed=6)
        other_noise = ddim_from(pipeline, x_T, step_counts[0], eta, noise_seed=7)
        many_steps = ddim_from(pipeline, x_T, full_steps, eta, noise_seed=6)
        consistency_rows.append(
            [
                f"η = {eta:g}",
                f"{(first - other_noise).norm(dim=1).mean():.3f}",
                f"{(first - many_steps).norm(dim=1).mean():.3f}",
            ]
        )
    # η = 1 is DDPM's ancestral step with σ² = β̃ (Song et al. 2021, eq. 16): same seed, same samples.
    ddim_eta_one, _ = sample_diffusion(pipeline, num_samples, step_counts[0], eta=1.0)
    pipeline.scheduler = DDPMScheduler.from_config(ddpm_config)
    ddpm_small, _ = sample_diffusion(pipeline, num_samples, step_counts[0])
    equivalence = float((ddim_eta_one - ddpm_small).abs().max())
    pipeline.scheduler = ddim
    plot_reverse_process(
        pipeline,
        run.figure("trajectory"),
        num_inference_steps=step_counts[0],
        data=data[:2000],
        batch_size=min(num_samples, 1000),
    )
    pipeline.scheduler = DDPMScheduler.from_config(ddpm_config)

    ordered = {k: v for k, v in samples.items() if "η = 0" in k} | {k: v for k, v in samples.items() if "η = 1" in k}
    ordered[f"DDPM, {full_steps} steps"] = samples[f"DDPM, {full_steps} steps"]
    plot_samples_2d(
        ordered,
        run.figure("samples"),
        data=data[:2000],
        mixture=mixture,
        title="one ε-prediction network, sampled by DDIM with η = 0 (top row) and η = 1 (middle row), "
        f"and DDPM with {full_steps} steps",
    )
    plot_quality(run.figure("quality"), curves, reference)

    table = markdown_table(
        [
            "sampler",
            "steps",
            "modes captured",
            "high quality",
            "KL(modes ‖ uniform)",
            f"median distance to a mode, in σ (data: {spread_around_modes(data, mixture):.2f})",
            "sliced Wasserstein (floor)",
            "ms per sample",
        ],
        rows,
    )
    consistency = markdown_table(
        [
            "DDIM",
            f"mean ‖x_0 − x_0'‖, same x_T, other noise along the way ({step_counts[0]} steps)",
            f"mean ‖x_0 ({step_counts[0]} steps) − x_0 ({full_steps} steps)‖, same x_T",
        ],
        consistency_rows,
    )
    distances = torch.cdist(mixture.centers, mixture.centers)
    nearest = float(distances[distances > 0].min())
    run.write_generated(f"""
One network, trained for {max_steps} steps on ring8 (ε-prediction, linear β, $T = 1000$, seed 0);
{num_samples:,} samples per row, from the same starting noise; times are for the whole batch on
one CPU thread, divided by the number of samples:

{table}
Determinism and consistency: {num_samples:,} starting points $x_T$, each sampled three times
(neighbouring modes of the ring are {nearest:.2f} apart, opposite ones {float(distances.max()):.0f}):

{consistency}
DDIM with η = 1 and DDPM with σ² = β̃ ({ddpm_config["variance_type"]}), both from seed 1 in
{step_counts[0]} steps: the largest difference between their {num_samples:,} samples is
{equivalence:.1e}.
""")


if __name__ == "__main__":
    main()
