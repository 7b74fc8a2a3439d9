"""A setting changed on resume is applied from the resumed step, or refused: never silently ignored.

Runs are short ring8 trainings with tiny MLPs, resumed with other settings. Applied: the
optimizer's settings (learning rate, Adam's betas) and the learning-rate schedule, which the
checkpoint's optimizer state used to override; the model card says which steps used which
values. Refused, in one line naming the setting, the saved value and the fix: the settings that
fix a network's shape (torch's size-mismatch traceback before), and data of another shape.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from gandiff import cli
from gandiff.data.points import PointsDataset
from gandiff.training.checkpoints import CheckpointMismatchError
from gandiff.training.diffusion import DiffusionTrainer, DiffusionTrainingConfig
from gandiff.training.gan import GANTrainer, GANTrainingConfig

COMMON = {
    "dataset": "ring8",
    "num_samples": 64,
    "model_size": "tiny",
    "batch_size": 8,
    "checkpoint_every": 3,
    "sample_every": 0,
    "log_every": 1,
    "num_sample_images": 16,
}


def _logged(run, key: str) -> dict[int, float]:
    return {r["step"]: r[key] for r in map(json.loads, (run / "log.jsonl").read_text().splitlines())}


def test_a_new_learning_rate_and_schedule_apply_from_the_resumed_step(tmp_path, caplog):
    run = tmp_path / "run"
    DiffusionTrainer(DiffusionTrainingConfig(**COMMON, output_dir=str(run), max_steps=3)).train()
    assert _logged(run, "lr")[3] == 2e-4

    resumed = DiffusionTrainer(
        DiffusionTrainingConfig(
            **COMMON,
            output_dir=str(run),
            max_steps=6,
            learning_rate=1e-3,
            lr_schedule="cosine",
            resume_from_checkpoint="latest",
        )
    )
    # Before: the checkpoint's optimizer state won, so the rate stayed 2e-4 (with a warning).
    # Cosine over 6 steps, no warm-up: the rate for step k+1 is 1e-3 · ½(1 + cos(π k / 6)).
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 3 / 6)))
    assert 'applied from the next step: learning_rate 0.0002 -> 0.001, lr_schedule "constant" -> "cosine"' in (
        caplog.text
    )
    resumed.train()
    lr = _logged(run, "lr")  # logged after each step: the rate of the next one
    for step in (4, 5, 6):
        assert lr[step] == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * step / 6)), abs=1e-12)
    assert resumed.optimizer.state[resumed.optimizer.param_groups[0]["params"][0]]["step"] == 6  # Adam's moments kept

    card = (run / "pipeline" / "README.md").read_text()
    assert (
        'Resumed at step 3 with changed settings, used from step 4: `learning_rate` 0.0002 → 0.001, `lr_schedule` "constant" → "cosine".'
        in card
    )
    assert '"learning_rate": 0.001' in card


def test_new_adam_betas_apply_to_both_players(tmp_path):
    run = tmp_path / "gan"
    GANTrainer(GANTrainingConfig(**COMMON, output_dir=str(run), max_steps=3)).train()
    resumed = GANTrainer(
        GANTrainingConfig(
            **COMMON, output_dir=str(run), max_steps=4, adam_betas=(0.0, 0.9), resume_from_checkpoint="latest"
        )
    )
    for optimizer in (resumed.g_optimizer, resumed.d_optimizer):
        assert optimizer.param_groups[0]["betas"] == (0.0, 0.9)  # before: the checkpoint's (0.5, 0.999)
        assert optimizer.param_groups[0]["lr"] == 2e-4


def test_a_new_model_size_is_refused_in_one_line_and_nothing_is_written(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "ddpm", "--dataset", "ring8", "--num-samples", "64", "--batch-size", "8", "--sample-every", "0"]
    argv += ["--output-dir", str(run), "--checkpoint-every", "2", "--log-every", "1", "--num-sample-images", "16"]
    assert cli.main([*argv, "--model-size", "tiny", "--max-steps", "2"]) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    # Before: torch's size-mismatch RuntimeError, a traceback of every mismatching tensor.
    code = cli.main([*argv, "--model-size", "small", "--max-steps", "4", "--resume-from-checkpoint", "latest"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "the saved run used --model-size tiny (now 'small')" in err and "resume with --model-size tiny" in err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_data_of_another_shape_is_refused_naming_the_tensor(tmp_path):
    run = tmp_path / "run"
    DiffusionTrainer(DiffusionTrainingConfig(**COMMON, output_dir=str(run), max_steps=3)).train()
    points = PointsDataset(torch.randn(64, 3))
    points.sample_shape = (3,)  # 3-D points: the denoiser's first and last layers change shape
    config = DiffusionTrainingConfig(**COMMON, output_dir=str(run), max_steps=6, resume_from_checkpoint="latest")
    with pytest.raises(
        CheckpointMismatchError, match=r"cannot resume .*checkpoint-3: checkpoint-3's model has '.*' of shape"
    ):
        DiffusionTrainer(config, dataset=points)


def test_an_ema_cannot_start_from_a_checkpoint_without_one(tmp_path):
    run = tmp_path / "run"
    DiffusionTrainer(DiffusionTrainingConfig(**COMMON, output_dir=str(run), max_steps=3, ema_decay=None)).train()
    config = DiffusionTrainingConfig(**COMMON, output_dir=str(run), max_steps=6, resume_from_checkpoint="latest")
    with pytest.raises(
        ValueError, match=r"the saved run used ema_decay=None \(now 0.999\).*resume with ema_decay=None"
    ):
        DiffusionTrainer(config)
