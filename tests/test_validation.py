"""gandiff.validation: the one family of checks behind every "invalid setting" message."""

import math

import numpy as np
import pytest
from toy_models import TINY_UNET_CONFIG

import gandiff.configuration
from gandiff import UNet2DModel
from gandiff.validation import check_bool, check_choice, check_int, check_number, check_positive

TINY_UNET = TINY_UNET_CONFIG | dict(down_block_types=("DownBlock2D",) * 2, up_block_types=("UpBlock2D",) * 2)


def test_each_check_accepts_the_valid_values():
    check_choice("mode", "b", ("a", "b"))
    check_choice("mode", None, {"a": 1, None: 2})  # a table's keys
    check_positive("size", 3)
    check_positive("size", 0, allow_zero=True)
    check_positive("num_classes", None, allow_none=True)
    check_int("steps", 5, minimum=5, maximum=5)
    check_int("offset", -3)
    check_number("eps", 1e-12, above=0)
    check_number("dropout", 0, at_least=0, below=1)
    check_number("ratio", 1, above=0, at_most=1)
    check_number("shift", np.float32(-2.5))  # numpy scalars from arrays are numbers
    check_bool("flag", False)


@pytest.mark.parametrize(
    "check, message",
    [
        (lambda: check_choice("mode", "c", ("a", "b")), "mode='c' is not valid; choose one of: 'a', 'b'"),
        (lambda: check_positive("size", 0), "size must be an integer > 0, got 0"),
        (lambda: check_positive("size", True), "size must be an integer > 0, got True"),
        (lambda: check_positive("size", 2.0), "size must be an integer > 0, got 2.0"),
        (lambda: check_positive("size", None), "size must be an integer > 0, got None"),
        (lambda: check_positive("offset", -1, allow_zero=True), "offset must be an integer >= 0, got -1"),
        (lambda: check_int("steps", 0, minimum=1), "steps must be an integer >= 1, got 0"),
        (lambda: check_int("steps", 11, minimum=1, maximum=10), "steps must be an integer >= 1 and <= 10, got 11"),
        (lambda: check_int("steps", "3"), "steps must be an integer, got '3'"),
        (lambda: check_number("eps", 0, above=0), "eps must be a number > 0, got 0"),
        (lambda: check_number("eps", "1e-6", above=0), "eps must be a number > 0, got '1e-6'"),
        (lambda: check_number("p", 1.0, at_least=0, below=1), "p must be a number >= 0 and < 1, got 1.0"),
        (lambda: check_number("shift", math.nan), "shift must be a finite number, got nan"),
        (lambda: check_number("eps", math.inf, above=0), "eps must be a finite number > 0, got inf"),
        (lambda: check_number("flag", True), "flag must be a number, got True"),
        (lambda: check_bool("clip_sample", "no"), "clip_sample must be true or false, got 'no'"),
        (lambda: check_bool("clip_sample", 0), "clip_sample must be true or false, got 0"),
    ],
)
def test_each_check_names_the_setting_the_valid_values_and_the_value(check, message):
    with pytest.raises(ValueError) as caught:
        check()
    assert str(caught.value) == message


def test_the_old_import_path_is_the_same_family():
    assert gandiff.configuration.check_choice is check_choice
    assert gandiff.configuration.check_positive is check_positive


@pytest.mark.parametrize("setting", [{"freq_shift": math.nan}, {"freq_shift": math.inf}, {"norm_eps": math.inf}])
def test_unet_refuses_non_finite_numbers(setting):
    """Regression: a NaN freq_shift was accepted and turned every image into NaN (issue 13, item 10)."""
    name = next(iter(setting))
    with pytest.raises(ValueError, match=f"{name} must be a finite number"):
        UNet2DModel(**TINY_UNET, **setting)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"num_samples": 0}, "num_samples must be an integer > 0, got 0"),
        ({"resolution": True}, "resolution must be an integer > 0, got True"),  # was taken as resolution 1
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    ],
)
def test_load_dataset_checks_its_options_with_the_same_family(options, message):
    from gandiff.data.datasets import load_dataset

    with pytest.raises(ValueError, match=message):
        load_dataset("ring8", **options)
