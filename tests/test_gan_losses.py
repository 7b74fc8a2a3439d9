"""GAN losses and regularizers against closed forms derived here."""

import math

import pytest
import torch
from torch import nn

from gandiff.models.dcgan import DCGANDiscriminator
from gandiff.models.mlp import MLPDiscriminator
from gandiff.training.losses import (
    GAN_LOSSES,
    clip_weights_,
    discriminator_hinge_loss,
    discriminator_least_squares_loss,
    discriminator_minimax_loss,
    discriminator_wasserstein_loss,
    generator_hinge_loss,
    generator_least_squares_loss,
    generator_non_saturating_loss,
    generator_saturating_loss,
    generator_wasserstein_loss,
    get_gan_loss,
    gradient_penalty,
    r1_penalty,
)

LOG2 = math.log(2.0)


def gaussian_log_density(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    return -0.5 * ((x - mean) / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)


def jensen_shannon(mean_r: float, std_r: float, mean_g: float, std_g: float) -> float:
    """JSD(p_r ‖ p_g) of two 1-D Gaussians by the trapezoid rule on a fine grid, independently of the losses."""
    x = torch.linspace(-30, 30, 200_001, dtype=torch.float64)
    p_r, p_g = gaussian_log_density(x, mean_r, std_r).exp(), gaussian_log_density(x, mean_g, std_g).exp()
    m = (p_r + p_g) / 2

    def kl(p: torch.Tensor, q: torch.Tensor) -> float:
        integrand = torch.where(p > 0, p * (p.log() - q.log()), torch.zeros((), dtype=torch.float64))
        return torch.trapezoid(integrand, x).item()

    return 0.5 * kl(p_r, m) + 0.5 * kl(p_g, m)


def equal_weight_samples(mean: float, std: float, n: int = 100_000) -> torch.Tensor:
    """Points at the quantiles (i + ½)/n of N(mean, std²): a plain mean over them is E_p[·].

    The losses average with equal weights, so this grid (equal probability per point) weights
    each point by its density, deterministically (error ~1e-5 for the expectations here).
    """
    u = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return mean + std * torch.special.ndtri(u)


# --- Goodfellow et al. 2014, Proposition 1 and Theorem 1 ---------------------------------------


@pytest.mark.parametrize("p_g", [(1.5, 0.7), (0.3, 1.0), (-2.0, 2.5)])
def test_minimax_value_at_the_optimal_discriminator_is_2jsd_minus_2log2(p_g):
    p_r = (0.0, 1.0)

    # D* = p_r / (p_r + p_g), so its logit is log D* − log(1 − D*) = log p_r − log p_g.
    def optimal_logit(x):
        return gaussian_log_density(x, *p_r) - gaussian_log_density(x, *p_g)

    x_real, x_fake = equal_weight_samples(*p_r), equal_weight_samples(*p_g)
    # V(D*, G) = E_pr[log D*] + E_pg[log(1 − D*)] = −(discriminator minimax loss).
    value = -discriminator_minimax_loss(optimal_logit(x_real), optimal_logit(x_fake)).item()
    assert value == pytest.approx(2 * jensen_shannon(*p_r, *p_g) - 2 * LOG2, abs=2e-5)

    # D* is the minimizer of the discriminator loss: moving its logit either way costs.
    for shift in (-0.1, 0.1):
        shifted = discriminator_minimax_loss(optimal_logit(x_real) + shift, optimal_logit(x_fake) + shift).item()
        assert shifted > -value


def test_minimax_value_is_minus_2log2_when_the_generator_matches_the_data():
    # p_g = p_r gives D* = ½ everywhere (logit 0) and V = 2 log ½ = −log 4 (Goodfellow et al. 2014, Thm. 1).
    zeros = torch.zeros(1000, dtype=torch.float64)
    assert -discriminator_minimax_loss(zeros, zeros).item() == pytest.approx(-2 * LOG2, abs=1e-12)
    assert jensen_shannon(0.0, 1.0, 0.0, 1.0) == pytest.approx(0.0, abs=1e-9)


def test_minimax_losses_are_stable_for_extreme_logits():
    logits = torch.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    losses = [
        discriminator_minimax_loss(logits, logits),
        generator_saturating_loss(logits),
        generator_non_saturating_loss(logits),
    ]
    for loss in losses:
        (gradient,) = torch.autograd.grad(loss, logits)
        assert torch.isfinite(loss) and torch.isfinite(gradient).all()
    # −log σ(−1000) = 1000 exactly in real arithmetic; log(sigmoid(−1000)) would be −inf.
    assert generator_non_saturating_loss(torch.tensor([-1000.0])).item() == pytest.approx(1000.0)


def test_saturating_generator_gradient_vanishes_and_non_saturating_does_not():
    # At logit l: d/dl log(1 − σ(l)) = −σ(l) and d/dl −log σ(l) = σ(l) − 1 (Goodfellow et al. 2014, Sec. 3).
    logit = torch.tensor([-10.0], dtype=torch.float64, requires_grad=True)
    (saturating,) = torch.autograd.grad(generator_saturating_loss(logit), logit)
    (non_saturating,) = torch.autograd.grad(generator_non_saturating_loss(logit), logit)
    sigma = torch.sigmoid(torch.tensor(-10.0, dtype=torch.float64)).item()  # ≈ 4.54e-5
    assert saturating.item() == pytest.approx(-sigma, rel=1e-12)
    assert non_saturating.item() == pytest.approx(sigma - 1, rel=1e-12)
    assert abs(saturating.item()) < 1e-4 and abs(non_saturating.item()) > 0.99


# --- Wasserstein (Arjovsky et al. 2017; Gulrajani et al. 2017) ---------------------------------


def test_wasserstein_losses_hand_computed():
    real, fake = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0])
    # E[f(fake)] − E[f(real)] = 1.5 − 2 = −0.5; generator −E[f(fake)] = −1.5.
    assert discriminator_wasserstein_loss(real, fake).item() == pytest.approx(-0.5)
    assert generator_wasserstein_loss(fake).item() == pytest.approx(-1.5)


def test_clip_weights_keeps_every_parameter_in_range():
    torch.manual_seed(0)
    critic = DCGANDiscriminator(resolution=32, base_channels=8, output="critic")
    with torch.no_grad():
        for parameter in critic.parameters():
            parameter.normal_(0.0, 1.0)
    small = [p.detach().clone() for p in critic.parameters()]
    clip_weights_(critic, c=0.01)
    for before, parameter in zip(small, critic.parameters()):
        assert parameter.abs().max().item() <= 0.01
        inside = before.abs() <= 0.01
        assert torch.equal(parameter[inside], before[inside])  # values already in range are untouched


class Linear(nn.Module):
    """f(x) = <a, x> over all data dimensions: ∇f = a everywhere."""

    def __init__(self, a: torch.Tensor):
        super().__init__()
        self.a = nn.Parameter(a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.a).flatten(1).sum(1)


def test_gradient_penalty_of_a_linear_critic():
    # ∇f(x̂) = a wherever x̂ is, so the penalty is λ(‖a‖ − 1)² = 10·(3 − 1)² = 40.
    critic = Linear(torch.tensor([[1.0, 2.0], [2.0, 0.0]]))  # ‖a‖ = 3, data shaped (B, 2, 2)
    real, fake = torch.randn(8, 2, 2), torch.randn(8, 2, 2)
    penalty = gradient_penalty(critic, real, fake, lambda_=10.0)
    assert penalty.item() == pytest.approx(40.0)
    # It trains the critic: d/da λ(‖a‖ − 1)² = 2λ(‖a‖ − 1) a / ‖a‖ = (40/3) a.
    penalty.backward()
    torch.testing.assert_close(critic.a.grad, 40 / 3 * critic.a.detach())
    unit = Linear(torch.tensor([0.6, 0.8]))  # ‖a‖ = 1: no penalty
    assert gradient_penalty(unit, torch.randn(4, 2), torch.randn(4, 2)).item() == pytest.approx(0.0, abs=1e-12)


def test_gradient_penalty_samples_on_the_segment():
    # f(x) = ½‖x‖² has ∇f(x̂) = x̂. With real = fake = x every interpolate is x itself, whatever ε,
    # so the penalty is λ·mean((‖x‖ − 1)²): ‖(3, 4)‖ = 5 -> 16, ‖(0, 2)‖ = 2 -> 1; λ = 1 gives 8.5.
    x = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    assert gradient_penalty(lambda v: 0.5 * (v**2).sum(1), x, x, lambda_=1.0).item() == pytest.approx(8.5)
    # Seeded ε gives the same penalty twice.
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    first = gradient_penalty(lambda v: 0.5 * (v**2).sum(1), real, fake, generator=torch.Generator().manual_seed(1))
    again = gradient_penalty(lambda v: 0.5 * (v**2).sum(1), real, fake, generator=torch.Generator().manual_seed(1))
    assert first.item() == again.item()


def test_gradient_penalty_through_conditional_critics():
    torch.manual_seed(0)
    mlp = MLPDiscriminator(output="critic", num_classes=3)
    penalty = gradient_penalty(mlp, torch.randn(5, 2), torch.randn(5, 2), class_labels=torch.tensor([0, 1, 2, 0, 1]))
    penalty.backward()
    assert torch.isfinite(penalty) and mlp.class_embedding.weight.grad.abs().sum() > 0
    dcgan = DCGANDiscriminator(
        in_channels=1, resolution=28, base_channels=8, output="critic", batch_norm=False, num_classes=3
    )
    images = torch.randn(2, 1, 28, 28)
    penalty = gradient_penalty(dcgan, images, torch.randn_like(images), class_labels=torch.tensor([2, 0]))
    penalty.backward()
    assert torch.isfinite(penalty) and dcgan.head.weight.grad.abs().sum() > 0


def test_gradient_penalty_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(Linear(torch.ones(2)), torch.randn(4, 2), torch.randn(3, 2))


# --- hinge (Lim & Ye 2017) and least squares (Mao et al. 2017, a = 0, b = 1, c = 1) -------------


def test_hinge_losses_hand_computed():
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 0.5])
    # mean(max(0, 1 − real)) = mean(0, 0.5, 2) = 5/6; mean(max(0, 1 + fake)) = mean(0, 1, 1.5) = 5/6.
    assert discriminator_hinge_loss(real, fake).item() == pytest.approx(5 / 3)
    # −mean(fake) = −(−1.5/3) = 0.5.
    assert generator_hinge_loss(fake).item() == pytest.approx(0.5)


def test_least_squares_losses_hand_computed():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])
    # ½ mean((real − 1)²) = ½ mean(0, 4) = 1; ½ mean(fake²) = ½ mean(0, 4) = 1.
    assert discriminator_least_squares_loss(real, fake).item() == pytest.approx(2.0)
    # ½ mean((fake − 1)²) = ½ mean(1, 1) = 0.5.
    assert generator_least_squares_loss(fake).item() == pytest.approx(0.5)


# --- R1 (Mescheder et al. 2018) -----------------------------------------------------------------


def test_r1_penalty_of_a_quadratic_discriminator():
    # D(x) = c/2 ‖x‖² has ∇D = c x, so R1 = γ/2 · c² · mean(‖x‖²) = 5 · 4 · mean(25, 1) = 260.
    x = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    assert r1_penalty(lambda v: (v**2).sum(1), x, gamma=10.0).item() == pytest.approx(260.0)
    # A linear D has ∇D = a: R1 = γ/2 ‖a‖² = 1/2 · 9.
    critic = Linear(torch.tensor([1.0, 2.0, 2.0]))
    penalty = r1_penalty(critic, torch.randn(4, 3), gamma=1.0)
    assert penalty.item() == pytest.approx(4.5)
    penalty.backward()  # d/da γ/2 ‖a‖² = γ a
    torch.testing.assert_close(critic.a.grad, critic.a.detach())


# --- named pairs --------------------------------------------------------------------------------


def test_named_loss_pairs():
    assert set(GAN_LOSSES) == {"minimax", "non_saturating", "wasserstein", "hinge", "least_squares"}
    assert get_gan_loss("minimax").generator is generator_saturating_loss
    assert get_gan_loss("non_saturating").discriminator is discriminator_minimax_loss
    assert get_gan_loss("non_saturating").generator is generator_non_saturating_loss
    assert get_gan_loss("wasserstein").discriminator is discriminator_wasserstein_loss
    real, fake = torch.randn(8), torch.randn(8)
    for pair in GAN_LOSSES.values():
        assert pair.discriminator(real, fake).dim() == 0 and pair.generator(fake).dim() == 0


def test_unknown_loss_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'wgan'.*minimax, non_saturating, wasserstein, hinge, least_squares"):
        get_gan_loss("wgan")
