"""Every user error of `gandiff` is one line on stderr with exit status 2, never a traceback
(issue 13, item 9): the Hub out of reach or refusing, read-only folders, a full disk, files that
are not what they should be; outputs are checked before any work. A bug keeps its traceback.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from test_hub import hub, regular_only  # noqa: F401 (the test Hub fixture)

from gandiff import cli
from gandiff.cli import commands, errors

TINY = ["--model-size", "tiny", "--max-steps", "2", "--batch-size", "8", "--checkpoint-every", "2"]
TINY += ["--sample-every", "0", "--log-every", "1", "--num-sample-images", "4"]


def _run(argv, capsys) -> tuple[int, str]:
    code = cli.main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _one_line(code: int, err: str) -> bool:
    return code == 2 and err.count("\n") == 1 and err.startswith("gandiff: error: ") and "Traceback" not in err


def _ends_with_one_error_line(code: int, err: str) -> bool:
    """After a progress bar (sampling ran): the error is one line, the last, and there is no traceback."""
    return code == 2 and err.count("gandiff: error:") == 1 and err.splitlines()[-1].startswith("gandiff: error: ")


def _gandiff(*argv, env=None, timeout=120) -> subprocess.CompletedProcess:
    """`python -m gandiff ARGV` in a fresh process: the exit status and stderr as a user sees them."""
    return subprocess.run(
        [sys.executable, "-m", "gandiff", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
        check=False,
    )


def _closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ddpm_run(tmp_path_factory) -> Path:
    """A 2-step DDPM run on ring8 (checkpoint-2 and the pipeline folder)."""
    run = tmp_path_factory.mktemp("runs") / "ddpm"
    assert cli.main(["train", "ddpm", "--dataset", "ring8", "--output-dir", str(run), *TINY]) == 0
    return run


def _copy_pipeline(run: Path, tmp_path: Path) -> Path:
    """A copy of the run's pipeline folder, to break."""
    import shutil

    return Path(shutil.copytree(run / "pipeline", tmp_path / "pipeline"))


# -- the Hub ----------------------------------------------------------------------------------


def test_an_offline_hub_is_one_line():
    """It was 119 lines of traceback (ConnectionError)."""
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    result = _gandiff("sample", "someone/model", "--out", "x.png", env={"HF_ENDPOINT": endpoint})
    assert _one_line(result.returncode, result.stderr), result.stderr
    assert "someone/model" in result.stderr and "HF_ENDPOINT" in result.stderr


def test_push_to_hub_checks_the_hub_before_training(tmp_path):
    """It used to train the whole run, then fail with a traceback that said nothing of the local save."""
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    argv = ["train", "gan", "--dataset", "ring8", "--output-dir", tmp_path / "run", *TINY]
    result = _gandiff(*argv, "--push-to-hub", "--hub-model-id", "me/ring8", env={"HF_ENDPOINT": endpoint})
    assert _one_line(result.returncode, result.stderr), result.stderr
    assert "'me/ring8'" in result.stderr and endpoint in result.stderr
    assert not (tmp_path / "run").exists()  # nothing trained, nothing written


@regular_only
def test_push_to_hub_refused_before_training(hub, tmp_path, capsys):  # noqa: F811
    hub.inject("status", "/api/repos/create", status=403)
    argv = ["train", "gan", "--dataset", "ring8", "--output-dir", tmp_path / "run", *TINY]
    code, err = _run([*argv, "--push-to-hub", "--hub-model-id", "me/ring8"], capsys)
    assert _one_line(code, err) and "HTTP 403" in err and "hf auth login" in err, err
    assert not (tmp_path / "run").exists()


@regular_only
def test_push_to_hub_creates_the_repo_then_uploads(hub, tmp_path):  # noqa: F811
    argv = ["train", "gan", "--dataset", "ring8", "--output-dir", tmp_path / "run", *TINY]
    assert cli.main([*map(str, argv), "--push-to-hub", "--hub-model-id", "me/ring8"]) == 0
    from gandiff.pipelines.pipeline import Pipeline

    assert Pipeline.from_pretrained("me/ring8").num_classes is None  # the upload is there


@regular_only
def test_a_failed_upload_says_where_the_run_is_saved(hub, tmp_path, capsys):  # noqa: F811
    hub.inject("status", "/commit/", status=403)
    run = tmp_path / "run"
    argv = ["train", "gan", "--dataset", "ring8", "--output-dir", run, *TINY]
    code, err = _run([*argv, "--push-to-hub", "--hub-model-id", "me/ring8"], capsys)
    line = err.splitlines()[-1]
    assert code == 2 and "Traceback" not in err and line.startswith("gandiff: error: the run finished"), err
    assert f"saved its pipeline in {run / 'pipeline'}" in line and f"hf upload me/ring8 {run / 'pipeline'}" in line
    assert (run / "pipeline" / "model_index.json").is_file()


@regular_only
def test_a_gated_repo_is_one_line(hub, capsys):  # noqa: F811
    hub.inject("status", "/api/models/", status=403, code="GatedRepo")
    code, err = _run(["sample", "someone/gated", "--out", "x.png"], capsys)
    assert _one_line(code, err) and "gated" in err and "hf auth login" in err, err


# -- the file system --------------------------------------------------------------------------


def _read_only(folder: Path, monkeypatch) -> Path:
    """Make `folder` read-only. Permission bits do not bind root: then the OS's answer for a
    read-only folder (os.access -> False) is given for this folder only."""
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:
        real_access = os.access
        monkeypatch.setattr(
            os, "access", lambda path, mode, **kw: Path(path) != folder.absolute() and real_access(path, mode, **kw)
        )
    return folder


def test_a_read_only_output_folder_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys, ddpm_run):
    read_only = _read_only(tmp_path / "ro", monkeypatch)
    argv = ["train", "ddpm", "--dataset", "ring8", "--output-dir", read_only / "run", *TINY]
    code, err = _run(argv, capsys)
    assert _one_line(code, err) and "--output-dir" in err and str(read_only) in err, err
    code, err = _run(["sample", ddpm_run, "--out", read_only / "x.png", "--steps", "2"], capsys)
    assert _one_line(code, err) and "--out" in err and "read-only" in err, err


def test_a_full_disk_is_one_line(monkeypatch, capsys, tmp_path, ddpm_run):
    def full_disk(self, fp, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(fp))

    monkeypatch.setattr(Image.Image, "save", full_disk)
    out = tmp_path / "x.png"
    code, err = _run(["sample", ddpm_run, "--out", out, "--steps", "2", "--num-samples", "4"], capsys)
    assert _ends_with_one_error_line(code, err) and "Traceback" not in err, err
    assert f"{out}: no space left on device; free some space" in err, err


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("nowhere/x.png", "there is no folder nowhere; create it first"),
        ("x.xyz", ".xyz is not a picture type gandiff can write; use .png (or .jpg, .pdf"),
        ("x", "no extension is not a picture type"),
        (".", "exists and is not a regular file"),
    ],
)
def test_sample_out_is_checked_before_the_pipeline_is_even_loaded(out, message, capsys, tmp_path, monkeypatch):
    """A missing folder or an unknown extension failed after all the sampling steps."""
    monkeypatch.chdir(tmp_path)
    code, err = _run(["sample", "no/such-pipeline", "--out", out], capsys)
    assert _one_line(code, err) and message in err and "no/such-pipeline" not in err, err


def test_a_pipe_as_out_is_refused_instead_of_hanging(tmp_path):
    os.mkfifo(tmp_path / "x.png")
    result = _gandiff("sample", "no/such-pipeline", "--out", tmp_path / "x.png", timeout=60)
    assert _one_line(result.returncode, result.stderr) and "not a regular file" in result.stderr, result.stderr


def test_evaluate_json_and_plot_out_are_checked_first(capsys, tmp_path, ddpm_run):
    code, err = _run(["evaluate", ddpm_run, "--json", tmp_path], capsys)
    assert _one_line(code, err) and "--json" in err and "is not a regular file" in err, err
    pytest.importorskip("matplotlib")
    code, err = _run(["plot", "reverse", ddpm_run, "--out", tmp_path / "r.docx"], capsys)
    assert _one_line(code, err) and ".docx is not a picture type" in err, err


# -- files that are not what they should be ---------------------------------------------------


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_deeply_nested_json_is_one_line_naming_the_file(capsys, tmp_path, ddpm_run):
    """RecursionError tracebacks before, for a component config and for model_index.json."""
    pipeline = _copy_pipeline(ddpm_run, tmp_path)
    for path in (pipeline / "scheduler" / "scheduler_config.json", pipeline / "model_index.json"):
        original = path.read_text()
        path.write_text("[" * 100_000 + "]" * 100_000)
        code, err = _run(["sample", pipeline, "--out", tmp_path / "x.png"], capsys)
        assert _one_line(code, err) and str(path) in err and "deeper than" in err, err
        path.write_text(original)


def test_a_config_without_class_name_is_one_line(capsys, tmp_path, ddpm_run):
    pipeline = _copy_pipeline(ddpm_run, tmp_path)
    _edit_json(pipeline / "model_index.json", lambda index: index.pop("_class_name"))
    code, err = _run(["sample", pipeline, "--out", tmp_path / "x.png"], capsys)
    assert _one_line(code, err) and "model_index.json" in err and "_class_name" in err, err


def test_a_value_of_the_wrong_type_is_one_line(capsys, tmp_path, ddpm_run):
    """`trained_betas: "abc"` was a TypeError traceback from torch."""
    pipeline = _copy_pipeline(ddpm_run, tmp_path)
    _edit_json(pipeline / "scheduler" / "scheduler_config.json", lambda config: config.update(trained_betas="abc"))
    code, err = _run(["sample", pipeline, "--out", tmp_path / "x.png", "--steps", "2"], capsys)
    assert _one_line(code, err) and "trained_betas='abc' is not valid" in err, err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(("slot", "other"), [("scheduler", "denoiser"), ("denoiser", "scheduler")])
def test_a_component_of_the_wrong_kind_is_refused_at_load(slot, other, capsys, tmp_path, ddpm_run):
    """It loaded, then failed with an AttributeError traceback at the first call."""
    pipeline = _copy_pipeline(ddpm_run, tmp_path)
    index = json.loads((pipeline / "model_index.json").read_text())
    _edit_json(pipeline / "model_index.json", lambda index_: index_.update({slot: index[other]}))
    for file in (pipeline / other).iterdir():
        (pipeline / slot / file.name).write_bytes(file.read_bytes())
    code, err = _run(["sample", pipeline, "--out", tmp_path / "x.png", "--steps", "2"], capsys)
    assert _one_line(code, err) and slot in err and index[other][1] in err, err


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("state.safetensors", lambda data: data[:100]),  # truncated
        ("state.json", lambda data: b""),  # empty
        ("state.json", lambda data: b"[" * 100_000),  # nested too deeply
    ],
)
def test_a_corrupt_checkpoint_is_one_line_naming_the_file(name, damage, capsys, tmp_path, ddpm_run):
    """A truncated state.safetensors was a SafetensorError traceback; an empty state.json a line without a file name."""
    import shutil

    run = Path(shutil.copytree(ddpm_run, tmp_path / "run"))
    file = run / "checkpoints" / "checkpoint-2" / name
    file.write_bytes(damage(file.read_bytes()))
    argv = ["train", "ddpm", "--dataset", "ring8", "--output-dir", run, *TINY, "--max-steps", "4"]
    code, err = _run([*argv, "--resume-from-checkpoint", run / "checkpoints" / "checkpoint-2"], capsys)
    assert _one_line(code, err) and str(file) in err and "resume from another checkpoint" in err, err


def test_a_component_of_the_wrong_kind_is_refused_in_init():
    from gandiff import DDPMPipeline, DDPMScheduler, GANPipeline
    from gandiff.pipelines.pipeline import ComponentKindError

    with pytest.raises(ComponentKindError, match="DDPMPipeline's denoiser must be a model, got DDPMScheduler"):
        DDPMPipeline(denoiser=DDPMScheduler(), scheduler=DDPMScheduler())
    with pytest.raises(TypeError, match="GANPipeline's generator must be a model"):
        GANPipeline(generator=DDPMScheduler())


def test_a_bug_keeps_its_traceback(monkeypatch):
    """Only the user's errors become one line: a KeyError or TypeError inside gandiff propagates."""

    def buggy(args):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setitem(commands.COMMANDS, "sample", buggy)
    with pytest.raises(TypeError, match="unsupported operand"):
        cli.main(["sample", "run"])


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            OSError(errno.EROFS, "Read-only file system", "x"),
            "x: read-only file system; choose a folder you can write to",
        ),
        (
            OSError(errno.ENOSPC, "No space left on device"),
            "no space left on device; free some space or write elsewhere",
        ),
        (ConnectionError("could not reach the Hub\n  retry"), "could not reach the Hub retry"),
        (ValueError("bad value"), "bad value"),
    ],
)
def test_user_errors_print_as_one_line(error, line):
    assert errors.user_error_message(error) == line


@pytest.mark.parametrize("error", [TypeError("x"), KeyError("x"), AttributeError("x"), RuntimeError("x"), OSError(5)])
def test_bugs_are_not_user_errors(error):
    assert errors.user_error_message(error) is None


def test_a_pipe_named_like_an_image_is_skipped_instead_of_hanging(tmp_path):
    """`gandiff train` on an image folder holding a FIFO named pipe.png waited for it forever."""
    images = tmp_path / "images"
    images.mkdir()
    for i in range(4):
        Image.new("RGB", (28, 28), (60 * i, 0, 0)).save(images / f"{i}.png")
    os.mkfifo(images / "pipe.png")
    argv = ["train", "gan", "--dataset", images, "--output-dir", tmp_path / "run", *TINY, "--batch-size", "2"]
    result = _gandiff(*argv, timeout=300)
    assert result.returncode == 0 and "skipping 1 unreadable image file(s)" in result.stderr, result.stderr
    assert "pipe.png" in result.stderr


@pytest.mark.parametrize("dataset", ["digits", "moons"])
def test_evaluate_against_a_data_set_of_the_other_kind_is_one_line(dataset, capsys, tmp_path, ddpm_run):
    """An image model scored against ring8 was a RuntimeError traceback from a metric; a point
    model against digits a shape error. Now one line, before any sampling."""
    run = ddpm_run  # a 2-D model
    if dataset == "moons":  # an image model
        run = tmp_path / "images"
        assert cli.main(["train", "ddpm", "--dataset", "digits", "--output-dir", str(run), *TINY]) == 0
        capsys.readouterr()
    code, err = _run(["evaluate", run, "--dataset", dataset, "--num-samples", "10", "--steps", "2"], capsys)
    assert _one_line(code, err) and f"but '{dataset}' is" in err and "the data set it learned" in err, err
