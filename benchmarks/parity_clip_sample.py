"""Where "the same images as diffusers" holds: max |Δ| of [0, 1] images, same weights, same seed.

    python benchmarks/parity_clip_sample.py     # ~1 min on one CPU core; needs diffusers

Two columns per row: diffusers 0.42.1 against itself with only its β / ᾱ tables rebuilt in
float64 (as gandiff builds them), and gandiff against diffusers. Rows: untrained U-Nets (weights
from seed 0, copied from diffusers' model into gandiff's) in the pipelines, and a network that has
learnt its data exactly: for x_0 ~ N(0, s² I), E[ε | x_t] = √(1 − ᾱ_t) x_t / (ᾱ_t s² + 1 − ᾱ_t).

With ``clip_sample=True`` an untrained U-Net predicts x̂_0 far outside [-1, 1] at every step, the
clip decides each pixel, and DDIM (no fresh noise to forget earlier steps) carries a 1e-7 change of
a table entry into whole pixels: diffusers differs from itself as much as from gandiff. DDPM, DDIM
without clipping, and any sampler with a network whose x̂_0 stays in range agree to ~1e-5.
Measured (issue 15): small 32×32, DDIM 50 steps, clip: 0.92 (diffusers f32 vs f64), 0.82 (gandiff
vs diffusers); without clip 1.4e-5 and 2.6e-5; exact-ε network, every row ≤ 2e-5.
"""

from __future__ import annotations

import numpy as np
import torch

import gandiff

UNETS = {
    "tiny 8x8 (diffusers' pipeline-test U-Net)": dict(
        block_out_channels=(4, 8), layers_per_block=1, norm_num_groups=4, sample_size=8,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
    ),
    "small 32x32": dict(
        block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=8, sample_size=32,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
    ),
}  # fmt: skip
DATA_VARIANCE = 0.25  # s² of the exact-ε network's data


def float64_tables(scheduler) -> None:
    """Rebuild a diffusers scheduler's linear-β tables in float64; nothing else changes."""
    betas = torch.linspace(scheduler.config.beta_start, scheduler.config.beta_end, 1000, dtype=torch.float64)
    scheduler.betas, scheduler.alphas = betas, 1 - betas
    scheduler.alphas_cumprod = torch.cumprod(1 - betas, 0)


def diffusers_images(unet, scheduler, steps: int, f64: bool = False) -> np.ndarray:
    import diffusers

    ddim = isinstance(scheduler, diffusers.DDIMScheduler)
    pipe = (diffusers.DDIMPipeline if ddim else diffusers.DDPMPipeline)(unet=unet, scheduler=scheduler)
    if f64:  # after construction: DDIMPipeline rebuilds its scheduler from the config
        float64_tables(pipe.scheduler)
    pipe.set_progress_bar_config(disable=True)
    generator = torch.Generator().manual_seed(0)
    return pipe(batch_size=4, generator=generator, num_inference_steps=steps, output_type="np").images


def gandiff_images(unet, scheduler, steps: int) -> np.ndarray:
    pipe = gandiff.DDPMPipeline(unet=unet, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    generator = torch.Generator().manual_seed(0)
    return pipe(batch_size=4, generator=generator, num_inference_steps=steps, output_type="np").images


def exact_network_images(scheduler, steps: int, alphas_cumprod: torch.Tensor) -> np.ndarray:
    """The pipelines' loop with the exact ε of N(0, s² I) data instead of a U-Net."""
    scheduler.set_timesteps(steps)
    sample = torch.randn((4, 3, 32, 32), generator=torch.Generator().manual_seed(0))
    noise = torch.Generator().manual_seed(1)
    takes_generator = "DDPM" in type(scheduler).__name__
    for t in scheduler.timesteps:
        alpha_bar = float(alphas_cumprod[int(t)])
        eps = (1 - alpha_bar) ** 0.5 * sample / (alpha_bar * DATA_VARIANCE + 1 - alpha_bar)
        kwargs = {"generator": noise} if takes_generator else {}
        sample = scheduler.step(eps, t, sample, **kwargs).prev_sample
    return (sample / 2 + 0.5).clamp(0, 1).numpy()


def row(network: str, sampler: str, steps: int, clip: bool, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
    print(f"{network:44} {sampler:5} {steps:5d} {clip!s:5} {np.abs(a - b).max():21.2e} {np.abs(a - c).max():21.2e}")


def main() -> None:
    import diffusers

    torch.set_num_threads(1)
    schedulers = {
        "DDIM": (diffusers.DDIMScheduler, gandiff.DDIMScheduler),
        "DDPM": (diffusers.DDPMScheduler, gandiff.DDPMScheduler),
    }
    print(f"{'network':44} {'steps':>11} {'clip':5} {'diffusers f32 vs f64':>21} {'gandiff vs diffusers':>21}")
    for name, config in UNETS.items():
        torch.manual_seed(0)
        d_unet = diffusers.UNet2DModel(**config).eval()
        g_unet = gandiff.UNet2DModel(**config).eval()
        g_unet.load_state_dict(d_unet.state_dict())
        for sampler, (D, G) in schedulers.items():
            for steps in (2, 50):
                for clip in (True, False):
                    a = diffusers_images(d_unet, D(clip_sample=clip), steps)
                    b = diffusers_images(d_unet, D(clip_sample=clip), steps, f64=True)
                    c = gandiff_images(g_unet, G(clip_sample=clip), steps)
                    row(name, sampler, steps, clip, a, b, c)
    for sampler, (D, G) in schedulers.items():
        for steps in (50, 1000):
            for clip in (True, False):
                d64 = D(clip_sample=clip)
                float64_tables(d64)
                g = G(clip_sample=clip)
                a = exact_network_images(D(clip_sample=clip), steps, g.alphas_cumprod)
                b = exact_network_images(d64, steps, g.alphas_cumprod)
                c = exact_network_images(g, steps, g.alphas_cumprod)
                row("exact-ε network, N(0, 0.5² I) data, 32x32", sampler, steps, clip, a, b, c)


if __name__ == "__main__":
    main()
