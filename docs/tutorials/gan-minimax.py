"""The GAN minimax game on 1-D Gaussians: the optimal discriminator and the value of the game.

    python3 docs/tutorials/gan-minimax.py [--quick] [--out DIR]

For the data p_r = N(0, 1) and a fixed generator distribution p_g = N(μ, s²):

1. the optimal discriminator D*(x) = p_r(x) / (p_r(x) + p_g(x)) (Goodfellow et al. 2014,
   Prop. 1), in closed form, against an `MLPDiscriminator` trained on samples with the
   discriminator's minimax loss;
2. the value of the game at D*, V(G, D*) = E_{p_r}[log D*] + E_{p_g}[log(1 − D*)], integrated
   numerically, against 2·JSD(p_r ‖ p_g) − 2 log 2 (Theorem 1), and at p_g = p_r against
   −log 4;
3. the same value estimated with the trained discriminator, which can only fall below it;
4. how JSD saturates at log 2 as the distributions separate while the Wasserstein-1
   distance |μ| keeps growing (Arjovsky et al. 2017).

Writes figures/gan-minimax-*.png and generated/gan-minimax.md.
"""

from __future__ import annotations

import math

import torch
from _common import markdown_table, parse_args
from matplotlib.figure import Figure

from gandiff import MLPDiscriminator
from gandiff.training import discriminator_minimax_loss

# The integrals are taken on a fine grid that holds every Gaussian used here (|μ| ≤ 4, s ≤ 2).
GRID = torch.linspace(-20.0, 20.0, 400_001, dtype=torch.float64)
# The generators of the table: (μ, s), p_g = N(μ, s²); the first is the worked example.
GENERATORS = [(2.0, 0.5), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0), (2.0, 1.0), (4.0, 1.0), (0.0, 2.0)]
LOG_4 = math.log(4.0)


def log_normal_pdf(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    return -0.5 * ((x - mean) / std) ** 2 - math.log(std * math.sqrt(2 * math.pi))


def normal_pdf(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    return torch.exp(log_normal_pdf(x, mean, std))


def optimal_logit(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """The logit of D*: log D* − log(1 − D*) = log p_r(x) − log p_g(x)."""
    return log_normal_pdf(x, 0.0, 1.0) - log_normal_pdf(x, mean, std)


def optimal_discriminator(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """D*(x) = p_r(x) / (p_r(x) + p_g(x)) for p_r = N(0, 1), p_g = N(mean, std²)."""
    return torch.sigmoid(optimal_logit(x, mean, std))


def integrate(values: torch.Tensor) -> float:
    return float(torch.trapezoid(values, GRID))


def value_at_optimum(mean: float, std: float) -> float:
    """V(G, D*) = ∫ p_r log D* + p_g log(1 − D*) dx, integrated directly (not through the JSD)."""
    log_p_r, log_p_g = log_normal_pdf(GRID, 0.0, 1.0), log_normal_pdf(GRID, mean, std)
    # log D* = log p_r − log(p_r + p_g), in log space so that the far tails give 0 · finite, not 0 · (−inf).
    log_sum = torch.logaddexp(log_p_r, log_p_g)
    return integrate(log_p_r.exp() * (log_p_r - log_sum)) + integrate(log_p_g.exp() * (log_p_g - log_sum))


def jensen_shannon(mean: float, std: float) -> float:
    """JSD(p_r ‖ p_g) = ½ KL(p_r ‖ m) + ½ KL(p_g ‖ m), m = (p_r + p_g) / 2, in nats."""
    log_p_r, log_p_g = log_normal_pdf(GRID, 0.0, 1.0), log_normal_pdf(GRID, mean, std)
    log_m = torch.logaddexp(log_p_r, log_p_g) - math.log(2)
    kl_r = integrate(log_p_r.exp() * (log_p_r - log_m))  # KL(p_r ‖ m)
    kl_g = integrate(log_p_g.exp() * (log_p_g - log_m))  # KL(p_g ‖ m)
    return 0.5 * kl_r + 0.5 * kl_g


# --8<-- [start:train-discriminator]
def train_discriminator(mean: float, std: float, steps: int, seed: int = 0) -> MLPDiscriminator:
    """Fit D to tell N(0, 1) from N(mean, std²): the inner max of the game, G held fixed."""
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    discriminator = MLPDiscriminator(data_dim=1, hidden_dim=64, num_layers=3)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=3e-3)
    lr_decay = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        real = torch.randn(512, 1, generator=rng)
        fake = mean + std * torch.randn(512, 1, generator=rng)
        loss = discriminator_minimax_loss(discriminator(real), discriminator(fake))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr_decay.step()
    return discriminator.eval()


# --8<-- [end:train-discriminator]


@torch.no_grad()
def sampled_values(discriminator: MLPDiscriminator, mean: float, std: float, num_samples: int) -> tuple[float, float]:
    """V(G, D) = E[log D(x)] + E[log(1 − D(G(z)))] on fresh samples, −(the discriminator's
    loss), for the trained D and for D* on the same samples (so their difference is free of
    most of the sampling noise)."""
    rng = torch.Generator().manual_seed(12345)
    real = torch.randn(num_samples, 1, generator=rng, dtype=torch.float64)
    fake = mean + std * torch.randn(num_samples, 1, generator=rng, dtype=torch.float64)
    trained = discriminator_minimax_loss(discriminator(real.float()).double(), discriminator(fake.float()).double())
    optimal = discriminator_minimax_loss(optimal_logit(real, mean, std), optimal_logit(fake, mean, std))
    return -float(trained), -float(optimal)


def plot_discriminators(path, mean: float, std: float, discriminator: MLPDiscriminator) -> None:
    x = torch.linspace(-4, 5, 901, dtype=torch.float64)
    with torch.no_grad():
        trained = torch.sigmoid(discriminator(x[:, None].float())).double()
    figure = Figure(figsize=(11, 4), dpi=100, layout="constrained")
    density_axis, d_axis = figure.subplots(1, 2)
    density_axis.plot(x, normal_pdf(x, 0.0, 1.0), color="#1f77b4", label="p_r = N(0, 1) (data)")
    density_axis.plot(x, normal_pdf(x, mean, std), color="#d62728", label=f"p_g = N({mean:g}, {std:g}²) (generator)")
    density_axis.set(title="the two distributions", xlabel="x", ylabel="density")
    d_axis.plot(
        x, optimal_discriminator(x, mean, std), color="black", linewidth=2.5, label="D*(x) = p_r / (p_r + p_g)"
    )
    d_axis.plot(x, trained, color="#ff7f0e", linestyle="--", linewidth=2, label="trained MLP discriminator σ(l(x))")
    d_axis.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    d_axis.set(title="the optimal and a trained discriminator", xlabel="x", ylabel="D(x)", ylim=(-0.03, 1.03))
    for axis in (density_axis, d_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.savefig(path, dpi=100)


def plot_value_sweep(path, means: torch.Tensor, values: list[float], divergences: list[float]) -> None:
    figure = Figure(figsize=(11, 4), dpi=100, layout="constrained")
    value_axis, distance_axis = figure.subplots(1, 2)
    value_axis.plot(means, values, color="black", linewidth=2, label="V(G, D*), integrated")
    value_axis.axhline(-LOG_4, color="#2ca02c", linestyle="--", label="−log 4: the minimum, at p_g = p_r")
    value_axis.axhline(0.0, color="grey", linestyle=":", label="0: the supremum, disjoint supports")
    value_axis.set(title="value of the game at the optimal D, p_g = N(μ, 1)", xlabel="μ", ylabel="V(G, D*)")
    distance_axis.plot(means, divergences, color="#1f77b4", linewidth=2, label="JSD(p_r ‖ p_g) (nats)")
    distance_axis.axhline(math.log(2), color="#1f77b4", linestyle=":", label="log 2: JSD of disjoint distributions")
    distance_axis.plot(means, means, color="#9467bd", linewidth=2, label="Wasserstein-1 = |μ|")
    distance_axis.set(title="JSD saturates, Wasserstein-1 does not", xlabel="μ", ylabel="distance", ylim=(0, 3))
    for axis in (value_axis, distance_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.savefig(path, dpi=100)


def main() -> None:
    run = parse_args("gan-minimax", __doc__)
    train_steps = 100 if run.quick else 2000
    num_samples = 20_000 if run.quick else 400_000

    rows, trained = [], {}
    for mean, std in GENERATORS:
        jsd = jensen_shannon(mean, std)
        value = value_at_optimum(mean, std)
        discriminator = train_discriminator(mean, std, train_steps)
        trained[(mean, std)] = discriminator
        trained_value, optimal_value = sampled_values(discriminator, mean, std, num_samples)
        rows.append(
            [
                f"N({mean:g}, {std:g}²)",
                f"{jsd:.6f}",
                f"{value:.6f}",
                f"{2 * jsd - 2 * math.log(2):.6f}",
                f"{abs(value - (2 * jsd - 2 * math.log(2))):.1e}",
                f"{trained_value:.4f}",
                f"{trained_value - optimal_value:+.1e}",
            ]
        )
        print(f"p_g = N({mean:g}, {std:g}²): JSD {jsd:.6f}, V(G, D*) {value:.6f}", flush=True)

    mean, std = GENERATORS[0]
    plot_discriminators(run.figure("discriminator"), mean, std, trained[(mean, std)])
    sweep = torch.linspace(0, 6, 13 if run.quick else 61, dtype=torch.float64)
    plot_value_sweep(
        run.figure("value"),
        sweep,
        [value_at_optimum(float(m), 1.0) for m in sweep],
        [jensen_shannon(float(m), 1.0) for m in sweep],
    )

    equilibrium = value_at_optimum(0.0, 1.0)
    # |D − D*| averaged where the data is, under the mixture (p_r + p_g) / 2: in the far tails
    # neither distribution has samples, and no discriminator trained on samples can learn D* there.
    with torch.no_grad():
        logits = trained[(mean, std)](GRID[:, None].float()).double()
    gap = (torch.sigmoid(logits) - optimal_discriminator(GRID, mean, std)).abs()
    mixture = (normal_pdf(GRID, 0.0, 1.0) + normal_pdf(GRID, mean, std)) / 2
    mean_gap = integrate(gap * mixture)
    table = markdown_table(
        [
            "p_g (p_r = N(0, 1))",
            "JSD(p_r ‖ p_g)",
            "V(G, D*)",
            "2·JSD − 2 log 2",
            "difference",
            "V(G, D), trained D, sampled",
            "V(G, D) − V(G, D*), same samples",
        ],
        rows,
    )
    run.write_generated(f"""
{table}
At $p_g = p_r$ the integrated value is $V(G, D^*) = {equilibrium:.6f}$, and $-\\log 4 = {-LOG_4:.6f}$.
For the worked example $p_g = \\mathcal{{N}}({mean:g}, {std:g}^2)$ the discriminator trained for
{train_steps} steps differs from $D^*$ by {mean_gap:.4f} on average over the data,
$\\mathbb{{E}}_{{x \\sim (p_r + p_g)/2}} |D(x) - D^*(x)|$. The last two columns estimate the value with the trained discriminator on
{num_samples:,} fresh samples of each distribution, and its shortfall from $D^*$ scored on the
same samples: $D^*$ maximizes $V(G, \\cdot)$, so the shortfall is negative up to sampling noise.
""")


if __name__ == "__main__":
    main()
