"""UNet2DModel computes the same function as diffusers' UNet2DModel from the same folder.

Each test builds diffusers' model (the test-only reference) with a fixed seed, saves it with
diffusers' own `save_pretrained`, loads the folder with gandiff and compares outputs in eval
mode. 1e-5 is float32 round-off over a few dozen layers: the two compute the same operations,
some in another order or memory layout (fused q/k/v projections, channels-last on the CPU).
"""

from __future__ import annotations

import json

import pytest
import torch

diffusers = pytest.importorskip("diffusers")
from safetensors.torch import load_file, save_file  # noqa: E402

from gandiff.models.unet_2d import UNet2DModel  # noqa: E402

TOLERANCE = 1e-5


# Small configurations covering each option DDPM-style checkpoints use.
TINY = dict(sample_size=8, block_out_channels=(8, 16), norm_num_groups=4, layers_per_block=1)
ATTN_LOW = dict(down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"))
ATTN_HIGH = dict(down_block_types=("AttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "AttnUpBlock2D"))
NO_ATTN = dict(down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"))

PARITY_CONFIGS = {
    "no-attention, pad 1, diffusers' time defaults": {**TINY, **NO_ATTN},
    "attention, pad 0, Ho et al. time features, one head": {
        **TINY, **ATTN_LOW, "downsample_padding": 0, "freq_shift": 1, "flip_sin_to_cos": False,
        "norm_eps": 1e-6, "attention_head_dim": None,
    },
    "attention at full resolution, 4-channel heads, 2 layers": {
        **TINY, **ATTN_HIGH, "layers_per_block": 2, "attention_head_dim": 4, "sample_size": 16,
    },
    "32/64 channels at 16x16, default 8-channel heads": {
        "sample_size": 16, "block_out_channels": (32, 64), "norm_num_groups": 8, **ATTN_LOW,
    },
    "three levels, classes, learned-variance output": {
        "sample_size": 16, "block_out_channels": (8, 16, 16), "norm_num_groups": 4, "layers_per_block": 1,
        "down_block_types": ("DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
        "up_block_types": ("UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        "num_class_embeds": 10, "out_channels": 6, "attention_head_dim": None,
    },
    "scale-shift, mid scale factor, own time-embedding size": {
        **TINY, **ATTN_LOW, "resnet_time_scale_shift": "scale_shift", "mid_block_scale_factor": 2 ** 0.5,
        "time_embedding_dim": 24,
    },
    "resnet resamplers, grouped mid attention norm": {
        **TINY, **ATTN_LOW, "downsample_type": "resnet", "upsample_type": "resnet", "attn_norm_num_groups": 2,
    },
    "no mid attention, mish, centred input, 1 channel, rectangular": {
        **TINY, **NO_ATTN, "add_attention": False, "act_fn": "mish", "center_input_sample": True,
        "in_channels": 1, "out_channels": 1, "sample_size": (8, 16),
    },
    "no mid block": {**TINY, **ATTN_LOW, "mid_block_type": None},
    # diffusers' own UNet2DModel test config (tests/models/unets/test_models_unet_2d.py): 8 // 3 = 2
    # heads of 3 channels on 8-channel features, so the attention is 6 channels wide.
    "2 heads of 3 on 8 channels (diffusers' test config)": {
        "sample_size": 32, "block_out_channels": (4, 8), "norm_num_groups": 2, "layers_per_block": 2,
        **ATTN_LOW, "attention_head_dim": 3,
    },
    "head size dividing no level: 2 of 3 on 8, 5 of 3 on 16, classes": {
        **TINY, **ATTN_HIGH, "up_block_types": ("AttnUpBlock2D", "AttnUpBlock2D"), "attention_head_dim": 3,
        "num_class_embeds": 4,
    },
}  # fmt: skip

# google/ddpm-cifar10-32's U-Net config (REFERENCES.md): Ho et al.'s CIFAR-10 model.
DDPM_CIFAR10 = dict(
    sample_size=32,
    block_out_channels=(128, 256, 256, 256),
    down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
    layers_per_block=2,
    downsample_padding=0,
    freq_shift=1,
    flip_sin_to_cos=False,
    norm_eps=1e-6,
    attention_head_dim=None,
)


def save_reference(config: dict, folder, seed: int = 0):
    """diffusers' model with seeded weights, saved (by diffusers) into `folder`."""
    torch.manual_seed(seed)
    reference = diffusers.UNet2DModel(**config).eval()
    reference.save_pretrained(folder)
    return reference


def inputs(model: UNet2DModel, batch: int = 2, seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    sample = torch.randn(batch, *model.sample_shape, generator=generator)
    timesteps = torch.randint(0, 1000, (batch,), generator=generator)
    labels = None
    if model.config.num_class_embeds:
        labels = torch.randint(0, model.config.num_class_embeds, (batch,), generator=generator)
    return sample, timesteps, labels


def max_difference(reference, ours, sample, timesteps, labels=None) -> float:
    with torch.no_grad():
        expected = reference(sample, timesteps, class_labels=labels).sample
        actual = ours(sample, timesteps, class_labels=labels)
    assert actual.shape == expected.shape
    return (actual - expected).abs().max().item()


@pytest.mark.parametrize("config", PARITY_CONFIGS.values(), ids=PARITY_CONFIGS.keys())
def test_same_function_as_diffusers(config, tmp_path):
    reference = save_reference(config, tmp_path)
    ours = UNet2DModel.from_pretrained(tmp_path)
    assert max_difference(reference, ours, *inputs(ours)) <= TOLERANCE


def test_ddpm_cifar10_config_parity_and_parameter_count(tmp_path):
    reference = save_reference(DDPM_CIFAR10, tmp_path)
    ours = UNet2DModel.from_pretrained(tmp_path)
    # 35,746,307: google/ddpm-cifar10-32 (REFERENCES.md), Ho et al.'s "35.7M".
    assert sum(p.numel() for p in ours.parameters()) == 35_746_307
    assert ours.sample_shape == (3, 32, 32)
    assert max_difference(reference, ours, *inputs(ours, batch=1)) <= TOLERANCE


def test_same_gradients_as_diffusers(tmp_path):
    config = PARITY_CONFIGS["attention, pad 0, Ho et al. time features, one head"]
    reference = save_reference(config, tmp_path).train()
    ours = UNet2DModel.from_pretrained(tmp_path).train()
    sample, timesteps, _ = inputs(ours)
    reference(sample, timesteps).sample.square().mean().backward()
    ours(sample, timesteps).square().mean().backward()
    reference_grads = dict(reference.named_parameters())
    for name, parameter in ours.named_parameters():
        assert torch.allclose(parameter.grad, reference_grads[name].grad, atol=1e-6, rtol=1e-4), name


def _rename_to_old_attention_keys(folder) -> int:
    """Rewrite diffusers' weights with the pre-0.14 attention names; return how many changed."""
    path = folder / "diffusion_pytorch_model.safetensors"
    state = load_file(str(path))
    new_to_old = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
    renamed = {}
    for key, value in state.items():
        for new, old in new_to_old.items():
            if ".attentions." in key and f".{new}." in key:
                key = key.replace(f".{new}.", f".{old}.")
        renamed[key] = value
    save_file(renamed, str(path), metadata={"format": "pt"})
    return sum(k not in state for k in renamed)


def test_old_attention_key_names_load(tmp_path):
    # Attention in a down block, an up block and the mid block.
    reference = save_reference(PARITY_CONFIGS["attention, pad 0, Ho et al. time features, one head"], tmp_path)
    # 3 attention blocks (1 down, 2 up) + 1 mid, 4 projections with weight and bias each.
    assert _rename_to_old_attention_keys(tmp_path) == 4 * 4 * 2
    ours = UNet2DModel.from_pretrained(tmp_path)
    assert max_difference(reference, ours, *inputs(ours)) <= TOLERANCE
    # diffusers itself reads the renamed file the same way: the old names are the real ones.
    old_reference = diffusers.UNet2DModel.from_pretrained(tmp_path).eval()
    assert max_difference(old_reference, ours, *inputs(ours)) <= TOLERANCE


def test_missing_attention_head_dim_means_8_channel_heads_as_in_diffusers(tmp_path):
    config = {**TINY, **ATTN_LOW, "attention_head_dim": None}  # 16 channels where attention is
    reference = save_reference(config, tmp_path)
    one_head = UNet2DModel.from_pretrained(tmp_path)

    path = tmp_path / "config.json"
    saved = json.loads(path.read_text())
    del saved["attention_head_dim"]
    path.write_text(json.dumps(saved))
    default_heads = UNet2DModel.from_pretrained(tmp_path)
    reference_default = diffusers.UNet2DModel.from_pretrained(tmp_path).eval()

    assert one_head.down_blocks[1].attentions[0].heads == 1
    assert default_heads.down_blocks[1].attentions[0].heads == 2  # 16 channels / 8
    assert reference_default.down_blocks[1].attentions[0].heads == 2
    # Same weights, different function, and the same function as diffusers reading that file.
    sample, timesteps, _ = inputs(one_head)
    assert max_difference(reference, one_head, sample, timesteps) <= TOLERANCE
    assert max_difference(reference_default, default_heads, sample, timesteps) <= TOLERANCE
    with torch.no_grad():
        assert (one_head(sample, timesteps) - default_heads(sample, timesteps)).abs().max() > 1e-4


def test_heads_times_head_size_below_channels_has_diffusers_shapes(tmp_path):
    reference = save_reference(PARITY_CONFIGS["2 heads of 3 on 8 channels (diffusers' test config)"], tmp_path)
    ours = UNet2DModel.from_pretrained(tmp_path)
    attention = ours.down_blocks[1].attentions[0]
    # diffusers' Attention(8, heads=8 // 3, dim_head=3): q, k, v 8 -> 6 channels, to_out 6 -> 8.
    assert attention.heads == reference.down_blocks[1].attentions[0].heads == 2
    assert attention.to_q.weight.shape == (6, 8) and attention.to_out[0].weight.shape == (8, 6)
    expected = {name: tensor.shape for name, tensor in reference.state_dict().items()}
    assert {name: tensor.shape for name, tensor in ours.state_dict().items()} == expected


# Every parity config, and google/ddpm-cifar10-32's: built from the same seed, the same weights.
SEEDED_CONFIGS = {**PARITY_CONFIGS, "google/ddpm-cifar10-32": DDPM_CIFAR10}


@pytest.mark.parametrize("config", SEEDED_CONFIGS.values(), ids=SEEDED_CONFIGS.keys())
def test_same_seed_same_initial_weights_as_diffusers(config):
    # Modules are built in diffusers' order (each resnet, then its attention; the mid block's
    # resnet, attention, resnet), so both draw the same numbers from the global generator.
    torch.manual_seed(0)
    expected = diffusers.UNet2DModel(**config).state_dict()
    torch.manual_seed(0)
    actual = UNet2DModel(**config).state_dict()
    assert actual.keys() == expected.keys()
    different = [name for name, tensor in expected.items() if not torch.equal(actual[name], tensor)]
    assert different == []


@pytest.mark.parametrize(
    "timestep",
    [37, torch.tensor(37), torch.tensor([37]), torch.tensor([37, 37]), torch.tensor(37.0)],
    ids=["int", "0-d", "1-element", "per-sample", "0-d float"],
)
def test_timestep_forms_match_diffusers(timestep, tmp_path):
    reference = save_reference({**TINY, **NO_ATTN}, tmp_path)
    ours = UNet2DModel.from_pretrained(tmp_path)
    sample, _, _ = inputs(ours)
    assert max_difference(reference, ours, sample, timestep) <= TOLERANCE
