"""Timestep embeddings: the sinusoidal features of Ho et al. (2020) and the MLP that reads them.

The network learns nothing of the noise schedule: it sees the integer (or fractional) timestep
only through these features, as in the Transformer's positional encoding (Vaswani et al. 2017,
section 3.5), which DDPM borrowed.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["sinusoidal_embedding", "TimestepEmbedding"]


def sinusoidal_embedding(
    timesteps: torch.Tensor,
    dim: int,
    flip_sin_to_cos: bool = False,
    freq_shift: float = 1.0,
    max_period: float = 10000.0,
) -> torch.Tensor:
    """Sinusoidal features of a batch of timesteps, `(B,) -> (B, dim)`, in float32.

    Frequency ``i`` of ``half = dim // 2`` is ``max_period ** (-i / (half - freq_shift))``.
    Ho et al.'s code (and google/ddpm-cifar10-32) uses ``freq_shift = 1``, so the lowest
    frequency is exactly ``1 / max_period``; diffusers' default is 0. The features are
    ``[sin, cos]``, or ``[cos, sin]`` with `flip_sin_to_cos`; an odd `dim` gets a zero last column.
    The operations and their order are diffusers' ``get_timestep_embedding``, so the two
    libraries give bit-identical features.

    Args:
        timesteps: (B,) integer or fractional timesteps.
        dim: the number of features.
        flip_sin_to_cos: put the cosines first.
        freq_shift: the shift in the frequencies' exponent (see above).
        max_period: the longest period, 1 / the lowest frequency when `freq_shift` is 1.

    Returns:
        (B, dim) float32 features.

    Example:
        >>> import torch
        >>> from gandiff.models.embeddings import sinusoidal_embedding
        >>> sinusoidal_embedding(torch.tensor([0, 10]), dim=4).shape
        torch.Size([2, 4])
        >>> sinusoidal_embedding(torch.tensor([0]), dim=4).tolist()  # sin 0 = 0, cos 0 = 1
        [[0.0, 0.0, 1.0, 1.0]]
    """
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device)
    frequencies = torch.exp(exponent / (half - freq_shift))
    angles = timesteps[:, None].float() * frequencies[None, :]  # (B, half)
    if flip_sin_to_cos:
        features = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
    else:
        features = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    if dim % 2 == 1:
        features = F.pad(features, (0, 1))
    return features


class TimestepEmbedding(nn.Module):
    """The two-layer MLP that turns sinusoidal features into the time embedding.

    ``linear_1 -> SiLU -> linear_2``, with diffusers' parameter names.

    Args:
        in_channels: size of the sinusoidal features.
        time_embed_dim: size of the hidden layer and of the embedding.
    """

    def __init__(self, in_channels: int, time_embed_dim: int):
        super().__init__()
        self.linear_1 = nn.Linear(in_channels, time_embed_dim)
        self.linear_2 = nn.Linear(time_embed_dim, time_embed_dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Embed the sinusoidal features.

        Args:
            features: (B, in_channels) features of `sinusoidal_embedding`.

        Returns:
            (B, time_embed_dim) embeddings.
        """
        return self.linear_2(F.silu(self.linear_1(features)))
