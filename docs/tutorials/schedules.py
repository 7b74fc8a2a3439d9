"""Linear against cosine β schedules: ᾱ_t, log-SNR, how fast each destroys the data, and what
a model trained with each samples.

    python3 docs/tutorials/schedules.py [--quick] [--out DIR]

1. The tables of a `DDPMScheduler` with ``beta_schedule="linear"`` (Ho et al. 2020) and
   ``"squaredcos_cap_v2"`` (the cosine schedule of Nichol & Dhariwal 2021, eq. 17).
2. How fast the data is destroyed: for ring8, the best possible guess of which of the 8 modes
   x_0 came from, given only x_t. q(x_t | mode k) = N(√ᾱ_t c_k, (ᾱ_t σ² + 1 − ᾱ_t) I) is
   known, so the Bayes classifier and its accuracy are exact up to sampling; chance is 1/8.
3. One ε-prediction network trained with each schedule, sampled with DDPM (1000 steps) and
   DDIM (20 steps).

Writes figures/schedules-*.png and generated/schedules.md.
"""

from __future__ import annotations

import math

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
from gandiff.plot import plot_forward_process, plot_samples_2d, plot_schedules

SCHEDULES = {"linear": "linear", "cosine": "squaredcos_cap_v2"}
PICTURE_TIMESTEPS = (0, 100, 250, 500, 750, 999)


@torch.no_grad()
def mode_accuracy(
    scheduler: DDPMScheduler, x0: torch.Tensor, modes: torch.Tensor, mixture, seed: int = 0
) -> torch.Tensor:
    """Accuracy, at every t, of the Bayes classifier of x_0's mode given x_t ~ q(x_t | x_0).

    Under the forward process, x_t given mode k is N(√ᾱ_t c_k, (ᾱ_t σ² + 1 − ᾱ_t) I) with the
    same variance for every k, so the most probable mode is the nearest scaled centre √ᾱ_t c_k.
    """
    rng = torch.Generator().manual_seed(seed)
    accuracies = torch.empty(len(scheduler.alphas_cumprod), dtype=torch.float64)
    for t, alpha_bar in enumerate(scheduler.alphas_cumprod.tolist()):
        x_t = scheduler.add_noise(x0, torch.randn(x0.shape, generator=rng, dtype=x0.dtype), torch.full((len(x0),), t))
        guess = torch.cdist(x_t, math.sqrt(alpha_bar) * mixture.centers.to(x0.dtype)).argmin(dim=1)
        accuracies[t] = (guess == modes).double().mean()
    return accuracies


def plot_destruction(path, schedulers: dict[str, DDPMScheduler], accuracies: dict[str, torch.Tensor]) -> None:
    figure = Figure(figsize=(12, 4.2), dpi=100, layout="constrained")
    accuracy_axis, signal_axis = figure.subplots(1, 2)
    for (name, scheduler), colour in zip(schedulers.items(), ("#1f77b4", "#ff7f0e"), strict=False):
        t = torch.arange(len(scheduler.alphas_cumprod))
        accuracy_axis.plot(t, accuracies[name], color=colour, label=name)
        signal_axis.plot(t, scheduler.alphas_cumprod.sqrt(), color=colour, label=f"{name}: √ᾱ_t (signal scale)")
        signal_axis.plot(
            t,
            (1 - scheduler.alphas_cumprod).sqrt(),
            color=colour,
            linestyle="--",
            label=f"{name}: √(1 − ᾱ_t) (noise scale)",
        )
    accuracy_axis.axhline(1 / 8, color="grey", linestyle=":", label="chance, 1/8")
    accuracy_axis.set(
        title="which mode did x_0 come from? best guess from x_t",
        xlabel="t",
        ylabel="accuracy of the Bayes classifier",
        ylim=(0, 1.02),
    )
    signal_axis.set(title="x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε", xlabel="t", ylabel="scale")
    for axis in (accuracy_axis, signal_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle("how fast each schedule destroys ring8 (8 modes, radius 2, std 0.02), T = 1000")
    figure.savefig(path, dpi=100)


def first_below(values: torch.Tensor, level: float) -> int | str:
    """The first t at which `values` falls below `level` (or "never")."""
    below = (values < level).nonzero()
    return int(below[0, 0]) if len(below) else "never"


def main() -> None:
    run = parse_args("schedules", __doc__)
    num_points = 1000 if run.quick else 20_000
    max_steps = 150 if run.quick else 4000
    num_samples = 500 if run.quick else NUM_EVAL_SAMPLES
    full_steps = 100 if run.quick else 1000
    data, mixture = load_points("ring8")
    schedulers = {
        name: DDPMScheduler(beta_schedule=schedule, clip_sample=False) for name, schedule in SCHEDULES.items()
    }

    # 1-2. The tables, and how fast each schedule destroys the modes.
    x0 = load_points("ring8", num_samples=num_points, seed=2)[0].double()
    modes = torch.cdist(x0, mixture.centers.double()).argmin(dim=1)  # std 0.02 ≪ 1.53 between modes: exact
    accuracies = {name: mode_accuracy(scheduler, x0, modes, mixture) for name, scheduler in schedulers.items()}
    plot_schedules(run.figure("curves"), schedules=tuple(SCHEDULES.values()))
    plot_destruction(run.figure("destruction"), schedulers, accuracies)
    for name, scheduler in schedulers.items():
        plot_forward_process(
            x0[:3000].float(), run.figure(f"forward-{name}"), scheduler=scheduler, timesteps=PICTURE_TIMESTEPS
        )

    table_rows = []
    # "Destroyed": the best guess does less than one point in a hundred better than chance.
    chance_level = 1 / 8 + 0.01
    for name, scheduler in schedulers.items():
        alpha_bar = scheduler.alphas_cumprod
        log_snr = torch.log(alpha_bar / (1 - alpha_bar))
        table_rows.append(
            [
                name,
                *[f"{float(alpha_bar[t]):.3g}" for t in (250, 500, 750, 999)],
                first_below(log_snr, 0.0),
                first_below(accuracies[name], 0.5),
                first_below(accuracies[name], chance_level),
                f"{float((accuracies[name] < chance_level).double().mean()):.0%}",
            ]
        )
    schedule_table = markdown_table(
        [
            "schedule",
            "ᾱ_250",
            "ᾱ_500",
            "ᾱ_750",
            "ᾱ_999",
            "first t with SNR < 1",
            "first t with accuracy < 50%",
            "first t with accuracy < 1/8 + 0.01",
            "share of the T steps below it",
        ],
        table_rows,
    )

    # 3. One network per schedule.
    samples, rows = {}, []
    for name, scheduler in schedulers.items():
        trained = train_denoiser(data, scheduler, max_steps)
        pipeline = trained.pipeline
        ddpm_points, _ = sample_diffusion(pipeline, num_samples, full_steps)
        pipeline.scheduler = DDIMScheduler.from_config(scheduler.config)
        ddim_points, _ = sample_diffusion(pipeline, num_samples, 20)
        pipeline.scheduler = scheduler
        for sampler, points in ((f"DDPM, {full_steps} steps", ddpm_points), ("DDIM η = 0, 20 steps", ddim_points)):
            samples[f"{name}, {sampler}"] = points
            scores = score_points(points, "ring8")
            kl = mode_coverage(points, mixture.centers, mixture.std).kl_from_uniform
            rows.append(
                [
                    name,
                    sampler,
                    f"{trained.losses[-1]:.4f}",
                    f"{scores.modes_captured} / {scores.num_modes}",
                    f"{scores.high_quality_fraction:.1%}",
                    f"{kl:.3f}",
                    f"{scores.median_distance:.2f}",
                    f"{scores.sliced_wasserstein:.3f} ({scores.sliced_wasserstein_floor:.3f})",
                ]
            )
            print(rows[-1], flush=True)
    plot_samples_2d(
        samples,
        run.figure("samples"),
        data=data[:2000],
        mixture=mixture,
        title=f"ε-prediction networks trained {max_steps} steps with each schedule: samples (red) "
        "over the data (grey)",
    )
    trained_table = markdown_table(
        [
            "schedule",
            "sampler",
            "final training loss",
            "modes captured",
            "high quality",
            "KL(modes ‖ uniform)",
            f"median distance to a mode, in σ (data: {spread_around_modes(data, mixture):.2f})",
            "sliced Wasserstein (floor)",
        ],
        rows,
    )
    run.write_generated(f"""
The two schedules at $T = 1000$ (gandiff's index $t$ = 0 … 999), and how fast each destroys the
mode of ring8 points (accuracy of the best guess of the mode from $x_t$, on {num_points:,} points;
chance is 1/8):

{schedule_table}
One ε-prediction network per schedule, {max_steps} training steps each (batch 256, seed 0),
{num_samples:,} samples per row:

{trained_table}
""")


if __name__ == "__main__":
    main()
