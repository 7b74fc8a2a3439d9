"""gandiff.plot: every picture is written as a PNG of the expected size with something drawn in it.

Sizes are figsize × dpi (100), fixed by each function's layout. The pictures themselves were
checked by eye when written; these tests keep them from breaking.
"""

import importlib
import json
import math

import pytest
import torch

pytest.importorskip("matplotlib")

from PIL import Image
from toy_models import TINY_UNET_CONFIG

from gandiff import (
    DDIMScheduler,
    DDPMPipeline,
    DDPMScheduler,
    MLPDenoiser,
    UNet2DModel,
    plot,
)
from gandiff.data import ring8


def assert_png(path, size):
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert abs(image.width - size[0]) <= 1 and abs(image.height - size[1]) <= 1, image.size
        low, high = image.convert("L").getextrema()
        assert high - low > 100  # not a blank canvas: dark marks on a light background


def points_pipeline(scheduler_cls=DDPMScheduler):
    torch.manual_seed(0)
    pipe = DDPMPipeline(denoiser=MLPDenoiser(hidden_dim=16, num_layers=1), scheduler=scheduler_cls(clip_sample=False))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_schedules(tmp_path):
    assert_png(plot.plot_schedules(tmp_path / "schedules.png"), (1400, 420))


def test_forward_process_of_points_and_images(tmp_path):
    circle = ring8(std=0.05).sample(500, generator=torch.Generator().manual_seed(0))
    assert_png(plot.plot_forward_process(circle, tmp_path / "points.png", timesteps=(0, 100, 500, 999)), (920, 310))
    images = torch.rand(2, 1, 8, 8) * 2 - 1
    path = plot.plot_forward_process(
        images,
        tmp_path / "sub" / "images.png",
        scheduler=DDPMScheduler(beta_schedule="cosine"),
        timesteps=(0, 100, 500, 999),
    )
    assert_png(path, (920, 570))  # one row per image


def test_reverse_trajectory_is_the_pipelines_sampling_loop():
    pipe = points_pipeline(DDIMScheduler)
    trajectory = plot.reverse_trajectory(pipe, batch_size=8, num_inference_steps=5, num_frames=3, seed=3)
    expected = pipe(
        batch_size=8, generator=torch.Generator().manual_seed(3), num_inference_steps=5, output_type="pt"
    ).points
    torch.testing.assert_close(trajectory.final, expected)
    # DDIM with 5 of 1000 steps, "leading" spacing: t = 800, 600, 400, 200, 0; frames at steps 0, 2, 4.
    assert trajectory.timesteps == [800, 400, 0]
    assert [x.shape for x in trajectory.samples] == [(8, 2)] * 3 and len(trajectory.predicted_x0) == 3


def test_reverse_process_of_points_and_images(tmp_path):
    data = ring8().sample(300, generator=torch.Generator().manual_seed(0))
    path = plot.plot_reverse_process(
        points_pipeline(),
        tmp_path / "reverse_points.png",
        batch_size=200,
        num_inference_steps=6,
        num_frames=3,
        data=data,
    )
    assert_png(path, (960, 560))  # 3 frames + the samples
    no_attention = dict(down_block_types=("DownBlock2D",) * 2, up_block_types=("UpBlock2D",) * 2)
    unet = UNet2DModel(**TINY_UNET_CONFIG | no_attention | dict(in_channels=1, out_channels=1))
    pipe = DDPMPipeline(unet=unet, scheduler=DDIMScheduler())
    path = plot.plot_reverse_process(
        pipe, tmp_path / "reverse_images.png", batch_size=4, num_inference_steps=4, num_frames=4
    )
    assert_png(path, (1200, 560))


def gan_records(steps=200):
    """A log like GANTrainer's: values settling towards the equilibrium."""
    records = []
    for step in range(10, steps + 1, 10):
        decay = math.exp(-step / 60)
        records.append(
            {
                "step": step,
                "d_loss": 2 * math.log(2) - 0.5 * decay,
                "g_loss": math.log(2) + decay,
                "d_real": 0.5 + 0.4 * decay,
                "d_fake": 0.5 - 0.4 * decay,
                "penalty": 0.0,
                "d_grad_norm": 1 + decay,
                "g_grad_norm": 0.1 + decay,
                "lr": 2e-4,
            }
        )
    return records


def test_gan_training_from_records_and_from_a_run_folder(tmp_path):
    assert_png(plot.plot_gan_training(gan_records(), tmp_path / "records.png", loss="non_saturating"), (1500, 440))
    no_norms = [{k: v for k, v in r.items() if "grad_norm" not in k} for r in gan_records()]
    assert_png(plot.plot_gan_training(no_norms, tmp_path / "no_norms.png"), (1050, 440))

    run = tmp_path / "run"
    run.mkdir()
    (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in gan_records()), encoding="utf-8")
    (run / "training_config.json").write_text(json.dumps({"loss": "minimax", "dataset": "ring8"}), encoding="utf-8")
    assert_png(plot.plot_gan_training(run, tmp_path / "run.png"), (1500, 440))
    with pytest.raises(FileNotFoundError, match="log.jsonl"):
        plot.plot_gan_training(tmp_path / "empty", tmp_path / "x.png")


def test_samples_2d_per_checkpoint_over_the_mixture(tmp_path):
    mixture = ring8()
    generator = torch.Generator().manual_seed(0)
    data = mixture.sample(500, generator=generator)
    checkpoints = {f"step {s}": mixture.sample(300, generator=generator) * s / 3000 for s in (1000, 2000, 3000)}
    assert_png(plot.plot_samples_2d(checkpoints, tmp_path / "three.png", data=data, mixture=mixture), (1080, 400))
    five = {f"panel {i}": torch.randn(100, 2) for i in range(5)}  # 4 per row, the empty slot hidden
    assert_png(plot.plot_samples_2d(five, tmp_path / "five.png", title="five"), (1440, 760))
    assert_png(plot.plot_samples_2d(torch.randn(100, 2), tmp_path / "one.png", data=data), (360, 400))


def test_missing_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    def no_matplotlib(name):
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(importlib, "import_module", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install \"gandiff\[plot\]\""):
        plot.plot_schedules(tmp_path / "x.png")
