"""`gandiff evaluate`: scores of a saved pipeline beside the data's floor, as a table and JSON.

The numbers themselves are `evaluate_pipeline`'s (tested in test_metrics_*.py); these tests
check what the command adds: where the data set, the scheduler, the step count and the JSON
path come from, that the written JSON is what `evaluate_pipeline` computes for those settings,
and that the user's mistakes are one line of text, not a traceback.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import types
import urllib.error

import pytest
import torch
from toy_models import TINY_RUN_FLAGS

from gandiff import cli
from gandiff import evaluation as evaluate_module
from gandiff.evaluation import evaluate_pipeline

# The module, whatever `gandiff.metrics.inception_fid` names (its lazy export is the function).
inception_module = importlib.import_module("gandiff.metrics.inception_fid")

TINY = [*TINY_RUN_FLAGS, "--num-sample-images", "4"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 2-D GAN run on ring8 and an image DDPM run on digits, each a few steps long."""
    root = tmp_path_factory.mktemp("runs")
    assert (
        cli.main(["train", "gan", "--dataset", "ring8", "--max-steps", "30", "--output-dir", str(root / "gan"), *TINY])
        == 0
    )
    assert (
        cli.main(
            ["train", "ddpm", "--dataset", "digits", "--max-steps", "3", "--output-dir", str(root / "ddpm"), *TINY]
        )
        == 0
    )
    return {"gan": root / "gan", "ddpm": root / "ddpm"}


def _run(argv, capsys) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_answers_without_importing_torch():
    script = (
        "import sys\n"
        "from gandiff import cli\n"
        "for argv in (['evaluate', '--help'], ['plot', 'scatter', '--help']):\n"
        "    try:\n"
        "        cli.main(argv)\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "--inception" in result.stdout and "--num-samples" in result.stdout


def test_scheduler_names_match_the_metrics():
    """Every scheduler evaluation swaps in is offered by --scheduler (both read gandiff.choices)."""
    for name in evaluate_module.SCHEDULERS:
        assert cli.build_parser().parse_args(["evaluate", "run", "--scheduler", name]).scheduler == name


def test_evaluate_a_2d_run_reads_its_data_set_and_writes_json_beside_it(runs, capsys):
    code, out, err = _run(["evaluate", runs["gan"]], capsys)
    assert code == 0, err
    written = json.loads((runs["gan"] / "evaluation.json").read_text(encoding="utf-8"))
    assert written["dataset"] == "ring8" and written["num_samples"] == 2500  # the VEEGAN / PacGAN protocol
    # The same settings through the Python function: the same numbers (sampling is seeded).
    expected = evaluate_pipeline(runs["gan"], "ring8", verbose=False)
    assert written["metrics"] == json.loads(json.dumps(evaluate_module._finite(expected["metrics"])))
    # Every score is printed beside its floor.
    for row in expected["metrics"].values():
        assert (
            f"| {row['label']} | {evaluate_module._number(row['model'])} | {evaluate_module._number(row['data'])} |"
            in out
        )
    assert f"wrote {runs['gan'] / 'evaluation.json'}" in out


def test_evaluate_swaps_the_scheduler_and_takes_its_default_steps(runs, capsys, tmp_path):
    out_json = tmp_path / "sub" / "ddim.json"
    code, out, err = _run(
        ["evaluate", runs["ddpm"], "--scheduler", "ddim", "--num-samples", "40", "--json", out_json], capsys
    )
    assert code == 0, err
    written = json.loads(out_json.read_text(encoding="utf-8"))
    assert written["scheduler"] == "DDIMScheduler" and written["num_inference_steps"] == 50
    assert written["dataset"] == "digits" and written["details"]["floor_size"] == 40
    assert set(written["metrics"]) == {"frechet_distance", "classes_covered", "class_kl", "precision", "recall"}
    assert "DDIMScheduler 50 steps" in out and "| Fréchet distance (classifier features) |" in out
    assert not (runs["ddpm"] / "evaluation.json").exists()  # --json given: nothing written beside the run

    # The saved scheduler (DDPM) with --steps; a pipeline folder given directly.
    code, _, err = _run(
        ["evaluate", runs["ddpm"] / "pipeline", "--steps", "4", "--num-samples", "40", "--seed", "3"], capsys
    )
    assert code == 0, err
    written = json.loads((runs["ddpm"] / "pipeline" / "evaluation.json").read_text(encoding="utf-8"))
    assert written["scheduler"] == "DDPMScheduler" and written["num_inference_steps"] == 4 and written["seed"] == 3
    assert written["dataset"] == "digits"  # from the run around the pipeline folder


def test_evaluate_and_sample_with_rejection_sampling(runs, capsys, tmp_path):
    out_json = tmp_path / "drs.json"
    code, out, err = _run(
        ["evaluate", runs["gan"], "--rejection-sampling", "--num-samples", "500", "--json", out_json], capsys
    )
    assert code == 0, err
    written = json.loads(out_json.read_text(encoding="utf-8"))
    assert written["rejection_sampling"] is True and "discriminator rejection sampling" in out
    expected = evaluate_pipeline(runs["gan"], "ring8", 500, rejection_sampling=True, verbose=False)
    assert written["metrics"] == json.loads(json.dumps(evaluate_module._finite(expected["metrics"])))
    plain = evaluate_pipeline(runs["gan"], "ring8", 500, verbose=False)
    assert plain["metrics"] != expected["metrics"]  # other samples: the flag reached the pipeline

    code, out, err = _run(
        ["sample", runs["gan"], "--rejection-sampling", "--num-samples", "50", "--out", tmp_path / "drs.png"], capsys
    )
    assert code == 0 and (tmp_path / "drs.png").stat().st_size > 0, err


def test_user_errors_are_one_line(runs, capsys, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(runs["gan"] / "pipeline", bare)  # a pipeline folder outside any run
    cases = [
        (["evaluate", tmp_path / "nowhere", "--dataset", "ring8"], "nowhere"),
        (["evaluate", bare], "pass --dataset"),
        (["evaluate", runs["gan"], "--scheduler", "ddim"], "has no scheduler to swap"),
        (["evaluate", runs["gan"], "--steps", "5"], "samples in one step"),
        (["evaluate", runs["gan"], "--dataset", "ring9"], "did you mean 'ring8'?"),
        (["evaluate", runs["ddpm"], "--rejection-sampling", "--num-samples", "4"], "has none"),
        (["sample", runs["ddpm"], "--rejection-sampling", "--num-samples", "4"], "has none"),
    ]
    for argv, message in cases:
        code, _, err = _run(argv, capsys)
        assert code == 2 and message in err and err.startswith("gandiff: error:"), err
        assert err.count("\n") == 1, err  # one line, no traceback


def test_missing_inception_weights_are_one_line(runs, capsys, monkeypatch, tmp_path):
    """torch-fidelity present (stood in for) but offline: the weights cannot be downloaded."""
    url = "https://example.invalid/weights-inception-2015-12-05-6726825d.pth"
    monkeypatch.setattr(inception_module, "_torch_fidelity", lambda: types.SimpleNamespace(URL_INCEPTION_V3=url))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(url, dst, progress=True):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    code, _, err = _run(
        [
            "evaluate",
            runs["ddpm"],
            "--scheduler",
            "ddim",
            "--steps",
            "2",
            "--num-samples",
            "10",
            "--inception",
            "--json",
            tmp_path / "fid.json",
        ],
        capsys,
    )
    last_line = err.rstrip("\n").split("\n")[-1]  # after the sampling's progress bar
    assert code == 2 and "Traceback" not in err and last_line.startswith("gandiff: error:"), err
    assert "Inception-v3 weights for FID could not be downloaded" in last_line and url in last_line
    assert not (tmp_path / "fid.json").exists()
