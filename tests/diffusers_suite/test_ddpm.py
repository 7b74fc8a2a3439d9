"""diffusers' tests of ``DDPMPipeline``, run against gandiff's ``DDPMPipeline``.

Origin: huggingface/diffusers, ``tests/pipelines/ddpm/test_ddpm.py`` at commit
58eb52c0803ea9af3abec60841c2a093bdf1f951 (the same text as the v0.40.0 release; diffusers 0.42.1,
installed here as the reference, ships no tests). Originally Copyright 2026 HuggingFace Inc.,
Apache License 2.0 (http://www.apache.org/licenses/LICENSE-2.0); modified as listed below.
Hard-coded expected numbers are diffusers', unchanged.

Changes:

* ``from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel`` -> gandiff's classes.
* ``enable_full_determinism()`` is not called (CPU only; see ``_testing.py``); ``torch_device`` is ``"cpu"``.

Left out, with why:

* ``DDPMPipelineIntegrationTests.test_inference_cifar10`` (slow, accelerator): downloads
  ``google/ddpm-cifar10-32`` from the Hub and runs 1000 steps on a GPU; gandiff's loading of that
  repository and its parity with diffusers are tested offline in tests/test_diffusers_pipelines.py.

Counts: diffusers has 3 tests here; 2 ported, 2 passing, 0 marked deliberate, 1 left out.
"""

import unittest

import numpy as np
import torch

from gandiff import DDPMPipeline, DDPMScheduler, UNet2DModel

from ._testing import torch_device


class DDPMPipelineFastTests(unittest.TestCase):
    @property
    def dummy_uncond_unet(self):
        torch.manual_seed(0)
        model = UNet2DModel(
            block_out_channels=(4, 8),
            layers_per_block=1,
            norm_num_groups=4,
            sample_size=8,
            in_channels=3,
            out_channels=3,
            down_block_types=("DownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        )
        return model

    def test_fast_inference(self):
        device = "cpu"
        unet = self.dummy_uncond_unet
        scheduler = DDPMScheduler()

        ddpm = DDPMPipeline(unet=unet, scheduler=scheduler)
        ddpm.to(device)
        ddpm.set_progress_bar_config(disable=None)

        generator = torch.Generator(device=device).manual_seed(0)
        image = ddpm(generator=generator, num_inference_steps=2, output_type="np").images

        generator = torch.Generator(device=device).manual_seed(0)
        image_from_tuple = ddpm(generator=generator, num_inference_steps=2, output_type="np", return_dict=False)[0]

        image_slice = image[0, -3:, -3:, -1]
        image_from_tuple_slice = image_from_tuple[0, -3:, -3:, -1]

        assert image.shape == (1, 8, 8, 3)
        expected_slice = np.array([0.0, 0.9996672, 0.00329116, 1.0, 0.9995991, 1.0, 0.0060907, 0.00115037, 0.0])

        assert np.abs(image_slice.flatten() - expected_slice).max() < 1e-2
        assert np.abs(image_from_tuple_slice.flatten() - expected_slice).max() < 1e-2

    def test_inference_predict_sample(self):
        unet = self.dummy_uncond_unet
        scheduler = DDPMScheduler(prediction_type="sample")

        ddpm = DDPMPipeline(unet=unet, scheduler=scheduler)
        ddpm.to(torch_device)
        ddpm.set_progress_bar_config(disable=None)

        generator = torch.manual_seed(0)
        image = ddpm(generator=generator, num_inference_steps=2, output_type="np").images

        generator = torch.manual_seed(0)
        image_eps = ddpm(generator=generator, num_inference_steps=2, output_type="np")[0]

        image_slice = image[0, -3:, -3:, -1]
        image_eps_slice = image_eps[0, -3:, -3:, -1]

        assert image.shape == (1, 8, 8, 3)
        tolerance = 1e-2 if torch_device != "mps" else 3e-2
        assert np.abs(image_slice.flatten() - image_eps_slice.flatten()).max() < tolerance
