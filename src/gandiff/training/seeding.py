"""Seeds: one number makes a run repeatable.

The trainers seed the global generators twice: with ``seed`` before building the networks (the
same initial weights on every process), then with ``seed + process index`` (dropout differs per
process). The algorithms' own draws (t, ε, z) come from a `torch.Generator` of the trainer,
which checkpoints save and restore (`gandiff.training.trainer.Trainer.start`).
"""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch's global generators (model initialization, dropout).

    Args:
        seed: the seed; numpy gets it modulo 2³².
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
