"""Spatial self-attention: every pixel attends to every pixel of the same feature map.

Ho et al. (2020) put one such block after each residual block at 16x16 (PixelCNN++ /
Self-Attention GAN style): GroupNorm, one head over all channels, and a residual connection.
Split into heads as diffusers' ``Attention(channels, heads=channels // head_dim, dim_head=head_dim)``
does: ``channels // head_dim`` heads of `head_dim` channels each, so the attention works in
``heads * head_dim`` channels, which may be fewer than the feature map has (2 heads of 3 on 8
channels): q, k and v project down to that width and ``to_out`` projects back up.
The parameter names are diffusers' (``group_norm, to_q, to_k, to_v, to_out.0``); older
checkpoints name the projections ``query, key, value, proj_attn`` (see
`UNet2DModel.convert_state_dict`).
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

__all__ = ["SpatialSelfAttention"]


class SpatialSelfAttention(nn.Module):
    """``x + to_out(softmax(q k^T / sqrt(d)) v)`` over the H*W positions, with q, k, v linear in
    ``group_norm(x)``, split into ``channels // head_dim`` heads of `head_dim` channels.

    Args:
        channels: channels of the feature map (the token width).
        head_dim: channels per head, at most `channels`; ``channels`` gives one head. A
            `head_dim` that does not divide `channels` gives ``channels // head_dim`` heads
            over ``heads * head_dim`` channels, as in diffusers.
        norm_groups: GroupNorm groups before the projections; ``None`` for no norm.
        eps: GroupNorm epsilon.
        output_scale_factor: the output (residual included) is divided by this.
    """

    def __init__(
        self,
        channels: int,
        head_dim: int,
        norm_groups: int | None,
        eps: float,
        output_scale_factor: float = 1.0,
    ):
        super().__init__()
        if not 0 < head_dim <= channels:
            raise ValueError(f"head_dim={head_dim} must be between 1 and channels={channels} (larger gives no head)")
        self.heads = channels // head_dim
        inner = self.heads * head_dim  # the attention's width; < channels when head_dim does not divide them
        self.output_scale_factor = output_scale_factor
        self.group_norm = nn.GroupNorm(norm_groups, channels, eps=eps) if norm_groups is not None else None
        self.to_q = nn.Linear(channels, inner)
        self.to_k = nn.Linear(channels, inner)
        self.to_v = nn.Linear(channels, inner)
        # A list of one because diffusers' checkpoints name this weight `to_out.0.weight`
        # (its slot 1 is a parameter-free dropout that this block does not need).
        self.to_out = nn.ModuleList([nn.Linear(inner, channels)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend over the positions of a feature map.

        Args:
            x: features (B, channels, H, W).

        Returns:
            A tensor shaped like `x`.
        """
        # einops axes: b batch, c channels, h w the feature map, n = h * w tokens, and the
        # attention's heads * d channels (I = heads * d <= C).
        height = x.shape[2]
        h = self.group_norm(x) if self.group_norm is not None else x
        # A free view when `h` is channels-last, one copy otherwise.
        tokens = rearrange(h, "b c h w -> b (h w) c")  # (B, HW, C)

        # One matrix product for q, k and v instead of three.
        weight = torch.cat([self.to_q.weight, self.to_k.weight, self.to_v.weight])  # (3I, C)
        bias = torch.cat([self.to_q.bias, self.to_k.bias, self.to_v.bias])  # (3I,)
        qkv = F.linear(tokens, weight, bias)  # (B, HW, 3I)
        # q, k, v: each (B, heads, HW, d)
        q, k, v = rearrange(qkv, "b n (qkv heads d) -> qkv b heads n d", qkv=3, heads=self.heads)

        out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, HW, d); scale 1/sqrt(d)
        out = rearrange(out, "b heads n d -> b n (heads d)")  # (B, HW, I)
        out = self.to_out[0](out)  # (B, HW, C)
        # (B, C, H, W) with channels-last strides: a view, no copy.
        out = rearrange(out, "b (h w) c -> b c h w", h=height)
        out = out + x
        if self.output_scale_factor != 1:
            out = out / self.output_scale_factor
        return out
