"""Training: GAN losses and regularizers, the run settings, and the diffusion and GAN trainers.

Every name is imported on first use (PEP 562): the settings (`gandiff.training.config`) need no
torch, the losses only torch, and the trainers accelerate too, so ``from gandiff.training import
DiffusionTrainingConfig`` stays light.
"""

from .._lazy import lazy_getattr

_LOSSES = (
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
)

# public name -> module that defines it, imported on first use
_LAZY = {
    "DiffusionTrainer": "gandiff.training.diffusion",
    "DiffusionTrainingConfig": "gandiff.training.config",
    "GANTrainer": "gandiff.training.gan",
    "GANTrainingConfig": "gandiff.training.config",
    "TrainingConfig": "gandiff.training.config",
    "NonFiniteLossError": "gandiff.training.divergence",
    **dict.fromkeys(_LOSSES, "gandiff.training.losses"),
}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
