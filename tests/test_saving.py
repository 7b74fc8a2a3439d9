"""Atomic saves: a failed save never replaces a good one."""

import pytest

from gandiff.saving import atomic_directory


def test_a_failed_save_leaves_the_previous_one(tmp_path):
    target = tmp_path / "model"
    with atomic_directory(target) as staging:
        (staging / "config.json").write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as staging:
            (staging / "config.json").write_text("half")
            raise RuntimeError("crash while writing")
    assert (target / "config.json").read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging folder left behind


def test_a_successful_save_replaces_the_previous_one(tmp_path):
    target = tmp_path / "model"
    for text in ("first", "second"):
        with atomic_directory(target) as staging:
            (staging / "config.json").write_text(text)
    assert (target / "config.json").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_refuses_to_replace_a_folder_that_is_not_a_save(tmp_path):
    (tmp_path / "notes.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not a gandiff save"):
        with atomic_directory(tmp_path):
            pass
    assert (tmp_path / "notes.txt").read_text() == "precious"
