"""The valid values of gandiff's string settings, written once and importable without torch.

Floor 0 of the module map: plain tuples, no imports. Schedulers and models validate their
configs against them, and the command line offers them as ``choices=`` without importing
torch (so ``gandiff --help`` answers at once). A tuple's first value is the default where the
setting has one.

Each tuple is defined here only: modules that validate a setting import it from here.
"""

from __future__ import annotations

__all__ = [
    "BETA_SCHEDULES",
    "RANGED_BETA_SCHEDULES",
    "VARIANCE_TYPES",
    "FIXED_VARIANCE_TYPES",
    "LEARNED_VARIANCE_TYPES",
    "PREDICTION_TYPES",
    "TIMESTEP_SPACINGS",
    "OUTPUT_TYPES",
    "IMAGE_OUTPUT_TYPES",
    "SCHEDULERS",
]

# -- schedulers (diffusers' configuration values, so configs move between the libraries) --------

# β schedules (gandiff.schedulers.schedules): linear (Ho et al. 2020), scaled_linear (latent
# diffusion), squaredcos_cap_v2 with its alias cosine (Nichol & Dhariwal 2021), sigmoid (GeoDiff).
BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2", "cosine", "sigmoid")
# The schedules that read beta_start and beta_end; the cosine schedule ignores them.
RANGED_BETA_SCHEDULES = ("linear", "scaled_linear", "sigmoid")

# σ_t² of DDPM's reverse step. The fixed ones need nothing from the network; the learned ones
# need a network with 2C output channels (prediction, then variance).
# "_log" computes the same σ through its logarithm (kept so diffusers configs load).
FIXED_VARIANCE_TYPES = ("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log")
LEARNED_VARIANCE_TYPES = ("learned", "learned_range")
VARIANCE_TYPES = FIXED_VARIANCE_TYPES + LEARNED_VARIANCE_TYPES

# What the network predicts: ε (Ho et al. 2020), x_0 itself, or v (Salimans & Ho 2022).
PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")

# How N of the T training timesteps are picked for sampling (Lin et al. 2024, Table 2).
TIMESTEP_SPACINGS = ("leading", "trailing", "linspace")

# -- models and pipelines ---------------------------------------------------------------------

# What a discriminator outputs: a logit l (D = σ(l), for the minimax and non-saturating
# losses) or an unbounded critic value (Wasserstein).
OUTPUT_TYPES = ("logit", "critic")

# What an image pipeline returns: a list of PIL images, (B, H, W, C) numpy, (B, C, H, W) torch.
IMAGE_OUTPUT_TYPES = ("pil", "np", "pt")

# -- command line -----------------------------------------------------------------------------

# The schedulers `gandiff sample|evaluate|plot reverse --scheduler` swap in: short name ->
# registered class name (made from the pipeline's own scheduler config, no retraining).
SCHEDULERS = {"ddpm": "DDPMScheduler", "ddim": "DDIMScheduler"}
