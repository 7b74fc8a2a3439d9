"""A config file is untrusted input: sizes it asks for are checked against the weights file first.

An 823-byte config.json with ``layers_per_block: 10**6`` used to run for 71 s and exhaust memory.
Loading builds the model on the meta device, within the file's tensor and value counts, and
compares it with the safetensors header before allocating anything.
"""

import json
import time

import pytest
import torch

from gandiff import MLPDenoiser, ModelMixin, UNet2DModel


def _edit_config(folder, **changes) -> None:
    path = folder / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@pytest.mark.parametrize(
    "make, key, stops_in",
    [
        ("unet", "layers_per_block", "UNet2DModel > DownBlock2D > ResnetBlock2D"),
        ("mlp", "num_layers", "MLPDenoiser"),
    ],
)
def test_a_config_asking_for_a_million_layers_fails_at_once(make, key, stops_in, tiny_unet, tmp_path):
    model = tiny_unet() if make == "unet" else MLPDenoiser(hidden_dim=16, num_layers=2)
    model.save_pretrained(tmp_path)
    _edit_config(tmp_path, **{key: 10**6})
    assert (tmp_path / "config.json").stat().st_size < 1500
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"config\.json asks for a \w+ larger than .*model\.safetensors holds") as err:
        type(model).from_pretrained(tmp_path)
    # A safety bound, not a benchmark: ~0.1 s here, 71 s and all memory before.
    assert time.perf_counter() - start < 5
    assert stops_in in str(err.value)  # where the build stopped


def test_a_huge_layer_fails_before_any_allocation(tmp_path):
    MLPDenoiser(hidden_dim=16, num_layers=2).save_pretrained(tmp_path)
    _edit_config(tmp_path, hidden_dim=10**6)  # one 10**12-value matrix: 4 TB as float32
    start = time.perf_counter()
    with pytest.raises(ValueError, match="larger than"):
        ModelMixin.from_pretrained(tmp_path)
    assert time.perf_counter() - start < 5


def test_a_smaller_config_names_the_first_offending_key(tiny_unet, tmp_path):
    tiny_unet().save_pretrained(tmp_path)
    _edit_config(tmp_path, block_out_channels=[4, 8])
    with pytest.raises(ValueError, match=r"do not match UNet2DModel .*shape of conv_in\.weight: file \(8, 3, 3, 3\)"):
        UNet2DModel.from_pretrained(tmp_path)


def test_pickled_weights_are_checked_the_same_way(tmp_path):
    model = MLPDenoiser(hidden_dim=16, num_layers=2)
    model.save_config(tmp_path)
    torch.save(model.state_dict(), tmp_path / "diffusion_pytorch_model.bin")
    loaded = MLPDenoiser.from_pretrained(tmp_path, allow_pickle=True)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    _edit_config(tmp_path, num_layers=10**6)
    with pytest.raises(ValueError, match=r"larger than .*diffusion_pytorch_model\.bin holds"):
        MLPDenoiser.from_pretrained(tmp_path, allow_pickle=True)


class _NeedsValues(MLPDenoiser):
    """A model whose __init__ reads a tensor's value, which a meta tensor does not have."""

    def __init__(self, hidden_dim: int = 16, num_layers: int = 2):
        super().__init__(hidden_dim=hidden_dim, num_layers=num_layers)
        self.scale = next(self.parameters()).abs().max().item()


def test_a_model_that_cannot_be_built_on_meta_still_loads(tmp_path):
    model = _NeedsValues(hidden_dim=16, num_layers=2)
    model.save_pretrained(tmp_path)
    loaded = _NeedsValues.from_pretrained(tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    _edit_config(tmp_path, num_layers=10**6)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="larger than"):
        _NeedsValues.from_pretrained(tmp_path)
    assert time.perf_counter() - start < 5
