"""diffusers' calling conventions hold on gandiff's schedulers, models and pipelines (issue 15).

Each test calls the same thing on diffusers 0.42.1's class (the test-only reference) and on
gandiff's: ``step(..., return_dict=False)`` tuples, ``len(scheduler)``, ``scheduler.order``,
``scheduler.compatibles``, ``previous_timestep`` as a tensor, ``model(..., return_dict=...)``,
``model.dtype`` / ``model.device``, ``pipe(...)[0]`` and ``pipe(..., return_dict=False)``.

gandiff's models return a tensor by default (DESIGN: "Models return tensors"); diffusers' forms
come with ``return_dict=True`` (an output with ``.sample``) and ``return_dict=False`` (a tuple).
"""

from __future__ import annotations

import pytest
import torch
from toy_models import TINY_UNET_CONFIG

diffusers = pytest.importorskip("diffusers")

from gandiff import (  # noqa: E402  # noqa: E402
    DCGANDiscriminator,
    DCGANGenerator,
    DDIMScheduler,
    DDPMPipeline,
    DDPMScheduler,
    GANPipeline,
    UNet2DModel,
)
from gandiff.outputs import ModelOutput  # noqa: E402
from gandiff.registry import known_names, lookup  # noqa: E402

PAIRS = [(DDPMScheduler, diffusers.DDPMScheduler), (DDIMScheduler, diffusers.DDIMScheduler)]
PAIR_IDS = ["DDPM", "DDIM"]
# gandiff's own schedulers (other test modules register test-only ones while collected).
SCHEDULERS = [
    cls
    for cls in (lookup("scheduler", name) for name in known_names("scheduler"))
    if cls.__module__.startswith("gandiff.")
]


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- schedulers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=PAIR_IDS)
def test_step_return_dict_false_is_diffusers_tuple(ours, theirs):
    ours, theirs = ours(), theirs()
    ours.set_timesteps(10)
    theirs.set_timesteps(10)
    model_output, sample = torch.randn(2, 3, 4, 4, generator=seeded(0)), torch.randn(2, 3, 4, 4, generator=seeded(1))
    t = ours.timesteps[3]  # a middle step: DDPM adds seeded noise there
    expected = theirs.step(model_output, t, sample, generator=seeded(2), return_dict=False)
    actual = ours.step(model_output, t, sample, generator=seeded(2), return_dict=False)
    assert type(actual) is type(expected) is tuple and len(actual) == len(expected) == 2
    # (prev_sample, pred_original_sample), in diffusers' order; float32 vs float64 tables: 1e-5.
    for a, b in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", SCHEDULERS, ids=lambda cls: cls.__name__)
def test_every_scheduler_step_tuple_is_its_output_in_field_order(cls):
    scheduler = cls()
    scheduler.set_timesteps(5)
    model_output, sample = torch.randn(1, 2, 4, 4, generator=seeded(0)), torch.randn(1, 2, 4, 4, generator=seeded(1))
    t = scheduler.timesteps[1]
    output = scheduler.step(model_output, t, sample, generator=seeded(2))
    prev_sample, pred_original_sample = scheduler.step(model_output, t, sample, generator=seeded(2), return_dict=False)
    assert torch.equal(prev_sample, output.prev_sample)
    assert torch.equal(pred_original_sample, output.pred_original_sample)
    assert torch.equal(output[0], output.prev_sample) and torch.equal(output[1], output.pred_original_sample)


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("num_train_timesteps", [1000, 37])
def test_len_and_order_are_diffusers(ours, theirs, num_train_timesteps):
    ours, theirs = ours(num_train_timesteps=num_train_timesteps), theirs(num_train_timesteps=num_train_timesteps)
    assert len(ours) == len(theirs) == num_train_timesteps
    assert ours.order == theirs.order == 1
    ours.set_timesteps(10)
    assert len(ours) == num_train_timesteps  # T, not the number of sampling steps
    assert bool(ours)


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=PAIR_IDS)
def test_compatibles_are_the_registered_schedulers_diffusers_also_lists(ours, theirs):
    compatibles = ours().compatibles
    # Every registered scheduler at the time of the call, itself included.
    assert set(compatibles) == {lookup("scheduler", name) for name in known_names("scheduler")}
    assert set(SCHEDULERS) | {ours} <= set(compatibles)
    theirs_names = {cls.__name__ for cls in theirs().compatibles}
    # Each one with a diffusers twin is in the twin's list (DDPM <-> DDIM), and the config moves.
    assert {DDPMScheduler.__name__, DDIMScheduler.__name__} <= theirs_names
    config = ours(num_train_timesteps=500, beta_schedule="scaled_linear").config
    for cls in SCHEDULERS:
        moved = cls.from_config(config)
        assert moved.config.num_train_timesteps == 500 and moved.config.beta_schedule == "scaled_linear"


@pytest.mark.parametrize(
    "set_timesteps",
    [dict(num_inference_steps=10), dict(timesteps=[100, 87, 50, 1, 0])],
    ids=["10 leading steps", "custom"],
)
def test_previous_timestep_is_a_tensor_as_in_diffusers(set_timesteps):
    ours, theirs = DDPMScheduler(), diffusers.DDPMScheduler()
    ours.set_timesteps(**set_timesteps)
    theirs.set_timesteps(**set_timesteps)
    for t in theirs.timesteps:
        expected, actual = theirs.previous_timestep(t), ours.previous_timestep(t)
        assert isinstance(expected, torch.Tensor) and isinstance(actual, torch.Tensor)
        assert actual.ndim == 0 and actual.item() == expected.item()  # diffusers' tests read .item()


# -- models -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unet_pair(tmp_path_factory):
    """diffusers' toy U-Net with seeded weights, and gandiff's loaded from its save."""
    folder = tmp_path_factory.mktemp("unet")
    torch.manual_seed(0)
    reference = diffusers.UNet2DModel(**TINY_UNET_CONFIG).eval()
    reference.save_pretrained(folder)
    return reference, UNet2DModel.from_pretrained(folder)


def test_unet_return_dict_forms_are_diffusers(unet_pair):
    reference, ours = unet_pair
    sample, t = torch.randn(2, 3, 8, 8, generator=seeded(0)), torch.tensor([10, 500])
    with torch.no_grad():
        expected_output = reference(sample, t)
        expected_tuple = reference(sample, t, return_dict=False)
        tensor = ours(sample, t)
        output = ours(sample, t, return_dict=True)
        as_tuple = ours(sample, t, return_dict=False)
    assert type(tensor) is torch.Tensor  # gandiff's default: the tensor itself
    assert isinstance(output, ModelOutput)
    torch.testing.assert_close(output.sample, expected_output.sample, rtol=1e-5, atol=1e-5)
    assert type(as_tuple) is type(expected_tuple) is tuple and len(as_tuple) == len(expected_tuple) == 1
    torch.testing.assert_close(as_tuple[0], expected_tuple[0], rtol=1e-5, atol=1e-5)
    assert torch.equal(output.sample, tensor) and torch.equal(as_tuple[0], tensor) and torch.equal(output[0], tensor)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_unet_dtype_and_device_are_diffusers(unet_pair, dtype):
    reference, ours = unet_pair
    reference, ours = reference.to(dtype), ours.to(dtype)
    try:
        assert ours.dtype == reference.dtype == dtype
        assert ours.device == reference.device == torch.device("cpu")
    finally:
        reference.float(), ours.float()


def test_model_return_dict_rejects_a_non_boolean(unet_pair):
    _, ours = unet_pair
    with pytest.raises(TypeError, match="return_dict must be True, False or None"):
        ours(torch.zeros(1, 3, 8, 8), 1, return_dict="yes")


# -- pipelines --------------------------------------------------------------------------------------


def test_ddpm_pipeline_index_and_tuple_are_diffusers(unet_pair):
    reference, ours = unet_pair
    theirs_pipe = diffusers.DDPMPipeline(unet=reference, scheduler=diffusers.DDPMScheduler())
    ours_pipe = DDPMPipeline(unet=ours, scheduler=DDPMScheduler())
    kwargs = dict(batch_size=2, num_inference_steps=3, output_type="np")
    expected = theirs_pipe(generator=seeded(0), **kwargs)
    expected_tuple = theirs_pipe(generator=seeded(0), return_dict=False, **kwargs)
    output = ours_pipe(generator=seeded(0), **kwargs)
    as_tuple = ours_pipe(generator=seeded(0), return_dict=False, **kwargs)
    assert type(as_tuple) is type(expected_tuple) is tuple and len(as_tuple) == len(expected_tuple) == 1
    assert (output[0] == output.images).all() and (as_tuple[0] == output.images).all()
    assert expected[0].shape == output[0].shape == (2, 8, 8, 3)
    # Same weights, scheduler and seed: the same images (float64 vs float32 tables: 1e-4).
    assert abs(output[0] - expected[0]).max() < 1e-4


def test_gan_pipeline_index_and_tuple():
    torch.manual_seed(0)
    pipe = GANPipeline(
        generator=DCGANGenerator(latent_dim=8, resolution=32, base_channels=8),
        discriminator=DCGANDiscriminator(resolution=32, base_channels=8),
    )
    output = pipe(batch_size=2, generator=seeded(0), output_type="pt")
    as_tuple = pipe(batch_size=2, generator=seeded(0), output_type="pt", return_dict=False)
    assert type(as_tuple) is tuple and len(as_tuple) == 1
    assert torch.equal(output[0], output.images) and torch.equal(as_tuple[0], output.images)
    with pytest.raises(TypeError, match="indexed by position.*out.images"):
        output["images"]
