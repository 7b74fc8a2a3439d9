"""GANTrainer: the papers' defaults, the models per loss, the logged signals, and (slow) grid25."""

from __future__ import annotations

import json
import math

import pytest
import torch
from toy_models import TINY_RUN

from gandiff import DCGANDiscriminator, DCGANGenerator, GANPipeline, MLPGenerator, Pipeline
from gandiff.training import GANTrainer, GANTrainingConfig


def _config(tmp_path, **overrides) -> GANTrainingConfig:
    settings = {
        **TINY_RUN,
        "checkpoint_every": 4,
        "log_every": 1,
        "output_dir": str(tmp_path / "run"),
    }
    return GANTrainingConfig(**{**settings, **overrides})


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        # Radford et al. 2016 (DCGAN)
        (
            {"loss": "non_saturating"},
            {
                "regularizer": "none",
                "optimizer": "adam",
                "learning_rate": 2e-4,
                "adam_betas": (0.5, 0.999),
                "d_steps": 1,
            },
        ),
        # Arjovsky et al. 2017 (WGAN)
        (
            {"loss": "wasserstein", "regularizer": "clip"},
            {"optimizer": "rmsprop", "learning_rate": 5e-5, "d_steps": 5, "clip_value": 0.01},
        ),
        # Gulrajani et al. 2017 (WGAN-GP); the Wasserstein loss gets a penalty by default
        (
            {"loss": "wasserstein"},
            {
                "regularizer": "gp",
                "optimizer": "adam",
                "learning_rate": 1e-4,
                "adam_betas": (0.0, 0.9),
                "d_steps": 5,
                "gp_lambda": 10.0,
            },
        ),
        # explicit settings win over the paper's
        ({"loss": "wasserstein", "d_steps": 2, "learning_rate": 3e-4}, {"d_steps": 2, "learning_rate": 3e-4}),
    ],
)
def test_defaults_follow_the_papers(settings, expected):
    config = GANTrainingConfig(**settings)
    assert {k: getattr(config, k) for k in expected} == expected
    assert GANTrainingConfig.from_dict(json.loads(config.to_json())) == config  # saved as resolved


def test_unknown_loss_names_the_choices():
    with pytest.raises(ValueError, match="non_saturating"):
        GANTrainingConfig(loss="wgan")


def test_images_get_dcgan_models_and_a_supported_resolution(tmp_path):
    """8×8 digits are resized to DCGAN's 28×28; a WGAN-GP critic has no batch norm."""
    config = _config(tmp_path, dataset="digits", loss="wasserstein", d_steps=1, max_steps=1, num_sample_images=4)
    trainer = GANTrainer(config)
    assert config.resolution == 28 and trainer.dataset.sample_shape == (1, 28, 28)
    assert isinstance(trainer.g_network, DCGANGenerator) and isinstance(trainer.d_network, DCGANDiscriminator)
    assert trainer.d_network.config.output == "critic" and trainer.d_network.config.batch_norm is False
    trainer.train()
    pipeline = Pipeline.from_pretrained(tmp_path / "run" / "pipeline")
    assert isinstance(pipeline, GANPipeline) and pipeline.generator.config.resolution == 28
    assert pipeline(batch_size=2, output_type="np").images.shape == (2, 28, 28, 1)
    saved = json.loads((tmp_path / "run" / "training_config.json").read_text())
    assert saved["resolution"] == 28


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "hinge", "least_squares", "wasserstein"])
def test_every_loss_logs_the_signals_of_the_game(loss, tmp_path):
    trainer = GANTrainer(_config(tmp_path, loss=loss, d_steps=2))
    trainer.train()
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    for record in records:
        assert {"d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm", "penalty"} <= record.keys()
        assert all(math.isfinite(v) for v in record.values())
    if loss in ("non_saturating", "minimax"):  # D(x) is a probability for the logit losses
        assert all(0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1 for r in records)
    if loss == "wasserstein":
        assert all("wasserstein_estimate" in r and r["penalty"] > 0 for r in records)  # gp by default
    assert isinstance(Pipeline.from_pretrained(tmp_path / "run" / "pipeline").generator, MLPGenerator)


def test_weight_clipping_keeps_the_critic_in_the_box(tmp_path):
    trainer = GANTrainer(_config(tmp_path, loss="wasserstein", regularizer="clip", learning_rate=0.1, d_steps=2))
    trainer.train()
    assert max(p.abs().max().item() for p in trainer.d_network.parameters()) <= 0.01


def test_r1_and_conditional_gan(tmp_path):
    config = _config(
        tmp_path,
        dataset="digits",
        resolution=28,
        regularizer="r1",
        class_conditional=True,
        max_steps=2,
        num_sample_images=4,
        latent_dim=8,
    )
    trainer = GANTrainer(config)
    assert trainer.d_network.config.num_classes == 10 and trainer.d_network.config.batch_norm is False
    trainer.train()
    pipeline = Pipeline.from_pretrained(tmp_path / "run" / "pipeline")
    assert pipeline(batch_size=2, class_labels=[1, 2], output_type="pt").images.shape == (2, 1, 28, 28)


@pytest.mark.slow
def test_grid25_gan_plays_the_game_as_theory_says(tmp_path):
    """Non-saturating GAN on the 25-Gaussian grid (Goodfellow et al. 2014):

    * D separates real from generated samples: mean D(x) > mean D(G(z)), and its loss stays
      below chance, 2 log 2 = −V(D, G) at D = ½ (the best D does at least as well: −V(D*, G) =
      2 log 2 − 2 JSD ≤ 2 log 2);
    * the generator moves mass onto the data: its samples land on many of the 25 modes.
    """
    config = _config(
        tmp_path,
        dataset="grid25",
        model_size="small",
        batch_size=256,
        max_steps=3000,
        checkpoint_every=3000,
        log_every=50,
        latent_dim=2,
    )
    trainer = GANTrainer(config)
    trainer.train()
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    mean = {k: sum(r[k] for r in records) / len(records) for k in ("d_real", "d_fake", "d_loss")}
    assert mean["d_real"] > mean["d_fake"]
    assert mean["d_loss"] < 2 * math.log(2) + 0.05
    from gandiff.metrics.mode_coverage import mode_coverage

    mixture = trainer.dataset.mixture
    score = mode_coverage(trainer.sample(2500, seed=1), mixture.centers, mixture.std)
    assert score.modes_captured >= 10, score  # GAN baselines capture 3.3 (VEEGAN) to 17.3 (PacGAN) of 25
    assert torch.isfinite(torch.tensor(score.kl_from_uniform))


@pytest.mark.slow
def test_grid25_fast_gan_with_rejection_sampling_meets_the_quality_target(tmp_path):
    """The best built-in configuration of benchmarks/quality_2d.py on one seed: every one of the
    25 modes and >= 80% of the samples within 3σ of a mode (VEEGAN's protocol), and rejection
    sampling does better than the generator alone."""
    from gandiff.data import grid25
    from gandiff.metrics.mode_coverage import mode_coverage

    config = _config(
        tmp_path,
        dataset="grid25",
        model_size="small",
        batch_size=256,
        max_steps=8000,
        checkpoint_every=8000,
        log_every=500,
        latent_dim=2,
        learning_rate=1e-3,
        lr_schedule="cosine",
        ema_decay=None,
    )
    pipeline = GANTrainer(config).train()
    mixture = grid25()
    scores = {}
    for rejection_sampling in (False, True):
        points = pipeline(
            batch_size=2500,
            generator=torch.Generator().manual_seed(10_000),
            rejection_sampling=rejection_sampling,
            output_type="pt",
        ).points
        scores[rejection_sampling] = mode_coverage(points, mixture.centers, mixture.std)
    assert scores[True].modes_captured == 25, scores
    assert scores[True].high_quality_fraction >= 0.80, scores
    assert scores[True].high_quality_fraction > scores[False].high_quality_fraction, scores
