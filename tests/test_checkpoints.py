"""Checkpoints: the tensor/JSON split, atomic saving, pruning, and exact resumption after a kill.

The resumption tests run the trainer in a subprocess that SIGKILLs itself in the middle of
writing its second checkpoint (after the tensors, before the JSON that completes it), resume
from the "latest" checkpoint in this process, and compare the final weights with an
uninterrupted run: they must agree to 1e-6 (they agree exactly, as every random draw, the data
order and the optimizer state are restored).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from gandiff.training.checkpoints import (
    CorruptCheckpointError,
    _join,
    _split,
    check_checkpoint,
    find_checkpoint,
    list_checkpoints,
)
from gandiff.training.diffusion import DiffusionTrainer, DiffusionTrainingConfig
from gandiff.training.gan import GANTrainer, GANTrainingConfig

# Tiny image runs: a U-Net on 8×8 digits, a DCGAN (with batch norm, whose running statistics
# must resume too) on digits resized to 28×28 and flipped at random (the flips must replay).
RUNS = {
    "ddpm": (DiffusionTrainer, DiffusionTrainingConfig, {"dataset": "digits", "model_size": "tiny"}),
    "gan": (
        GANTrainer,
        GANTrainingConfig,
        {"dataset": "digits", "resolution": 28, "model_size": "tiny", "latent_dim": 16, "random_flip": True},
    ),
}
COMMON = {
    "batch_size": 8,
    "max_steps": 6,
    "checkpoint_every": 3,
    "sample_every": 0,
    "log_every": 2,
    "num_sample_images": 4,
    "seed": 3,
}


def _config(kind: str, output_dir: Path, **overrides):
    _, config_cls, settings = RUNS[kind]
    return config_cls(**{**settings, **COMMON, "output_dir": str(output_dir), **overrides})


def _weights(trainer) -> dict[str, torch.Tensor]:
    """Every tensor of every module a checkpoint holds (networks, EMA)."""
    return {
        f"{name}.{key}": value.detach().clone()
        for name, module in trainer._state()["modules"].items()
        for key, value in module.state_dict().items()
    }


def test_split_join_round_trip():
    tree = {
        "state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(2, 2)}},  # int keys, as optimizers have
        "param_groups": [{"lr": 1e-3, "betas": (0.5, 0.999), "params": [0], "foreach": None}],
        "numpy": ("MT19937", np.arange(5, dtype=np.uint32), 2, 0, 0.0),
        "python": (3, (1, 2, 3), None),
    }
    tensors: dict[str, torch.Tensor] = {}
    encoded = _split(tree, tensors, "x")
    decoded = _join(json.loads(json.dumps(encoded)), tensors)
    assert decoded["state"][0]["exp_avg"].equal(tree["state"][0]["exp_avg"])
    assert decoded["param_groups"][0]["betas"] == (0.5, 0.999)
    assert decoded["numpy"][1].dtype == np.uint32 and (decoded["numpy"][1] == np.arange(5)).all()
    assert decoded["python"] == (3, (1, 2, 3), None)


def test_checkpoints_are_pruned_and_latest_skips_unfinished(tmp_path):
    config = _config(
        "ddpm", tmp_path / "run", dataset="ring8", max_steps=8, checkpoint_every=2, checkpoints_total_limit=2
    )
    trainer = DiffusionTrainer(config)
    trainer.train()
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["checkpoint-6", "checkpoint-8"]
    # A save killed half-way leaves a hidden staging folder: never picked as the latest.
    (tmp_path / "run" / "checkpoints" / ".checkpoint-10.tmp-abc").mkdir()
    assert find_checkpoint(tmp_path / "run", "latest").name == "checkpoint-8"
    with pytest.raises(FileNotFoundError, match="checkpoint-6, checkpoint-8"):
        find_checkpoint(tmp_path / "run", str(tmp_path / "run" / "checkpoints" / "checkpoint-4"))


_KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    import safetensors.torch
    sys.path.insert(0, {tests!r})
    from test_checkpoints import RUNS, _config

    real_save_file = safetensors.torch.save_file

    def save_then_die(tensors, filename, *args, **kwargs):
        real_save_file(tensors, filename, *args, **kwargs)
        if ".checkpoint-{kill_step}." in filename:  # the staging folder of the second checkpoint
            os.kill(os.getpid(), signal.SIGKILL)  # killed before the JSON that completes it

    safetensors.torch.save_file = save_then_die
    trainer_cls = RUNS[{kind!r}][0]
    trainer_cls(_config({kind!r}, {output_dir!r})).train()
    """
)


@pytest.mark.parametrize("kind", sorted(RUNS))
def test_resume_after_kill_mid_checkpoint_is_exact(kind, tmp_path):
    trainer_cls = RUNS[kind][0]
    reference = trainer_cls(_config(kind, tmp_path / "reference"))
    reference.train()

    # N steps with a checkpoint every N/2, killed while writing the one at N: only N/2 survives.
    script = _KILLED_RUN.format(
        tests=str(Path(__file__).parent), kind=kind, output_dir=str(tmp_path / "run"), kill_step=COMMON["max_steps"]
    )
    killed = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    checkpoints = tmp_path / "run" / "checkpoints"
    assert any(p.name.startswith(".checkpoint-6.tmp-") for p in checkpoints.iterdir())  # the half-written one
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["checkpoint-3"]

    # Resume in this process from "latest", the surviving checkpoint, and finish the run.
    resumed = trainer_cls(_config(kind, tmp_path / "run", resume_from_checkpoint="latest"))
    assert resumed.step == 3
    resumed.train()
    expected, actual = _weights(reference), _weights(resumed)
    assert expected.keys() == actual.keys()
    difference = max((expected[k].double() - actual[k].double()).abs().max().item() for k in expected)
    assert difference <= 1e-6
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["checkpoint-3", "checkpoint-6"]
    assert not any(p.name.startswith(".") for p in checkpoints.iterdir())  # the leftover was cleaned up


@pytest.mark.parametrize("kind", sorted(RUNS))
def test_resume_in_process_on_points_is_exact(kind, tmp_path):
    """The same on 2-D points (MLPs), with gradient accumulation and warm-up, stopped at N/2."""
    trainer_cls = RUNS[kind][0]
    settings = {"dataset": "ring8", "gradient_accumulation_steps": 2, "lr_warmup_steps": 3}
    reference = trainer_cls(_config(kind, tmp_path / "reference", **settings))
    reference.train()
    trainer_cls(_config(kind, tmp_path / "run", **settings, max_steps=3)).train()
    resumed = trainer_cls(_config(kind, tmp_path / "run", **settings, resume_from_checkpoint="latest"))
    resumed.train()
    expected, actual = _weights(reference), _weights(resumed)
    assert max((expected[k] - actual[k]).abs().max().item() for k in expected) <= 1e-6
    # The log reads as one run: each logged step once.
    steps = [json.loads(line)["step"] for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert steps == [2, 3, 4, 6]


# -- one line of history, and damaged checkpoints (issue 13 item 2) ---------------------------------

RING = {"dataset": "ring8", "num_samples": 64, "log_every": 1}


def test_resuming_an_older_checkpoint_sets_the_abandoned_branch_aside(tmp_path, caplog):
    run = tmp_path / "run"
    DiffusionTrainer(_config("ddpm", run, **RING, max_steps=8, checkpoint_every=2, checkpoints_total_limit=2)).train()
    old_8 = (run / "checkpoints" / "checkpoint-8" / "state.safetensors").read_bytes()
    # Back to step 6, then another branch: a checkpoint every step, ending at 7. Pruning by
    # number kept [7, 8] and made the abandoned 8 the "latest".
    DiffusionTrainer(
        _config(
            "ddpm",
            run,
            **RING,
            max_steps=7,
            checkpoint_every=1,
            checkpoints_total_limit=2,
            resume_from_checkpoint=str(run / "checkpoints" / "checkpoint-6"),
        )
    ).train()
    assert [p.name for p in list_checkpoints(run)] == ["checkpoint-6", "checkpoint-7"]
    assert find_checkpoint(run, "latest").name == "checkpoint-7"
    # Nothing deleted: the abandoned checkpoint is kept aside, and the message says where.
    (aside,) = (run / "checkpoints").glob("abandoned-*")
    assert (aside / "checkpoint-8" / "state.safetensors").read_bytes() == old_8
    assert f"moved checkpoint-8 to {aside}: this run resumes from checkpoint-6" in caplog.text
    # The log reads as the current branch: steps 1..6 of the first run, then 7.
    steps = [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6, 7]


@pytest.fixture(scope="module")
def four_step_run(tmp_path_factory) -> Path:
    """A ring8 run of 4 steps with checkpoints 2 and 4."""
    run = tmp_path_factory.mktemp("runs") / "run"
    DiffusionTrainer(_config("ddpm", run, **RING, max_steps=4, checkpoint_every=2)).train()
    return run


@pytest.mark.parametrize(
    ("name", "damage", "reason"),
    [
        ("state.json", lambda data: b"", "is empty"),
        ("state.json", lambda data: data[: len(data) // 2], "is not valid JSON"),
        ("state.safetensors", lambda data: data[: len(data) - 100], "is cut short or corrupt"),
        ("state.safetensors", lambda data: b"", "is cut short or corrupt"),
    ],
)
def test_latest_falls_back_to_the_newest_checkpoint_that_loads(four_step_run, tmp_path, caplog, name, damage, reason):
    run = Path(shutil.copytree(four_step_run, tmp_path / "run"))
    damaged = run / "checkpoints" / "checkpoint-4" / name
    damaged.write_bytes(damage(damaged.read_bytes()))
    assert find_checkpoint(run, "latest").name == "checkpoint-2"
    assert (
        f"{damaged} {reason}" in caplog.text
        and "resuming from checkpoint-2, the newest checkpoint that loads" in caplog.text
    )

    # Resuming "latest" continues from checkpoint-2; the damaged checkpoint is set aside, not deleted.
    resumed = DiffusionTrainer(
        _config("ddpm", run, **RING, max_steps=4, checkpoint_every=2, resume_from_checkpoint="latest")
    )
    assert resumed.step == 2
    resumed.train()
    assert [p.name for p in list_checkpoints(run)] == ["checkpoint-2", "checkpoint-4"]
    check_checkpoint(run / "checkpoints" / "checkpoint-4")  # the new one loads
    (aside,) = (run / "checkpoints").glob("abandoned-*")
    assert (aside / "checkpoint-4" / name).read_bytes() == damage(
        (four_step_run / "checkpoints" / "checkpoint-4" / name).read_bytes()
    )

    # Named explicitly, a damaged checkpoint is one line naming the file.
    with pytest.raises(CorruptCheckpointError, match=f"{aside / 'checkpoint-4' / name} {reason}.*resume from another"):
        find_checkpoint(run, str(aside / "checkpoint-4"))
