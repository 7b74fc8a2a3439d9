"""ConfigMixin: the config is the constructor's keyword arguments, saved as JSON."""

import copy
import json
import pickle

import pytest

from gandiff.configuration import Config, ConfigMixin, check_choice, check_positive


class Toy(ConfigMixin):
    config_name = "toy_config.json"

    def __init__(self, size: int = 3, channels=(8, 16), mode: str = "a"):
        check_positive("size", size)
        check_choice("mode", mode, ("a", "b"))
        self.built_with = (size, tuple(channels), mode)


class ToyChild(Toy):
    def __init__(self, size: int = 5, extra: float = 0.5):
        super().__init__(size=size)


def test_config_records_arguments_with_defaults():
    toy = Toy(size=4)
    assert dict(toy.config) == {"size": 4, "channels": (8, 16), "mode": "a"}
    assert toy.config.size == 4 and toy.config["mode"] == "a"


def test_config_of_subclass_holds_the_outermost_arguments():
    # The parent's __init__ records too, but the child's arguments are what rebuild the child.
    assert dict(ToyChild(size=7).config) == {"size": 7, "extra": 0.5}


def test_config_is_read_only_and_sequences_frozen():
    toy = Toy(channels=[1, 2])
    assert toy.config.channels == (1, 2)
    with pytest.raises(AttributeError, match="read-only"):
        toy.config.size = 9
    with pytest.raises(TypeError):
        toy.config["size"] = 9  # Mapping, not MutableMapping
    with pytest.raises(AttributeError, match="no setting 'nope'"):
        toy.config.nope


def test_config_survives_copy_and_pickle():
    config = Toy(size=2).config
    assert copy.deepcopy(config) == config
    assert pickle.loads(pickle.dumps(config)) == config


def test_save_and_load_round_trip(tmp_path):
    toy = Toy(size=6, channels=(4,), mode="b")
    toy.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "toy_config.json").read_text())
    assert saved["_class_name"] == "Toy"
    assert "_gandiff_version" in saved
    assert Toy.from_pretrained(tmp_path).config == toy.config


def test_foreign_keys_are_kept_but_not_used(caplog):
    toy = Toy.from_config({"size": 2, "beta_schedule": "linear", "_diffusers_version": "0.1.1"})
    assert toy.built_with == (2, (8, 16), "a")  # the foreign key changed nothing
    assert toy.config.beta_schedule == "linear"  # ...but survives a round trip
    assert "_diffusers_version" not in toy.config  # metadata is dropped
    assert "beta_schedule" in caplog.text  # ...and it is reported


def test_invalid_values_fail_in_init_naming_the_choices():
    with pytest.raises(ValueError, match="mode='c' is not valid; choose one of: 'a', 'b'"):
        Toy(mode="c")
    with pytest.raises(ValueError, match="size must be an integer > 0, got -1"):
        Toy(size=-1)
    with pytest.raises(ValueError, match="size must be an integer"):
        Toy(size=True)


def test_unreadable_config_file_names_the_file(tmp_path):
    (tmp_path / "toy_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="toy_config.json is not valid JSON"):
        Toy.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="has no toy_config.json"):
        Toy.from_pretrained(tmp_path / "..")


def test_config_equality_and_hash():
    assert Config({"a": (1, 2)}) == {"a": (1, 2)}
    assert hash(Config({"a": 1})) == hash(Config({"a": 1}))


def test_a_scheduler_swap_reports_quietly_but_a_typo_warns(caplog):
    """A DDPM-only key in a DDIM config is a swap (INFO); a key no scheduler takes is a warning."""
    import logging

    from gandiff import DDIMScheduler, DDPMScheduler

    with caplog.at_level(logging.INFO, logger="gandiff.configuration"):
        DDIMScheduler.from_config(DDPMScheduler().config)
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gandiff.configuration"):
        DDIMScheduler.from_config({**DDPMScheduler().config, "beta_shedule": "linear"})
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "beta_shedule" in caplog.text
