"""A GAN and a DDPM on the same data with the same training budget: time, quality, stability.

    python3 docs/tutorials/gans-vs-diffusion.py [--quick] [--out DIR]

On ring8, for each of 3 seeds, a non-saturating GAN (`MLPGenerator` / `MLPDiscriminator`) and an
ε-prediction DDPM (`MLPDenoiser`) train for the same number of iterations at the same batch
size, with networks of the same size (3 hidden layers of 128 units). Measured: the training
time, the sampling time per sample (the GAN's one forward pass; DDPM's 1000 steps; DDIM's 50),
and the quality of 2,500 samples (mode coverage, sliced Wasserstein), as mean and spread over
the seeds; and how the GAN's coverage moves during training.

Writes figures/gans-vs-diffusion-*.png and generated/gans-vs-diffusion.md.
"""

from __future__ import annotations

import statistics

import torch
from _common import (
    NUM_EVAL_SAMPLES,
    load_points,
    markdown_table,
    parse_args,
    sample_diffusion,
    sample_gan,
    score_points,
    train_denoiser,
    train_gan,
)
from matplotlib.figure import Figure

from gandiff import DDIMScheduler, DDPMScheduler
from gandiff.metrics import mode_coverage
from gandiff.plot import plot_samples_2d

SEEDS = (0, 1, 2)


def mean_and_spread(values: list[float], form: str = "{:.3f}") -> str:
    """ "mean ± standard deviation (min – max)" over the seeds."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return (
        f"{form.format(statistics.mean(values))} ± {form.format(spread)} ({form.format(min(values))} – "
        f"{form.format(max(values))})"
    )


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def plot_training(path, gan_snapshots: dict[int, dict[int, torch.Tensor]], ddpm_runs: dict, mixture) -> None:
    figure = Figure(figsize=(12, 4.2), dpi=100, layout="constrained")
    gan_axis, loss_axis = figure.subplots(1, 2)
    for seed, by_step in gan_snapshots.items():
        scores = [mode_coverage(points, mixture.centers, mixture.std) for points in by_step.values()]
        steps = list(by_step)
        (line,) = gan_axis.plot(
            steps, [s.high_quality_fraction for s in scores], marker=".", label=f"seed {seed}: high quality"
        )
        gan_axis.plot(
            steps,
            [s.modes_captured / 8 for s in scores],
            linestyle=":",
            color=line.get_color(),
            label=f"seed {seed}: modes captured / 8",
        )
    gan_axis.set(title="GAN: samples of fixed latents along training", xlabel="iteration", ylim=(0, 1.05))
    for seed, trained in ddpm_runs.items():
        loss_axis.plot(trained.steps, trained.losses, label=f"seed {seed}")
    loss_axis.set(yscale="log", title="DDPM: training loss ‖ε − ε_θ‖²", xlabel="iteration")
    for axis in (gan_axis, loss_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.savefig(path, dpi=100)


def main() -> None:
    run = parse_args("gans-vs-diffusion", __doc__)
    max_steps = 60 if run.quick else 3000
    num_samples = 300 if run.quick else NUM_EVAL_SAMPLES
    full_steps = 50 if run.quick else 1000
    data, mixture = load_points("ring8")

    results = {"GAN": [], f"DDPM, {full_steps} steps": [], "DDIM, 50 steps": []}  # per seed: dict of numbers
    samples, gan_snapshots, ddpm_runs = {}, {}, {}
    for seed in SEEDS:
        gan = train_gan(data, "non_saturating", max_steps, seed=seed, snapshot_every=max(max_steps // 20, 1))
        ddpm = train_denoiser(data, DDPMScheduler(clip_sample=False), max_steps, seed=seed)
        gan_snapshots[seed], ddpm_runs[seed] = gan.snapshots, ddpm
        pipeline = ddpm.pipeline
        drawn = {"GAN": (*sample_gan(gan.pipeline, num_samples, seed=100 + seed), gan.seconds)}
        drawn[f"DDPM, {full_steps} steps"] = (
            *sample_diffusion(pipeline, num_samples, full_steps, seed=100 + seed),
            ddpm.seconds,
        )
        pipeline.scheduler = DDIMScheduler.from_config(pipeline.scheduler.config)
        drawn["DDIM, 50 steps"] = (*sample_diffusion(pipeline, num_samples, 50, seed=100 + seed), ddpm.seconds)
        for name, (points, sampling_seconds, training_seconds) in drawn.items():
            scores = score_points(points, "ring8")
            results[name].append(
                {
                    "training_s": training_seconds,
                    "ms_per_sample": 1000 * sampling_seconds / num_samples,
                    "modes": scores.modes_captured,
                    "high_quality": scores.high_quality_fraction,
                    "kl": mode_coverage(points, mixture.centers, mixture.std).kl_from_uniform,
                    "sw": scores.sliced_wasserstein,
                    "sw_floor": scores.sliced_wasserstein_floor,
                }
            )
            if name != "DDIM, 50 steps":
                samples[f"{name}, seed {seed}"] = points
            print(name, seed, results[name][-1], flush=True)

    for model, prefix in (("gan", "GAN"), ("ddpm", "DDPM")):
        panels = {name: points for name, points in samples.items() if name.startswith(prefix)}
        plot_samples_2d(
            panels,
            run.figure(f"samples-{model}"),
            data=data[:2000],
            mixture=mixture,
            title=f"{prefix}, {max_steps} training iterations on ring8, one panel per seed",
        )
    plot_training(run.figure("training"), gan_snapshots, ddpm_runs, mixture)

    rows = []
    for name, per_seed in results.items():
        column = {key: [r[key] for r in per_seed] for key in per_seed[0]}
        rows.append(
            [
                name,
                mean_and_spread(column["training_s"], "{:.0f}"),
                mean_and_spread(column["ms_per_sample"], "{:.4f}"),
                " / ".join(str(m) for m in column["modes"]),
                mean_and_spread([100 * v for v in column["high_quality"]], "{:.1f}"),
                # KL is infinite when no sample is of high quality: listed, not averaged
                " / ".join(f"{kl:.2f}" for kl in column["kl"]),
                mean_and_spread(column["sw"], "{:.3f}"),
            ]
        )
    table = markdown_table(
        [
            "model",
            "training (s)",
            "sampling (ms per sample)",
            "modes captured, seeds 0 / 1 / 2",
            "high quality (%)",
            "KL(modes ‖ uniform), seeds 0 / 1 / 2",
            "sliced Wasserstein",
        ],
        rows,
    )
    gan_parameters = count_parameters(gan.pipeline.generator) + count_parameters(gan.pipeline.discriminator)
    floor = statistics.mean(r["sw_floor"] for r in results["GAN"])
    run.write_generated(f"""
{max_steps} training iterations each at batch 256, seeds {", ".join(map(str, SEEDS))}; the GAN
(non-saturating, Adam 2e-4, β = (0.5, 0.999)) updates its discriminator and its generator once per
iteration ({gan_parameters:,} parameters in all); the DDPM (ε-prediction, Adam 6e-3 with cosine decay)
updates its denoiser once ({count_parameters(ddpm.pipeline.network):,} parameters). Each entry is
mean ± standard deviation over the seeds (min – max); {num_samples:,} samples per seed. An
independent sample of the data scores a sliced Wasserstein distance of {floor:.3f} at this size.

{table}
""")


if __name__ == "__main__":
    main()
