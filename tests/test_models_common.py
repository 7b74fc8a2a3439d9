"""What every registered model promises, run over the registry (as diffusers' ModelTesterMixin runs
one test body over every model): save -> load gives the same state dict and outputs, the config
round-trips, loading is strict and names the key, outputs have the documented shape, eval mode
is deterministic, and a bad setting fails in ``__init__`` naming it (`INVALID_CONFIGS`).

A new registered model needs an entry in `CASES` (its role and small constructor arguments); the
tests fail for it until it has one. What is specific to an architecture (reference parameter counts,
parity with diffusers) stays in that model's own test file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from toy_models import TINY_UNET_CONFIG

from gandiff.models.modeling import ModelMixin
from gandiff.registry import known_names, lookup
from gandiff.saving import SAFETENSORS_WEIGHTS_NAMES

BATCH = 4


@dataclass(frozen=True)
class Case:
    """How to build and call one model.

    `role` says what the model takes and returns: a ``denoiser`` maps (x_t, t[, labels]) to a
    tensor shaped like x_t; a ``generator`` maps (z (B, latent_dim)[, labels]) to (B,
    *sample_shape); a ``discriminator`` maps (x[, labels]) to scores (B,). With `num_classes`, the
    calls pass labels in [0, num_classes).
    """

    role: str
    kwargs: dict = field(default_factory=dict)
    num_classes: int | None = None


# Registered name -> {case id: Case}. Sizes are toy sizes; the variants cover batch norm running
# statistics, spectral-norm vectors, class embeddings and dropout, which a save must carry.
CASES: dict[str, dict[str, Case]] = {
    "UNet2DModel": {
        "conditional-dropout": Case(
            "denoiser", dict(TINY_UNET_CONFIG, num_class_embeds=3, dropout=0.1), num_classes=3
        ),
    },
    "DCGANGenerator": {
        "28": Case("generator", dict(latent_dim=16, resolution=28, out_channels=1, base_channels=8)),
        "conditional": Case("generator", dict(latent_dim=16, resolution=32, base_channels=8, num_classes=3), 3),
    },
    "DCGANDiscriminator": {
        "batch-norm": Case("discriminator", dict(resolution=32, base_channels=8)),
        "critic-sn-conditional": Case(
            "discriminator",
            dict(resolution=32, base_channels=8, num_classes=3, output="critic", spectral_norm=True, batch_norm=False),
            num_classes=3,
        ),
    },
    "MLPDenoiser": {
        "plain": Case("denoiser"),
        "conditional": Case("denoiser", dict(num_classes=25, time_embedding_dim=16), num_classes=25),
    },
    "MLPGenerator": {
        "plain": Case("generator"),
        "conditional": Case("generator", dict(latent_dim=3, num_classes=8), num_classes=8),
    },
    "MLPDiscriminator": {
        "critic-sn-conditional": Case(
            "discriminator", dict(output="critic", spectral_norm=True, num_classes=8), num_classes=8
        ),
    },
}

# Every registered model; a name starting with "_" is a test's own registration (test_pipelines
# registers such models), not a model of the library.
REGISTERED = [name for name in known_names("model") if not name.startswith("_")]
PARAMS = [
    pytest.param((name, case_id), id=f"{name}-{case_id}")
    for name in REGISTERED
    for case_id in CASES.get(name, {"no-entry": None})
]


@pytest.fixture(params=PARAMS)
def case(request) -> tuple[type, Case]:
    name, case_id = request.param
    if name not in CASES:
        pytest.fail(
            f"model {name!r} is registered but has no entry in CASES of tests/test_models_common.py; "
            "add one (its role and small constructor arguments) so the common model tests cover it"
        )
    return lookup("model", name), CASES[name][case_id]


def build(cls: type, case: Case) -> ModelMixin:
    torch.manual_seed(0)
    return cls(**case.kwargs)


def make_inputs(model: ModelMixin, case: Case) -> tuple:
    generator = torch.Generator().manual_seed(1)
    labels = (torch.arange(BATCH) % case.num_classes,) if case.num_classes else ()
    if case.role == "generator":
        return (torch.randn(BATCH, model.config.latent_dim, generator=generator), *labels)
    x = torch.randn(BATCH, *model.sample_shape, generator=generator)
    if case.role == "denoiser":
        return (x, torch.randint(0, 1000, (BATCH,), generator=generator), *labels)
    assert case.role == "discriminator", f"unknown role {case.role!r}"
    return (x, *labels)


def trained_and_saved(cls: type, case: Case, folder) -> tuple[ModelMixin, tuple]:
    """A model whose buffers moved off their start, in eval mode, saved into `folder`."""
    model = build(cls, case)
    inputs = make_inputs(model, case)
    with torch.no_grad():
        model.train()(*inputs)  # moves batch-norm running statistics and spectral-norm vectors
    model.eval().save_pretrained(folder)
    return model, inputs


def saved_weights(folder) -> Path:
    """The weights file a save wrote: diffusers' name for a model with a diffusers twin, gandiff's otherwise."""
    (weights,) = [folder / name for name in SAFETENSORS_WEIGHTS_NAMES if (folder / name).is_file()]
    return weights


def test_table_names_only_registered_models():
    stale = sorted(set(CASES) - set(REGISTERED))
    assert not stale, f"CASES names models the registry does not know: {stale}"


def test_save_and_load_round_trip(case, tmp_path):
    cls, case = case
    model, inputs = trained_and_saved(cls, case, tmp_path)
    loaded = cls.from_pretrained(tmp_path)
    assert type(loaded) is cls and not loaded.training
    assert loaded.config == model.config
    assert json.loads((tmp_path / "config.json").read_text())["_class_name"] == cls.__name__
    state, loaded_state = model.state_dict(), loaded.state_dict()
    assert state.keys() == loaded_state.keys()
    assert all(torch.equal(state[key], loaded_state[key]) for key in state)
    with torch.no_grad():
        torch.testing.assert_close(loaded(*inputs), model(*inputs), rtol=0, atol=0)


def test_the_base_class_loads_the_saved_class_through_the_registry(case, tmp_path):
    cls, case = case
    trained_and_saved(cls, case, tmp_path)
    assert type(ModelMixin.from_pretrained(tmp_path)) is cls


def test_config_round_trip(case, tmp_path):
    cls, case = case
    model = build(cls, case)
    assert {key: model.config[key] for key in case.kwargs} == case.kwargs  # the constructor's arguments
    rebuilt = cls.from_config(model.config)
    assert rebuilt.config == model.config
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}
    model.save_config(tmp_path)
    assert cls.from_config(json.loads((tmp_path / "config.json").read_text())).config == model.config


def test_strict_loading_names_a_missing_key(case, tmp_path):
    from safetensors.torch import load_file, save_file

    cls, case = case
    trained_and_saved(cls, case, tmp_path)
    weights = saved_weights(tmp_path)
    state = load_file(str(weights))
    missing = sorted(state)[len(state) // 2]
    del state[missing]
    save_file(state, str(weights))
    with pytest.raises(ValueError, match=f"missing {missing} "):
        cls.from_pretrained(tmp_path)


def test_strict_loading_names_an_unexpected_key_and_a_wrong_shape(case, tmp_path):
    from safetensors.torch import load_file, save_file

    cls, case = case
    model, _ = trained_and_saved(cls, case, tmp_path)
    weights = saved_weights(tmp_path)
    state = load_file(str(weights))
    reshaped = next(key for key, value in state.items() if value.dim() >= 1)
    wrong_shape = (state[reshaped].shape[0] + 1, *state[reshaped].shape[1:])
    state[reshaped] = torch.zeros(wrong_shape)
    state["extra.weight"] = torch.zeros(2)
    save_file(state, str(weights))
    with pytest.raises(ValueError) as error:
        cls.from_pretrained(tmp_path)
    assert "unexpected extra.weight (2,)" in str(error.value)
    expected_shape = tuple(model.state_dict()[reshaped].shape)
    assert f"shape of {reshaped}: file {wrong_shape}, model {expected_shape}" in str(error.value)


def test_a_truncated_weights_file_is_an_error(case, tmp_path):
    cls, case = case
    trained_and_saved(cls, case, tmp_path)
    weights = saved_weights(tmp_path)
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated"):
        cls.from_pretrained(tmp_path)


def test_output_shape(case):
    cls, case = case
    model = build(cls, case).eval()
    inputs = make_inputs(model, case)
    with torch.no_grad():
        out = model(*inputs)
    assert isinstance(out, torch.Tensor)  # models return tensors (DESIGN, "Models")
    expected = {
        "denoiser": inputs[0].shape,
        "generator": (BATCH, *model.sample_shape),
        "discriminator": (BATCH,),
    }[case.role]
    assert out.shape == expected
    assert torch.isfinite(out).all()


def test_eval_output_is_deterministic(case):
    cls, case = case
    first, second = build(cls, case).eval(), build(cls, case).eval()
    inputs = make_inputs(first, case)
    with torch.no_grad():
        # Same seed, same weights; in eval mode dropout is off and batch norm uses its statistics.
        assert torch.equal(first(*inputs), first(*inputs))
        assert torch.equal(first(*inputs), second(*inputs))


# (registered name, bad constructor arguments, what the one-line ValueError must say): the setting,
# and the valid values where there is a list (STYLE.md: validate in __init__ with messages that teach).
INVALID_CONFIGS = [
    ("DCGANGenerator", {"resolution": 48}, "resolution=48.*28, 32, 64, 128"),
    ("DCGANDiscriminator", {"resolution": 256}, "resolution=256.*28, 32, 64, 128"),
    ("DCGANDiscriminator", {"output": "probability"}, "output='probability'.*'logit', 'critic'"),
    ("DCGANGenerator", {"latent_dim": 0}, "latent_dim"),
    ("DCGANDiscriminator", {"base_channels": -8}, "base_channels"),
    ("DCGANGenerator", {"num_classes": 0}, "num_classes"),
    ("DCGANDiscriminator", {"num_classes": 2.5}, "num_classes"),
    ("MLPDiscriminator", {"output": "sigmoid"}, "output='sigmoid'.*'logit', 'critic'"),
    ("MLPGenerator", {"hidden_dim": 0}, "hidden_dim"),
    ("MLPDenoiser", {"num_layers": -1}, "num_layers"),
    ("MLPDiscriminator", {"num_classes": 0}, "num_classes"),
    ("MLPDenoiser", {"num_train_timesteps": 0}, "num_train_timesteps"),
]


@pytest.mark.parametrize("name, kwargs, message", INVALID_CONFIGS)
def test_invalid_config_fails_in_init_naming_the_valid_values(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        lookup("model", name)(**kwargs)


def test_every_public_model_name_is_the_registered_class():
    import gandiff

    for name in REGISTERED:
        if hasattr(gandiff, name):  # plugins register models that are no public name of gandiff
            assert getattr(gandiff, name) is lookup("model", name)
    assert {"UNet2DModel", "DCGANGenerator", "MLPDenoiser"} <= set(REGISTERED)


def test_return_dict_gives_diffusers_forms_of_the_same_tensor(case):
    from gandiff.outputs import ModelOutput

    cls, case = case
    model = build(cls, case).eval()
    inputs = make_inputs(model, case)
    with torch.no_grad():
        tensor = model(*inputs)
        output = model(*inputs, return_dict=True)
        as_tuple = model(*inputs, return_dict=False)
    assert type(tensor) is torch.Tensor  # "Models return tensors" (DESIGN), by default
    assert isinstance(output, ModelOutput) and torch.equal(output.sample, tensor)  # diffusers' `.sample`
    assert type(as_tuple) is tuple and len(as_tuple) == 1 and torch.equal(as_tuple[0], tensor)


def test_dtype_and_device_follow_the_parameters(case):
    cls, case = case
    model = build(cls, case)
    assert model.dtype == torch.float32 and model.device == torch.device("cpu")
    assert model.to(torch.float64).dtype == torch.float64
    assert model.to(torch.bfloat16).dtype == torch.bfloat16
