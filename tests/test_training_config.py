"""The run settings: importable without torch, every field described for the command line,
the torch-free choice tuples equal to the ones the trainers use, and the old import paths kept."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from gandiff.training import config as config_module
from gandiff.training.config import DiffusionTrainingConfig, GANTrainingConfig, TrainingConfig

CONFIGS = (TrainingConfig, DiffusionTrainingConfig, GANTrainingConfig)
GROUPS = {"data", "model and optimization", "run", "diffusion", "GAN"}


def test_the_settings_import_without_torch():
    """A command line's --help reads the settings; importing torch would cost a second or more."""
    code = (
        "import sys\n"
        "import gandiff.training.config\n"
        "from gandiff.training import DiffusionTrainingConfig, GANTrainingConfig\n"
        "GANTrainingConfig(loss='wasserstein'); DiffusionTrainingConfig(dataset='digits')\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'accelerate') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("cls", CONFIGS)
def test_every_field_says_its_group_and_help(cls):
    for field in dataclasses.fields(cls):
        assert field.metadata.get("group") in GROUPS, field.name
        help_text = field.metadata.get("help")
        assert isinstance(help_text, str) and help_text and "\n" not in help_text, field.name


@pytest.mark.parametrize("cls", CONFIGS)
def test_the_stated_choices_are_the_ones_the_config_accepts(cls):
    """Each value of metadata["choices"] passes ``__post_init__``; a value outside fails naming them."""
    for field in dataclasses.fields(cls):
        choices = field.metadata.get("choices")
        if choices is None:
            continue
        for value in choices:
            assert getattr(cls(**{field.name: value}), field.name) == value
        with pytest.raises(ValueError, match=repr(choices[-1])):
            cls(**{field.name: "not-a-choice"})


def test_subclass_defaults_keep_the_base_fields_metadata():
    base = {f.name: f for f in dataclasses.fields(TrainingConfig)}
    diffusion = {f.name: f for f in dataclasses.fields(DiffusionTrainingConfig)}
    assert diffusion["learning_rate"].default == 2e-4 and diffusion["max_grad_norm"].default == 1.0  # Ho et al.
    assert diffusion["learning_rate"].metadata == base["learning_rate"].metadata


def test_torch_free_loss_names_equal_the_losses():
    from gandiff.training.losses import GAN_LOSSES

    assert config_module.GAN_LOSS_NAMES == tuple(GAN_LOSSES)


def test_old_import_paths_name_the_same_classes():
    from gandiff import training
    from gandiff.training import common, diffusion, gan

    assert diffusion.DiffusionTrainingConfig is training.DiffusionTrainingConfig is DiffusionTrainingConfig
    assert gan.GANTrainingConfig is training.GANTrainingConfig is GANTrainingConfig
    assert common.TrainingConfig is training.TrainingConfig is TrainingConfig
    assert diffusion.BETA_SCHEDULES is config_module.BETA_SCHEDULES and gan.REGULARIZERS is config_module.REGULARIZERS


@pytest.mark.parametrize(
    ("cls", "setting", "value"),
    [
        (DiffusionTrainingConfig, "learning_rate", float("inf")),  # was accepted: every step NaN
        (DiffusionTrainingConfig, "learning_rate", float("nan")),
        (TrainingConfig, "ema_decay", 1.0),
        (TrainingConfig, "center_crop", "no"),  # a truthy string was taken as True
        (TrainingConfig, "resolution", 0),
        (TrainingConfig, "checkpoints_total_limit", 0),
        (DiffusionTrainingConfig, "snr_gamma", -5.0),
        (DiffusionTrainingConfig, "num_train_timesteps", 10.5),
        (GANTrainingConfig, "gp_lambda", float("nan")),
        (GANTrainingConfig, "clip_value", 0.0),
        (GANTrainingConfig, "adam_betas", (0.5,)),
        (GANTrainingConfig, "adam_betas", (0.5, 1.0)),
        (GANTrainingConfig, "latent_dim", 0),
    ],
)
def test_invalid_values_fail_in_init_with_one_line_naming_the_setting(cls, setting, value):
    with pytest.raises(ValueError, match=setting) as error:
        cls(**{setting: value})
    assert "\n" not in str(error.value)
