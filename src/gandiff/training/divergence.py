"""A loss that becomes NaN or infinite stops the run before the weights are updated with it."""

from __future__ import annotations

import math
from pathlib import Path

import torch

__all__ = ["NonFiniteLossError", "check_finite"]


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite: the run stopped before the weights were updated with it."""


def check_finite(step: int, values: dict[str, torch.Tensor], last_checkpoint: Path | None) -> None:
    """Raise `NonFiniteLossError` naming the step and the loss when a value is NaN or infinite.

    Args:
        step: the current optimizer step.
        values: the losses by name.
        last_checkpoint: the last checkpoint written, named in the message.

    Raises:
        NonFiniteLossError: when a value is NaN or infinite.
    """
    for name, value in values.items():
        if not math.isfinite(float(value)):
            kept = (
                f"the last good checkpoint is {last_checkpoint}"
                if last_checkpoint
                else "no checkpoint was written yet"
            )
            raise NonFiniteLossError(
                f"{name} is {float(value)} at step {step}; the run stopped before updating the weights with it "
                f"({kept}). Try a lower learning rate, gradient clipping (max_grad_norm), or mixed_precision='no'."
            )
