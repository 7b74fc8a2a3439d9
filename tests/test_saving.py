"""Saving never loses a file: a save replaces only gandiff's own files, atomically.

What a user relies on (DESIGN.md, "Files on disk"): unrelated files in the folder survive every
save; a failed, crashed or killed save leaves the old or the new save loadable, never neither,
and no debris that grows; files get the umask's permissions; the folder itself is never renamed.
"""

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from gandiff import DDPMPipeline, DDPMScheduler, GANPipeline, MLPDenoiser, MLPGenerator, ModelMixin, Pipeline
from gandiff.saving import atomic_directory, process_alive, write_text_atomic


def small_pipeline(seed: int = 0) -> DDPMPipeline:
    torch.manual_seed(seed)
    return DDPMPipeline(denoiser=MLPDenoiser(hidden_dim=16, num_layers=2), scheduler=DDPMScheduler())


def weights_of(pipeline: Pipeline) -> dict[str, torch.Tensor]:
    return {
        f"{name}.{key}": value
        for name, component in pipeline.components.items()
        if isinstance(component, torch.nn.Module)
        for key, value in component.state_dict().items()
    }


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def tree(folder) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def add_user_files(folder) -> dict[str, str]:
    """A project's own files, as a user keeps them beside a save."""
    files = {"thesis.tex": "\\section{Results}", "src/train.py": "print('mine')", "notes/todo.md": "- write"}
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return files


def assert_user_files(folder, files: dict[str, str]) -> None:
    for rel, text in files.items():
        assert (folder / rel).read_text() == text, rel


# -- atomic_directory ---------------------------------------------------------------------------


def test_a_failed_save_leaves_the_previous_one(tmp_path):
    target = tmp_path / "model"
    with atomic_directory(target) as staging:
        (staging / "config.json").write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as staging:
            (staging / "config.json").write_text("half")
            raise RuntimeError("crash while writing")
    assert (target / "config.json").read_text() == "good"
    assert tree(tmp_path) == {"model", "model/config.json"}  # no staging folder left behind


def test_a_successful_save_replaces_the_previous_one(tmp_path):
    target = tmp_path / "model"
    for text in ("first", "second"):
        with atomic_directory(target) as staging:
            (staging / "config.json").write_text(text)
    assert (target / "config.json").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_save_keeps_every_file_it_did_not_write(tmp_path):
    (tmp_path / "config.json").write_text("{}")  # today's marker that made the folder 'a save'
    files = add_user_files(tmp_path)
    with atomic_directory(tmp_path) as staging:
        (staging / "config.json").write_text("new")
    assert (tmp_path / "config.json").read_text() == "new"
    assert_user_files(tmp_path, files)
    assert tree(tmp_path) == {"config.json", "thesis.tex", "src", "src/train.py", "notes", "notes/todo.md"}


# -- what users save ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["model", "scheduler", "pipeline"])
def test_unrelated_files_survive_save_and_resave(kind, tmp_path):
    objects = {
        "model": lambda: MLPDenoiser(hidden_dim=16, num_layers=2),
        "scheduler": lambda: DDPMScheduler(),
        "pipeline": lambda: small_pipeline(),
    }
    target = tmp_path / "out"
    target.mkdir()
    (target / "config.json").write_text('{"mine": true}')  # a user's config, in the way of ours
    files = add_user_files(target)
    obj = objects[kind]()
    for _ in range(2):
        obj.save_pretrained(target)
        assert_user_files(target, files)
    loaded = type(obj).from_pretrained(target)
    if kind == "pipeline":
        assert same_weights(weights_of(loaded), weights_of(obj))
    else:
        assert loaded.config == obj.config


def test_save_pretrained_dot_keeps_the_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("x,y\n1,2\n")
    files = add_user_files(tmp_path)
    pipeline = small_pipeline()
    pipeline.save_pretrained(".")
    pipeline.save_pretrained(".")
    assert (tmp_path / "data.csv").read_text() == "x,y\n1,2\n"
    assert_user_files(tmp_path, files)
    assert same_weights(weights_of(Pipeline.from_pretrained(".")), weights_of(pipeline))


def test_evaluation_json_survives_a_resave(tmp_path):
    target = tmp_path / "run" / "pipeline"
    small_pipeline(0).save_pretrained(target)
    write_text_atomic(target / "evaluation.json", '{"fid": 12.5}\n')  # as `gandiff evaluate` writes it
    small_pipeline(1).save_pretrained(target)  # a resumed run saves again
    assert json.loads((target / "evaluation.json").read_text()) == {"fid": 12.5}


def test_a_resumed_runs_output_keeps_evaluation_json(tmp_path):
    from PIL import Image

    from gandiff.training.config import DiffusionTrainingConfig
    from gandiff.training.output import save_run_output

    config = DiffusionTrainingConfig(output_dir=str(tmp_path / "run"), dataset="ring8")
    folder = save_run_output(small_pipeline(0), config, {}, Image.new("RGB", (4, 4)))
    write_text_atomic(folder / "evaluation.json", '{"fid": 12.5}\n')  # `gandiff evaluate RUN/pipeline`
    assert save_run_output(small_pipeline(1), config, {}, Image.new("RGB", (4, 4))) == folder  # the resumed run ends
    assert json.loads((folder / "evaluation.json").read_text()) == {"fid": 12.5}
    assert same_weights(weights_of(Pipeline.from_pretrained(folder)), weights_of(small_pipeline(1)))


def test_stale_weights_and_components_go_but_user_files_stay(tmp_path):
    target = tmp_path / "pipe"
    small_pipeline().save_pretrained(target)
    # Weights of an older format beside ours would be a second, stale copy of the component.
    (target / "denoiser" / "diffusion_pytorch_model.bin").write_bytes(b"old weights")
    (target / "denoiser" / "notes.txt").write_text("mine")
    GANPipeline(generator=MLPGenerator(hidden_dim=16, num_layers=2)).save_pretrained(target)
    # scheduler/ held only gandiff's files: gone with the component. denoiser/ holds a note of
    # the user's, so it stays as it was.
    assert not (target / "scheduler").exists()
    assert (target / "denoiser" / "notes.txt").read_text() == "mine"
    assert (target / "denoiser" / "diffusion_pytorch_model.bin").is_file()
    assert type(Pipeline.from_pretrained(target)) is GANPipeline

    model = MLPDenoiser(hidden_dim=16, num_layers=2)
    model.save_pretrained(target / "denoiser")
    assert tree(target / "denoiser") == {"config.json", "model.safetensors", "notes.txt"}


# -- permissions and durability -----------------------------------------------------------------


@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
@pytest.mark.parametrize("kind", ["model", "scheduler", "pipeline"])
def test_files_get_the_umask_permissions(kind, umask, file_mode, dir_mode, tmp_path):
    obj = {
        "model": MLPDenoiser(hidden_dim=16, num_layers=2),
        "scheduler": DDPMScheduler(),
        "pipeline": small_pipeline(),
    }
    previous = os.umask(umask)
    try:
        obj[kind].save_pretrained(tmp_path / "new")
        (tmp_path / "existing").mkdir(mode=dir_mode)
        obj[kind].save_pretrained(tmp_path / "existing")
    finally:
        os.umask(previous)
    for folder in ("new", "existing"):
        for path in [tmp_path / folder, *(tmp_path / folder).rglob("*")]:
            expected = dir_mode if path.is_dir() else file_mode
            assert stat.S_IMODE(path.stat().st_mode) == expected, (path, oct(path.stat().st_mode))


def test_files_and_folders_are_fsynced_before_they_are_published(tmp_path, monkeypatch):
    synced = set()
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.add(os.fstat(fd).st_ino)  # a rename keeps the inode
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    target = tmp_path / "pipe"
    for _ in range(2):  # into a new folder, then over an existing save
        synced.clear()
        small_pipeline().save_pretrained(target)
        for path in [target, *target.rglob("*")]:
            assert path.stat().st_ino in synced, path


def test_saving_into_a_mount_point_never_renames_it(tmp_path, monkeypatch):
    """A mount point (or the working directory of another process) cannot be renamed: EBUSY."""
    import errno

    target = tmp_path / "mnt"
    target.mkdir()
    for name in ("rename", "replace"):
        real = getattr(os, name)

        def busy(src, dst, *args, _real=real, **kwargs):
            if os.path.exists(src) and target.samefile(src):
                raise OSError(errno.EBUSY, "Device or resource busy", str(src))
            return _real(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, name, busy)
    pipeline = small_pipeline()
    pipeline.save_pretrained(target)
    pipeline.save_pretrained(target)
    assert same_weights(weights_of(Pipeline.from_pretrained(target)), weights_of(pipeline))


# -- crashes and kills --------------------------------------------------------------------------


def _save_and_die_at_rename(pipeline: Pipeline, target, die_at: int) -> bool:
    """Save in a forked child that dies (os._exit: no cleanup runs) at its `die_at`-th rename;
    True when the save finished before reaching it."""
    pid = os.fork()
    if pid == 0:  # the child
        try:
            calls = 0
            for name in ("rename", "replace"):
                real = getattr(os, name)

                def dying(*args, _real=real, **kwargs):
                    nonlocal calls
                    calls += 1
                    if calls == die_at:
                        os._exit(9)
                    return _real(*args, **kwargs)

                setattr(os, name, dying)
            pipeline.save_pretrained(target)
            os._exit(0)
        except BaseException:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert code in (0, 9), f"the saving child failed with {code}"
    return code == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork to die at an exact point")
def test_a_crash_at_any_rename_leaves_the_old_or_the_new_save(tmp_path):
    target = tmp_path / "pipe"
    old, new = small_pipeline(0), small_pipeline(1)
    old_weights, new_weights = weights_of(old), weights_of(new)
    for die_at in range(1, 100):
        old.save_pretrained(target)
        files = add_user_files(target)
        finished = _save_and_die_at_rename(new, target, die_at)
        loaded = weights_of(Pipeline.from_pretrained(target))  # recovers what the crash left
        assert same_weights(loaded, new_weights) or (not finished and same_weights(loaded, old_weights)), die_at
        assert_user_files(target, files)
        if finished:
            break
    else:
        pytest.fail("the save never finished")
    assert die_at > 4  # the test did crash at several points
    # Nothing of the crashed saves stays behind once the next save has run.
    old.save_pretrained(target)
    hidden = [p for p in [*tmp_path.rglob(".*")] if p.name.startswith(".")]
    assert hidden == []


def test_a_crash_between_the_old_two_renames_is_recovered(tmp_path):
    """Earlier versions moved the old save to .NAME.old-XXXXXXXX/save, then the new one in from
    .NAME.tmp-XXXXXXXX; a crash between left the folder missing."""
    pipeline = small_pipeline()
    pipeline.save_pretrained(tmp_path / "build")
    (tmp_path / ".pipe.old-k2j4x_9a").mkdir()
    os.rename(tmp_path / "build", tmp_path / ".pipe.old-k2j4x_9a" / "save")
    (tmp_path / ".pipe.tmp-a8b7c6d5").mkdir()
    (tmp_path / ".pipe.tmp-a8b7c6d5" / "model.safetensors").write_bytes(b"x" * 1000)
    loaded = Pipeline.from_pretrained(tmp_path / "pipe")
    assert same_weights(weights_of(loaded), weights_of(pipeline))
    pipeline.save_pretrained(tmp_path / "pipe")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # the old staging is gone too


def test_staging_named_with_pid_0_is_not_a_live_writers(tmp_path):
    """os.kill(0, 0) asks about this process's group, which always exists: a staging folder named
    with pid 0 (no process has that id) was kept as a running save's forever."""
    pipeline = small_pipeline()
    (tmp_path / ".pipe.tmp-0-a8b7c6d5").mkdir()
    pipeline.save_pretrained(tmp_path / "pipe")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


@pytest.mark.parametrize("pid, alive", [(os.getpid(), True), (0, False), (-1, False), ("12", False), (True, False)])
def test_process_alive(pid, alive):
    """Only a positive int names a process; this process exists."""
    assert process_alive(pid) is alive


_KEEP_SAVING = textwrap.dedent(
    """
    import sys
    import torch
    from gandiff import MLPDenoiser

    torch.manual_seed(int(sys.argv[2]))
    model = MLPDenoiser(hidden_dim=1024, num_layers=8)  # ~8.4M parameters, 34 MB
    while True:
        model.save_pretrained(sys.argv[1])
    """
)


def test_killed_saves_leave_a_loadable_model_and_no_growing_debris(tmp_path):
    target = tmp_path / "model"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    kills = 0
    for seed in range(3):
        process = subprocess.Popen([sys.executable, "-c", _KEEP_SAVING, str(target), str(seed)], env=env)
        try:
            # Kill once a save is under way: a staging folder of this process exists.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and process.poll() is None:
                if any(f".tmp-{process.pid}-" in p.name for p in [*tmp_path.iterdir(), *target.glob(".*")]):
                    break
                time.sleep(0.005)
            time.sleep(0.02 * seed)  # a different point of the save each time
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        kills += process.returncode == -signal.SIGKILL
        if target.exists():
            model = ModelMixin.from_pretrained(target)
            assert isinstance(model, MLPDenoiser)
    assert kills == 3
    MLPDenoiser(hidden_dim=16, num_layers=2).save_pretrained(target)
    assert tree(tmp_path) == {"model", "model/config.json", "model/model.safetensors"}
