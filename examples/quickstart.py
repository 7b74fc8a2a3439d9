"""gandiff quickstart: a diffusion model and a GAN learn to draw digits, on a laptop CPU.

    python3 examples/quickstart.py [--out out/quickstart] [--ddpm-steps N] [--gan-steps N]

Uses scikit-learn's 1,797 handwritten digits (8×8 pixels, 16 grey levels; the ``data`` extra
installs scikit-learn):

1. trains a small U-Net to predict the noise ε (Ho et al. 2020, Algorithm 1) on the digits at
   their own 8×8 size, and saves a `DDPMPipeline`;
2. trains a DCGAN (Radford et al. 2016) with the non-saturating loss (Goodfellow et al. 2014,
   Algorithm 1) on the digits resized to 28×28, and saves a `GANPipeline`;
3. writes a sample grid of each and tells you where everything is.

Both are `gandiff train` runs (`DiffusionTrainer`, `GANTrainer`) with settings picked to finish
in a few minutes on 2 CPU cores: EMA weights, checkpoints, a JSONL log, a loss curve and sample
grids every few hundred steps. The same runs from the command line:

    gandiff train ddpm --dataset digits --batch-size 32 --max-steps 1500 --learning-rate 1e-3 ...
    gandiff train gan --dataset digits --resolution 28 --model-size small --max-steps 2000 ...
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import torch

from gandiff.training import DiffusionTrainer, DiffusionTrainingConfig, GANTrainer, GANTrainingConfig


def ddpm_config(out: Path, steps: int) -> DiffusionTrainingConfig:
    return DiffusionTrainingConfig(
        dataset="digits",
        model_size="small",  # U-Net (32, 64, 64) channels, attention at 2×2: ~1.1M parameters
        batch_size=32,  # more, smaller steps: better samples for the same time here
        max_steps=steps,
        learning_rate=1e-3,  # higher than Ho et al.'s 2e-4: a small network, a short run
        lr_warmup_steps=100,
        ema_decay=0.995,  # averages the last ~200 steps (0.9999 suits Ho et al.'s 800k)
        checkpoint_every=500,
        sample_every=500,
        log_every=25,
        output_dir=str(out / "ddpm"),
    )


def gan_config(out: Path, steps: int) -> GANTrainingConfig:
    return GANTrainingConfig(
        dataset="digits",
        resolution=28,  # DCGAN's MNIST layout, 7 -> 14 -> 28
        model_size="small",  # 32 base channels
        loss="non_saturating",  # with Radford et al.'s Adam 2e-4, betas (0.5, 0.999), one D step
        batch_size=64,
        max_steps=steps,
        ema_decay=0.99,
        checkpoint_every=500,
        sample_every=500,
        log_every=25,
        output_dir=str(out / "gan"),
    )


def fresh(folder: Path) -> None:
    """Remove a previous quickstart run (only a folder that a gandiff run wrote)."""
    if (folder / "training_config.json").is_file():
        print(f"removing the previous run in {folder}")
        shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/quickstart"))
    parser.add_argument("--ddpm-steps", type=int, default=1500)
    parser.add_argument("--gan-steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, see below)")
    args = parser.parse_args()
    # These networks are small, so a second thread gains little even on an idle machine; and
    # when another process takes one of two cores, two OpenMP threads wait on each other at
    # every operation (measured here: a 60-step run took 18 s with one thread, 249 s with two).
    torch.set_num_threads(args.threads)

    start = time.perf_counter()
    results = {}
    for name, config, trainer_cls in [
        ("DDPM", ddpm_config(args.out, args.ddpm_steps), DiffusionTrainer),
        ("GAN", gan_config(args.out, args.gan_steps), GANTrainer),
    ]:
        fresh(Path(config.output_dir))
        print(f"\n{name}: training on {config.dataset} for {config.max_steps} steps ...")
        began = time.perf_counter()
        trainer_cls(config).train()
        results[name] = (Path(config.output_dir), time.perf_counter() - began)

    print(f"\ndone in {time.perf_counter() - start:.0f} s")
    for name, (folder, seconds) in results.items():
        print(
            f"  {name} ({seconds:.0f} s): samples {folder / 'pipeline' / 'samples.png'}, "
            f"loss curve {folder / 'loss_curve.png'}, pipeline {folder / 'pipeline'}"
        )
    print("\nsample again, e.g. with DDIM in 50 steps:")
    print(f"  gandiff sample {results['DDPM'][0]} --scheduler ddim --steps 50 --out ddpm.png")
    print(f"  gandiff sample {results['GAN'][0]} --out gan.png")


if __name__ == "__main__":
    main()
