"""A diffusion model and a GAN learn a ring of 8 Gaussians, on the CPU, in bare PyTorch loops.

    python3 examples/toy2d.py [--steps 3000] [--out out/toy2d]

1. Trains an `MLPDenoiser` to predict ε (Ho et al. 2020, Algorithm 1) and wraps it with a
   `DDPMScheduler` in a `DDPMPipeline`.
2. Trains an `MLPGenerator` against an `MLPDiscriminator` with the non-saturating loss
   (Goodfellow et al. 2014, Algorithm 1 with k = 1) and wraps it in a `GANPipeline`.
3. Samples 2,500 points from each: DDPM with 1000 steps, then DDIM with 50 steps after swapping
   the scheduler (no retraining), and the GAN; saves both pipelines, loads them back, and
   prints the VEEGAN/PacGAN mode-coverage table (modes captured out of 8, share of
   high-quality samples within 3 std of a mode).

The training loops here are deliberately bare PyTorch, to show what the parts do;
`gandiff train` (with accelerate, EMA, checkpoints) is the tool for real runs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gandiff import (
    DDIMScheduler,
    DDPMPipeline,
    DDPMScheduler,
    GANPipeline,
    MLPDenoiser,
    MLPDiscriminator,
    MLPGenerator,
    Pipeline,
)
from gandiff.data import ring8
from gandiff.metrics.mode_coverage import mode_coverage
from gandiff.training.losses import discriminator_minimax_loss, generator_non_saturating_loss

BATCH_SIZE = 256


def train_diffusion(data, steps: int, rng: torch.Generator) -> DDPMPipeline:
    scheduler = DDPMScheduler(clip_sample=False)  # points are unbounded: never clip x_0
    model = MLPDenoiser(data_dim=2, hidden_dim=128, num_layers=3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    lr_decay = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    num_train_timesteps = scheduler.config.num_train_timesteps
    for _ in range(steps):
        # Algorithm 1: x_0 ~ q(x_0), t ~ Uniform({0..T-1}), ε ~ N(0, I); step on ‖ε − ε_θ(x_t, t)‖²
        x0 = data.sample(BATCH_SIZE, generator=rng)
        t = torch.randint(num_train_timesteps, (BATCH_SIZE,), generator=rng)
        noise = torch.randn(x0.shape, generator=rng)
        loss = F.mse_loss(model(scheduler.add_noise(x0, noise, t), t), noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr_decay.step()
    return DDPMPipeline(denoiser=model.eval(), scheduler=scheduler)


def train_gan(data, steps: int, rng: torch.Generator) -> GANPipeline:
    generator, discriminator = MLPGenerator(latent_dim=2), MLPDiscriminator()
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for _ in range(steps):
        # Discriminator ascends log D(x) + log(1 − D(G(z)))
        real = data.sample(BATCH_SIZE, generator=rng)
        fake = generator(torch.randn(BATCH_SIZE, 2, generator=rng))
        d_loss = discriminator_minimax_loss(discriminator(real), discriminator(fake.detach()))
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        # Generator descends −log D(G(z)), the non-saturating loss
        g_loss = generator_non_saturating_loss(discriminator(fake))
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()
    return GANPipeline(generator=generator.eval(), discriminator=discriminator.eval())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="training steps of each model")
    parser.add_argument("--out", type=Path, default=Path("out/toy2d"))
    args = parser.parse_args()

    torch.manual_seed(0)
    rng = torch.Generator().manual_seed(0)
    data = ring8()
    start = time.perf_counter()
    print(f"training a diffusion model and a GAN on ring8 for {args.steps} steps each ...")
    diffusion = train_diffusion(data, args.steps, rng)
    gan = train_gan(data, args.steps, rng)
    print(f"trained in {time.perf_counter() - start:.0f} s")

    diffusion.save_pretrained(args.out / "ddpm")
    gan.save_pretrained(args.out / "gan")
    diffusion = Pipeline.from_pretrained(args.out / "ddpm")
    gan = Pipeline.from_pretrained(args.out / "gan")
    diffusion.set_progress_bar_config(disable=True)

    samples = {"DDPM, 1000 steps": diffusion(batch_size=2500, generator=torch.Generator().manual_seed(1)).points}
    diffusion.scheduler = DDIMScheduler.from_config(diffusion.scheduler.config)  # swap, no retraining
    samples["DDIM, 50 steps"] = diffusion(
        batch_size=2500, generator=torch.Generator().manual_seed(1), num_inference_steps=50
    ).points
    samples["GAN (non-saturating)"] = gan(batch_size=2500, generator=torch.Generator().manual_seed(1)).points
    samples["true data (reference)"] = data.sample(2500, generator=torch.Generator().manual_seed(1)).numpy()

    print(f"\nsaved and reloaded: {args.out / 'ddpm'}, {args.out / 'gan'}")
    print("| sampler | modes captured | high quality |")
    print("|---|---|---|")
    for name, points in samples.items():
        score = mode_coverage(torch.as_tensor(points), data.centers, data.std)
        print(f"| {name} | {score.modes_captured} / {score.num_modes} | {score.high_quality_fraction:.1%} |")
    print(f"\ndone in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
