"""Train a DDPM: Ho et al. 2020, Algorithm 1, on `accelerate`.

    repeat
        x_0 ~ q(x_0)                          a batch of data
        t ~ Uniform({0, ..., T − 1})          (the paper counts 1..T)
        ε ~ N(0, I)
        x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε        scheduler.add_noise, eq. 4
        gradient step on ‖target − f_θ(x_t, t)‖²
    until the step budget is spent

The target is what the scheduler's ``prediction_type`` says the network predicts: ε (Ho et
al.'s L_simple), x_0 (``"sample"``), or v = √ᾱ_t ε − √(1 − ᾱ_t) x_0 (``"v_prediction"``,
Salimans & Ho 2022). With ``snr_gamma`` each sample's loss is weighted by min-SNR-γ (Hang et
al. 2023), which stops the many easy low-noise timesteps from dominating the gradient.

The network is a `UNet2DModel` for images and an `MLPDenoiser` for 2-D points (whose scheduler
never clips x̂_0: clipping to [-1, 1] destroys unbounded data). The result is a `DDPMPipeline`
of the EMA weights and the training `DDPMScheduler`, saved under ``<output_dir>/pipeline``.

`DiffusionTrainer.train` shows every phase of a step; the set-up, checkpoints, sample pictures
and the saved result that every trainer shares are in `gandiff.training.trainer`.
"""

from __future__ import annotations

import contextlib
import logging

import torch
import torch.nn.functional as F

from ..models.mlp import MLPDenoiser
from ..models.unet_2d import UNet2DModel
from ..pipelines.ddpm import DDPMPipeline
from ..pipelines.sampling import draw_samples
from ..schedulers.ddim import DDIMScheduler
from ..schedulers.ddpm import DDPMScheduler
from .accelerator import autocast, backward
from .batches import num_classes_for
from .config import BETA_SCHEDULES, VARIANCE_TYPES, DiffusionTrainingConfig
from .divergence import check_finite
from .ema import make_ema
from .optimization import clip_grad_norm, lr_scheduler, make_adam
from .seeding import seed_everything
from .trainer import Trainer

logger = logging.getLogger(__name__)

# The settings and their valid values live in gandiff.training.config (no torch); named here too.
__all__ = [
    "DiffusionTrainingConfig",
    "DiffusionTrainer",
    "UNET_PRESETS",
    "DENOISER_PRESETS",
    "build_denoiser",
    "BETA_SCHEDULES",
    "VARIANCE_TYPES",
]

# U-Net sizes. Attention only at the lowest resolution: on a CPU it costs more than it gives
# at small sizes. "base" is the "small U-Net" of REFERENCES.md (17.2M parameters).
UNET_PRESETS = {
    "tiny": {"block_out_channels": (32, 64), "layers_per_block": 1, "attention": (), "norm_num_groups": 8},
    "small": {"block_out_channels": (32, 64, 64), "layers_per_block": 1, "attention": (2,), "norm_num_groups": 8},
    "base": {
        "block_out_channels": (64, 128, 128, 256),
        "layers_per_block": 2,
        "attention": (2,),
        "norm_num_groups": 32,
    },
}
DENOISER_PRESETS = {
    "tiny": {"hidden_dim": 64, "num_layers": 2},
    "small": {"hidden_dim": 128, "num_layers": 3},
    "base": {"hidden_dim": 256, "num_layers": 4},
}


def build_denoiser(config: DiffusionTrainingConfig, dataset) -> torch.nn.Module:
    """The network for the data: a U-Net for images, an MLP for points, sized by `config.model_size`.

    Args:
        config: the run's settings.
        dataset: the run's data set (its ``kind``, ``sample_shape`` and labels).

    Returns:
        A `UNet2DModel` or an `MLPDenoiser`.
    """
    num_classes = num_classes_for(config, dataset)
    if dataset.kind == "points":
        return MLPDenoiser(
            data_dim=dataset.sample_shape[0],
            num_train_timesteps=config.num_train_timesteps,
            num_classes=num_classes,
            **DENOISER_PRESETS[config.model_size],
        )
    channels, height, width = dataset.sample_shape
    preset = UNET_PRESETS[config.model_size]
    levels = len(preset["block_out_channels"])
    if height % 2 ** (levels - 1) or width % 2 ** (levels - 1):
        raise ValueError(
            f"model_size={config.model_size!r} halves the resolution {levels - 1} times, so images must be multiples of "
            f"{2 ** (levels - 1)} pixels; the data is {height}×{width}. Choose another resolution or model size."
        )
    attention = preset["attention"]
    return UNet2DModel(
        sample_size=(height, width) if height != width else height,
        in_channels=channels,
        out_channels=channels,
        block_out_channels=preset["block_out_channels"],
        layers_per_block=preset["layers_per_block"],
        down_block_types=tuple("AttnDownBlock2D" if i in attention else "DownBlock2D" for i in range(levels)),
        up_block_types=tuple("AttnUpBlock2D" if levels - 1 - i in attention else "UpBlock2D" for i in range(levels)),
        norm_num_groups=preset["norm_num_groups"],
        attention_head_dim=None,
        num_class_embeds=num_classes,
        num_train_timesteps=config.num_train_timesteps,
    )


class DiffusionTrainer(Trainer):
    """Trains a denoiser on a data set and returns a `DDPMPipeline`.

    ``DiffusionTrainer(config).train()`` runs the whole thing: ``__init__`` builds (1) the
    accelerator, (2) the data (both in `Trainer`), (3) the network, schedule and EMA, (4) the
    optimizer, and (5) resumes from a checkpoint when asked; ``train`` runs the steps and saves
    the result. ``raw_model`` is the network as built, ``model`` the one `accelerate` prepared.

    Args:
        config: the run's settings.
        dataset: a data set to use instead of loading ``config.dataset`` (items
            ``{"sample", "label"}``, attributes ``kind``, ``sample_shape``, ``num_classes``).
    """

    LOSS_PANELS = [["loss"], ["grad_norm"]]

    def __init__(self, config: DiffusionTrainingConfig, dataset=None):
        super().__init__(config, dataset)  # 1. accelerator, 2. data

        # 3. Network (the same initial weights on every process), noise schedule, EMA.
        seed_everything(config.seed)
        self.raw_model = build_denoiser(config, self.dataset)
        self.noise_scheduler = DDPMScheduler(
            num_train_timesteps=config.num_train_timesteps,
            beta_schedule=config.beta_schedule,
            variance_type=config.variance_type,
            prediction_type=config.prediction_type,
            clip_sample=not self.is_points,  # x̂_0 ∈ [-1, 1] holds for images only
        )
        self.ema = make_ema(self.raw_model, config.ema_decay)

        # 4. Optimizer (Adam, as Ho et al.) and learning-rate warm-up.
        optimizer = make_adam(self.raw_model.parameters(), config.learning_rate)
        self.lr_scheduler = lr_scheduler(optimizer, config.lr_warmup_steps, config.max_steps, config.lr_schedule)
        self.model, self.optimizer = self.accelerator.prepare(self.raw_model, optimizer)
        if self.ema is not None:
            self.ema.to(self.accelerator.device)

        # 5. This process's random draws (t, ε), and where the run stands.
        self.start()

    @property
    def network(self) -> torch.nn.Module:
        """The network as built: `raw_model`'s older name."""
        return self.raw_model

    # -- the objective ----------------------------------------------------------------------

    def loss(self, x0: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Algorithm 1's loss on one batch x_0: draw t and ε, noise, predict, regress (fp32).

        Args:
            x0: a batch of clean samples.
            labels: their class labels for a conditional network, else None.

        Returns:
            The mean squared error (min-SNR weighted when ``snr_gamma`` is set), a scalar.
        """
        scheduler, batch_size = self.noise_scheduler, x0.shape[0]
        t = torch.randint(scheduler.config.num_train_timesteps, (batch_size,), generator=self.rng, device=x0.device)
        noise = torch.randn(x0.shape, generator=self.rng, device=x0.device)
        x_t = scheduler.add_noise(x0, noise, t)
        if self.config.prediction_type == "epsilon":
            target = noise
        elif self.config.prediction_type == "sample":
            target = x0
        else:
            target = scheduler.get_velocity(x0, noise, t)
        with autocast(self.accelerator):
            prediction = self.model(x_t, t, class_labels=labels)
        per_sample = F.mse_loss(prediction.float(), target.float(), reduction="none").flatten(1).mean(dim=1)  # (B,)
        if self.config.snr_gamma is not None:
            per_sample = per_sample * self.min_snr_weight(t)
        return per_sample.mean()

    def min_snr_weight(self, t: torch.Tensor) -> torch.Tensor:
        """Min-SNR-γ weight of each timestep (Hang et al. 2023, eq. 9 and its ε / v forms).

        With SNR(t) = ᾱ_t / (1 − ᾱ_t), the weight on the x_0 loss is min(SNR, γ); the ε and v
        losses are SNR and SNR + 1 times the x_0 loss, so their weights divide by those.

        Args:
            t: (B,) training timesteps.

        Returns:
            (B,) float32 weights.
        """
        alpha_bar = self.noise_scheduler.alphas_cumprod.to(t.device)[t]  # float64 table, read only
        snr = alpha_bar / (1 - alpha_bar)
        clipped = snr.clamp(max=self.config.snr_gamma)
        divisor = {"epsilon": snr, "sample": torch.ones_like(snr), "v_prediction": snr + 1}[
            self.config.prediction_type
        ]
        return (clipped / divisor).float()

    # -- the loop ---------------------------------------------------------------------------

    def train(self) -> DDPMPipeline:
        """Run from the current step to ``max_steps``; save and return the pipeline.

        Returns:
            The trained `DDPMPipeline` (EMA weights, the training scheduler), also saved under
            ``<output_dir>/pipeline``.

        Raises:
            NonFiniteLossError: when a loss becomes NaN or infinite.
        """
        config, accelerator = self.config, self.accelerator
        accumulation = config.gradient_accumulation_steps
        batches = self.batches()
        log = self.run_logger(samples_per_step=config.batch_size * accumulation * accelerator.num_processes)
        self.model.train()
        while self.step < config.max_steps:
            # Forward and backward on each micro-batch; gradients are averaged over processes
            # once, on the last micro-batch (no_sync skips the all-reduce before it).
            loss_sum = 0.0
            for micro_step in range(accumulation):
                batch = next(batches)
                self.batches_taken += 1
                labels = batch["label"] if self.num_classes else None
                last = micro_step == accumulation - 1
                with contextlib.nullcontext() if last else accelerator.no_sync(self.model):
                    loss = self.loss(batch["sample"], labels)
                    loss_mean = accelerator.reduce(loss.detach(), "mean")  # the same on every process
                    check_finite(self.step + 1, {"loss": loss_mean}, self.last_checkpoint)
                    backward(accelerator, loss / accumulation)
                loss_sum += loss_mean.item() / accumulation

            # Clip, update, average.
            logging_now = (self.step + 1) % config.log_every == 0 or self.step + 1 == config.max_steps
            grad_norm = None
            if config.max_grad_norm is not None or logging_now:
                grad_norm = clip_grad_norm(accelerator, self.model, self.optimizer, config.max_grad_norm)
            self.optimizer.step()
            self.lr_scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
            if self.ema is not None:
                self.ema.update_parameters(self.raw_model)
            self.step += 1
            log.update()

            # Feedback, sample pictures and checkpoints.
            if logging_now:
                log.log(
                    self.step,
                    {"loss": loss_sum, "lr": self.lr_scheduler.get_last_lr()[0], "grad_norm": float(grad_norm)},
                )
            self.end_of_step()
        return self.finish(log)

    # -- results ----------------------------------------------------------------------------

    def pipeline(self, scheduler=None) -> DDPMPipeline:
        """A pipeline of the sampling weights (the EMA's by default) and the training scheduler.

        Args:
            scheduler: another scheduler to sample with, e.g. a DDIM one.

        Returns:
            The `DDPMPipeline`; it shares the trainer's network.
        """
        network = self._sampling_network(self.raw_model)
        scheduler = scheduler or self.noise_scheduler
        if self.is_points:
            return DDPMPipeline(denoiser=network, scheduler=scheduler)
        return DDPMPipeline(unet=network, scheduler=scheduler)

    def sample(self, num_samples: int, seed: int = 0) -> torch.Tensor:
        """`num_samples` samples with DDIM (``num_inference_steps``), images in [0, 1], points as they are.

        Args:
            num_samples: how many samples; conditional models cycle through the classes.
            seed: seeds the sampling noise.

        Returns:
            Images (N, C, H, W) in [0, 1], or points (N, D).
        """
        pipeline = self.pipeline(DDIMScheduler.from_config(self.noise_scheduler.config))
        pipeline.set_progress_bar_config(disable=True)
        return draw_samples(pipeline, num_samples, seed=seed, num_inference_steps=self.config.num_inference_steps)

    def _state(self) -> dict:
        """What a checkpoint holds besides the step, the data position and the config."""
        return {
            "modules": {"model": self.raw_model} | ({"ema": self.ema} if self.ema is not None else {}),
            "optimizers": {"model": self.optimizer},
            "lr_schedulers": {"model": self.lr_scheduler},
            "rng": self.rng,
        }

    def _final_losses(self, records: list[dict]) -> dict:
        return {"final loss": records[-1]["loss"] if records else float("nan")}
