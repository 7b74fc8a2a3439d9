"""The U-Net's blocks, one resolution each, named as in diffusers' configs and state dicts.

A down block runs `num_layers` residual blocks (each followed by self-attention in the
``Attn`` variants), keeps every output as a skip connection, and halves the resolution. An up
block concatenates one skip per residual block (last kept, first used), and doubles the
resolution. The mid block is ResNet, attention, ResNet at the lowest resolution.

`DOWN_BLOCKS`, `MID_BLOCKS` and `UP_BLOCKS` map the names used in ``down_block_types`` etc.
to the classes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .attention import SpatialSelfAttention
from .resnet import Downsample2D, ResnetBlock2D, Upsample2D

__all__ = [
    "DownBlock2D",
    "AttnDownBlock2D",
    "UNetMidBlock2D",
    "UpBlock2D",
    "AttnUpBlock2D",
    "DOWN_BLOCKS",
    "MID_BLOCKS",
    "UP_BLOCKS",
]


def _block_attention(channels: int, head_dim: int, resnet_args: dict[str, Any]) -> SpatialSelfAttention:
    """The self-attention after a down or up block's residual block: normalized like it."""
    return SpatialSelfAttention(channels, head_dim, resnet_args["groups"], resnet_args["eps"])


class DownBlock2D(nn.Module):
    """Residual blocks at one resolution, then an optional 2x downsample.

    Args:
        in_channels: channels coming in.
        out_channels: channels of every residual block's output.
        num_layers: number of residual blocks.
        add_downsample: halve the resolution at the end (every block but the last).
        resnet_args: the keyword arguments shared by every `ResnetBlock2D` (temb_channels,
            groups, eps, dropout, act_fn, time_scale_shift).
        head_dim: channels per attention head (attention variants only).
        downsample_padding: 0 or 1, see `Downsample2D`.
        downsample_type: ``"conv"`` (strided convolution) or ``"resnet"`` (a residual block
            that average-pools). As in diffusers, only the attention variant reads it;
            `DownBlock2D` always uses the convolution.
    """

    has_attention = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_layers: int,
        add_downsample: bool,
        resnet_args: dict[str, Any],
        head_dim: int,
        downsample_padding: int,
        downsample_type: str,
    ):
        super().__init__()
        # Each residual block and then its attention, in diffusers' order, so that the same
        # torch.manual_seed draws the same initial weights as diffusers' UNet2DModel.
        resnets, attentions = [], []
        for i in range(num_layers):
            resnets.append(ResnetBlock2D(in_channels if i == 0 else out_channels, out_channels, **resnet_args))
            if self.has_attention:
                attentions.append(_block_attention(out_channels, head_dim, resnet_args))
        self.attentions = nn.ModuleList(attentions) if self.has_attention else None
        self.resnets = nn.ModuleList(resnets)
        self.downsample_with_resnet = add_downsample and self.has_attention and downsample_type == "resnet"
        self.downsamplers = None
        if self.downsample_with_resnet:
            downsampler = ResnetBlock2D(out_channels, out_channels, resample="down", **resnet_args)
            self.downsamplers = nn.ModuleList([downsampler])
        elif add_downsample:
            self.downsamplers = nn.ModuleList([Downsample2D(out_channels, padding=downsample_padding)])

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the block's residual (and attention) layers, then downsample.

        Args:
            h: features (B, in_channels, H, W).
            temb: the activated time embedding (B, D).

        Returns:
            The output, and the skip connections in the order they were made.
        """
        skips = []
        for i, resnet in enumerate(self.resnets):
            h = resnet(h, temb)
            if self.attentions is not None:
                h = self.attentions[i](h)
            skips.append(h)
        if self.downsamplers is not None:
            downsampler = self.downsamplers[0]
            h = downsampler(h, temb) if self.downsample_with_resnet else downsampler(h)
            skips.append(h)
        return h, skips


class AttnDownBlock2D(DownBlock2D):
    """`DownBlock2D` with self-attention after every residual block."""

    has_attention = True


class UpBlock2D(nn.Module):
    """Residual blocks at one resolution, each reading one skip connection, then an optional
    2x upsample.

    Args:
        in_channels: channels of the last skip this block reads (the down path's input to the
            matching level).
        prev_output_channel: channels coming in from the level below.
        out_channels: channels of every residual block's output.
        num_layers: number of residual blocks (``layers_per_block + 1``: one per skip).
        add_upsample: double the resolution at the end (every block but the last).
        resnet_args: see `DownBlock2D`.
        head_dim: channels per attention head (attention variants only).
        upsample_type: ``"conv"`` (nearest + convolution) or ``"resnet"``; as in diffusers,
            only the attention variant reads it.
    """

    has_attention = False

    def __init__(
        self,
        in_channels: int,
        prev_output_channel: int,
        out_channels: int,
        num_layers: int,
        add_upsample: bool,
        resnet_args: dict[str, Any],
        head_dim: int,
        upsample_type: str,
    ):
        super().__init__()
        # Interleaved as in `DownBlock2D`: the same seed gives diffusers' initial weights.
        resnets, attentions = [], []
        for i in range(num_layers):
            skip_channels = in_channels if i == num_layers - 1 else out_channels
            resnet_in_channels = prev_output_channel if i == 0 else out_channels
            resnets.append(ResnetBlock2D(resnet_in_channels + skip_channels, out_channels, **resnet_args))
            if self.has_attention:
                attentions.append(_block_attention(out_channels, head_dim, resnet_args))
        self.attentions = nn.ModuleList(attentions) if self.has_attention else None
        self.resnets = nn.ModuleList(resnets)
        self.upsample_with_resnet = add_upsample and self.has_attention and upsample_type == "resnet"
        self.upsamplers = None
        if self.upsample_with_resnet:
            upsampler = ResnetBlock2D(out_channels, out_channels, resample="up", **resnet_args)
            self.upsamplers = nn.ModuleList([upsampler])
        elif add_upsample:
            self.upsamplers = nn.ModuleList([Upsample2D(out_channels)])

    def forward(self, h: torch.Tensor, skips: list[torch.Tensor], temb: torch.Tensor) -> torch.Tensor:
        """Concatenate a skip connection before each residual layer, then upsample.

        Args:
            h: features from the block below (B, C, H, W).
            skips: this block's ``len(self.resnets)`` skip connections, in the order the down
                path made them; the last one is read first.
            temb: the activated time embedding (B, D).

        Returns:
            The block's output features.
        """
        for i, resnet in enumerate(self.resnets):
            h = torch.cat([h, skips[-1 - i]], dim=1)  # (B, C_h + C_skip, H, W)
            h = resnet(h, temb)
            if self.attentions is not None:
                h = self.attentions[i](h)
        if self.upsamplers is not None:
            upsampler = self.upsamplers[0]
            h = upsampler(h, temb) if self.upsample_with_resnet else upsampler(h)
        return h


class AttnUpBlock2D(UpBlock2D):
    """`UpBlock2D` with self-attention after every residual block."""

    has_attention = True


class UNetMidBlock2D(nn.Module):
    """ResNet, self-attention, ResNet at the lowest resolution.

    Args:
        channels: channels in and out.
        resnet_args: see `DownBlock2D`.
        head_dim: channels per attention head.
        attention_norm_groups: GroupNorm groups before the attention; ``None`` for no norm.
        add_attention: ``False`` leaves the attention out.
        output_scale_factor: every residual output is divided by this.
    """

    def __init__(
        self,
        channels: int,
        resnet_args: dict[str, Any],
        head_dim: int,
        attention_norm_groups: int | None,
        add_attention: bool,
        output_scale_factor: float,
    ):
        super().__init__()
        # Built in the order they run, as diffusers does: the same seed gives the same weights.
        first = ResnetBlock2D(channels, channels, output_scale_factor=output_scale_factor, **resnet_args)
        self.attentions = None
        if add_attention:
            attention = SpatialSelfAttention(
                channels, head_dim, attention_norm_groups, resnet_args["eps"], output_scale_factor=output_scale_factor
            )
            self.attentions = nn.ModuleList([attention])
        second = ResnetBlock2D(channels, channels, output_scale_factor=output_scale_factor, **resnet_args)
        self.resnets = nn.ModuleList([first, second])

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        """Residual block, attention, residual block, at the lowest resolution.

        Args:
            h: features (B, channels, H, W).
            temb: the activated time embedding (B, D).

        Returns:
            Features shaped like `h`.
        """
        h = self.resnets[0](h, temb)
        if self.attentions is not None:
            h = self.attentions[0](h)
        return self.resnets[1](h, temb)


DOWN_BLOCKS: dict[str, type[DownBlock2D]] = {"DownBlock2D": DownBlock2D, "AttnDownBlock2D": AttnDownBlock2D}
MID_BLOCKS: dict[str, type[UNetMidBlock2D]] = {"UNetMidBlock2D": UNetMidBlock2D}
UP_BLOCKS: dict[str, type[UpBlock2D]] = {"UpBlock2D": UpBlock2D, "AttnUpBlock2D": AttnUpBlock2D}
