"""The learning-rate schedules of both trainers: linear warm-up, then constant or a half cosine."""

from __future__ import annotations

import math

import pytest
import torch

from gandiff.training import DiffusionTrainingConfig, GANTrainer, GANTrainingConfig
from gandiff.training.common import lr_scheduler


def _learning_rates(schedule: str, warmup: int, total: int, base: float = 0.1) -> list[float]:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    scheduler = lr_scheduler(optimizer, warmup, total, schedule)
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_cosine_follows_the_closed_form_after_the_warm_up():
    warmup, total, base = 4, 20, 0.1
    rates = _learning_rates("cosine", warmup, total, base)
    for step, rate in enumerate(rates):
        if step < warmup:  # linear warm-up: (step + 1) / warmup of the base rate
            expected = base * (step + 1) / warmup
        else:  # Loshchilov & Hutter 2017 with η_min = 0 over the total - warmup steps after it
            expected = base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))
        assert rate == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert rates[warmup] == pytest.approx(base) and rates[-1] < base * 0.01


def test_constant_is_the_base_rate_after_the_warm_up():
    rates = _learning_rates("constant", 3, 10)
    assert rates[:3] == pytest.approx([0.1 / 3, 0.2 / 3, 0.1]) and rates[3:] == pytest.approx([0.1] * 7)


def test_unknown_schedule_is_refused_in_the_config():
    with pytest.raises(ValueError, match="lr_schedule.*constant.*cosine"):
        DiffusionTrainingConfig(lr_schedule="linear")


def test_gan_discriminator_decays_over_its_own_updates(tmp_path):
    # D steps d_steps times per generator step, so both reach the end of the cosine together.
    config = GANTrainingConfig(
        dataset="ring8",
        loss="wasserstein",
        regularizer="clip",
        max_steps=6,
        batch_size=16,
        lr_schedule="cosine",
        output_dir=str(tmp_path),
        log_every=1,
        sample_every=0,
        checkpoint_every=100,
        model_size="tiny",
        num_samples=256,
    )
    trainer = GANTrainer(config)
    trainer.train()
    assert config.d_steps == 5
    assert trainer.d_lr_scheduler.last_epoch == 5 * trainer.g_lr_scheduler.last_epoch == 30
    base = config.learning_rate
    for scheduler, total in ((trainer.g_lr_scheduler, 6), (trainer.d_lr_scheduler, 30)):
        last = scheduler.last_epoch - 1  # the rate of the last update taken
        assert scheduler.get_last_lr()[0] == pytest.approx(base * 0.5 * (1 + math.cos(math.pi * (last + 1) / total)))
