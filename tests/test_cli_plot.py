"""`gandiff plot`: each picture of real (tiny) runs written as a PNG, and the mistakes named.

Sizes are figsize × dpi of each `gandiff.plot` function's layout (see test_plot.py). The scatter
per checkpoint loads each checkpoint's weights into the run's pipeline; that loading is checked
against the pipeline the run saved at its last step.
"""

from __future__ import annotations

import importlib
import json

import pytest
import torch

pytest.importorskip("matplotlib")

from test_plot import assert_png
from toy_models import TINY_RUN_FLAGS

from gandiff import cli, plot
from gandiff.pipelines.pipeline import Pipeline
from gandiff.training.checkpoints import (
    checkpoint_modules,
    checkpoint_step,
    list_checkpoints,
    load_module_weights,
)

TINY = [
    "--dataset",
    "ring8",
    "--max-steps",
    "30",
    "--checkpoint-every",
    "10",
    "--checkpoints-total-limit",
    "5",
    *TINY_RUN_FLAGS,
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A GAN and a DDPM on ring8, 30 steps each, with checkpoints at steps 10, 20 and 30."""
    root = tmp_path_factory.mktemp("runs")
    assert cli.main(["train", "gan", *TINY, "--output-dir", str(root / "gan")]) == 0
    assert cli.main(["train", "ddpm", *TINY, "--output-dir", str(root / "ddpm")]) == 0
    return {"gan": root / "gan", "ddpm": root / "ddpm"}


def _plot(argv, capsys) -> tuple[int, str]:
    code = cli.main(["plot", *map(str, argv)])
    captured = capsys.readouterr()
    assert (code == 0) == (captured.err == ""), captured.err
    return code, captured.err


def test_schedules_and_forward_processes(tmp_path, capsys):
    assert _plot(["schedules", "--out", tmp_path / "schedules.png"], capsys)[0] == 0
    assert_png(tmp_path / "schedules.png", (1400, 420))
    assert _plot(["forward", "--dataset", "ring8", "--out", tmp_path / "points.png"], capsys)[0] == 0
    assert_png(tmp_path / "points.png", (1610, 310))  # 7 timesteps, one row of point clouds
    assert (
        _plot(
            [
                "forward",
                "--dataset",
                "digits",
                "--num-samples",
                "2",
                "--timesteps",
                "0",
                "500",
                "999",
                "--beta-schedule",
                "squaredcos_cap_v2",
                "--out",
                tmp_path / "digits.png",
            ],
            capsys,
        )[0]
        == 0
    )
    assert_png(tmp_path / "digits.png", (690, 570))  # 3 timesteps, one row per image
    code, err = _plot(["forward", "--timesteps", "0", "1000", "--out", tmp_path / "late.png"], capsys)
    assert code == 2 and "t runs from 0 to 999" in err and not (tmp_path / "late.png").exists()


def test_reverse_process_of_a_saved_ddpm(runs, tmp_path, capsys):
    out = tmp_path / "reverse.png"
    assert (
        _plot(
            [
                "reverse",
                runs["ddpm"],
                "--scheduler",
                "ddim",
                "--steps",
                "10",
                "--frames",
                "3",
                "--num-samples",
                "200",
                "--out",
                out,
            ],
            capsys,
        )[0]
        == 0
    )
    assert_png(out, (960, 560))  # 3 frames + the samples
    code, err = _plot(["reverse", runs["gan"], "--out", tmp_path / "gan.png"], capsys)
    assert code == 2 and "diffusion pipelines" in err and not (tmp_path / "gan.png").exists()


def test_gan_curves_of_a_gan_run_only(runs, tmp_path, capsys):
    assert _plot(["gan-curves", runs["gan"], "--out", tmp_path / "curves.png"], capsys)[0] == 0
    assert_png(tmp_path / "curves.png", (1500, 440))  # losses, D outputs, gradient norms
    code, err = _plot(["gan-curves", runs["ddpm"], "--out", tmp_path / "ddpm.png"], capsys)
    assert code == 2 and "not a GAN run" in err and not (tmp_path / "ddpm.png").exists()
    code, err = _plot(["gan-curves", tmp_path / "nowhere", "--out", tmp_path / "x.png"], capsys)
    assert code == 2 and "no run folder" in err


def test_scatter_one_panel_per_checkpoint(runs, tmp_path, capsys):
    assert _plot(["scatter", runs["gan"], "--num-samples", "500", "--out", tmp_path / "gan.png"], capsys)[0] == 0
    assert_png(tmp_path / "gan.png", (1080, 400))  # three checkpoints, three panels
    assert (
        _plot(
            ["scatter", runs["ddpm"], "--num-samples", "300", "--steps", "20", "--out", tmp_path / "ddpm.png"], capsys
        )[0]
        == 0
    )
    assert_png(tmp_path / "ddpm.png", (1080, 400))


def test_checkpoint_weights_are_those_the_run_saved(runs):
    """The last checkpoint is written at the step the pipeline is saved: its EMA and its
    discriminator are the saved pipeline's generator and discriminator, tensor for tensor."""
    checkpoints = list_checkpoints(runs["gan"])
    assert [checkpoint_step(c) for c in checkpoints] == [10, 20, 30]
    assert checkpoint_modules(checkpoints[-1]) == ["discriminator", "ema", "generator"]
    saved = Pipeline.from_pretrained(runs["gan"] / "pipeline")
    for name, network in (("ema", saved.generator), ("discriminator", saved.discriminator)):
        weights = load_module_weights(checkpoints[-1], name)
        expected = network.state_dict()
        assert weights.keys() == expected.keys()
        for key, value in expected.items():
            assert torch.equal(weights[key], value), key
    # The samples of the last panel are the saved pipeline's; the earlier ones differ.
    samples = plot.checkpoint_samples(runs["gan"], num_samples=100, seed=4)
    assert list(samples) == ["step 10", "step 20", "step 30"]
    from gandiff.evaluation import sample_pipeline

    saved.generator.eval()
    torch.testing.assert_close(samples["step 30"], sample_pipeline(saved, 100, seed=4))
    assert not torch.allclose(samples["step 10"], samples["step 30"])
    with pytest.raises(ValueError, match=r"no module 'model'.*'discriminator', 'ema', 'generator'"):
        load_module_weights(checkpoints[0], "model")


def test_scatter_names_the_wrong_kind_of_folder(runs, tmp_path, capsys):
    code, err = _plot(["scatter", tmp_path / "nowhere"], capsys)
    assert code == 2 and "no run folder" in err
    (tmp_path / "not_a_run").mkdir()
    code, err = _plot(["scatter", tmp_path / "not_a_run"], capsys)
    assert code == 2 and "no training_config.json" in err
    images = tmp_path / "images_run"
    images.mkdir()
    (images / "training_config.json").write_text(json.dumps({"_class_name": "GANTrainingConfig", "dataset": "digits"}))
    code, err = _plot(["scatter", images], capsys)
    assert code == 2 and "not a 2-D point set" in err
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "training_config.json").write_text(
        json.dumps({"_class_name": "GANTrainingConfig", "dataset": "ring8"})
    )
    code, err = _plot(["scatter", unfinished], capsys)
    assert code == 2 and "has no checkpoints" in err


def test_missing_matplotlib_is_reported_before_any_work(runs, tmp_path, capsys, monkeypatch):
    def no_matplotlib(name):
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(importlib, "import_module", no_matplotlib)
    monkeypatch.setattr(plot, "checkpoint_samples", lambda *args, **kwargs: pytest.fail("sampled before the check"))
    for argv in (["schedules"], ["scatter", runs["gan"]]):
        code, err = _plot([*argv, "--out", tmp_path / "x.png"], capsys)
        assert code == 2 and 'pip install "gandiff[plot]"' in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()
