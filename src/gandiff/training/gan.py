"""Train a GAN: Goodfellow et al. 2014, Algorithm 1, on `accelerate`.

    for each training step
        for k = 1 .. d_steps                                    (k in the paper)
            x ~ p_data, z ~ N(0, I)
            update D by descending its loss on (D(x), D(G(z)))  (+ regularizer)
        z ~ N(0, I)
        update G by descending its loss on D(G(z))

The losses are named pairs from `gandiff.training.losses.GAN_LOSSES` (``minimax``,
``non_saturating``, ``wasserstein``, ``hinge``, ``least_squares``); the regularizer keeps a
Wasserstein critic Lipschitz or stabilizes D: ``clip`` (weight clipping, Arjovsky et al. 2017),
``gp`` (gradient penalty, Gulrajani et al. 2017) or ``r1`` (Mescheder et al. 2018). Optimizer
defaults follow the papers:

    DCGAN (Radford et al. 2016)      Adam 2e-4, betas (0.5, 0.999), 1 D step per G step
    WGAN, clip (Arjovsky et al.)     RMSProp 5e-5, 5 critic steps, c = 0.01
    WGAN-GP (Gulrajani et al.)       Adam 1e-4, betas (0, 0.9), 5 critic steps, λ = 10

Images use `DCGANGenerator` / `DCGANDiscriminator` (a critic without batch norm under ``gp`` or
``r1``, whose penalties are per sample); 2-D points use the MLPs. Logged besides the losses:
D(x) and D(G(z)) (probabilities for the logit losses, raw scores otherwise) and the gradient
norms of both networks — the signals of a discriminator that wins (vanishing generator
gradients) or of collapse. The result is a `GANPipeline` of the EMA generator.
"""

from __future__ import annotations

import contextlib
import logging

import torch

from ..models.dcgan import SUPPORTED_RESOLUTIONS, DCGANDiscriminator, DCGANGenerator
from ..models.mlp import MLPDiscriminator, MLPGenerator
from ..pipelines.gan import GANPipeline
from ..pipelines.sampling import draw_samples
from .accelerator import autocast, backward
from .batches import load_training_data, num_classes_for
from .config import OPTIMIZERS, REGULARIZERS, GANTrainingConfig
from .divergence import check_finite
from .ema import make_ema
from .losses import clip_weights_, get_gan_loss, gradient_penalty, r1_penalty
from .optimization import clip_grad_norm, lr_scheduler, make_adam
from .seeding import seed_everything
from .trainer import Trainer

logger = logging.getLogger(__name__)

# The settings and their valid values live in gandiff.training.config (no torch); named here too.
__all__ = ["GANTrainingConfig", "GANTrainer", "GAN_PRESETS", "build_gan", "REGULARIZERS", "OPTIMIZERS"]

# Losses whose discriminator outputs a logit l, so D = σ(l) is a probability.
_LOGIT_LOSSES = ("minimax", "non_saturating")

# Model sizes: DCGAN base channels (64 is Radford et al.'s), MLP width and depth.
GAN_PRESETS = {
    "tiny": {"base_channels": 16, "hidden_dim": 64, "num_layers": 2},
    "small": {"base_channels": 32, "hidden_dim": 128, "num_layers": 3},
    "base": {"base_channels": 64, "hidden_dim": 256, "num_layers": 4},
}


def build_gan(config: GANTrainingConfig, dataset) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(generator, discriminator) for the data: DCGAN for images, MLPs for points.

    Args:
        config: the run's settings.
        dataset: the run's data set (its ``kind``, ``sample_shape`` and labels).

    Returns:
        (generator, discriminator).
    """
    num_classes = num_classes_for(config, dataset)
    output = "critic" if config.loss == "wasserstein" else "logit"
    preset = GAN_PRESETS[config.model_size]
    if dataset.kind == "points":
        data_dim = dataset.sample_shape[0]
        mlp = {"hidden_dim": preset["hidden_dim"], "num_layers": preset["num_layers"], "num_classes": num_classes}
        return (
            MLPGenerator(latent_dim=config.latent_dim or 2, data_dim=data_dim, **mlp),
            MLPDiscriminator(data_dim=data_dim, output=output, **mlp),
        )
    channels, height, width = dataset.sample_shape
    if height != width or height not in SUPPORTED_RESOLUTIONS:
        raise ValueError(
            f"DCGAN models take square images of {', '.join(map(str, SUPPORTED_RESOLUTIONS))} pixels; the data is "
            f"{height}×{width}: pass resolution= one of those"
        )
    return (
        DCGANGenerator(
            latent_dim=config.latent_dim or 100,
            out_channels=channels,
            resolution=height,
            base_channels=preset["base_channels"],
            num_classes=num_classes,
        ),
        DCGANDiscriminator(
            in_channels=channels,
            resolution=height,
            base_channels=preset["base_channels"],
            num_classes=num_classes,
            output=output,
            batch_norm=config.regularizer not in ("gp", "r1"),
        ),  # per-sample penalties
    )


class GANTrainer(Trainer):
    """Trains a generator against a discriminator and returns a `GANPipeline`.

    ``__init__`` builds (1) the accelerator, (2) the data (both in `Trainer`), (3) both networks
    and the generator's EMA, (4) both optimizers, and (5) resumes when asked; ``train`` plays the
    game. ``raw_G`` / ``raw_D`` are the networks as built, ``G`` / ``D`` the ones `accelerate` prepared.

    Args:
        config: the run's settings.
        dataset: a data set to use instead of loading ``config.dataset``.
    """

    LOSS_PANELS = [["d_loss", "g_loss"], ["d_real", "d_fake"], ["d_grad_norm", "g_grad_norm"]]

    def __init__(self, config: GANTrainingConfig, dataset=None):
        super().__init__(config, dataset)  # 1. accelerator, 2. data
        self.gan_loss = get_gan_loss(config.loss)

        # 3. Networks (the same initial weights on every process) and the generator's EMA.
        seed_everything(config.seed)
        self.raw_G, self.raw_D = build_gan(config, self.dataset)
        self.latent_dim = self.raw_G.config.latent_dim
        self.ema = make_ema(self.raw_G, config.ema_decay)

        # 4. One optimizer per player, each with its warm-up.
        g_optimizer, d_optimizer = self._optimizer(self.raw_G), self._optimizer(self.raw_D)
        # D's scheduler steps once per D update, d_steps times per generator step.
        self.g_lr_scheduler = lr_scheduler(g_optimizer, config.lr_warmup_steps, config.max_steps, config.lr_schedule)
        self.d_lr_scheduler = lr_scheduler(
            d_optimizer, config.lr_warmup_steps, config.d_steps * config.max_steps, config.lr_schedule
        )
        self.G, self.D, self.g_optimizer, self.d_optimizer = self.accelerator.prepare(
            self.raw_G, self.raw_D, g_optimizer, d_optimizer
        )
        if self.ema is not None:
            self.ema.to(self.accelerator.device)

        # 5. This process's random draws (z, interpolation weights), and where the run stands.
        self.start()

    def _load_data(self):
        """The data, at a DCGAN resolution: images of another size (8×8 digits) are resized to the
        next supported one when no resolution was asked for; `config.resolution` records it."""
        config = self.config
        dataset = load_training_data(config)
        if (
            dataset.kind == "image"
            and config.resolution is None
            and dataset.sample_shape[-1] not in SUPPORTED_RESOLUTIONS
        ):
            size = dataset.sample_shape[-1]
            config.resolution = min(
                (r for r in SUPPORTED_RESOLUTIONS if r >= size), default=max(SUPPORTED_RESOLUTIONS)
            )
            logger.warning(
                "DCGAN needs %s-pixel images; resizing the %d-pixel data to %d",
                "/".join(map(str, SUPPORTED_RESOLUTIONS)),
                size,
                config.resolution,
            )
            dataset = load_training_data(config)
        return dataset

    @property
    def g_network(self) -> torch.nn.Module:
        """The generator as built: `raw_G`'s older name."""
        return self.raw_G

    @property
    def d_network(self) -> torch.nn.Module:
        """The discriminator as built: `raw_D`'s older name."""
        return self.raw_D

    def _optimizer(self, network: torch.nn.Module) -> torch.optim.Optimizer:
        if self.config.optimizer == "rmsprop":
            return torch.optim.RMSprop(network.parameters(), lr=self.config.learning_rate, foreach=True)
        return make_adam(network.parameters(), self.config.learning_rate, self.config.adam_betas)

    def _latents(self, batch_size: int) -> torch.Tensor:
        return torch.randn(batch_size, self.latent_dim, generator=self.rng, device=self.accelerator.device)

    # -- the two players' objectives --------------------------------------------------------

    def discriminator_loss(self, real: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, dict]:
        """D's loss on real x and fresh G(z), plus the regularizer; and the values to log.

        Args:
            real: a batch of real samples.
            labels: their class labels for a conditional GAN, else None.

        Returns:
            (loss, values to log).
        """
        with torch.no_grad(), autocast(self.accelerator):
            fake = self.G(self._latents(real.shape[0]), class_labels=labels)
        fake = fake.float()  # G's output under autocast; D, the penalty and the loss see fp32 inputs
        with autocast(self.accelerator):
            real_out = self.D(real, class_labels=labels).float()
            fake_out = self.D(fake, class_labels=labels).float()
        loss = self.gan_loss.discriminator(real_out, fake_out)
        penalty = torch.zeros((), device=real.device)  # in fp32: outside autocast
        if self.config.regularizer == "gp":
            penalty = gradient_penalty(
                self.D, real, fake, self.config.gp_lambda, class_labels=labels, generator=self.rng
            )
        elif self.config.regularizer == "r1":
            penalty = r1_penalty(self.D, real, self.config.r1_gamma, class_labels=labels)
        values = {
            "d_loss": loss.detach(),
            "penalty": penalty.detach(),
            "d_real": self._readable(real_out),
            "d_fake": self._readable(fake_out),
        }
        if self.config.loss == "wasserstein":
            values["wasserstein_estimate"] = (real_out.mean() - fake_out.mean()).detach()  # E f(x) − E f(G(z))
        return loss + penalty, values

    def generator_loss(self, batch_size: int, labels: torch.Tensor | None) -> torch.Tensor:
        """G's loss on D(G(z)) for fresh z.

        Args:
            batch_size: how many z to draw.
            labels: class labels for a conditional GAN, else None.

        Returns:
            The loss, a scalar.
        """
        with autocast(self.accelerator):
            fake = self.G(self._latents(batch_size), class_labels=labels)
            fake_out = self.D(fake, class_labels=labels).float()
        return self.gan_loss.generator(fake_out)

    def _readable(self, out: torch.Tensor) -> torch.Tensor:
        """Mean D output as theory reads it: D = σ(l) for logit losses, the raw score otherwise."""
        return (torch.sigmoid(out) if self.config.loss in _LOGIT_LOSSES else out).mean().detach()

    # -- the loop ---------------------------------------------------------------------------

    def train(self) -> GANPipeline:
        """Run from the current step to ``max_steps``; save and return the pipeline.

        Returns:
            The trained `GANPipeline` (the EMA generator when there is one), also saved under
            ``<output_dir>/pipeline``.

        Raises:
            NonFiniteLossError: when a loss becomes NaN or infinite.
        """
        config, accelerator = self.config, self.accelerator
        accumulation = config.gradient_accumulation_steps
        batches = self.batches()
        log = self.run_logger(config.batch_size * accumulation * config.d_steps * accelerator.num_processes)
        self.G.train()
        self.D.train()
        while self.step < config.max_steps:
            logging_now = (self.step + 1) % config.log_every == 0 or self.step + 1 == config.max_steps

            # Discriminator: d_steps updates, each on fresh real data and fresh samples.
            for _ in range(config.d_steps):
                self.d_optimizer.zero_grad(set_to_none=True)
                d_values = {}
                for micro_step in range(accumulation):
                    batch = next(batches)
                    self.batches_taken += 1
                    labels = batch["label"] if self.num_classes else None
                    last = micro_step == accumulation - 1
                    with contextlib.nullcontext() if last else accelerator.no_sync(self.D):
                        d_total, values = self.discriminator_loss(batch["sample"], labels)
                        values = _mean_over_processes(accelerator, values)
                        check_finite(
                            self.step + 1, {k: values[k] for k in ("d_loss", "penalty")}, self.last_checkpoint
                        )
                        backward(accelerator, d_total / accumulation)
                    d_values = {k: d_values.get(k, 0.0) + v / accumulation for k, v in values.items()}
                d_grad_norm = self._clip(self.D, self.d_optimizer, logging_now)
                self.d_optimizer.step()
                self.d_lr_scheduler.step()
                if config.regularizer == "clip":
                    clip_weights_(self.raw_D, config.clip_value)

            # Generator: one update on fresh z (the discriminator's gradients from it are discarded).
            self.g_optimizer.zero_grad(set_to_none=True)
            g_loss_sum = 0.0
            for micro_step in range(accumulation):
                labels = self._sample_labels(config.batch_size)
                last = micro_step == accumulation - 1
                with contextlib.nullcontext() if last else accelerator.no_sync(self.G):
                    g_loss = self.generator_loss(config.batch_size, labels)
                    g_loss_mean = accelerator.reduce(g_loss.detach(), "mean")
                    check_finite(self.step + 1, {"g_loss": g_loss_mean}, self.last_checkpoint)
                    backward(accelerator, g_loss / accumulation)
                g_loss_sum += g_loss_mean.item() / accumulation
            g_grad_norm = self._clip(self.G, self.g_optimizer, logging_now)
            self.g_optimizer.step()
            self.g_lr_scheduler.step()
            if self.ema is not None:
                self.ema.update_parameters(self.raw_G)
            self.step += 1
            log.update()

            # Feedback (the last discriminator update's values), sample pictures and checkpoints.
            if logging_now:
                log.log(
                    self.step,
                    {
                        **d_values,
                        "g_loss": g_loss_sum,
                        "d_grad_norm": float(d_grad_norm),
                        "g_grad_norm": float(g_grad_norm),
                        "lr": self.g_lr_scheduler.get_last_lr()[0],
                    },
                )
            self.end_of_step()
        return self.finish(log)

    def _clip(self, model: torch.nn.Module, optimizer, logging_now: bool) -> float:
        """Clip the gradient norm when asked (and measure it when logging); NaN when not measured."""
        if self.config.max_grad_norm is None and not logging_now:
            return float("nan")
        return clip_grad_norm(self.accelerator, model, optimizer, self.config.max_grad_norm)

    def _sample_labels(self, batch_size: int) -> torch.Tensor | None:
        """Labels for the generator's samples: uniform over the classes (conditional runs)."""
        if not self.num_classes:
            return None
        return torch.randint(self.num_classes, (batch_size,), generator=self.rng, device=self.accelerator.device)

    # -- results ----------------------------------------------------------------------------

    def pipeline(self) -> GANPipeline:
        """A pipeline of the sampling generator (the EMA's by default) and the discriminator.

        Returns:
            The `GANPipeline`; it shares the trainer's networks.
        """
        return GANPipeline(generator=self._sampling_network(self.raw_G), discriminator=self.raw_D)

    def sample(self, num_samples: int, seed: int = 0) -> torch.Tensor:
        """`num_samples` samples: images in [0, 1], points as they are.

        Args:
            num_samples: how many samples; conditional models cycle through the classes.
            seed: seeds the latents.

        Returns:
            Images (N, C, H, W) in [0, 1], or points (N, D).
        """
        return draw_samples(self.pipeline(), num_samples, seed=seed)

    def _state(self) -> dict:
        """What a checkpoint holds besides the step, the data position and the config."""
        modules = {"generator": self.raw_G, "discriminator": self.raw_D}
        if self.ema is not None:
            modules["ema"] = self.ema
        return {
            "modules": modules,
            "optimizers": {"generator": self.g_optimizer, "discriminator": self.d_optimizer},
            "lr_schedulers": {"generator": self.g_lr_scheduler, "discriminator": self.d_lr_scheduler},
            "rng": self.rng,
        }

    def _final_losses(self, records: list[dict]) -> dict:
        last = records[-1] if records else {}
        return {k: last[k] for k in ("d_loss", "g_loss", "d_real", "d_fake") if k in last}


def _mean_over_processes(accelerator, values: dict[str, torch.Tensor]) -> dict[str, float]:
    """Each scalar averaged over the processes, with one all-reduce and one device sync."""
    means = accelerator.reduce(torch.stack(list(values.values())), "mean").tolist()
    return dict(zip(values, means, strict=True))
