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


# -- a file that is not a config: one ValueError naming the file and the fix (issue 13, item 9) --


def write_config(folder, text: str):
    folder.mkdir(exist_ok=True)
    (folder / "toy_config.json").write_text(text)
    return folder


@pytest.mark.parametrize(
    "text, message",
    [
        # Regression: json.loads raised RecursionError, a traceback in the CLI.
        ('{"size": ' + "[" * 100_000 + "]" * 100_000 + "}", "nests JSON deeper than Python can read"),
        # Parsed, but too deep for the recursive code after it (frozen configs, JSON dumps).
        ('{"size": ' + "[" * 600 + "]" * 600 + "}", "nests JSON more than 32 levels deep"),
        ("[1, 2]", 'must hold a JSON object of settings \\({"name": value, ...}\\), found a JSON array'),
        ('"size"', "must hold a JSON object of settings .* found a JSON string"),
    ],
    ids=["too-deep-to-parse", "too-deep-to-use", "array", "string"],
)
def test_a_file_that_is_not_a_config_object_is_one_value_error(tmp_path, text, message):
    folder = write_config(tmp_path / "toy", text)
    with pytest.raises(ValueError, match=f"toy_config.json {message}.*re-save it with save_pretrained"):
        Toy.from_pretrained(folder)


def test_a_config_that_is_not_utf8_text_is_one_value_error(tmp_path):
    (tmp_path / "toy_config.json").write_bytes(b'{"size": "\xff\xfe"}')
    with pytest.raises(ValueError, match="toy_config.json is not UTF-8 text, so not a JSON config") as caught:
        Toy.from_pretrained(tmp_path)
    assert not isinstance(caught.value, UnicodeDecodeError)  # one line, not the codec's byte positions


def test_a_folder_or_fifo_in_place_of_the_config_is_named(tmp_path):
    """Regression: both were reported as a missing file ("has no toy_config.json; it holds: toy_config.json")."""
    import os

    (tmp_path / "dir" / "toy_config.json").mkdir(parents=True)
    with pytest.raises(ValueError, match="toy_config.json is a folder, not a JSON config file"):
        Toy.from_pretrained(tmp_path / "dir")
    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / "toy_config.json")  # opening it for reading would block forever
    with pytest.raises(ValueError, match="toy_config.json is a FIFO \\(named pipe\\), not a JSON config file"):
        Toy.from_pretrained(tmp_path / "fifo")


def test_a_config_far_larger_than_any_config_is_refused_unread(tmp_path, monkeypatch):
    import gandiff.configuration as configuration

    monkeypatch.setattr(configuration, "MAX_CONFIG_BYTES", 64)
    folder = write_config(tmp_path / "toy", json.dumps({"size": 3, "padding": "x" * 100}))
    with pytest.raises(ValueError, match="a config is a small JSON file"):
        Toy.from_pretrained(folder)


def test_loading_by_the_saved_class_needs_a_class_name(tmp_path):
    """Regression: a model config without _class_name gave a registry KeyError about [gandiff, None]."""
    from gandiff import MLPGenerator, ModelMixin, Pipeline

    MLPGenerator(latent_dim=2, data_dim=2, hidden_dim=4, num_layers=1).save_pretrained(tmp_path / "model")
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    del config["_class_name"]
    (tmp_path / "model" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match='config.json has no "_class_name", so gandiff cannot tell which class'):
        ModelMixin.from_pretrained(tmp_path / "model")
    assert MLPGenerator.from_pretrained(tmp_path / "model").config.hidden_dim == 4  # its class needs no name

    (tmp_path / "pipe").mkdir()
    (tmp_path / "pipe" / "model_index.json").write_text('{"_class_name": 3}')
    with pytest.raises(ValueError, match='model_index.json has "_class_name": 3, not a class name'):
        Pipeline.from_pretrained(tmp_path / "pipe")


@pytest.mark.parametrize(
    "config, message",
    [
        # Regression: torch's "new(): invalid data type 'str'" (TypeError) from deep inside __init__.
        ({"trained_betas": "abc"}, "trained_betas='abc' is not valid: it takes a list of numbers or null"),
        ({"trained_betas": [1e-4, "x"]}, "trained_betas=\\[0.0001, 'x'\\] is not valid: it takes a list of numbers"),
        # Regression: "'<' not supported between instances of 'int' and 'str'" (TypeError).
        ({"beta_start": "1e-4"}, "beta_start='1e-4' is not valid: it takes a number"),
        # Regression: a truthy string was taken as True.
        ({"clip_sample": "no"}, "clip_sample='no' is not valid: it takes true or false"),
    ],
)
def test_from_config_with_a_wrong_type_names_the_key_and_what_it_takes(config, message):
    from gandiff import DDPMScheduler

    with pytest.raises(ValueError, match=f"DDPMScheduler config: {message}"):
        DDPMScheduler.from_config(config)


def test_from_config_turns_an_unforeseen_failure_of_a_value_into_a_value_error():
    class Scaled(ConfigMixin):
        def __init__(self, factor=2):  # no annotation, no check: the class trusts its caller
            self.half = 1 / factor

    with pytest.raises(ValueError, match="Scaled cannot be built from this config \\(ZeroDivisionError"):
        Scaled.from_config({"factor": 0})
    with pytest.raises(ZeroDivisionError):
        Scaled(factor=0)  # a direct call is the caller's code: its error is left as it is
