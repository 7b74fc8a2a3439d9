"""Vanishing gradients and mode collapse on the ring of 8 Gaussians, and what cures them.

    python3 docs/tutorials/mode-collapse.py [--quick] [--out DIR]

1. The vanishing gradient (Goodfellow et al. 2014, §3; Arjovsky & Bottou 2017): a generator
   at its initialization is held fixed while a discriminator learns to reject its samples;
   along the way the generator's gradient is measured under the saturating loss
   log(1 − D(G(z))) and the non-saturating loss −log D(G(z)).
2. Mode collapse: GANs with the saturating minimax loss, the non-saturating loss, the hinge
   loss, WGAN-GP (Gulrajani et al. 2017) and PacGAN2 (Lin et al. 2018) train on ring8 for the
   same number of generator steps, one seed each; mode coverage (VEEGAN / PacGAN protocol) is
   followed through training and scored at the end.

Writes figures/mode-collapse-*.png and generated/mode-collapse.md.
"""

from __future__ import annotations

import torch
from _common import (
    NUM_EVAL_SAMPLES,
    load_points,
    markdown_table,
    parse_args,
    sample_gan,
    score_points,
    train_gan,
)
from matplotlib.figure import Figure

from gandiff import MLPDiscriminator, MLPGenerator
from gandiff.metrics import mode_coverage
from gandiff.plot import plot_gan_training, plot_samples_2d
from gandiff.training import (
    discriminator_minimax_loss,
    generator_non_saturating_loss,
    generator_saturating_loss,
)

# name -> (loss, regularizer, pack) of `train_gan`
RUNS = {
    "minimax (saturating)": ("minimax", None, 1),
    "non-saturating": ("non_saturating", None, 1),
    "hinge": ("hinge", None, 1),
    "WGAN-GP": ("wasserstein", "gp", 1),
    "PacGAN2 (non-saturating)": ("non_saturating", None, 2),
}


# -- 1. the vanishing gradient -----------------------------------------------------------------


def gradient_norm(generator: MLPGenerator, loss: torch.Tensor) -> float:
    """‖∇_θG loss‖ over all of the generator's parameters."""
    gradients = torch.autograd.grad(loss, list(generator.parameters()), retain_graph=True)
    return float(torch.sqrt(sum((g**2).sum() for g in gradients)))


def vanishing_gradient(data: torch.Tensor, checkpoints: list[int], seed: int = 0) -> list[dict[str, float]]:
    """Train D against a fixed, untrained G; at each checkpoint (D steps taken) measure the mean
    D(G(z)) and the generator's gradient norm under both generator losses, on one batch of z."""
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    generator, discriminator = MLPGenerator(latent_dim=2), MLPDiscriminator()
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    z = torch.randn(NUM_EVAL_SAMPLES, 2, generator=rng)
    rows, steps_taken = [], 0
    for checkpoint in checkpoints:
        for _ in range(checkpoint - steps_taken):
            real = data[torch.randint(len(data), (256,), generator=rng)]
            with torch.no_grad():
                fake = generator(torch.randn(256, 2, generator=rng))
            loss = discriminator_minimax_loss(discriminator(real), discriminator(fake))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        steps_taken = checkpoint
        fake_logits = discriminator(generator(z))
        rows.append(
            {
                "d_steps": checkpoint,
                "d_fake": float(torch.sigmoid(fake_logits.detach()).mean()),
                "saturating": gradient_norm(generator, generator_saturating_loss(fake_logits)),
                "non_saturating": gradient_norm(generator, generator_non_saturating_loss(fake_logits)),
            }
        )
    return rows


def plot_vanishing_gradient(path, rows: list[dict[str, float]]) -> None:
    figure = Figure(figsize=(12, 4.2), dpi=100, layout="constrained")
    slope_axis, measured_axis = figure.subplots(1, 2)
    d = torch.logspace(-6, 0, 200)
    # ∂/∂l of each loss, with D = σ(l): log(1 − σ(l)) -> −σ(l) = −D; −log σ(l) -> σ(l) − 1 = −(1 − D).
    slope_axis.plot(d, d, color="#d62728", linewidth=2, label="saturating, log(1 − D(G(z))): |∂L/∂l| = D")
    slope_axis.plot(d, 1 - d, color="#1f77b4", linewidth=2, label="non-saturating, −log D(G(z)): |∂L/∂l| = 1 − D")
    slope_axis.set(
        xscale="log",
        yscale="log",
        ylim=(1e-6, 2),
        xlabel="D(G(z)) = σ(l)",
        ylabel="|∂L_G / ∂l|, l the logit",
        title="the generator's loss, differentiated at the logit",
    )
    steps = [r["d_steps"] for r in rows]
    measured_axis.plot(steps, [r["saturating"] for r in rows], "o-", color="#d62728", label="‖∇_θG‖, saturating loss")
    measured_axis.plot(
        steps, [r["non_saturating"] for r in rows], "o-", color="#1f77b4", label="‖∇_θG‖, non-saturating loss"
    )
    measured_axis.set_xscale("symlog", linthresh=10)  # linear from 0 to 10, logarithmic beyond
    measured_axis.set_xticks(steps, [str(s) for s in steps])
    measured_axis.set(
        yscale="log",
        xlabel="discriminator steps against the fixed generator",
        ylabel="generator gradient norm",
        title="as D learns to reject G's samples",
    )
    d_axis = measured_axis.twinx()
    d_axis.plot(steps, [r["d_fake"] for r in rows], "s--", color="grey", markersize=4, label="mean D(G(z)) (right)")
    d_axis.set(yscale="log", ylabel="mean D(G(z))")
    lines = measured_axis.get_legend_handles_labels()
    extra = d_axis.get_legend_handles_labels()
    measured_axis.legend(lines[0] + extra[0], lines[1] + extra[1], fontsize=8, loc="lower left")
    slope_axis.legend(fontsize=8, loc="lower right")
    for axis in (slope_axis, measured_axis):
        axis.grid(alpha=0.3)
    figure.savefig(path, dpi=100)


# -- 2. mode collapse --------------------------------------------------------------------------


def plot_coverage_curves(path, snapshots: dict[str, dict[int, torch.Tensor]], mixture) -> None:
    figure = Figure(figsize=(12, 4.2), dpi=100, layout="constrained")
    modes_axis, quality_axis = figure.subplots(1, 2)
    for name, by_step in snapshots.items():
        scores = [mode_coverage(points, mixture.centers, mixture.std) for points in by_step.values()]
        steps = list(by_step)
        modes_axis.plot(steps, [s.modes_captured for s in scores], marker=".", label=name)
        quality_axis.plot(steps, [s.high_quality_fraction for s in scores], marker=".", label=name)
    modes_axis.set(title="modes captured (of 8)", xlabel="generator step", ylim=(0, 8.5))
    quality_axis.set(title="high-quality fraction (within 3σ of a mode)", xlabel="generator step", ylim=(0, 1))
    for axis in (modes_axis, quality_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(f"{NUM_EVAL_SAMPLES} samples of the same latents z along training")
    figure.savefig(path, dpi=100)


def main() -> None:
    run = parse_args("mode-collapse", __doc__)
    max_steps = 60 if run.quick else 3000
    snapshot_every = 20 if run.quick else 250
    data, mixture = load_points("ring8")

    # 1. The vanishing gradient.
    checkpoints = [0, 10, 30] if run.quick else [0, 10, 30, 100, 300, 1000, 3000]
    gradient_rows = vanishing_gradient(data, checkpoints)
    plot_vanishing_gradient(run.figure("vanishing-gradient"), gradient_rows)
    gradient_table = markdown_table(
        ["D steps", "mean D(G(z))", "‖∇_θG‖ saturating", "‖∇_θG‖ non-saturating", "ratio non-sat. / sat."],
        [
            [
                r["d_steps"],
                f"{r['d_fake']:.2e}",
                f"{r['saturating']:.2e}",
                f"{r['non_saturating']:.2e}",
                f"{r['non_saturating'] / max(r['saturating'], 1e-300):.3g}",
            ]
            for r in gradient_rows
        ],
    )
    print(gradient_table, flush=True)

    # 2. Five GANs on ring8.
    samples, snapshots, trained = {}, {}, {}
    rows = []
    for name, (loss, regularizer, pack) in RUNS.items():
        gan = train_gan(data, loss, max_steps, regularizer=regularizer, pack=pack, snapshot_every=snapshot_every)
        trained[name] = gan
        samples[name], _ = sample_gan(gan.pipeline, NUM_EVAL_SAMPLES)
        snapshots[name] = gan.snapshots
        scores = score_points(samples[name], "ring8")
        coverage = mode_coverage(samples[name], mixture.centers, mixture.std)
        rows.append(
            [
                name,
                f"{gan.config.d_steps}",
                f"{scores.modes_captured} / {scores.num_modes}",
                f"{scores.high_quality_fraction:.1%}",
                f"{coverage.kl_from_uniform:.3f}",
                f"{scores.sliced_wasserstein:.3f} (floor {scores.sliced_wasserstein_floor:.3f})",
                f"{gan.seconds:.0f}",
            ]
        )
        print(rows[-1], flush=True)
    data_scores = mode_coverage(data[:NUM_EVAL_SAMPLES], mixture.centers, mixture.std)

    plot_samples_2d(
        samples,
        run.figure("samples"),
        data=data[:2000],
        mixture=mixture,
        title=f"ring8 after {max_steps} generator steps, seed 0: samples (red) over the data (grey)",
    )
    plot_coverage_curves(run.figure("coverage"), snapshots, mixture)
    non_saturating = snapshots["non-saturating"]
    # Four snapshots from the second to the last: the early collapse, and where training ends.
    steps = list(non_saturating)
    first, last = min(1, len(steps) - 1), len(steps) - 1
    shown_steps = sorted({steps[first + round(k * (last - first) / 3)] for k in range(4)})
    plot_samples_2d(
        {f"step {s}": non_saturating[s] for s in shown_steps},
        run.figure("non-saturating-steps"),
        data=data[:2000],
        mixture=mixture,
        title="non-saturating GAN: the same latents along training",
    )
    plot_gan_training(trained["minimax (saturating)"].records, run.figure("minimax-training"), loss="minimax")

    table = markdown_table(
        [
            "GAN",
            "D steps per G step",
            "modes captured",
            "high quality",
            "KL(modes ‖ uniform)",
            "sliced Wasserstein",
            "training (s)",
        ],
        rows,
    )
    run.write_generated(f"""
**The vanishing gradient.** A generator at its initialization, held fixed; a discriminator trained
against it (Adam, learning rate $10^{{-3}}$); the generator's gradient norm on {NUM_EVAL_SAMPLES}
latents under each loss:

{gradient_table}
**Five GANs on ring8**, {max_steps} generator steps each, batch 256, seed 0, scored on
{NUM_EVAL_SAMPLES} samples (real data scores {data_scores.modes_captured} / 8 modes,
{data_scores.high_quality_fraction:.1%} high quality, KL {data_scores.kl_from_uniform:.3f}):

{table}
""")


if __name__ == "__main__":
    main()
