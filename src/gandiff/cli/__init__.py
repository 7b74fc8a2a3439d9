"""The ``gandiff`` command: train a DDPM or a GAN, sample, evaluate and picture the result.

    gandiff train ddpm --dataset digits --resolution 16 --max-steps 2000 --output-dir out/ddpm
    gandiff train gan --dataset ring8 --loss wasserstein --output-dir out/wgan
    gandiff sample out/ddpm --num-samples 64 --out grid.png --scheduler ddim --steps 50
    gandiff evaluate out/ddpm --scheduler ddim --steps 50      # scores beside the data's floor
    gandiff plot schedules --out schedules.png                 # β, ᾱ, log-SNR
    gandiff plot forward --dataset ring8 --out forward.png     # q(x_t | x_0) at several t
    gandiff plot reverse out/ddpm --out reverse.png            # x_T -> x_0
    gandiff plot gan-curves out/wgan --out curves.png          # losses, D(x), D(G(z)), ‖∇‖
    gandiff plot scatter out/wgan --out checkpoints.png        # 2-D samples per checkpoint

Training runs on `accelerate`, so the same command runs across processes or GPUs:

    accelerate launch --multi_gpu --num_processes 2 -m gandiff train ddpm ...

(``--multi_gpu`` is accelerate's flag for "several processes"; on a machine without GPUs the
processes train on the CPU and average gradients over gloo. ``torchrun --nproc_per_node 2 -m
gandiff train ...`` works too. ``accelerate launch --cpu`` starts a single process.)

Every ``train`` flag is a field of `DiffusionTrainingConfig` / `GANTrainingConfig` (``--max-steps``
is ``max_steps``), built from the field's help and choices; a flag left out keeps the config's
default, except ``--dataset``, which is required. ``python -m gandiff`` is the same command;
``gandiff --version`` prints the version.

Every command takes ``--threads N``, torch's CPU threads (default: ``OMP_NUM_THREADS`` when set,
else 1; see `docs/reference/cli.md`). Errors that are the user's to fix (a bad flag, path or
file, the Hub out of reach, a full disk, a missing optional package) are reported as one line
on stderr with exit status 2; any other error is a bug and shows its traceback.
"""

from .parser import build_parser
from .run import main

__all__ = ["build_parser", "main"]
