"""Discriminator rejection sampling (Azadi et al. 2019), checked against closed forms.

With an exact density-ratio "discriminator" l(x) = log p_data(x) / p_g(x) for two Gaussians,
the kept samples must follow p_data (Kolmogorov–Smirnov against its CDF) and the acceptance
rate must be 1/M, M = sup p_data / p_g computed in the test.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gandiff import GANPipeline
from gandiff.models.mlp import MLPDiscriminator, MLPGenerator
from gandiff.pipelines.rejection import discriminator_rejection_sampling

TARGET_MEAN, TARGET_STD = 0.5, 0.5  # p_data = N(0.5, 0.5²); the proposal p_g is N(0, 1)


def log_ratio(x: torch.Tensor) -> torch.Tensor:
    """log N(x; μ, σ²) − log N(x; 0, 1), the logit of the optimal discriminator."""
    return -math.log(TARGET_STD) - (x - TARGET_MEAN) ** 2 / (2 * TARGET_STD**2) + x**2 / 2


class ExactDiscriminator(nn.Module):
    """D*'s logit for the Gaussian pair above: (B, 1) points -> (B,) logits."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return log_ratio(x[:, 0])


def standard_normal_proposals(seed: int):
    generator = torch.Generator().manual_seed(seed)
    return lambda n: torch.randn(n, 1, generator=generator, dtype=torch.float64)


def test_kept_samples_follow_the_data_distribution_and_the_acceptance_rate_is_one_over_m():
    samples, acceptance = discriminator_rejection_sampling(
        standard_normal_proposals(0), ExactDiscriminator(), 20_000, generator=torch.Generator().manual_seed(1)
    )
    assert samples.shape == (20_000, 1)
    x = samples[:, 0].sort().values
    # Kolmogorov–Smirnov distance to the CDF of N(0.5, 0.5²); 1.63 / √n is the 1% critical value.
    cdf = torch.special.ndtr((x - TARGET_MEAN) / TARGET_STD)
    n = len(x)
    ks = torch.maximum(torch.arange(1, n + 1) / n - cdf, cdf - torch.arange(n) / n).max().item()
    assert ks < 1.63 / math.sqrt(n)
    # sup of the ratio: d/dx log_ratio = 0 at x* = μ / (1 − σ²); acceptance of exact RS = 1/M.
    x_star = TARGET_MEAN / (1 - TARGET_STD**2)
    expected = math.exp(-log_ratio(torch.tensor(x_star, dtype=torch.float64)).item())
    assert acceptance == pytest.approx(expected, rel=0.05)


def test_the_proposals_themselves_fail_the_same_test():
    """The test above can fail: raw proposals N(0, 1) are far from N(0.5, 0.5²)."""
    x = standard_normal_proposals(0)(20_000)[:, 0].sort().values
    cdf = torch.special.ndtr((x - TARGET_MEAN) / TARGET_STD)
    n = len(x)
    ks = torch.maximum(torch.arange(1, n + 1) / n - cdf, cdf - torch.arange(n) / n).max().item()
    assert ks > 10 * 1.63 / math.sqrt(n)


def test_negative_gamma_keeps_more_samples():
    rates = [
        discriminator_rejection_sampling(
            standard_normal_proposals(0),
            ExactDiscriminator(),
            5_000,
            gamma=gamma,
            generator=torch.Generator().manual_seed(1),
        )[1]
        for gamma in (0.0, -1.0, -3.0)
    ]
    assert rates[0] < rates[1] < rates[2] <= 1.0


def test_a_discriminator_that_rejects_everything_stops_with_a_clear_error():
    calls = []

    def propose(n: int) -> torch.Tensor:  # the burn-in holds one point the discriminator loves
        calls.append(n)
        x = torch.zeros(n, 1)
        if len(calls) == 1:
            x[0] = 100.0
        return x

    discriminator = nn.Linear(1, 1)
    nn.init.constant_(discriminator.weight, 10.0)
    nn.init.zeros_(discriminator.bias)
    with pytest.raises(RuntimeError, match="rejects nearly everything"):
        discriminator_rejection_sampling(propose, discriminator, 10)


def _pipeline(**discriminator_options) -> GANPipeline:
    torch.manual_seed(0)
    return GANPipeline(
        generator=MLPGenerator(hidden_dim=16, num_layers=2),
        discriminator=MLPDiscriminator(hidden_dim=16, num_layers=2, **discriminator_options),
    )


def test_pipeline_samples_are_reproducible_and_survive_save_and_load(tmp_path):
    pipe = _pipeline()
    first = pipe(batch_size=300, generator=torch.Generator().manual_seed(3), rejection_sampling=True, output_type="pt")
    again = pipe(batch_size=300, generator=torch.Generator().manual_seed(3), rejection_sampling=True, output_type="pt")
    assert first.points.shape == (300, 2)
    torch.testing.assert_close(first.points, again.points, rtol=0, atol=0)
    pipe.save_pretrained(tmp_path)
    loaded = GANPipeline.from_pretrained(tmp_path)
    reloaded = loaded(
        batch_size=300, generator=torch.Generator().manual_seed(3), rejection_sampling=True, output_type="pt"
    )
    torch.testing.assert_close(first.points, reloaded.points)


class HalfPlaneDiscriminator(MLPDiscriminator):
    """Logit 0 (the largest) left of x₁ = threshold, −1000·(x₁ − threshold) right of it: a
    density ratio that is ~0 on the right half-plane."""

    threshold = 0.0

    def forward(self, x: torch.Tensor, class_labels=None) -> torch.Tensor:
        return -1000 * torch.relu(x[:, 0] - self.threshold)


def test_pipeline_keeps_only_what_the_discriminator_accepts():
    pipe = _pipeline()
    plain = pipe(batch_size=5000, generator=torch.Generator().manual_seed(0), output_type="pt").points
    pipe.discriminator = HalfPlaneDiscriminator(hidden_dim=16, num_layers=2)
    pipe.discriminator.threshold = plain[:, 0].median().item()
    kept = pipe(
        batch_size=2000, generator=torch.Generator().manual_seed(0), rejection_sampling=True, output_type="pt"
    ).points
    # Kept with probability exp(logit): below e^-15 beyond threshold + 0.015, so none are.
    beyond = pipe.discriminator.threshold + 0.015
    assert kept[:, 0].max() <= beyond
    assert (plain[:, 0] > beyond).float().mean() > 0.3  # while G's own samples often are


def test_pipeline_restores_the_discriminator_mode():
    pipe = _pipeline()
    pipe.discriminator.train()
    pipe(batch_size=10, generator=torch.Generator().manual_seed(0), rejection_sampling=True)
    assert pipe.discriminator.training


@pytest.mark.parametrize(
    "case, error, match",
    [
        ("no discriminator", ValueError, "needs the discriminator"),
        ("critic", ValueError, "Wasserstein critic"),
        ("latents", ValueError, "leave latents=None"),
        ("conditional", ValueError, "unconditional"),
        ("generator list", TypeError, "not a list"),
    ],
)
def test_pipeline_refuses_what_it_cannot_do(case, error, match):
    pipe = _pipeline(output="critic") if case == "critic" else _pipeline()
    kwargs = {"batch_size": 2, "rejection_sampling": True}
    if case == "no discriminator":
        pipe = GANPipeline(generator=pipe.generator)
    elif case == "latents":
        kwargs["latents"] = torch.zeros(2, 2)
    elif case == "conditional":
        pipe = GANPipeline(generator=MLPGenerator(num_classes=3), discriminator=MLPDiscriminator(num_classes=3))
        kwargs["class_labels"] = 1
    elif case == "generator list":
        kwargs["generator"] = [torch.Generator().manual_seed(i) for i in range(2)]
    with pytest.raises(error, match=match):
        pipe(**kwargs)


def test_images_go_through_a_batch_norm_discriminator_in_eval_mode():
    """DCGAN's discriminator has batch norm: scoring proposals must use (and not update) its
    running statistics, and leave it in the mode it was in."""
    from gandiff import DCGANDiscriminator, DCGANGenerator

    torch.manual_seed(0)
    discriminator = DCGANDiscriminator(in_channels=1, resolution=28, base_channels=4)
    pipe = GANPipeline(
        generator=DCGANGenerator(latent_dim=8, out_channels=1, resolution=28, base_channels=4),
        discriminator=discriminator,
    )
    before = {k: v.clone() for k, v in discriminator.state_dict().items()}
    images = pipe(
        batch_size=6, generator=torch.Generator().manual_seed(0), rejection_sampling=True, output_type="pt"
    ).images
    assert images.shape == (6, 1, 28, 28) and discriminator.training
    for name, value in discriminator.state_dict().items():
        torch.testing.assert_close(value, before[name], rtol=0, atol=0, msg=name)
