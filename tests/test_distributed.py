"""Two CPU processes (gloo), started with the environment `accelerate launch` / torchrun give them.

Each process runs a few steps of each trainer on the same 64 points and reports what it saw
and wrote. Checked: both ranks end with identical weights (DDP averages the gradients), the 64
samples of the epoch are split between the ranks with none seen twice, and only the main
process writes into the run folder. A slow test runs the real `accelerate launch -m gandiff`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file
from toy_models import free_port, two_process_env

from gandiff import Pipeline

_WORKER = textwrap.dedent(
    """
    import builtins, io, json, os, sys
    import safetensors.torch
    import torch

    out = sys.argv[1]
    rank = int(os.environ["RANK"])
    runs = [os.path.join(out, "ddpm"), os.path.join(out, "gan")]
    writes = []

    def watch(function, is_write):
        def watched(path, *args, **kwargs):
            if is_write(args, kwargs) and any(os.path.abspath(str(path)).startswith(r) for r in runs):
                writes.append(str(path))
            return function(path, *args, **kwargs)
        return watched

    always = lambda args, kwargs: True
    opened_for_writing = lambda args, kwargs: any(c in (args[0] if args else kwargs.get("mode", "r")) for c in "wax+")
    builtins.open = io.open = watch(builtins.open, opened_for_writing)
    os.mkdir, os.makedirs, os.replace = watch(os.mkdir, always), watch(os.makedirs, always), watch(os.replace, always)
    real_save_file = safetensors.torch.save_file
    safetensors.torch.save_file = lambda tensors, path, *a, **k: watch(lambda p: real_save_file(tensors, p, *a, **k), always)(path)

    from gandiff.data import load_dataset
    from gandiff.training import DiffusionTrainer, DiffusionTrainingConfig, GANTrainer, GANTrainingConfig


    class Recording(torch.utils.data.Dataset):
        # The data set, remembering which items this process loaded.
        def __init__(self, dataset):
            self.dataset, self.seen = dataset, []
            self.kind, self.sample_shape = dataset.kind, dataset.sample_shape
            self.num_classes, self.mixture = dataset.num_classes, dataset.mixture

        def __len__(self):
            return len(self.dataset)

        def __getitem__(self, index):  # direct reads: the scatter plots' reference points
            return self.dataset[index]

        def __getitems__(self, indices):  # what the DataLoader fetches, one batch at a time
            self.seen.extend(indices)
            return [self.dataset[i] for i in indices]


    # 2 processes × batch 8 × 4 steps = 64 samples: exactly one epoch of 64 points.
    common = dict(dataset="ring8", num_samples=64, model_size="tiny", batch_size=8, max_steps=4, checkpoint_every=2,
                  sample_every=2, log_every=1)
    for name, trainer_cls, config_cls in [("ddpm", DiffusionTrainer, DiffusionTrainingConfig),
                                          ("gan", GANTrainer, GANTrainingConfig)]:
        data = Recording(load_dataset("ring8", num_samples=64))
        trainer = trainer_cls(config_cls(**common, output_dir=os.path.join(out, name)), dataset=data)
        trainer.train()
        tensors = {f"{m}.{k}": v.detach().contiguous().clone()
                   for m, module in trainer._state()["modules"].items() for k, v in module.state_dict().items()}
        real_save_file(tensors, os.path.join(out, f"weights-{name}-{rank}.safetensors"))
        with open(os.path.join(out, f"seen-{name}-{rank}.json"), "w") as f:
            json.dump({"seen": data.seen, "num_processes": trainer.accelerator.num_processes}, f)
    with open(os.path.join(out, f"writes-{rank}.json"), "w") as f:
        json.dump(writes, f)
    """
)


def test_two_processes_agree_and_share_the_epoch(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    port = free_port()
    processes = []
    for rank in range(2):
        env = two_process_env(rank, port)
        processes.append(
            subprocess.Popen(
                [sys.executable, str(script), str(tmp_path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]

    for name in ("ddpm", "gan"):
        rank0, rank1 = (load_file(str(tmp_path / f"weights-{name}-{r}.safetensors")) for r in range(2))
        assert rank0.keys() == rank1.keys()
        assert all(torch.equal(rank0[k], rank1[k]) for k in rank0), name
        seen = [json.loads((tmp_path / f"seen-{name}-{r}.json").read_text()) for r in range(2)]
        assert [s["num_processes"] for s in seen] == [2, 2]
        assert len(seen[0]["seen"]) == len(seen[1]["seen"]) == 32
        assert sorted(seen[0]["seen"] + seen[1]["seen"]) == list(range(64))  # each sample once
        assert isinstance(Pipeline.from_pretrained(tmp_path / name / "pipeline"), Pipeline)
        assert (
            len(json.loads((tmp_path / name / "checkpoints" / "checkpoint-4" / "state.json").read_text())["rng"]) == 2
        )

    assert json.loads((tmp_path / "writes-1.json").read_text()) == []  # rank 1 wrote nothing
    assert json.loads((tmp_path / "writes-0.json").read_text())  # while rank 0 wrote the runs


@pytest.mark.slow
def test_accelerate_launch_runs_the_cli(tmp_path):
    """The documented command: `accelerate launch --multi_gpu --num_processes 2 -m gandiff train ...`
    (accelerate's --multi_gpu launches processes; without GPUs they train on the CPU with gloo)."""
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(free_port()),
        "-m",
        "gandiff",
        "train",
        "gan",
        "--dataset",
        "ring8",
        "--model-size",
        "tiny",
        "--max-steps",
        "4",
        "--batch-size",
        "8",
        "--checkpoint-every",
        "2",
        "--output-dir",
        str(tmp_path / "run"),
    ]
    result = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads((tmp_path / "run" / "checkpoints" / "checkpoint-4" / "state.json").read_text())
    assert state["num_processes"] == 2
    assert isinstance(Pipeline.from_pretrained(tmp_path / "run" / "pipeline"), Pipeline)
