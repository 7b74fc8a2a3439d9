"""UNet2DModel on its own: shapes, diffusers names and defaults, conditioning, and errors that teach."""

from __future__ import annotations

import json

import pytest
import torch
from toy_models import TINY_UNET_CONFIG

from gandiff.models.unet_2d import UNet2DModel

# Saving, loading, strict loading and eval determinism are tested for every registered model in
# test_models_common.py; this file holds what is the U-Net's own.


def noisy_batch(batch: int = 2, shape=(3, 8, 8)):
    generator = torch.Generator().manual_seed(1)
    return torch.randn(batch, *shape, generator=generator), torch.tensor([3, 700])[:batch]


def test_output_is_a_tensor_shaped_like_the_input(tiny_unet):
    sample, timesteps = noisy_batch()
    out = tiny_unet()(sample, timesteps)
    assert isinstance(out, torch.Tensor)
    assert out.shape == sample.shape
    assert out.is_contiguous()


def test_learned_variance_doubles_the_output_channels(tiny_unet):
    sample, timesteps = noisy_batch()
    assert tiny_unet(out_channels=6)(sample, timesteps).shape == (2, 6, 8, 8)


def test_sample_shape_comes_from_the_config(tiny_unet):
    assert tiny_unet().sample_shape == (3, 8, 8)
    assert tiny_unet(sample_size=(8, 16), in_channels=1).sample_shape == (1, 8, 16)
    with pytest.raises(ValueError, match="sample_size"):
        tiny_unet(sample_size=None).sample_shape


def test_defaults_are_diffusers_defaults():
    config = UNet2DModel(block_out_channels=(32, 64), down_block_types=("DownBlock2D",) * 2,
                         up_block_types=("UpBlock2D",) * 2).config  # fmt: skip
    assert config.attention_head_dim == 8
    assert config.norm_eps == 1e-5
    assert config.freq_shift == 0 and config.flip_sin_to_cos is True
    assert config.downsample_padding == 1 and config.norm_num_groups == 32


def test_state_dict_uses_diffusers_names(tiny_unet):
    names = set(tiny_unet(num_class_embeds=3).state_dict())
    for expected in [
        "conv_in.weight",
        "time_embedding.linear_1.weight",
        "time_embedding.linear_2.bias",
        "class_embedding.weight",
        "down_blocks.0.resnets.0.norm1.weight",
        "down_blocks.0.resnets.0.time_emb_proj.weight",
        "down_blocks.0.downsamplers.0.conv.weight",
        "down_blocks.1.resnets.0.conv_shortcut.weight",
        "down_blocks.1.attentions.0.group_norm.weight",
        "down_blocks.1.attentions.0.to_q.weight",
        "down_blocks.1.attentions.0.to_out.0.bias",
        "mid_block.resnets.1.conv2.weight",
        "mid_block.attentions.0.to_v.bias",
        "up_blocks.0.upsamplers.0.conv.weight",
        "up_blocks.1.resnets.1.conv_shortcut.weight",
        "conv_norm_out.weight",
        "conv_out.bias",
    ]:
        assert expected in names


def test_old_attention_names_are_converted():
    weight = torch.zeros(4, 4)
    converted = UNet2DModel.convert_state_dict(
        {
            "mid_block.attentions.0.query.weight": weight,
            "up_blocks.2.attentions.1.proj_attn.bias": weight,
            "down_blocks.0.resnets.0.conv1.weight": weight,  # not an attention key: unchanged
        }
    )
    assert set(converted) == {
        "mid_block.attentions.0.to_q.weight",
        "up_blocks.2.attentions.1.to_out.0.bias",
        "down_blocks.0.resnets.0.conv1.weight",
    }


@pytest.mark.parametrize("timestep", [5, torch.tensor(5), torch.tensor([5]), torch.tensor([5, 5])])
def test_one_timestep_is_broadcast_to_the_batch(timestep, tiny_unet):
    model = tiny_unet()
    sample, _ = noisy_batch()
    with torch.no_grad():
        assert torch.allclose(model(sample, timestep), model(sample, torch.tensor([5, 5])))


def test_timestep_count_must_match_the_batch(tiny_unet):
    sample, _ = noisy_batch()
    with pytest.raises(ValueError, match="timestep"):
        tiny_unet()(sample, torch.tensor([1, 2, 3]))


def test_class_labels_change_the_output(tiny_unet):
    model = tiny_unet(num_class_embeds=4)
    sample, timesteps = noisy_batch()
    with torch.no_grad():
        a = model(sample, timesteps, torch.tensor([0, 1]))
        b = model(sample, timesteps, torch.tensor([2, 3]))
    assert not torch.allclose(a, b)


@pytest.mark.parametrize(
    "labels, message",
    [(None, "class-conditional"), (torch.tensor([0, 4]), r"\[0, 4\)"), (torch.tensor([-1, 0]), r"\[0, 4\)"),
     (torch.tensor([0.0, 1.0]), "integers")],
    ids=["missing", "too large", "negative", "float"],
)  # fmt: skip
def test_bad_class_labels(labels, message, tiny_unet):
    sample, timesteps = noisy_batch()
    with pytest.raises(ValueError, match=message):
        tiny_unet(num_class_embeds=4)(sample, timesteps, labels)


def test_class_labels_for_an_unconditional_model(tiny_unet):
    sample, timesteps = noisy_batch()
    with pytest.raises(ValueError, match="unconditional"):
        tiny_unet()(sample, timesteps, torch.tensor([0, 1]))


@pytest.mark.parametrize("shape, message", [((1, 8, 8), "sample must be"), ((3, 7, 8), "multiples of 2")])
def test_bad_sample_shape(shape, message, tiny_unet):
    sample, timesteps = noisy_batch(shape=shape)
    with pytest.raises(ValueError, match=message):
        tiny_unet()(sample, timesteps)


def test_dropout_acts_in_training_only(tiny_unet):
    model = tiny_unet(dropout=0.5)
    sample, timesteps = noisy_batch()
    with torch.no_grad():
        assert torch.equal(model(sample, timesteps), model(sample, timesteps))
        model.train()
        assert not torch.equal(model(sample, timesteps), model(sample, timesteps))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"time_embedding_type": "fourier"}, "time_embedding_type='fourier'.*supported: 'positional'"),
        ({"class_embed_type": "timestep"}, "class_embed_type"),
        ({"down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D")}, r"down_block_types\[0\].*'AttnDownBlock2D'"),
        ({"up_block_types": ("UpBlock2D", "SkipUpBlock2D")}, r"up_block_types\[1\]"),
        ({"mid_block_type": "UNetMidBlock2DCrossAttn"}, "mid_block_type.*'UNetMidBlock2D'"),
        ({"resnet_time_scale_shift": "spatial"}, "resnet_time_scale_shift.*'scale_shift'"),
        ({"act_fn": "tanh"}, "act_fn.*'silu'"),
        ({"downsample_padding": 2}, "downsample_padding"),
        ({"downsample_type": "fir"}, "downsample_type"),
        ({"block_out_channels": (8, 16, 32)}, "one entry per resolution level"),
        ({"block_out_channels": (8, 18)}, r"block_out_channels\[1\]=18 is not divisible by norm_num_groups=4"),
        ({"block_out_channels": "8,16"}, "block_out_channels must be a list"),
        ({"attention_head_dim": 32}, r"block_out_channels\[1\]=16 .* smaller than attention_head_dim=32.*zero heads"),
        ({"attn_norm_num_groups": 3}, "attn_norm_num_groups=3"),
        ({"layers_per_block": "2"}, "layers_per_block must be an integer"),
        ({"layers_per_block": 0}, "layers_per_block must be an integer > 0"),
        ({"norm_eps": "1e-6"}, "norm_eps must be a number"),
        ({"dropout": 1.0}, "dropout"),
        ({"flip_sin_to_cos": "false"}, "flip_sin_to_cos must be true or false"),
        ({"down_block_types": "DownBlock2D"}, "down_block_types must be a non-empty list"),
        ({"sample_size": 9}, "multiples of 2"),
        ({"sample_size": (8, 8, 8)}, "sample_size must be an int or a"),
        ({"num_class_embeds": 0}, "num_class_embeds"),
    ],
    ids=lambda value: str(value)[:40] if isinstance(value, dict) else "",
)
def test_invalid_config_raises_naming_the_setting(overrides, message):
    with pytest.raises(ValueError, match=message):
        UNet2DModel(**{**TINY_UNET_CONFIG, **overrides})


def test_from_config_keeps_but_does_not_pass_foreign_keys():
    model = UNet2DModel.from_config({**TINY_UNET_CONFIG, "some_future_key": 1})
    assert model.config.some_future_key == 1


@pytest.mark.parametrize(
    "key, value, message",
    [("layers_per_block", "two", "layers_per_block"), ("time_embedding_type", "learned", "time_embedding_type")],
)
def test_bad_config_file(tmp_path, key, value, message, tiny_unet):
    tiny_unet().save_pretrained(tmp_path)
    path = tmp_path / "config.json"
    config = json.loads(path.read_text())
    config[key] = value
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=message):
        UNet2DModel.from_pretrained(tmp_path)
