"""Seconds per sampled image, gandiff vs diffusers, same U-Net weights, same run.

    python benchmarks/sampling_speed.py [--config small|tiny] [--batch 4] [--ddpm-steps 1000] [--ddim-steps 50]

For each library and sampler the table gives the wall time of the pipeline call, the time of the
same number of bare U-Net forward calls on the same input size (the network's share), and the
non-network time per step: (pipeline - network) / steps. Target (issue 3): gandiff's
non-network time per step under 2% of the step.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

CONFIGS = {
    # REFERENCES.md's small U-Net (17.2M parameters), used for the training-speed numbers.
    "small": dict(
        sample_size=32,
        block_out_channels=(64, 128, 128, 256),
        down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        layers_per_block=2,
    ),
    # A toy size where the non-network time is most visible.
    "tiny": dict(
        sample_size=16,
        block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        layers_per_block=1,
    ),
}


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--ddpm-steps", type=int, default=1000)
    parser.add_argument("--ddim-steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import diffusers

    import gandiff

    torch.manual_seed(0)
    reference_unet = diffusers.UNet2DModel(**CONFIGS[args.config]).eval()
    state = reference_unet.state_dict()
    our_unet = gandiff.UNet2DModel(**CONFIGS[args.config]).eval()
    our_unet.load_state_dict(state)
    shape = (args.batch, 3, our_unet.config.sample_size, our_unet.config.sample_size)

    pipelines = {
        ("diffusers", "DDPM"): (diffusers.DDPMPipeline(reference_unet, diffusers.DDPMScheduler()), args.ddpm_steps),
        ("diffusers", "DDIM"): (diffusers.DDIMPipeline(reference_unet, diffusers.DDIMScheduler()), args.ddim_steps),
        ("gandiff", "DDPM"): (gandiff.DDPMPipeline(unet=our_unet, scheduler=gandiff.DDPMScheduler()), args.ddpm_steps),
        ("gandiff", "DDIM"): (gandiff.DDPMPipeline(unet=our_unet, scheduler=gandiff.DDIMScheduler()), args.ddim_steps),
    }
    networks = {"diffusers": lambda x, t: reference_unet(x, t).sample, "gandiff": lambda x, t: our_unet(x, t)}

    rows = []
    with torch.inference_mode():
        for (library, sampler), (pipe, steps) in pipelines.items():
            pipe.set_progress_bar_config(disable=True)
            x = torch.randn(shape)
            t = torch.tensor(500)
            network = networks[library]
            pipe(batch_size=args.batch, num_inference_steps=2, output_type="np")  # warm-up
            # timed() calls each lambda before the loop moves on, so late binding is harmless; bind anyway.
            total = timed(
                lambda pipe=pipe, steps=steps: pipe(
                    batch_size=args.batch, num_inference_steps=steps, output_type="np"
                ),
                args.repeats,
            )
            forward = timed(
                lambda network=network, x=x, t=t, steps=steps: [network(x, t) for _ in range(steps)], args.repeats
            )
            overhead = (total - forward) / steps
            rows.append((library, sampler, steps, total / args.batch, forward, overhead, overhead / (total / steps)))

    print(f"config {args.config}, batch {args.batch}, {torch.get_num_threads()} threads, median of {args.repeats}")
    print("| library | sampler | steps | s / image | network s | non-network ms / step | share of step |")
    print("|---|---|---|---|---|---|---|")
    for library, sampler, steps, per_image, forward, overhead, share in rows:
        print(
            f"| {library} | {sampler} | {steps} | {per_image:.3f} | {forward:.3f} | {overhead * 1e3:.3f} | {share:.2%} |"
        )
    for sampler in ("DDPM", "DDIM"):
        ours = next(r for r in rows if r[:2] == ("gandiff", sampler))
        theirs = next(r for r in rows if r[:2] == ("diffusers", sampler))
        print(f"{sampler}: gandiff / diffusers time per image = {ours[3] / theirs[3]:.3f}")


if __name__ == "__main__":
    main()
