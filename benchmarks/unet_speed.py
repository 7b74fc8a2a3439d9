"""Training speed of gandiff's UNet2DModel against diffusers', same config, same weights.

For each configuration, diffusers' UNet2DModel is built with a fixed seed and saved; gandiff's
loads that folder, so both compute the same function. One step is forward, a mean-squared
loss, backward (as in training, without the optimizer). Steps of the two libraries alternate
(and which goes first alternates), after warm-up steps, and the median step time gives
images/s, so a neighbour's load on a shared machine hits both alike. The ratio columns are
gandiff / diffusers (above 1: gandiff is faster), of the medians and of the fastest steps.

    python benchmarks/unet_speed.py                     # both configs, fp32 and bf16 autocast
    python benchmarks/unet_speed.py --repeats 3 --configs small --precisions fp32

Needs diffusers (the test-only reference). Runs on the CPU unless --device says otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

# The small U-Net of REFERENCES.md (17.2M parameters), attention at the third level (8x8
# for 32x32 samples), and google/ddpm-cifar10-32's U-Net (35.7M, Ho et al.'s CIFAR-10 model).
CONFIGS = {
    "small": dict(
        sample_size=32,
        block_out_channels=(64, 128, 128, 256),
        down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        layers_per_block=2,
    ),
    "ddpm-cifar10": dict(
        sample_size=32,
        block_out_channels=(128, 256, 256, 256),
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        layers_per_block=2,
        downsample_padding=0,
        freq_shift=1,
        flip_sin_to_cos=False,
        norm_eps=1e-6,
        attention_head_dim=None,
    ),
}


def build_pair(config: dict, device: str):
    """diffusers' model with seeded weights, and gandiff's loaded from its save."""
    from diffusers import UNet2DModel as DiffusersUNet

    from gandiff.models.unet_2d import UNet2DModel

    torch.manual_seed(0)
    reference = DiffusersUNet(**config)
    with tempfile.TemporaryDirectory() as folder:
        reference.save_pretrained(folder)
        ours = UNet2DModel.from_pretrained(folder)
    reference.eval()
    sample, timesteps = torch.randn(1, *ours.sample_shape), torch.tensor([500])
    with torch.no_grad():
        difference = (reference(sample, timesteps).sample - ours(sample, timesteps)).abs().max().item()
    if difference > 1e-4:
        raise RuntimeError(f"the two models disagree by {difference:.2e}; the comparison would be meaningless")
    return {"diffusers": reference.to(device).train(), "gandiff": ours.to(device).train()}


def make_step(model, sample, timesteps, precision: str, is_diffusers: bool):
    """One training step without the optimizer: forward, loss, backward."""
    autocast = torch.autocast(sample.device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    def step() -> None:
        model.zero_grad(set_to_none=True)
        with autocast:
            out = model(sample, timesteps)
            if is_diffusers:
                out = out.sample
        out.float().square().mean().backward()

    return step


def time_pair(models: dict, batch: int, precision: str, repeats: int, warmup: int, device: str) -> dict:
    """Seconds of each timed step of each model, steps interleaved."""
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(batch, *models["gandiff"].sample_shape, generator=generator).to(device)
    timesteps = torch.randint(0, 1000, (batch,), generator=generator).to(device)
    steps = {name: make_step(m, sample, timesteps, precision, name == "diffusers") for name, m in models.items()}
    for _ in range(warmup):
        for step in steps.values():
            step()
    times = {name: [] for name in steps}
    order = list(steps)
    for r in range(repeats):
        for name in order if r % 2 == 0 else order[::-1]:
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            steps[name]()
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--batch-small", type=int, default=16, help="batch size of the small config")
    parser.add_argument("--batch-cifar", type=int, default=4, help="batch size of the ddpm-cifar10 config")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per library (median taken)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per library first")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
          f"{args.repeats} repeats after {args.warmup} warm-up")  # fmt: skip
    rows = []
    for name in args.configs:
        models = build_pair(CONFIGS[name], args.device)
        params = sum(p.numel() for p in models["gandiff"].parameters())
        batch = args.batch_small if name == "small" else args.batch_cifar
        for precision in args.precisions:
            times = time_pair(models, batch, precision, args.repeats, args.warmup, args.device)
            median = {lib: batch / statistics.median(t) for lib, t in times.items()}
            best = {lib: batch / min(t) for lib, t in times.items()}
            rows.append(
                f"| {name} | {params / 1e6:.1f}M | {batch} | {precision} | {median['diffusers']:.2f} | "
                f"{median['gandiff']:.2f} | {median['gandiff'] / median['diffusers']:.2f} | "
                f"{best['gandiff'] / best['diffusers']:.2f} |"
            )

    # The best step is the one least disturbed by other processes; on a shared machine its
    # ratio is the steadier of the two.
    print("\nforward+backward, images/s (median of the timed steps)\n")
    print("| config | params | batch | precision | diffusers | gandiff | ratio | ratio of best steps |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
