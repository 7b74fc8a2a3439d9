"""Folders saved by diffusers 0.42.1's DDPMPipeline / DDIMPipeline load in gandiff and give the
same images for the same weights and seed (diffusers is the reference; test-only dependency)."""

import json

import numpy as np
import pytest
import torch
from toy_models import CIFAR_LIKE_UNET_CONFIG

diffusers = pytest.importorskip("diffusers")

from gandiff import DDIMScheduler, DDPMPipeline, DDPMScheduler, Pipeline  # noqa: E402

UNET_CONFIG = CIFAR_LIKE_UNET_CONFIG


def diffusers_unet():
    torch.manual_seed(0)
    return diffusers.UNet2DModel(**UNET_CONFIG).eval()


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def ddpm_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diffusers") / "ddpm"
    scheduler = diffusers.DDPMScheduler(variance_type="fixed_large", clip_sample=True)
    diffusers.DDPMPipeline(unet=diffusers_unet(), scheduler=scheduler).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def ddim_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diffusers") / "ddim"
    # clip_sample=False: with an untrained U-Net, x̂_0 sits far outside [-1, 1] and clipping turns
    # it into a step function of x_t, so float32 rounding differences of 1e-7 (diffusers keeps
    # its tables in float32, gandiff in float64) flip pixels across the clip boundary and the
    # 50-step deterministic run ends up to 0.44 apart. Without clipping the map is smooth and
    # the runs agree to ~1e-5. Clipping itself is compared step by step in
    # test_scheduler_parity.py, where no error accumulates.
    scheduler = diffusers.DDIMScheduler(clip_sample=False)
    diffusers.DDIMPipeline(unet=diffusers_unet(), scheduler=scheduler).save_pretrained(folder)
    return folder


def test_diffusers_model_index_names_diffusers_classes(ddpm_folder, ddim_folder):
    """The folders really are diffusers' format, so the tests below exercise the mapping."""
    assert json.loads((ddpm_folder / "model_index.json").read_text())["unet"] == ["diffusers", "UNet2DModel"]
    assert json.loads((ddim_folder / "model_index.json").read_text())["_class_name"] == "DDIMPipeline"


@pytest.mark.parametrize("steps", [1000, 25])
def test_ddpm_seed_parity(ddpm_folder, steps):
    reference = diffusers.DDPMPipeline.from_pretrained(ddpm_folder)
    reference.set_progress_bar_config(disable=True)
    expected = reference(batch_size=2, generator=seeded(0), num_inference_steps=steps, output_type="np").images

    ours = Pipeline.from_pretrained(ddpm_folder)
    ours.set_progress_bar_config(disable=True)
    assert type(ours) is DDPMPipeline and isinstance(ours.scheduler, DDPMScheduler)
    got = ours(batch_size=2, generator=seeded(0), num_inference_steps=steps, output_type="np").images
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_ddim_seed_parity(ddim_folder):
    reference = diffusers.DDIMPipeline.from_pretrained(ddim_folder)
    reference.set_progress_bar_config(disable=True)
    expected = reference(batch_size=2, generator=seeded(1), num_inference_steps=50, eta=0.0, output_type="np").images

    ours = DDPMPipeline.from_pretrained(ddim_folder)  # a DDIMPipeline is a DDPMPipeline with DDIM
    ours.set_progress_bar_config(disable=True)
    assert isinstance(ours.scheduler, DDIMScheduler)
    got = ours(batch_size=2, generator=seeded(1), num_inference_steps=50, output_type="np").images
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_gandiff_save_of_a_diffusers_folder_loads_again(ddpm_folder, tmp_path):
    ours = Pipeline.from_pretrained(ddpm_folder)
    ours.set_progress_bar_config(disable=True)
    ours.save_pretrained(tmp_path / "resaved")
    again = Pipeline.from_pretrained(tmp_path / "resaved")
    again.set_progress_bar_config(disable=True)
    a = ours(batch_size=1, generator=seeded(2), num_inference_steps=10, output_type="pt").images
    b = again(batch_size=1, generator=seeded(2), num_inference_steps=10, output_type="pt").images
    assert torch.equal(a, b)
