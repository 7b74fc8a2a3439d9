"""Tensor helpers any part of gandiff may use: seeded noise and a network's eval mode.

Floor 0 of the module map: this module imports nothing of gandiff, so schedulers, pipelines,
training and plots share one `randn_tensor` (a seed gives the same noise everywhere, and the
same as diffusers) and one `evaluating` (sampling never changes a network's mode or buffers).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch

__all__ = ["randn_tensor", "evaluating"]


def randn_tensor(
    shape: Sequence[int],
    generator: torch.Generator | list[torch.Generator] | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Standard normal noise drawn the way diffusers draws it, so a seed gives the same tensor.

    One ``torch.randn`` call for a single generator; with a list of generators, sample i is
    drawn from ``generator[i]`` alone (per-sample seeds). Noise is drawn on the generator's
    device, then moved, so a CPU generator gives the same numbers whatever the target device.

    Args:
        shape: the shape of the noise, batch first.
        generator: ``None`` (torch's global generator), one generator, or one per sample.
        device: where the noise ends up.
        dtype: the noise's dtype; torch's default when ``None``.

    Returns:
        The noise, of `shape`.

    Raises:
        ValueError: when a list of generators does not hold one per sample.

    Example:
        >>> import torch
        >>> from gandiff.torch_utils import randn_tensor
        >>> a = randn_tensor((2, 3), torch.Generator().manual_seed(0))
        >>> torch.equal(a, torch.randn((2, 3), generator=torch.Generator().manual_seed(0)))
        True
    """
    shape = tuple(shape)
    if isinstance(generator, (list, tuple)):
        if len(generator) != shape[0]:
            raise ValueError(f"got {len(generator)} generators for a batch of {shape[0]}; pass one per sample")
        parts = [torch.randn((1, *shape[1:]), generator=g, device=g.device, dtype=dtype) for g in generator]
        return torch.cat(parts).to(device)
    draw_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=draw_device, dtype=dtype).to(device)


@contextlib.contextmanager
def evaluating(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Eval mode (dropout off, batch-norm statistics frozen) inside; after, every submodule back
    in the mode it had (a caller may hold a network in train mode with some layers frozen in eval).

    Args:
        module: the network.

    Yields:
        `module`, in eval mode.
    """
    modes = [(submodule, submodule.training) for submodule in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for submodule, training in modes:
            submodule.training = training
