"""UNet2DModel: the DDPM noise-prediction U-Net (Ho et al. 2020, appendix B).

The configuration keys, their defaults and the state-dict names are diffusers'
``UNet2DModel``'s, so a diffusers folder (``google/ddpm-cifar10-32`` included) loads unchanged
and computes the same function. Settings gandiff does not implement raise a `ValueError` at
construction instead of being ignored.

Shape of the computation, for ``block_out_channels = (C0, C1, ...)``::

    x (B, in, H, W) -> conv_in -> down blocks (skips kept) -> mid block
      -> up blocks (one skip concatenated per residual block) -> GroupNorm, SiLU -> conv_out
    t -> sinusoidal features (C0) -> time_embedding MLP (4 C0) [+ class embedding] -> every ResNet
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import SimpleNamespace

import torch
from torch import nn
from torch.nn import functional as F

from ..outputs import model_output
from ..registry import register
from ..validation import check_bool, check_choice, check_number, check_positive
from .conditioning import check_class_labels
from .embeddings import TimestepEmbedding, sinusoidal_embedding
from .modeling import ModelMixin
from .resnet import ACTIVATIONS
from .unet_blocks import DOWN_BLOCKS, MID_BLOCKS, UP_BLOCKS

__all__ = ["UNet2DModel"]

# Names of the attention projections in checkpoints of diffusers' deprecated AttentionBlock
# (google/ddpm-*): same shapes, other names.
_OLD_ATTENTION_NAMES = {"query": "to_q", "key": "to_k", "value": "to_v", "proj_attn": "to_out.0"}
_OLD_ATTENTION_KEY = re.compile(r"^(.*\.attentions\.\d+)\.(query|key|value|proj_attn)\.(weight|bias)$")


def _check_supported(name: str, value, supported: Sequence, hint: str = "") -> None:
    """`ValueError` for a value diffusers accepts but gandiff does not implement."""
    if value not in supported:
        raise ValueError(
            f"UNet2DModel does not support {name}={value!r}; supported: {', '.join(map(repr, supported))}{hint}"
        )


def _check_names(name: str, value, table: dict) -> None:
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) == 0:
        raise ValueError(f"{name} must be a non-empty list of block names, got {value!r}")
    for i, block in enumerate(value):
        check_choice(f"{name}[{i}]", block, table)


def _check_config(c: SimpleNamespace) -> None:
    """Every check of the configuration `c`, each error naming the setting and the fix."""
    check_positive("in_channels", c.in_channels)
    check_positive("out_channels", c.out_channels)
    check_bool("center_input_sample", c.center_input_sample)
    _check_supported("time_embedding_type", c.time_embedding_type, ("positional",))
    check_positive("time_embedding_dim", c.time_embedding_dim, allow_none=True)
    check_number("freq_shift", c.freq_shift)
    check_bool("flip_sin_to_cos", c.flip_sin_to_cos)
    _check_names("down_block_types", c.down_block_types, DOWN_BLOCKS)
    _check_names("up_block_types", c.up_block_types, UP_BLOCKS)
    check_choice("mid_block_type", c.mid_block_type, (*MID_BLOCKS, None))
    if isinstance(c.block_out_channels, str) or not isinstance(c.block_out_channels, Sequence):
        raise ValueError(f"block_out_channels must be a list of channel counts, got {c.block_out_channels!r}")
    for i, channels in enumerate(c.block_out_channels):
        check_positive(f"block_out_channels[{i}]", channels)
    levels = len(c.block_out_channels)
    if not len(c.down_block_types) == len(c.up_block_types) == levels:
        raise ValueError(
            f"block_out_channels ({levels} levels), down_block_types ({len(c.down_block_types)}) and "
            f"up_block_types ({len(c.up_block_types)}) need one entry per resolution level each"
        )
    check_positive("layers_per_block", c.layers_per_block)
    check_number("mid_block_scale_factor", c.mid_block_scale_factor, above=0)
    check_choice("downsample_padding", c.downsample_padding, (0, 1))
    check_choice("downsample_type", c.downsample_type, ("conv", "resnet"))
    check_choice("upsample_type", c.upsample_type, ("conv", "resnet"))
    check_number("dropout", c.dropout, at_least=0, below=1)  # a probability; 1 would drop everything
    if not isinstance(c.act_fn, str):
        raise ValueError(f"act_fn must be a string, got {c.act_fn!r}")
    check_choice("act_fn", c.act_fn.lower(), ACTIVATIONS)
    check_positive("attention_head_dim", c.attention_head_dim, allow_none=True)
    check_positive("norm_num_groups", c.norm_num_groups)
    check_positive("attn_norm_num_groups", c.attn_norm_num_groups, allow_none=True)
    check_number("norm_eps", c.norm_eps, above=0)
    check_choice("resnet_time_scale_shift", c.resnet_time_scale_shift, ("default", "scale_shift"))
    check_bool("add_attention", c.add_attention)
    _check_supported(
        "class_embed_type", c.class_embed_type, (None,), hint=" (with num_class_embeds for a class embedding)"
    )
    check_positive("num_class_embeds", c.num_class_embeds, allow_none=True)
    check_positive("num_train_timesteps", c.num_train_timesteps, allow_none=True)

    # Channel arithmetic: GroupNorm splits channels into equal groups.
    # (Up blocks normalize sums of these counts, divisible whenever the counts are.)
    for i, channels in enumerate(c.block_out_channels):
        if channels % c.norm_num_groups:
            raise ValueError(
                f"block_out_channels[{i}]={channels} is not divisible by norm_num_groups={c.norm_num_groups}; "
                "GroupNorm splits the channels into equal groups"
            )
    levels_with_attention = {i for i, name in enumerate(c.down_block_types) if DOWN_BLOCKS[name].has_attention}
    levels_with_attention |= {
        levels - 1 - i for i, name in enumerate(c.up_block_types) if UP_BLOCKS[name].has_attention
    }
    if c.mid_block_type is not None and c.add_attention:
        levels_with_attention.add(levels - 1)
        lowest = c.block_out_channels[-1]
        if c.attn_norm_num_groups is not None and lowest % c.attn_norm_num_groups:
            raise ValueError(
                f"block_out_channels[-1]={lowest} is not divisible by attn_norm_num_groups={c.attn_norm_num_groups}"
            )
    # A head size that does not divide the channels is fine (diffusers' channels // head_dim heads
    # over fewer channels, see SpatialSelfAttention); one larger than the channels gives zero heads,
    # which diffusers builds and then divides by zero at the first call.
    if c.attention_head_dim is not None:
        for i in sorted(levels_with_attention):
            if c.block_out_channels[i] < c.attention_head_dim:
                raise ValueError(
                    f"block_out_channels[{i}]={c.block_out_channels[i]} has attention but is smaller than "
                    f"attention_head_dim={c.attention_head_dim}, which gives zero heads; use a head size of at most "
                    f"{c.block_out_channels[i]}, or null for one head over all channels"
                )

    if c.sample_size is not None:
        sizes = [c.sample_size] * 2 if isinstance(c.sample_size, int) else c.sample_size
        if isinstance(sizes, str) or not isinstance(sizes, Sequence) or len(sizes) != 2:
            raise ValueError(f"sample_size must be an int or a [height, width] pair, got {c.sample_size!r}")
        factor = 2 ** (levels - 1)
        for size in sizes:
            check_positive("sample_size", size)
            if size % factor:
                raise ValueError(
                    f"sample_size={c.sample_size!r} must hold multiples of {factor}: "
                    f"{levels} levels halve the resolution {levels - 1} times"
                )


@register("model")
class UNet2DModel(ModelMixin):
    """The DDPM U-Net, configured with diffusers' ``UNet2DModel`` keys.

    ``unet(sample, timestep, class_labels=None)`` returns a tensor shaped like `sample` (with
    `out_channels` channels): the predicted noise, x_0 or v, as the training objective chose.

    Args:
        sample_size: height and width of a sample (an int for square samples, or a pair);
            informs pipelines through `sample_shape`. Each must be a multiple of
            ``2 ** (len(block_out_channels) - 1)``. ``None`` when unknown.
        in_channels: channels of the input sample.
        out_channels: channels of the output; twice `in_channels` for a learned variance
            (Nichol & Dhariwal 2021).
        center_input_sample: map an input in [0, 1] to [-1, 1] first (``2 x - 1``).
        time_embedding_type: ``"positional"`` (sinusoidal) only; diffusers' ``"fourier"`` and
            ``"learned"`` are not implemented.
        time_embedding_dim: size of the time embedding; ``None`` gives ``4 * block_out_channels[0]``.
        freq_shift: the shift in the sinusoidal frequencies (1 in Ho et al.'s code), see
            `sinusoidal_embedding`.
        flip_sin_to_cos: order the features ``[cos, sin]`` (``False`` in Ho et al.'s code).
        down_block_types: one of ``"DownBlock2D"``, ``"AttnDownBlock2D"`` per resolution.
        mid_block_type: ``"UNetMidBlock2D"``, or ``None`` for no mid block.
        up_block_types: one of ``"UpBlock2D"``, ``"AttnUpBlock2D"`` per resolution, lowest first.
        block_out_channels: channels at each resolution, highest first.
        layers_per_block: residual blocks per down block (up blocks have one more).
        mid_block_scale_factor: the mid block's residual outputs are divided by this.
        downsample_padding: 1 (symmetric) or 0 (pad bottom/right only, Ho et al.'s
            TensorFlow "SAME" padding), see `Downsample2D`.
        downsample_type: ``"conv"`` or ``"resnet"``; read by attention down blocks only, as in
            diffusers.
        upsample_type: ``"conv"`` or ``"resnet"``; read by attention up blocks only.
        dropout: dropout probability inside every residual block (Ho et al.: 0.1 on CIFAR-10).
        act_fn: the residual blocks' activation: ``"silu"`` (= ``"swish"``), ``"mish"``,
            ``"gelu"`` or ``"relu"``.
        attention_head_dim: channels per attention head; ``None`` means one head over all
            channels (Ho et al.; google/ddpm-cifar10-32 says ``null``). As in diffusers it need
            not divide the channels: 3 on 8 channels gives 2 heads of 3, attending in 6 channels. Note that a config
            *without* this key gets the default 8: same weight shapes, a different function.
        norm_num_groups: GroupNorm groups everywhere (must divide every channel count).
        attn_norm_num_groups: GroupNorm groups before the mid-block attention; ``None`` uses
            `norm_num_groups` with ``resnet_time_scale_shift="default"`` and no norm with
            ``"scale_shift"`` (diffusers' rule).
        norm_eps: GroupNorm epsilon (1e-6 in Ho et al.'s code; diffusers' default 1e-5).
        resnet_time_scale_shift: ``"default"`` adds the time embedding; ``"scale_shift"``
            scales and shifts the normalized features with it.
        add_attention: include the mid block's attention.
        class_embed_type: ``None`` only: with `num_class_embeds`, a learned embedding per class
            is added to the time embedding.
        num_class_embeds: number of classes for class conditioning, or ``None``.
        num_train_timesteps: read by diffusers' ``"learned"`` time embedding only; kept so
            that configs load unchanged.

    Raises:
        ValueError: for an invalid setting (unknown block type, group count that does not
            divide the channels, sample size the down path cannot halve, ...), naming the fix.

    Example:
        >>> import torch
        >>> from gandiff import UNet2DModel
        >>> unet = UNet2DModel(
        ...     sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16),
        ...     down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        ...     layers_per_block=1, norm_num_groups=4,
        ... )
        >>> x_t = torch.randn(2, 1, 8, 8)
        >>> unet(x_t, torch.tensor([10, 500])).shape
        torch.Size([2, 1, 8, 8])
        >>> unet.sample_shape, unet.config.block_out_channels
        ((1, 8, 8), (8, 16))
    """

    diffusers_name = "UNet2DModel"  # same config keys and state-dict names: diffusers loads our saves

    def __init__(
        self,
        sample_size: int | tuple[int, int] | None = None,
        in_channels: int = 3,
        out_channels: int = 3,
        center_input_sample: bool = False,
        time_embedding_type: str = "positional",
        time_embedding_dim: int | None = None,
        freq_shift: float = 0,
        flip_sin_to_cos: bool = True,
        down_block_types: tuple[str, ...] = ("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
        mid_block_type: str | None = "UNetMidBlock2D",
        up_block_types: tuple[str, ...] = ("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        block_out_channels: tuple[int, ...] = (224, 448, 672, 896),
        layers_per_block: int = 2,
        mid_block_scale_factor: float = 1,
        downsample_padding: int = 1,
        downsample_type: str = "conv",
        upsample_type: str = "conv",
        dropout: float = 0.0,
        act_fn: str = "silu",
        attention_head_dim: int | None = 8,
        norm_num_groups: int = 32,
        attn_norm_num_groups: int | None = None,
        norm_eps: float = 1e-5,
        resnet_time_scale_shift: str = "default",
        add_attention: bool = True,
        class_embed_type: str | None = None,
        num_class_embeds: int | None = None,
        num_train_timesteps: int | None = None,
    ):
        # Validate before building anything. Here `locals()` is the arguments (and `self`).
        arguments = dict(locals())
        del arguments["self"]
        _check_config(SimpleNamespace(**arguments))
        super().__init__()
        channels = list(block_out_channels)
        time_embed_dim = time_embedding_dim or 4 * channels[0]
        self.act = ACTIVATIONS[act_fn.lower()]

        # diffusers' rule: no head size means one head over all channels of that block.
        def head_dim(block_channels: int) -> int:
            return attention_head_dim if attention_head_dim is not None else block_channels

        self.conv_in = nn.Conv2d(in_channels, channels[0], kernel_size=3, padding=1)
        self.time_embedding = TimestepEmbedding(channels[0], time_embed_dim)
        self.class_embedding = nn.Embedding(num_class_embeds, time_embed_dim) if num_class_embeds else None

        resnet_args = dict(
            temb_channels=time_embed_dim,
            groups=norm_num_groups,
            eps=norm_eps,
            dropout=dropout,
            act_fn=act_fn,
            time_scale_shift=resnet_time_scale_shift,
        )
        self.down_blocks = nn.ModuleList()
        for i, name in enumerate(down_block_types):
            block_class = DOWN_BLOCKS[name]
            self.down_blocks.append(
                block_class(
                    in_channels=channels[max(i - 1, 0)],
                    out_channels=channels[i],
                    num_layers=layers_per_block,
                    add_downsample=i < len(channels) - 1,
                    resnet_args=resnet_args,
                    head_dim=head_dim(channels[i]),
                    downsample_padding=downsample_padding,
                    downsample_type=downsample_type,
                )
            )

        self.mid_block = None
        if mid_block_type is not None:
            if attn_norm_num_groups is None and resnet_time_scale_shift == "default":
                attn_norm_num_groups = norm_num_groups
            self.mid_block = MID_BLOCKS[mid_block_type](
                channels=channels[-1],
                resnet_args=resnet_args,
                head_dim=head_dim(channels[-1]),
                attention_norm_groups=attn_norm_num_groups,
                add_attention=add_attention,
                output_scale_factor=mid_block_scale_factor,
            )

        self.up_blocks = nn.ModuleList()
        reversed_channels = channels[::-1]
        for i, name in enumerate(up_block_types):
            block_class = UP_BLOCKS[name]
            self.up_blocks.append(
                block_class(
                    in_channels=reversed_channels[min(i + 1, len(channels) - 1)],
                    prev_output_channel=reversed_channels[max(i - 1, 0)],
                    out_channels=reversed_channels[i],
                    num_layers=layers_per_block + 1,
                    add_upsample=i < len(channels) - 1,
                    resnet_args=resnet_args,
                    head_dim=head_dim(reversed_channels[i]),
                    upsample_type=upsample_type,
                )
            )

        self.conv_norm_out = nn.GroupNorm(norm_num_groups, channels[0], eps=norm_eps)
        self.conv_out = nn.Conv2d(channels[0], out_channels, kernel_size=3, padding=1)

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        """``(in_channels, height, width)`` of one sample, from the config."""
        size = self.config.sample_size
        if size is None:
            raise ValueError("this UNet2DModel's config has no sample_size; build it with sample_size=...")
        height, width = (size, size) if isinstance(size, int) else size
        return (self.config.in_channels, height, width)

    @classmethod
    def convert_state_dict(cls, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Rename the old attention keys (``...attentions.0.query.weight`` -> ``...to_q.weight``).

        The same renaming as diffusers' ``_fix_state_dict_keys_on_load``; shapes are unchanged.

        Args:
            state_dict: the weights as read from the file.

        Returns:
            The weights under the current names.
        """
        converted = {}
        for key, value in state_dict.items():
            match = _OLD_ATTENTION_KEY.match(key)
            if match:
                path, old_name, kind = match.groups()
                key = f"{path}.{_OLD_ATTENTION_NAMES[old_name]}.{kind}"
            converted[key] = value
        return converted

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | int | float,
        class_labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> torch.Tensor:
        """Predict from a noisy batch.

        Args:
            sample: ``(B, in_channels, H, W)``; H and W multiples of ``2 ** (levels - 1)``.
            timestep: an int or float, a 0-d tensor, or a 1-D tensor of 1 or B timesteps.
            class_labels: ``(B,)`` (or one) integer labels in ``[0, num_class_embeds)``;
                required exactly when the model is class-conditional.
            return_dict: ``None`` returns the tensor; ``True`` a `ModelOutput` (``.sample``) and ``False`` the
                tuple ``(tensor,)``, as diffusers' models (`gandiff.outputs.model_output`).

        Returns:
            ``(B, out_channels, H, W)``.
        """
        self._check_sample(sample)
        batch = sample.shape[0]
        if self.config.center_input_sample:
            sample = 2 * sample - 1.0

        # 1. time (and class) embedding, (B, D)
        timesteps = _per_sample(timestep, batch, sample.device, "timestep")
        features = sinusoidal_embedding(
            timesteps, self.conv_in.out_channels, self.config.flip_sin_to_cos, self.config.freq_shift
        )
        emb = self.time_embedding(features.to(self.time_embedding.linear_1.weight.dtype))
        if self.class_embedding is not None:
            emb = emb + self.class_embedding(self._check_class_labels(class_labels, batch, sample.device))
        elif class_labels is not None:
            raise ValueError("class_labels were given, but this model is unconditional (num_class_embeds is null)")
        # Every residual block reads act(emb); computing it here saves one activation per block.
        temb = self.act(emb)

        # 2. down, keeping every intermediate output for the skip connections
        if sample.device.type == "cpu":
            # oneDNN's convolutions and the CPU GroupNorm are faster on channels-last (NHWC)
            # tensors, and attention's (B, HW, C) tokens are then a free view: about 1.2x per
            # training step (benchmarks/unet_speed.py). CUDA's GroupNorm works on NCHW only,
            # so other devices keep the caller's layout.
            sample = sample.contiguous(memory_format=torch.channels_last)
        h = self.conv_in(sample)
        skips = [h]
        for block in self.down_blocks:
            h, block_skips = block(h, temb)
            skips += block_skips

        # 3. middle
        if self.mid_block is not None:
            h = self.mid_block(h, temb)

        # 4. up: each block reads as many skips as it has residual blocks, last made first
        for block in self.up_blocks:
            n = len(block.resnets)
            h = block(h, skips[-n:], temb)
            del skips[-n:]

        # 5. out, in the standard layout so that callers can `.view` it
        return model_output(self.conv_out(F.silu(self.conv_norm_out(h))).contiguous(), return_dict)

    def _check_sample(self, sample: torch.Tensor) -> None:
        if sample.ndim != 4 or sample.shape[1] != self.conv_in.in_channels:
            raise ValueError(
                f"sample must be (batch, {self.conv_in.in_channels}, height, width), got shape {tuple(sample.shape)}"
            )
        factor = 2 ** (len(self.down_blocks) - 1)
        if sample.shape[2] % factor or sample.shape[3] % factor:
            raise ValueError(
                f"sample height and width must be multiples of {factor} for {len(self.down_blocks)} levels, "
                f"got {tuple(sample.shape[2:])}"
            )

    def _check_class_labels(self, class_labels, batch: int, device: torch.device) -> torch.Tensor:
        if class_labels is not None:
            class_labels = _per_sample(class_labels, batch, device, "class_labels")  # one label -> (B,)
        return check_class_labels(class_labels, self.class_embedding.num_embeddings, batch, device)


def _per_sample(value: torch.Tensor | int | float, batch: int, device: torch.device, name: str) -> torch.Tensor:
    """A number, a 0-d tensor or a 1-D tensor of 1 or `batch` values -> a (batch,) tensor."""
    values = torch.as_tensor(value, device=device)
    if values.ndim > 1 or (values.ndim == 1 and values.shape[0] not in (1, batch)):
        raise ValueError(
            f"{name} must be a number or hold 1 or {batch} (the batch size) values, got shape {tuple(values.shape)}"
        )
    return values.reshape(-1).expand(batch)
