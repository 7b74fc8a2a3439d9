"""The output folder of a run, as a user meets it: one writer at a time, and restarts that work.

Runs are real `gandiff train` commands on 2-D points with tiny MLPs (a few steps each), in this
process through `gandiff.cli.main`, or in a subprocess that stops at a chosen step: it sleeps
there (a run still alive) or SIGKILLs itself (a run killed mid-training).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest
from toy_models import free_port, two_process_env

from gandiff import cli
from gandiff.training.lock import LOCK_NAME, OutputDirInUseError, OutputDirLock

TRAIN = [
    "train",
    "ddpm",
    "--dataset",
    "ring8",
    "--num-samples",
    "64",
    "--model-size",
    "tiny",
    "--batch-size",
    "8",
    "--sample-every",
    "0",
    "--log-every",
    "1",
    "--num-sample-images",
    "16",
    "--threads",
    "1",
]

# `gandiff train ARGS...` that stops after optimizer step STOP: "sleep" there, or "kill" itself.
_STOPPING_RUN = textwrap.dedent(
    """
    import os, signal, sys, time
    from gandiff import cli
    from gandiff.training.trainer import Trainer

    stop_step, how, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    end_of_step = Trainer.end_of_step

    def stopping_end_of_step(self):
        end_of_step(self)
        if self.step == stop_step:
            print("stopped", flush=True)
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(120)

    Trainer.end_of_step = stopping_end_of_step
    cli.main(argv)
    """
)


def _start_stopping_run(stop_step: int, how: str, argv: list[str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", _STOPPING_RUN, str(stop_step), how, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    line = process.stdout.readline()  # blocks until the run reaches its step (or dies)
    assert line.strip() == "stopped", process.stderr.read()[-3000:]
    return process


def _files(folder) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != LOCK_NAME}


def _steps(run) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]


# -- one writer per output folder (issue 13 item 3) -------------------------------------------------


def test_a_second_run_and_a_resume_are_refused_while_the_first_runs_then_a_killed_run_is_taken_over(
    tmp_path, capsys, caplog
):
    run = tmp_path / "run"
    argv = [*TRAIN, "--output-dir", str(run), "--max-steps", "4", "--checkpoint-every", "2"]
    assert cli.main([*argv, "--max-steps", "2"]) == 0
    capsys.readouterr()
    # A second process holds the folder, as a running `gandiff train` does (a real one takes
    # seconds to import torch; the lock is the same).
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(run)], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        before = _files(run)
        for again in (argv, [*argv, "--resume-from-checkpoint", "latest"]):
            assert cli.main(again) == 2
            err = capsys.readouterr().err
            assert f"PID {holder.pid} on host {socket.gethostname()}" in err and "in use" in err
            assert len(err.strip().splitlines()) == 1
        assert _files(run) == before  # nothing written, the holder's staging and log untouched
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)

    # The killed holder's lock is stale: a resume takes it over, saying so, and finishes the run.
    assert cli.main([*argv, "--resume-from-checkpoint", "latest"]) == 0
    assert f"taking over the lock of a run that stopped without releasing it (PID {holder.pid}" in caplog.text
    assert "resuming from" in capsys.readouterr().out and _steps(run) == [1, 2, 3, 4]
    assert not (run / LOCK_NAME).exists()  # released at the end


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from gandiff.training.lock import OutputDirLock

    OutputDirLock(sys.argv[1]).acquire()
    print("holding", flush=True)
    time.sleep(120)
    """
)


def test_a_lock_of_another_host_is_refused_with_the_way_out(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_NAME).write_text(json.dumps({"pid": 4242, "host": "node-elsewhere", "started": "2026-12-05"}))
    assert cli.main([*TRAIN, "--output-dir", str(run), "--max-steps", "2"]) == 2
    err = capsys.readouterr().err
    assert "PID 4242 on host node-elsewhere" in err and f"delete {run / LOCK_NAME}" in err
    assert sorted(p.name for p in run.iterdir()) == [LOCK_NAME]  # nothing written


def test_the_lock_is_one_per_process_and_dead_holders_are_stale(tmp_path):
    # A lock file naming a PID that has ended on this host, as a killed run leaves it.
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": int(ended.stdout), "host": socket.gethostname()}))
    lock = OutputDirLock(tmp_path)
    lock.acquire()
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    # Another process cannot take it while this one holds it.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from gandiff.training.lock import OutputDirLock; OutputDirLock({str(tmp_path)!r}).acquire()",
        ],
        capture_output=True,
        text=True,
    )
    assert "OutputDirInUseError" in probe.stderr and f"PID {os.getpid()}" in probe.stderr
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_refused_start_leaves_no_folder_behind(tmp_path):
    lock = OutputDirLock(tmp_path / "new" / "run")
    lock.acquire()
    assert (tmp_path / "new" / "run" / LOCK_NAME).is_file()
    lock.release()
    assert not (tmp_path / "new" / "run").exists()
    with pytest.raises(FileExistsError, match="is a file"):
        (tmp_path / "file").write_text("x")
        OutputDirLock(tmp_path / "file").acquire()
    assert issubclass(OutputDirInUseError, FileExistsError)  # one line in the CLI


# -- restarting a run that stopped before its first checkpoint (issue 13 item 4) --------------------


def test_a_run_killed_before_its_first_checkpoint_is_started_over(tmp_path, capsys, caplog):
    run = tmp_path / "run"
    argv = [*TRAIN, "--output-dir", str(run), "--max-steps", "4", "--checkpoint-every", "3"]
    _start_stopping_run(2, "kill", argv).wait(timeout=60)
    assert _steps(run) == [1, 2] and not (run / "checkpoints").exists()

    # Resuming says there is nothing to resume, and which command starts over.
    assert cli.main([*argv, "--resume-from-checkpoint", "latest"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"gandiff: error: {run} holds no checkpoint to resume from: the run stopped before its first checkpoint (its "
        "log reaches step 2). Start the run over with the same command without --resume-from-checkpoint"
    )
    # That command starts it over, saying so.
    assert cli.main(argv) == 0
    assert "holds a run that left no checkpoint to resume" in caplog.text and "starting it over" in caplog.text
    assert _steps(run) == [1, 2, 3, 4] and (run / "pipeline" / "model_index.json").is_file()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", "128"], "the data set has 64 samples, fewer than one batch of 128"),
        (["--push-to-hub", "--hub-model-id", "me/not a repo"], "--hub-model-id must be a Hub repo id"),
    ],
)
def test_inputs_are_checked_before_anything_is_written(tmp_path, capsys, flags, message):
    run = tmp_path / "run"
    assert cli.main([*TRAIN, "--output-dir", str(run), "--max-steps", "2", *flags]) == 2
    assert message in capsys.readouterr().err
    assert not run.exists()
    # The same command with the input fixed then runs (nothing was left to refuse it).
    assert cli.main([*TRAIN, "--output-dir", str(run), "--max-steps", "2"]) == 0


def test_an_output_dir_under_a_file_is_refused_at_once(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert cli.main([*TRAIN, "--output-dir", str(tmp_path / "notes.txt" / "run"), "--max-steps", "2"]) == 2
    assert "which is a file" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_every_process_of_a_two_process_run_is_refused_together(tmp_path):
    """Only the main process checks the lock; the other learns the answer from it instead of
    waiting for it at the next barrier (a hang), and is never refused by its own main's lock
    (tests/test_distributed.py runs two processes through a whole run)."""
    run = tmp_path / "run"
    lock = OutputDirLock(run)
    lock.acquire()  # this test process plays the run that is already writing
    port = free_port()
    worker = "import sys; from gandiff import cli; sys.exit(cli.main(sys.argv[1:]))"
    argv = [*TRAIN, "--output-dir", str(run), "--max-steps", "2"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", worker, *argv],
            env=two_process_env(rank, port),
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    try:
        errors = [p.communicate(timeout=300)[1] for p in processes]
    finally:
        lock.release()
    assert [p.returncode for p in processes] == [2, 2], errors
    assert all(f"in use by another gandiff run (PID {os.getpid()}" in err for err in errors), errors


def test_without_os_locks_the_named_pid_decides(tmp_path, monkeypatch):
    """On a file system that refuses flock (some network and FUSE mounts) a lock naming a live
    PID on this host still refuses, and one naming an ended PID is taken over."""
    import errno
    import fcntl

    def no_locks(fd, operation):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": alive.pid, "host": socket.gethostname()}))
        with pytest.raises(OutputDirInUseError, match=f"PID {alive.pid} on host {socket.gethostname()}"):
            OutputDirLock(tmp_path).acquire()
    finally:
        alive.kill()
        alive.wait()
    lock = OutputDirLock(tmp_path)
    lock.acquire()  # the PID has ended
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    lock.release()
