"""What the trainers cost over a bare PyTorch loop, and what bf16 autocast buys on this CPU.

    python3 benchmarks/trainer_overhead.py [--steps 60] [--repeats 3]

For each workload, the same model, batch size, optimizer (Adam, multi-tensor update), gradient
clipping and EMA are trained for ``--steps`` steps by

* a bare loop: a shuffling ``DataLoader`` over the same data set, Algorithm 1 (DDPM) or
  Algorithm 1 with k = 1 (GAN) written out, ``clip_grad_norm_``, ``optimizer.step``,
  ``AveragedModel.update_parameters``; nothing else;
* `DiffusionTrainer` / `GANTrainer`: accelerate, the resumable sampler, the finiteness check of
  every loss, the JSONL log and progress bar every 10 steps. Checkpoints, sample grids and the
  final pipeline are switched off (they are not per-step costs).

Runs alternate (bare, trainer, bare, ...) after a warm-up of each, and the table shows the
median steps/s of ``--repeats`` runs. Overhead = bare / trainer − 1 (target: ≤ 5%). A third
column shows the bare loop fed from one in-memory tensor instead of the DataLoader: the gap
between the two bare columns is the data set's per-item loading, not the trainer's. The last
table compares the trainers with ``mixed_precision="bf16"`` against fp32.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from gandiff import DDPMScheduler
from gandiff.data import load_dataset
from gandiff.training import DiffusionTrainer, DiffusionTrainingConfig, GANTrainer, GANTrainingConfig
from gandiff.training.diffusion import build_denoiser
from gandiff.training.gan import build_gan
from gandiff.training.losses import discriminator_minimax_loss, generator_non_saturating_loss
from gandiff.training.optimization import make_adam

WORKLOADS = {
    # name: (trainer, config settings)
    "DDPM, U-Net small, digits 8×8, batch 64": (
        "ddpm",
        {"dataset": "digits", "model_size": "small", "batch_size": 64},
    ),
    "DDPM, MLP, ring8, batch 256": ("ddpm", {"dataset": "ring8", "model_size": "small", "batch_size": 256}),
    "GAN, DCGAN small, digits 28×28, batch 64": (
        "gan",
        {"dataset": "digits", "resolution": 28, "model_size": "small", "batch_size": 64},
    ),
    "GAN, MLP, ring8, batch 256": ("gan", {"dataset": "ring8", "model_size": "small", "batch_size": 256}),
}


def _config(kind: str, settings: dict, steps: int, output_dir: str):
    common = {
        "max_steps": steps,
        "checkpoint_every": 10**9,
        "sample_every": 0,
        "log_every": 10,
        "output_dir": output_dir,
        "ema_decay": 0.999,
        "max_grad_norm": 1.0,
    }
    config_cls = DiffusionTrainingConfig if kind == "ddpm" else GANTrainingConfig
    return config_cls(**settings, **common)


def _batches(config, in_memory: bool, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless shuffled batches: from a DataLoader over the data set, or by indexing one tensor.

    The data is loaded here, before the caller starts its clock (as a trainer loads it in
    ``__init__``); the returned iterator only draws batches.
    """
    dataset = load_dataset(config.dataset, resolution=config.resolution)
    if in_memory:
        data = torch.stack([dataset[i]["sample"] for i in range(len(dataset))])

        def batches() -> Iterator[torch.Tensor]:
            while True:
                order = torch.randperm(len(data), generator=generator)
                for first in range(0, len(data) - config.batch_size + 1, config.batch_size):
                    yield data[order[first : first + config.batch_size]]
    else:
        loader = torch.utils.data.DataLoader(
            dataset, config.batch_size, shuffle=True, drop_last=True, generator=generator
        )

        def batches() -> Iterator[torch.Tensor]:
            while True:
                for batch in loader:
                    yield batch["sample"]

    return batches()


def bare_ddpm(config, steps: int, in_memory: bool = False) -> float:
    """Steps/s of Algorithm 1 written out by hand, with the trainer's model, optimizer, clipping, EMA."""
    dataset = load_dataset(config.dataset, resolution=config.resolution)
    torch.manual_seed(config.seed)
    model = build_denoiser(config, dataset)
    scheduler = DDPMScheduler(clip_sample=dataset.kind == "image")
    optimizer = make_adam(model.parameters(), config.learning_rate)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
    generator = torch.Generator().manual_seed(0)
    batches = _batches(config, in_memory, generator)
    start = time.perf_counter()
    for _ in range(steps):
        x0 = next(batches)
        t = torch.randint(1000, (len(x0),), generator=generator)
        noise = torch.randn(x0.shape, generator=generator)
        loss = F.mse_loss(model(scheduler.add_noise(x0, noise, t), t), noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        ema.update_parameters(model)
    return steps / (time.perf_counter() - start)


def bare_gan(config, steps: int, in_memory: bool = False) -> float:
    """Steps/s of Goodfellow et al.'s Algorithm 1 (k = 1) by hand, as the trainer configures it."""
    dataset = load_dataset(config.dataset, resolution=config.resolution)
    torch.manual_seed(config.seed)
    generator_net, discriminator = build_gan(config, dataset)
    latent_dim = generator_net.config.latent_dim
    g_optimizer = make_adam(generator_net.parameters(), config.learning_rate, config.adam_betas)
    d_optimizer = make_adam(discriminator.parameters(), config.learning_rate, config.adam_betas)
    ema = AveragedModel(generator_net, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
    rng = torch.Generator().manual_seed(0)
    batches = _batches(config, in_memory, rng)
    start = time.perf_counter()
    for _ in range(steps):
        real = next(batches)
        with torch.no_grad():
            fake = generator_net(torch.randn(len(real), latent_dim, generator=rng))
        d_loss = discriminator_minimax_loss(discriminator(real), discriminator(fake))
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        torch.nn.utils.clip_grad_norm_(discriminator.parameters(), config.max_grad_norm)
        d_optimizer.step()
        g_loss = generator_non_saturating_loss(
            discriminator(generator_net(torch.randn(len(real), latent_dim, generator=rng)))
        )
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        torch.nn.utils.clip_grad_norm_(generator_net.parameters(), config.max_grad_norm)
        g_optimizer.step()
        ema.update_parameters(generator_net)
    return steps / (time.perf_counter() - start)


def trainer_speed(kind: str, config) -> float:
    """Steps/s of `train()` (checkpoints and the final pipeline switched off)."""
    trainer = (DiffusionTrainer if kind == "ddpm" else GANTrainer)(config)
    trainer.save_checkpoint = lambda: None
    trainer._save_output = lambda pipeline: None
    start = time.perf_counter()
    trainer.train()
    return config.max_steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.steps} steps, median of {args.repeats}"
    )

    rows, precision_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, settings) in WORKLOADS.items():
            config = _config(kind, settings, args.steps, f"{tmp}/{len(rows)}")
            bare = bare_ddpm if kind == "ddpm" else bare_gan
            bare(config, 5)  # warm-up
            trainer_speed(kind, replace(config, max_steps=5, output_dir=f"{config.output_dir}-warm"))
            bare_runs, trainer_runs, memory_runs = [], [], []
            for r in range(args.repeats):
                bare_runs.append(bare(config, args.steps))
                trainer_runs.append(trainer_speed(kind, replace(config, output_dir=f"{config.output_dir}-{r}")))
                memory_runs.append(bare(config, args.steps, in_memory=True))
            bare_speed, speed = statistics.median(bare_runs), statistics.median(trainer_runs)
            rows.append((name, bare_speed, speed, bare_speed / speed - 1, statistics.median(memory_runs)))
            print(f"  {name}: bare {bare_speed:.2f}, trainer {speed:.2f} steps/s", flush=True)
            if "ring8" not in name:
                bf16_runs = [
                    trainer_speed(
                        kind, replace(config, mixed_precision="bf16", output_dir=f"{config.output_dir}-bf{r}")
                    )
                    for r in range(args.repeats)
                ]
                precision_rows.append((name, speed, statistics.median(bf16_runs)))

    print("\n| workload | bare loop, steps/s | trainer, steps/s | trainer overhead | bare loop, in-memory data |")
    print("|---|---|---|---|---|")
    for name, bare_speed, speed, overhead, memory in rows:
        print(f"| {name} | {bare_speed:.2f} | {speed:.2f} | {overhead:+.1%} | {memory:.2f} |")
    print("\n| workload (trainer) | fp32, steps/s | bf16 autocast, steps/s | bf16 / fp32 |")
    print("|---|---|---|---|")
    for name, fp32, bf16 in precision_rows:
        print(f"| {name} | {fp32:.2f} | {bf16:.2f} | {bf16 / fp32:.2f}× |")


if __name__ == "__main__":
    main()
