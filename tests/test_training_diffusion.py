"""DiffusionTrainer: the objective, the run's outputs, failure handling, and (slow) learning grid25."""

from __future__ import annotations

import json
import math

import pytest
import torch
from toy_models import TINY_RUN

from gandiff import DDPMPipeline, MLPDenoiser, Pipeline, UNet2DModel
from gandiff.data import load_dataset
from gandiff.training import DiffusionTrainer, DiffusionTrainingConfig, NonFiniteLossError
from gandiff.training.checkpoints import list_checkpoints


def _config(tmp_path, **overrides) -> DiffusionTrainingConfig:
    settings = {
        **TINY_RUN,
        "checkpoint_every": 2,
        "log_every": 2,
        "num_inference_steps": 5,
        "output_dir": str(tmp_path / "run"),
    }
    return DiffusionTrainingConfig(**{**settings, **overrides})


@pytest.mark.parametrize(
    ("setting", "value", "valid"),
    [
        ("beta_schedule", "cosin", "squaredcos_cap_v2"),
        ("variance_type", "learned", "fixed_small"),
        ("prediction_type", "eps", "v_prediction"),
        ("model_size", "huge", "tiny"),
        ("mixed_precision", "fp8", "bf16"),
    ],
)
def test_config_rejects_unknown_values_naming_the_choices(setting, value, valid):
    with pytest.raises(ValueError, match=valid):
        DiffusionTrainingConfig(**{setting: value})


def test_config_round_trips_through_json():
    config = DiffusionTrainingConfig(dataset="digits", snr_gamma=5.0, prediction_type="v_prediction")
    assert DiffusionTrainingConfig.from_dict(json.loads(config.to_json())) == config
    with pytest.raises(ValueError, match="no setting"):
        DiffusionTrainingConfig.from_dict({"learning_rat": 1.0})


@pytest.mark.parametrize("prediction_type", ["epsilon", "sample", "v_prediction"])
def test_min_snr_weights(prediction_type, tmp_path):
    """Hang et al. 2023: weight min(SNR, γ) on the x_0 loss, divided by SNR for ε and SNR + 1 for v."""
    trainer = DiffusionTrainer(_config(tmp_path, snr_gamma=5.0, prediction_type=prediction_type))
    alpha_bar = trainer.noise_scheduler.alphas_cumprod
    t = torch.tensor([0, 500, 999])
    snr = (alpha_bar[t] / (1 - alpha_bar[t])).float()
    assert snr[0] > 5 > snr[2]  # both sides of γ: t = 0 is almost clean, t = 999 almost pure noise
    expected = {
        "epsilon": snr.clamp(max=5) / snr,
        "sample": snr.clamp(max=5),
        "v_prediction": snr.clamp(max=5) / (snr + 1),
    }[prediction_type]
    torch.testing.assert_close(trainer.min_snr_weight(t), expected)


@pytest.mark.parametrize("prediction_type", ["epsilon", "sample", "v_prediction"])
def test_loss_is_zero_for_a_network_that_predicts_the_target(prediction_type, tmp_path):
    """Algorithm 1 regresses ε, x_0 or v: an oracle network that outputs the target has zero loss."""
    trainer = DiffusionTrainer(_config(tmp_path, prediction_type=prediction_type))
    x0 = torch.randn(16, 2)
    state = trainer.rng.get_state()
    t = torch.randint(1000, (16,), generator=trainer.rng)  # the draws `loss` is about to make, replayed
    noise = torch.randn(x0.shape, generator=trainer.rng)
    trainer.rng.set_state(state)
    scheduler = trainer.noise_scheduler
    target = {"epsilon": noise, "sample": x0, "v_prediction": scheduler.get_velocity(x0, noise, t)}[prediction_type]
    trainer.model = lambda x_t, timesteps, class_labels=None: target
    assert trainer.loss(x0, None).item() == pytest.approx(0.0, abs=1e-12)


def test_points_run_writes_a_loadable_pipeline_and_its_feedback(tmp_path):
    config = _config(tmp_path, max_steps=6, checkpoint_every=2, checkpoints_total_limit=2, sample_every=3)
    trainer = DiffusionTrainer(config)
    trainer.train()
    run = tmp_path / "run"

    pipeline = Pipeline.from_pretrained(run / "pipeline")
    assert isinstance(pipeline, DDPMPipeline) and isinstance(pipeline.denoiser, MLPDenoiser)
    assert pipeline.scheduler.config.clip_sample is False  # never clip unbounded points
    # The pipeline holds the EMA weights, not the last step's.
    for name, value in pipeline.denoiser.state_dict().items():
        assert torch.equal(value, trainer.ema.module.state_dict()[name])

    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6]
    assert {"loss", "lr", "grad_norm", "samples_per_s"} <= records[0].keys()
    assert [p.name for p in list_checkpoints(run)] == ["checkpoint-4", "checkpoint-6"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-0000003.png", "step-0000006.png"]
    assert (run / "loss_curve.png").is_file() and (run / "pipeline" / "samples.png").is_file()
    assert DiffusionTrainingConfig.from_dict(json.loads((run / "training_config.json").read_text())) == config
    card = (run / "pipeline" / "README.md").read_text()
    assert "modes captured" in card and '"dataset": "ring8"' in card and "samples.png" in card


def test_image_run_trains_a_unet_with_bf16_and_accumulation(tmp_path):
    config = _config(
        tmp_path,
        dataset="digits",
        max_steps=2,
        gradient_accumulation_steps=2,
        mixed_precision="bf16",
        class_conditional=True,
        num_sample_images=4,
    )
    DiffusionTrainer(config).train()
    pipeline = Pipeline.from_pretrained(tmp_path / "run" / "pipeline")
    assert isinstance(pipeline.unet, UNet2DModel) and pipeline.unet.config.num_class_embeds == 10
    assert pipeline.scheduler.config.clip_sample is True
    images = pipeline(batch_size=2, num_inference_steps=2, class_labels=[3, 7], output_type="np").images
    assert images.shape == (2, 8, 8, 1)


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    trainer = DiffusionTrainer(_config(tmp_path, max_steps=6))
    real_loss = trainer.loss

    def loss_that_diverges_at_step_3(x0, labels):
        loss = real_loss(x0, labels)
        return loss * math.inf if trainer.step == 2 else loss

    monkeypatch.setattr(trainer, "loss", loss_that_diverges_at_step_3)
    with pytest.raises(NonFiniteLossError, match=r"loss is (inf|nan) at step 3.*checkpoint-2"):
        trainer.train()
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["checkpoint-2"]
    assert not (tmp_path / "run" / "pipeline").exists()


def test_a_new_run_refuses_to_overwrite_a_previous_one(tmp_path):
    DiffusionTrainer(_config(tmp_path, max_steps=2)).train()
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")}
    with pytest.raises(FileExistsError, match="resume_from_checkpoint='latest'"):
        DiffusionTrainer(_config(tmp_path, max_steps=2))
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")} == before


def test_unet_sizes_must_fit_the_resolution(tmp_path):
    with pytest.raises(ValueError, match="multiples of 4"):
        DiffusionTrainer(_config(tmp_path, dataset="digits", resolution=10, model_size="small"))


@pytest.mark.slow
def test_grid25_ddpm_covers_the_modes(tmp_path):
    """A DDPM learns the 25-Gaussian grid: it captures nearly every mode, and far more of its
    samples lie within 3 std (0.15) of a mode than chance would put there (points spread
    uniformly over [-5, 5]² would: 25 · π · 0.15² / 100 ≈ 1.8%)."""
    config = _config(
        tmp_path,
        dataset="grid25",
        model_size="small",
        batch_size=256,
        max_steps=3000,
        learning_rate=1e-3,
        lr_warmup_steps=100,
        ema_decay=0.995,
        checkpoint_every=3000,
        log_every=100,
        num_inference_steps=100,
    )
    trainer = DiffusionTrainer(config)
    trainer.train()
    from gandiff.metrics.mode_coverage import mode_coverage

    mixture = load_dataset("grid25").mixture
    score = mode_coverage(trainer.sample(2500, seed=1), mixture.centers, mixture.std)
    assert score.modes_captured >= 22, score
    assert score.high_quality_fraction > 0.08, score
