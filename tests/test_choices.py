"""gandiff.choices: the valid values of string settings, importable without torch, and the very
tuples the classes validate against."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gandiff import DCGANDiscriminator, DDIMScheduler, DDPMScheduler, MLPDiscriminator, choices


def test_choices_import_without_torch():
    """The command line builds its flags from these tuples; `gandiff --help` must not pay for torch."""
    code = "import sys, gandiff.choices; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize(
    ("cls", "setting", "values"),
    [
        (DDPMScheduler, "beta_schedule", choices.BETA_SCHEDULES),
        (DDPMScheduler, "variance_type", choices.VARIANCE_TYPES),
        (DDPMScheduler, "prediction_type", choices.PREDICTION_TYPES),
        (DDPMScheduler, "timestep_spacing", choices.TIMESTEP_SPACINGS),
        (DDIMScheduler, "beta_schedule", choices.BETA_SCHEDULES),
        (DDIMScheduler, "prediction_type", choices.PREDICTION_TYPES),
        (DDIMScheduler, "timestep_spacing", choices.TIMESTEP_SPACINGS),
    ],
)
def test_schedulers_accept_exactly_the_listed_values(cls, setting, values):
    for value in values:
        assert cls(**{setting: value}).config[setting] == value
    with pytest.raises(ValueError, match=f"{setting}='unknown' is not valid; choose one of: " + repr(values[0])):
        cls(**{setting: "unknown"})


@pytest.mark.parametrize("cls", [DCGANDiscriminator, MLPDiscriminator])
def test_discriminators_accept_exactly_the_listed_outputs(cls):
    small = {"resolution": 32, "base_channels": 8} if cls is DCGANDiscriminator else {}
    for output in choices.OUTPUT_TYPES:
        assert cls(output=output, **small).config.output == output
    with pytest.raises(ValueError, match="choose one of: 'logit', 'critic'"):
        cls(output="probability", **small)
