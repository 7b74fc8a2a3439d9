"""The U-Net's residual block and its 2x resamplers, with diffusers' parameter names.

The residual block is the one of Ho et al. (2020), from Wide ResNets: two 3x3 convolutions,
each after GroupNorm and an activation, with the time embedding added between them, and a
1x1 convolution on the skip path when the channel count changes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ACTIVATIONS", "ResnetBlock2D", "Downsample2D", "Upsample2D"]

# diffusers' `act_fn` names (matched lowercased, as diffusers does).
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "silu": F.silu,
    "swish": F.silu,
    "mish": F.mish,
    "gelu": F.gelu,
    "relu": F.relu,
}


def _average_pool_2x(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=2, stride=2)


def _nearest_2x(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class ResnetBlock2D(nn.Module):
    """``x + conv2(drop(act(norm2(conv1(act(norm1(x))) + proj(temb)))))``.

    With ``time_scale_shift="scale_shift"`` (Nichol & Dhariwal 2021's adaptive GroupNorm) the
    embedding is projected to a scale and a shift applied after `norm2` instead:
    ``norm2(h) * (1 + scale) + shift``.

    Args:
        in_channels: input channels.
        out_channels: output channels; a 1x1 ``conv_shortcut`` maps the input when they differ.
        temb_channels: size of the time embedding.
        groups: GroupNorm groups of both norms.
        eps: GroupNorm epsilon.
        dropout: dropout probability before `conv2`.
        act_fn: a key of `ACTIVATIONS`.
        time_scale_shift: ``"default"`` (add) or ``"scale_shift"``.
        output_scale_factor: the output is divided by this (diffusers' mid-block option).
        resample: ``None``, ``"down"`` (2x average pool) or ``"up"`` (2x nearest), applied to
            both paths after ``act(norm1(x))``: diffusers' ``downsample_type="resnet"``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        temb_channels: int,
        groups: int,
        eps: float,
        dropout: float = 0.0,
        act_fn: str = "silu",
        time_scale_shift: str = "default",
        output_scale_factor: float = 1.0,
        resample: str | None = None,
    ):
        super().__init__()
        self.act = ACTIVATIONS[act_fn.lower()]
        self.scale_shift = time_scale_shift == "scale_shift"
        self.output_scale_factor = output_scale_factor
        self.resample = {None: None, "down": _average_pool_2x, "up": _nearest_2x}[resample]

        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.time_emb_proj = nn.Linear(temb_channels, 2 * out_channels if self.scale_shift else out_channels)
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.conv_shortcut = None
        if in_channels != out_channels:
            self.conv_shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        """Apply the block.

        Args:
            x: features (B, in_channels, H, W).
            temb: (B, temb_channels), the time embedding *after* the activation (every block
                applies the same activation to it, so the U-Net does it once).

        Returns:
            Features (B, out_channels, H', W'), resampled when the block resamples.
        """
        h = self.act(self.norm1(x))
        if self.resample is not None:
            x = self.resample(x)
            h = self.resample(h)
        h = self.conv1(h)
        t = self.time_emb_proj(temb)[:, :, None, None]  # (B, C_out or 2 C_out, 1, 1)
        if self.scale_shift:
            scale, shift = t.chunk(2, dim=1)
            h = torch.addcmul(shift, self.norm2(h), 1 + scale)
        else:
            # In place: the convolution's backward does not need its output, so this saves
            # allocating one more activation-sized tensor (the CPU has no caching allocator).
            h = self.norm2(h.add_(t))
        h = self.conv2(self.dropout(self.act(h)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        h = h.add_(x)  # in place for the same reason: conv2's output is needed by nothing else
        if self.output_scale_factor != 1:
            h = h / self.output_scale_factor
        return h


class Downsample2D(nn.Module):
    """A 3x3 convolution with stride 2.

    Args:
        channels: input and output channels.
        padding: 1 pads every side, so H -> ceil(H / 2). 0 is the padding of Ho et al.'s
            TensorFlow code ("SAME" with stride 2): one row and column of zeros on the bottom
            and right only, so the kernel windows start at the top-left pixel.
    """

    def __init__(self, channels: int, padding: int = 1):
        super().__init__()
        self.asymmetric_pad = padding == 0
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Halve the size.

        Args:
            x: features (B, channels, H, W).

        Returns:
            Features (B, channels, ⌈H/2⌉, ⌈W/2⌉).
        """
        if self.asymmetric_pad:
            x = F.pad(x, (0, 1, 0, 1))  # (left, right, top, bottom)
        return self.conv(x)


class Upsample2D(nn.Module):
    """Nearest-neighbour 2x upsampling, then a 3x3 convolution.

    Args:
        channels: input and output channels.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Double the size.

        Args:
            x: features (B, channels, H, W).

        Returns:
            Features (B, channels, 2H, 2W).
        """
        return self.conv(_nearest_2x(x))
