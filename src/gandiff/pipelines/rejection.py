"""Discriminator rejection sampling (Azadi et al. 2019, "Discriminator Rejection Sampling").

For a fixed generator the optimal discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x))
(Goodfellow et al. 2014, Proposition 1), so its logit is the log density ratio

    l(x) = log D*(x) − log(1 − D*(x)) = log p_data(x) / p_g(x).

Rejection sampling with G as the proposal and M ≥ p_data / p_g as the bound accepts x ~ p_g
with probability p_data(x) / (M p_g(x)) = exp(l(x) − l_M), l_M = log M, and the accepted
points follow p_data wherever G puts mass. DRS estimates l_M as the largest logit seen (over a
burn-in of proposals, raised whenever a larger one appears) and accepts x with probability
σ(F(x)), where

    F(x) = l(x) − l_M − log(1 − exp(l(x) − l_M − ε)) − γ.

At γ = 0, F is the logit of exp(l − l_M): exact rejection sampling under the discriminator's
estimate. γ < 0 accepts more (faster, closer to G), γ > 0 fewer. The discriminator's logit
reads as a log density ratio only for the losses whose optimum is D* (minimax and
non-saturating); a hinge or Wasserstein critic's score is not one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..torch_utils import evaluating

__all__ = ["discriminator_rejection_sampling"]

EPSILON = 1e-6  # keeps log(1 − exp(·)) finite at l = l_M, as in the paper
MIN_ACCEPTANCE = 1e-4  # below this, D rejects (nearly) everything G makes: stop and say so


@torch.no_grad()
def discriminator_rejection_sampling(
    propose: Callable[[int], torch.Tensor],
    discriminator: torch.nn.Module,
    num_samples: int,
    *,
    gamma: float = 0.0,
    burn_in: int = 10_000,
    proposals_per_round: int = 1_000,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, float]:
    """Keep proposals x with probability σ(F(x)) until `num_samples` are kept (module docstring).

    Args:
        propose: ``propose(n)`` returns n fresh generator samples.
        discriminator: returns a logit per sample, called as ``discriminator(x)``.
        num_samples: how many samples to return.
        gamma: γ, the shift of F; 0 is exact rejection sampling under D's density ratio.
        burn_in: proposals whose largest logit starts the estimate of l_M.
        proposals_per_round: proposals made and scored at once (memory grows with it).
        generator: the random generator of the accept/reject draws (`propose` draws its own).

    Returns:
        (samples, acceptance rate): the kept samples, (num_samples, ...), and the fraction of
        the proposals after the burn-in that were kept.

    Raises:
        RuntimeError: when fewer than 1 in 10,000 proposals are kept (the discriminator does
            not estimate this generator's density ratio).
    """
    with evaluating(discriminator):

        def logits(x: torch.Tensor) -> torch.Tensor:
            return discriminator(x).float().reshape(len(x))

        max_logit = torch.tensor(-torch.inf)
        for _ in range(-(-burn_in // proposals_per_round)):
            max_logit = torch.maximum(max_logit, logits(propose(proposals_per_round)).max().cpu())
        kept: list[torch.Tensor] = []
        num_kept = num_proposed = 0
        while num_kept < num_samples:
            x = propose(proposals_per_round)
            logit = logits(x)
            max_logit = torch.maximum(max_logit.to(logit.device), logit.max())
            gap = logit - max_logit  # l − l_M ≤ 0
            f = gap - torch.log(-torch.expm1(gap - EPSILON)) - gamma
            # Drawn on the generator's device, then moved (as `randn_tensor` draws), so a seed
            # keeps the same samples whatever the networks' device.
            draws = torch.rand(len(x), generator=generator, device=generator.device if generator else x.device)
            accept = draws.to(x.device) < torch.sigmoid(f)
            kept.append(x[accept])
            num_kept += int(accept.sum())
            num_proposed += len(x)
            if num_kept < num_samples and num_proposed * MIN_ACCEPTANCE > max(num_kept, 1):
                raise RuntimeError(
                    f"discriminator rejection sampling kept {num_kept} of {num_proposed} samples: the "
                    "discriminator rejects nearly everything the generator makes. It must be the one trained "
                    "against this generator with the minimax or non-saturating loss; or pass gamma < 0 to "
                    "accept more"
                )
    return torch.cat(kept)[:num_samples], num_kept / num_proposed
