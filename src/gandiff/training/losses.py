"""GAN losses and discriminator regularizers, each a small function with its equation.

Notation (<variable name> -> <name in the papers>):

    real_logits, fake_logits   l(x), l(G(z)): raw discriminator outputs, D = σ(l)
    real_scores, fake_scores   f(x), f(G(z)): raw critic outputs (Wasserstein, hinge, LSGAN)

Every loss takes raw outputs and returns a scalar, the mean over the batch. The sigmoid is
never applied and then logged: with ``log σ(l) = −softplus(−l)`` and
``log(1 − σ(l)) = −softplus(l)`` the minimax losses stay finite and keep their gradients for
any logit, where ``log(sigmoid(l))`` underflows to −inf once σ(l) rounds to 0.

`GAN_LOSSES` names the (discriminator loss, generator loss) pairs a trainer selects by name;
regularizers (`clip_weights_`, `gradient_penalty`, `r1_penalty`) are applied on top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "discriminator_minimax_loss",
    "generator_saturating_loss",
    "generator_non_saturating_loss",
    "discriminator_wasserstein_loss",
    "generator_wasserstein_loss",
    "discriminator_hinge_loss",
    "generator_hinge_loss",
    "discriminator_least_squares_loss",
    "generator_least_squares_loss",
    "clip_weights_",
    "gradient_penalty",
    "r1_penalty",
    "GANLoss",
    "GAN_LOSSES",
    "get_gan_loss",
]


# --- Minimax GAN (Goodfellow et al. 2014) -------------------------------------------------


def discriminator_minimax_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss of the minimax game (Goodfellow et al. 2014, Alg. 1, ascent step).

    ``L_D = −( E_x[log D(x)] + E_z[log(1 − D(G(z)))] )
          = E_x[softplus(−l(x))] + E_z[softplus(l(G(z)))]``,
    the binary cross-entropy with real labelled 1 and fake 0. Its minimum over D is
    ``−V(D*, G) = 2 log 2 − 2·JSD(p_data ‖ p_g)``, at ``D* = p_data / (p_data + p_g)``.

    Args:
        real_logits: l(x) on real data, any shape.
        fake_logits: l(G(z)) on generated data, any shape.

    Returns:
        The loss, a scalar tensor (the mean over the batch).

    Example:
        >>> import torch
        >>> from gandiff.training import discriminator_minimax_loss
        >>> discriminator_minimax_loss(torch.zeros(8), torch.zeros(8))  # D = ½ everywhere: 2 log 2
        tensor(1.3863)
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_saturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss of the minimax game as written (Goodfellow et al. 2014, Alg. 1, descent step).

    ``L_G = E_z[log(1 − D(G(z)))] = −E_z[softplus(l(G(z)))]``, minimized. It saturates: its
    gradient with respect to the logit is ``−σ(l)``, which vanishes when the discriminator
    confidently rejects the samples (D(G(z)) → 0), as it does early in training. Kept to show
    that failure; train with `generator_non_saturating_loss`.

    Args:
        fake_logits: l(G(z)), the discriminator's logits on generated data, any shape.

    Returns:
        The loss, a scalar tensor (the mean over the batch).
    """
    return -F.softplus(fake_logits).mean()


def generator_non_saturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss (Goodfellow et al. 2014, Sec. 3).

    ``L_G = −E_z[log D(G(z))] = E_z[softplus(−l(G(z)))]``. Same fixed point as the minimax
    loss, but its gradient with respect to the logit, ``σ(l) − 1``, tends to −1 (not 0) as
    D(G(z)) → 0, so a generator the discriminator rejects still learns.

    Args:
        fake_logits: l(G(z)), the discriminator's logits on generated data, any shape.

    Returns:
        The loss, a scalar tensor (the mean over the batch).
    """
    return F.softplus(-fake_logits).mean()


# --- Wasserstein GAN (Arjovsky et al. 2017; Gulrajani et al. 2017) -------------------------


def discriminator_wasserstein_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Critic loss of WGAN (Arjovsky et al. 2017, Alg. 1).

    ``L_f = E_z[f(G(z))] − E_x[f(x)]``: minimizing it maximizes ``E_x[f(x)] − E_z[f(G(z))]``,
    which for a 1-Lipschitz f estimates the Wasserstein-1 distance. The Lipschitz constraint
    comes from `clip_weights_` or `gradient_penalty`, not from this loss.

    Args:
        real_scores: f(x), the critic's raw outputs on real data, any shape.
        fake_scores: f(G(z)), its raw outputs on generated data, any shape.

    Returns:
        The loss, a scalar tensor (the mean over the batch).
    """
    return fake_scores.mean() - real_scores.mean()


def generator_wasserstein_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Generator loss of WGAN (Arjovsky et al. 2017, Alg. 1): ``L_G = −E_z[f(G(z))]``.

    Args:
        fake_scores: f(G(z)), the critic's raw outputs on generated data, any shape.

    Returns:
        The loss, a scalar tensor (the mean over the batch).
    """
    return -fake_scores.mean()


def clip_weights_(module: nn.Module, c: float = 0.01) -> None:
    """Clamp every parameter of `module` to [−c, c], in place (Arjovsky et al. 2017, Alg. 1).

    The original WGAN's crude way to keep the critic K-Lipschitz; call it after every critic
    step. All parameters are clamped, normalization scales included, as in the authors' code.

    Args:
        module: the critic.
        c: the clipping bound (0.01 in the paper).
    """
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.clamp_(-c, c)


def gradient_penalty(
    critic: Callable[..., torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    lambda_: float = 10.0,
    class_labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017, Alg. 1, eq. 3).

    ``λ · E_x̂[(‖∇_x̂ f(x̂)‖₂ − 1)²]`` with ``x̂ = ε x + (1 − ε) x̃``, ``ε ~ U[0, 1]`` drawn per
    sample, x real and x̃ generated. The graph is kept (``create_graph=True``) so the penalty
    trains the critic. Real and fake are detached: the penalty regularizes the critic only.
    The critic must treat samples independently (no batch norm), or the per-sample gradient
    is not what is penalized.

    Args:
        critic: f, called as ``critic(x̂)``, or ``critic(x̂, class_labels)`` when labels are given.
        real: real samples x, shape (B, ...).
        fake: generated samples x̃, same shape.
        lambda_: λ, 10 in the paper.
        class_labels: labels of the pairs, passed to a conditional critic.
        generator: the `torch.Generator` that draws ε (torch's name for a random-number
            generator, not the GAN's generator network).

    Returns:
        The penalty, a scalar tensor with a graph back to the critic's parameters.

    Raises:
        ValueError: when `real` and `fake` differ in shape.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape; got {tuple(real.shape)} and {tuple(fake.shape)}")
    # ε: one coefficient per sample, broadcast over the data dimensions, (B, 1, ..., 1).
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    epsilon = torch.rand(shape, generator=generator, device=real.device, dtype=real.dtype)
    interpolates = (epsilon * real.detach() + (1 - epsilon) * fake.detach()).requires_grad_(True)
    scores = critic(interpolates) if class_labels is None else critic(interpolates, class_labels)
    (gradients,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    gradient_norms = gradients.flatten(start_dim=1).norm(2, dim=1)  # (B,)
    return lambda_ * ((gradient_norms - 1) ** 2).mean()


# --- Hinge loss (Lim & Ye 2017; Miyato et al. 2018) ----------------------------------------


def discriminator_hinge_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Hinge discriminator loss (Lim & Ye 2017; Miyato et al. 2018).

    ``L_D = E_x[max(0, 1 − f(x))] + E_z[max(0, 1 + f(G(z)))]``: only samples inside the
    margin (real scored below 1, fake above −1) contribute.

    Args:
        real_scores: f(x), the discriminator's raw outputs on real data, any shape.
        fake_scores: f(G(z)), its raw outputs on generated data, any shape.

    Returns:
        The loss, a scalar tensor (the mean over the batch).
    """
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def generator_hinge_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Hinge generator loss (Lim & Ye 2017; Miyato et al. 2018): ``L_G = −E_z[f(G(z))]``.

    The hinge GAN's generator loss is WGAN's; only the discriminator's loss differs.

    Args:
        fake_scores: f(G(z)), the discriminator's raw outputs on generated data, any shape.

    Returns:
        The loss, a scalar tensor (the mean over the batch).
    """
    return generator_wasserstein_loss(fake_scores)


# --- Least-squares GAN (Mao et al. 2017) -------------------------------------------------


def discriminator_least_squares_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator loss (Mao et al. 2017, eq. 2) with a = 0 (fake), b = 1 (real).

    ``L_D = ½ E_x[(D(x) − 1)²] + ½ E_z[D(G(z))²]``, with D the raw (linear) output.

    Args:
        real_scores: f(x), the discriminator's raw outputs on real data, any shape.
        fake_scores: f(G(z)), its raw outputs on generated data, any shape.

    Returns:
        The loss, a scalar tensor (the mean over the batch).
    """
    return 0.5 * ((real_scores - 1) ** 2).mean() + 0.5 * (fake_scores**2).mean()


def generator_least_squares_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN generator loss (Mao et al. 2017, eq. 2) with c = 1: ``L_G = ½ E_z[(D(G(z)) − 1)²]``.

    Args:
        fake_scores: D(G(z)), the discriminator's raw outputs on generated data, any shape.

    Returns:
        The loss, a scalar tensor (the mean over the batch).
    """
    return 0.5 * ((fake_scores - 1) ** 2).mean()


# --- R1 (Mescheder et al. 2018) ----------------------------------------------------------


def r1_penalty(
    discriminator: Callable[..., torch.Tensor],
    real: torch.Tensor,
    gamma: float = 10.0,
    class_labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """R1 gradient penalty on real data (Mescheder et al. 2018).

    ``γ/2 · E_x[‖∇_x D(x)‖₂²]`` with D the raw output (logit), x real. Penalizing the gradient
    on the data makes the real data a stable equilibrium. The graph is kept so the penalty
    trains the discriminator.

    Args:
        discriminator: D, called as ``discriminator(x)``, or ``discriminator(x, class_labels)``.
        real: real samples, shape (B, ...).
        gamma: γ (10 in several of Mescheder et al.'s experiments).
        class_labels: labels of the samples, passed to a conditional discriminator.

    Returns:
        The penalty, a scalar tensor with a graph back to the discriminator's parameters.
    """
    real = real.detach().requires_grad_(True)
    scores = discriminator(real) if class_labels is None else discriminator(real, class_labels)
    (gradients,) = torch.autograd.grad(scores.sum(), real, create_graph=True)
    return gamma / 2 * gradients.flatten(start_dim=1).pow(2).sum(dim=1).mean()


# --- Named pairs -------------------------------------------------------------------------


@dataclass(frozen=True)
class GANLoss:
    """A discriminator loss ``(real_out, fake_out) -> loss`` and its generator loss ``fake_out -> loss``.

    Attributes:
        discriminator: the discriminator's (or critic's) loss, minimized.
        generator: the generator's loss, minimized.
    """

    discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: Callable[[torch.Tensor], torch.Tensor]


GAN_LOSSES: dict[str, GANLoss] = {
    "minimax": GANLoss(discriminator_minimax_loss, generator_saturating_loss),
    "non_saturating": GANLoss(discriminator_minimax_loss, generator_non_saturating_loss),
    "wasserstein": GANLoss(discriminator_wasserstein_loss, generator_wasserstein_loss),
    "hinge": GANLoss(discriminator_hinge_loss, generator_hinge_loss),
    "least_squares": GANLoss(discriminator_least_squares_loss, generator_least_squares_loss),
}


def get_gan_loss(name: str) -> GANLoss:
    """The loss pair called `name`; a `ValueError` listing the known names otherwise.

    Args:
        name: a key of `GAN_LOSSES`: ``"minimax"``, ``"non_saturating"``, ``"wasserstein"``,
            ``"hinge"`` or ``"least_squares"``.

    Returns:
        The `GANLoss`.

    Raises:
        ValueError: for an unknown name.

    Example:
        >>> from gandiff.training import get_gan_loss
        >>> loss = get_gan_loss("non_saturating")
        >>> loss.discriminator.__name__, loss.generator.__name__
        ('discriminator_minimax_loss', 'generator_non_saturating_loss')
    """
    if name not in GAN_LOSSES:
        raise ValueError(f"unknown GAN loss {name!r}; known: {', '.join(GAN_LOSSES)}")
    return GAN_LOSSES[name]
