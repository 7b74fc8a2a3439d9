"""The `gandiff` command: flags, bad input (clear message, nothing written over), train then sample."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gandiff import cli, hub
from gandiff.schedulers.scheduling_utils import PREDICTION_TYPES
from gandiff.training import GAN_LOSSES, common
from gandiff.training.config import DiffusionTrainingConfig, GANTrainingConfig

TRAIN = [
    "--max-steps",
    "2",
    "--batch-size",
    "8",
    "--model-size",
    "tiny",
    "--checkpoint-every",
    "2",
    "--sample-every",
    "0",
    "--log-every",
    "1",
    "--num-sample-images",
    "4",
    "--dataset",
    "ring8",
]


def _run(argv, capsys) -> tuple[int, str]:
    code = cli.main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("method", "config_cls"), [("ddpm", DiffusionTrainingConfig), ("gan", GANTrainingConfig)])
def test_every_training_setting_has_its_flag_with_the_settings_choices(method, config_cls):
    """The train flags are built from the config dataclasses: one per field, with the field's choices."""
    parser = cli.build_parser()
    [train] = [a for a in parser._subparsers._group_actions if a.dest == "command"]
    [methods] = [a for a in train.choices["train"]._subparsers._group_actions if a.dest == "method"]
    flags = {a.dest: a for a in methods.choices[method]._actions}
    for field in dataclasses.fields(config_cls):
        assert field.name in flags, field.name
        assert flags[field.name].choices == field.metadata.get("choices"), field.name
    if method == "ddpm":
        assert flags["prediction_type"].choices == PREDICTION_TYPES  # the schedulers' own values
    else:
        assert flags["loss"].choices == tuple(GAN_LOSSES)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "ddpm", "--beta-schedule", "cosin"], "invalid choice: 'cosin'"),
        (["train", "gan", "--loss", "wgan"], "invalid choice: 'wgan'"),
        (["train", "ddpm", "--max-steps", "-3"], "expected a number >= 1"),
        (["train", "ddpm", "--learning-rate", "fast"], "expected a number, got 'fast'"),
        (["train", "vae"], "invalid choice: 'vae'"),
        (["sample", "x", "--scheduler", "euler"], "invalid choice: 'euler'"),
    ],
)
def test_bad_flag_values_are_named(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--output-dir", str(tmp_path / "run")] if argv[0] == "train" else argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_missing_data_path(capsys, tmp_path):
    code, err = _run(
        ["train", "ddpm", "--dataset", str(tmp_path / "nowhere"), "--output-dir", str(tmp_path / "run")], capsys
    )
    assert code == 2 and "nowhere" in err and err.count("\n") == 1  # one line, no traceback
    assert not (tmp_path / "run").exists()


def test_empty_image_folder(capsys, tmp_path):
    (tmp_path / "images").mkdir()
    code, err = _run(
        ["train", "gan", "--dataset", str(tmp_path / "images"), "--output-dir", str(tmp_path / "run")], capsys
    )
    assert code == 2 and "images" in err and "gandiff: error:" in err
    assert not (tmp_path / "run").exists()


def test_corrupt_image_is_reported_by_name(capsys, tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "broken.png").write_bytes(b"not a png at all")
    code, err = _run(
        ["train", "gan", "--dataset", str(tmp_path / "images"), "--output-dir", str(tmp_path / "run")], capsys
    )
    assert code == 2 and "broken.png" in err
    assert not (tmp_path / "run").exists()


def test_missing_optional_tracker(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if not installed: find_spec returns None
    code, err = _run(
        ["train", "ddpm", "--report-to", "tensorboard", "--output-dir", str(tmp_path / "run"), *TRAIN], capsys
    )
    assert code == 2 and "pip install tensorboard" in err
    assert not (tmp_path / "run").exists()


def test_existing_run_is_not_written_over(capsys, tmp_path):
    run = tmp_path / "run"
    assert cli.main(["train", "ddpm", "--output-dir", str(run), *TRAIN]) == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    code, err = _run(["train", "gan", "--output-dir", str(run), *TRAIN], capsys)
    assert code == 2 and "--resume-from-checkpoint latest" in err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_train_resume_then_sample(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "ddpm", "--output-dir", str(run), *TRAIN]) == 0
    more = [a if a != "2" else "4" for a in TRAIN[:2]] + TRAIN[2:]  # --max-steps 4
    assert cli.main(["train", "ddpm", "--output-dir", str(run), "--resume-from-checkpoint", "latest", *more]) == 0
    assert (run / "checkpoints" / "checkpoint-4").is_dir()

    grid = tmp_path / "grid.png"
    assert (
        cli.main(
            ["sample", str(run), "--num-samples", "16", "--out", str(grid), "--scheduler", "ddim", "--steps", "5"]
        )
        == 0
    )
    assert Image.open(grid).size[0] > 0

    assert cli.main(["train", "gan", "--output-dir", str(tmp_path / "gan"), *TRAIN, "--dataset", "digits"]) == 0
    assert cli.main(["sample", str(tmp_path / "gan" / "pipeline"), "--num-samples", "4", "--out", str(grid)]) == 0
    assert Image.open(grid).size == (2 * 28 * 2 + 3 * 2, 2 * 28 * 2 + 3 * 2)  # 2×2 tiles of 28 px, doubled
    code, err = _run(["sample", str(tmp_path / "gan"), "--scheduler", "ddim", "--out", str(grid)], capsys)
    assert code == 2 and "diffusion pipelines" in err


def test_python_dash_m_gandiff():
    result = subprocess.run(
        [sys.executable, "-m", "gandiff", "train", "gan", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent,
    )
    assert result.returncode == 0 and "--d-steps" in result.stdout


def test_push_to_hub_uploads_the_pipeline_at_the_end(tmp_path, monkeypatch, capsys):
    from gandiff.pipelines.pipeline import Pipeline as PipelineBase

    pushed, created = [], []
    monkeypatch.setattr(PipelineBase, "push_to_hub", lambda self, repo_id, **kwargs: pushed.append((repo_id, kwargs)))
    # the repo is created (or checked) before training: see test_cli_errors.py for the real test Hub
    monkeypatch.setattr(hub, "create_repo", lambda repo_id, **kwargs: created.append(repo_id) or repo_id)
    code, err = _run(["train", "gan", "--output-dir", str(tmp_path / "run"), "--push-to-hub", *TRAIN], capsys)
    assert code == 2 and "--hub-model-id" in err and not (tmp_path / "run").exists()
    assert (
        cli.main(
            [
                "train",
                "gan",
                "--output-dir",
                str(tmp_path / "run"),
                "--push-to-hub",
                "--hub-model-id",
                "me/ring8-gan",
                *TRAIN,
            ]
        )
        == 0
    )
    [(repo_id, kwargs)] = pushed
    assert created == [repo_id]
    assert repo_id == "me/ring8-gan" and "modes captured" in kwargs["metrics"]
    assert "me/ring8-gan" in (tmp_path / "run" / "pipeline" / "README.md").read_text()


def test_lr_schedule_flag_reaches_the_config_field():
    args = cli.build_parser().parse_args(["train", "ddpm", "--lr-schedule", "cosine", "--output-dir", "x"])
    assert args.lr_schedule == "cosine" and "lr_schedule" in {
        f.name for f in dataclasses.fields(common.TrainingConfig)
    }
