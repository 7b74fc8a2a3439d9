"""`gandiff` flags a user relies on: --version, --threads, a required --dataset, bounded numbers,
one-line usage errors, and messages that name flags rather than Python arguments (issue 13)."""

from __future__ import annotations

import pytest
import torch

import gandiff
from gandiff import cli
from gandiff.cli import commands, flags

TINY = ["--model-size", "tiny", "--max-steps", "2", "--batch-size", "8", "--checkpoint-every", "2"]
TINY += ["--sample-every", "0", "--log-every", "1", "--num-sample-images", "4"]


def _run(argv, capsys) -> tuple[int, str, str]:
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exit_info:  # argparse: --version, a bad flag
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version(capsys):
    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and out == f"gandiff {gandiff.__version__}\n"


def test_forgetting_the_dataset_is_an_error_listing_the_built_in_sets(capsys, tmp_path):
    """It used to train on ring8 without a word."""
    code, _, err = _run(["train", "ddpm", "--output-dir", tmp_path / "run", *TINY], capsys)
    assert code == 2 and err.count("\n") == 1 and "--dataset is required" in err
    assert all(name in err for name in ("ring8", "grid25", "digits", "mnist5k", "image folder", "hf:NAME")), err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # 23.8 GB of memory before this bound
        (["plot", "schedules", "--num-train-timesteps", "1e8"], "expected a number <= 100,000, got 100,000,000"),
        (["train", "gan", "--dataset", "ring8", "--learning-rate", "inf"], "expected a finite number, got inf"),
        (["train", "gan", "--dataset", "ring8", "--learning-rate", "nan"], "expected a finite number, got nan"),
        (["train", "gan", "--dataset", "ring8", "--learning-rate", "3"], "expected a number <= 1, got 3"),
        (["train", "ddpm", "--dataset", "ring8", "--ema-decay", "1"], "expected a number < 1, got 1"),
        (["train", "gan", "--dataset", "ring8", "--adam-betas", "0.5", "1.5"], "expected a number < 1, got 1.5"),
        (["train", "ddpm", "--dataset", "digits", "--resolution", "100000"], "expected a number <= 1,024"),
        (["train", "ddpm", "--dataset", "ring8", "--batch-size", "1e7"], "expected a number <= 65,536"),
        (["train", "ddpm", "--dataset", "ring8", "--max-steps", "2.5"], "expected a whole number, got '2.5'"),
        (["sample", "run", "--num-samples", "1000000"], "expected a number <= 10,000"),
        (["sample", "run", "--threads", "0"], "expected a number >= 1, got 0"),
        (["evaluate", "run", "--steps", "1e9"], "expected a number <= 100,000"),
        (["plot", "forward", "--timesteps", "0", "-5"], "expected a number >= 0, got -5"),
    ],
)
def test_numbers_are_bounded_with_a_one_line_message(argv, message, capsys, tmp_path):
    code, _, err = _run([*argv, "--output-dir", tmp_path / "run"] if argv[0] == "train" else argv, capsys)
    assert code == 2 and message in err, err
    assert err.count("\n") == 1 and err.startswith("gandiff"), err  # no screen of usage before it
    assert not (tmp_path / "run").exists()


def test_a_number_written_in_e_notation_is_read(capsys):
    args = cli.build_parser().parse_args(["train", "ddpm", "--dataset", "ring8", "--max-steps", "1e4"])
    assert args.max_steps == 10_000


def test_threads_flag_sets_torch_threads_for_the_command_and_restores_them(monkeypatch, capsys):
    seen = []
    monkeypatch.setitem(commands.COMMANDS, "sample", lambda args: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    assert cli.main(["sample", "run", "--threads", "3"]) == 0
    assert seen == [3] and torch.get_num_threads() == before


def test_default_threads_is_one_or_omp_num_threads(monkeypatch):
    """Torch's default (a thread per core) made `gandiff sample` 20-50x slower under competing load."""
    seen = []
    monkeypatch.setitem(commands.COMMANDS, "sample", lambda args: seen.append(torch.get_num_threads()))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    torch.set_num_threads(2)  # torch's default on this 2-core machine
    try:
        assert cli.main(["sample", "run"]) == 0
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert cli.main(["sample", "run"]) == 0
    finally:
        torch.set_num_threads(1)
    assert seen == [1, 2]


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "ddpm", "--dataset", "ring8", "--beta-schedule", "cosin"],
        ["train", "ddpm", "--datset", "ring8"],
        ["sample"],
        ["frobnicate"],
    ],
)
def test_usage_errors_are_one_line(argv, capsys):
    code, _, err = _run(argv, capsys)
    assert code == 2 and err.count("\n") == 1 and "error:" in err and "--help" in err, err


def test_errors_name_the_flag_not_the_python_argument(capsys, tmp_path):
    code, _, err = _run(
        ["train", "gan", "--dataset", "digits", "--resolution", "16", "--output-dir", tmp_path / "a", *TINY], capsys
    )
    assert code == 2 and "pass --resolution one of those" in err and "resolution=" not in err, err
    code, _, err = _run(
        ["train", "gan", "--dataset", "ring8", "--push-to-hub", "--output-dir", tmp_path / "b"], capsys
    )
    assert code == 2 and "--push-to-hub needs --hub-model-id" in err and "hub_model_id" not in err, err


def test_as_flags_rewrites_python_names_only():
    names = ["resume_from_checkpoint", "mixed_precision", "class_conditional", "output_dir", "loss"]
    assert (
        flags.as_flags("resume it with resume_from_checkpoint='latest', or choose a new output_dir", names)
        == "resume it with --resume-from-checkpoint latest, or choose a new --output-dir"
    )
    assert flags.as_flags("mixed_precision='fp16' needs a GPU", names) == "--mixed-precision fp16 needs a GPU"
    assert flags.as_flags("class_conditional=True, but", names) == "--class-conditional, but"
    assert flags.as_flags("the loss is NaN; the output_dir_old", names) == "the loss is NaN; the output_dir_old"


def test_batch_size_error_is_on_a_line_of_its_own(capsys, tmp_path):
    """It used to follow the progress bar's last frame on the same line."""
    argv = ["train", "ddpm", "--dataset", "digits", "--output-dir", tmp_path / "run", *TINY, "--batch-size", "5000"]
    code, _, err = _run(argv, capsys)
    [line] = [line for line in err.splitlines() if "fewer than one batch" in line]
    assert code == 2 and line.startswith("gandiff: error: the data set has 1797 samples"), err


def test_resuming_says_from_which_checkpoint(capsys, tmp_path):
    run = tmp_path / "run"
    assert cli.main(["train", "ddpm", "--dataset", "ring8", "--output-dir", str(run), *TINY]) == 0
    capsys.readouterr()
    argv = ["train", "ddpm", "--dataset", "ring8", "--output-dir", run, *TINY, "--max-steps", "3"]
    code, out, _ = _run([*argv, "--resume-from-checkpoint", "latest"], capsys)
    assert code == 0 and f"resuming from {run / 'checkpoints' / 'checkpoint-2'} (step 2)\n" in out, out
