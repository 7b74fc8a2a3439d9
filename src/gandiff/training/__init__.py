"""Training: GAN losses and regularizers, and the diffusion and GAN trainers.

The losses are imported at once (they need only torch); the trainers, which import
accelerate, on first use (PEP 562), so ``from gandiff.training import get_gan_loss`` stays light.
"""

import importlib

from .losses import (
    GAN_LOSSES,
    GANLoss,
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

# public name -> module that defines it, imported on first use
_LAZY = {
    "DiffusionTrainer": "gandiff.training.diffusion",
    "DiffusionTrainingConfig": "gandiff.training.diffusion",
    "GANTrainer": "gandiff.training.gan",
    "GANTrainingConfig": "gandiff.training.gan",
    "TrainingConfig": "gandiff.training.common",
    "NonFiniteLossError": "gandiff.training.common",
}

__all__ = [
    *_LAZY,
    "GAN_LOSSES",
    "GANLoss",
    "clip_weights_",
    "discriminator_hinge_loss",
    "discriminator_least_squares_loss",
    "discriminator_minimax_loss",
    "discriminator_wasserstein_loss",
    "generator_hinge_loss",
    "generator_least_squares_loss",
    "generator_non_saturating_loss",
    "generator_saturating_loss",
    "generator_wasserstein_loss",
    "get_gan_loss",
    "gradient_penalty",
    "r1_penalty",
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'gandiff.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
