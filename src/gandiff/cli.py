"""The ``gandiff`` command: train a DDPM or a GAN, sample a saved pipeline.

    gandiff train ddpm --dataset digits --resolution 16 --max-steps 2000 --output-dir out/ddpm
    gandiff train gan --dataset ring8 --loss wasserstein --output-dir out/wgan
    gandiff sample out/ddpm --num-samples 64 --out grid.png --scheduler ddim --steps 50

Training runs on `accelerate`, so the same command runs across processes or GPUs:

    accelerate launch --multi_gpu --num_processes 2 -m gandiff train ddpm ...

(``--multi_gpu`` is accelerate's flag for "several processes"; on a machine without GPUs the
processes train on the CPU and average gradients over gloo. ``torchrun --nproc_per_node 2 -m
gandiff train ...`` works too. ``accelerate launch --cpu`` starts a single process.)

Every flag maps to a field of `DiffusionTrainingConfig` / `GANTrainingConfig` (``--max-steps``
is ``max_steps``); a flag left out keeps the config's default. ``python -m gandiff`` is the
same command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]

# Kept in step with the trainers' tuples (tests check); repeated here so that `gandiff --help`
# answers without importing torch.
_MODEL_SIZES = ("tiny", "small", "base")
_MIXED_PRECISION = ("no", "bf16", "fp16")
_REPORT_TO = ("tensorboard", "wandb")
_BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2", "cosine", "sigmoid")
_VARIANCE_TYPES = ("fixed_small", "fixed_large", "fixed_small_log", "fixed_large_log")
_PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")
_GAN_LOSSES = ("minimax", "non_saturating", "wasserstein", "hinge", "least_squares")
_REGULARIZERS = ("none", "clip", "gp", "r1")
_OPTIMIZERS = ("adam", "rmsprop")
_SCHEDULERS = {"ddpm": "DDPMScheduler", "ddim": "DDIMScheduler"}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _count(text: str) -> int:
    """A whole number >= 0."""
    return 0 if text.strip() == "0" else _positive_int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _float_or_none(text: str) -> float | str:
    """A number, or ``none`` to switch the feature off (EMA, gradient clipping)."""
    return "none" if text.lower() == "none" else _positive_float(text)


def _add_training_flags(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", help="ring8, grid25, swissroll, moons, circle, line, digits, mnist5k, "
                                        "an image folder, or hf:NAME (default: ring8)")
    data.add_argument("--resolution", type=_positive_int, help="resize images to this size (default: the data's)")
    data.add_argument("--center-crop", action="store_true", default=None, help="crop images to a centred square")
    data.add_argument("--random-flip", action="store_true", default=None, help="flip images left-right at random")
    data.add_argument("--num-samples", type=_positive_int, help="points to draw from a 2-D set (or an image subset)")
    data.add_argument("--class-conditional", action="store_true", default=None, help="condition on the labels")
    data.add_argument("--num-workers", type=_count, help="DataLoader worker processes (default 0)")

    optimization = parser.add_argument_group("model and optimization")
    optimization.add_argument("--model-size", choices=_MODEL_SIZES, help="network size preset (default: small)")
    optimization.add_argument("--batch-size", type=_positive_int, help="samples per process per step (default 64)")
    optimization.add_argument("--max-steps", type=_positive_int, help="optimizer steps (default 1000)")
    optimization.add_argument("--learning-rate", type=_positive_float, help="default: the method's paper's")
    optimization.add_argument("--lr-warmup-steps", type=_count, help="linear learning-rate warm-up (default 0)")
    optimization.add_argument("--gradient-accumulation-steps", type=_positive_int, help="micro-batches per step")
    optimization.add_argument("--max-grad-norm", type=_float_or_none, help="gradient clipping, or 'none'")
    optimization.add_argument("--mixed-precision", choices=_MIXED_PRECISION, help="bf16 works on CPUs (default: no)")
    optimization.add_argument("--ema-decay", type=_float_or_none, help="EMA of the weights (default 0.999), or 'none'")
    optimization.add_argument("--seed", type=_count, help="seeds everything (default 0)")

    run = parser.add_argument_group("run")
    run.add_argument("--output-dir", help="checkpoints, logs, samples and the pipeline (default: out/run)")
    run.add_argument("--checkpoint-every", type=_positive_int, help="steps between checkpoints (default 500)")
    run.add_argument("--checkpoints-total-limit", type=_positive_int, help="keep this many checkpoints (default 3)")
    run.add_argument("--resume-from-checkpoint", help="'latest' or a checkpoint folder")
    run.add_argument("--log-every", type=_positive_int, help="steps between log lines (default 10)")
    run.add_argument("--sample-every", type=_count, help="steps between sample grids, 0: only at the end (default 500)")
    run.add_argument("--num-sample-images", type=_positive_int, help="images per sample grid (default 64)")
    run.add_argument("--report-to", choices=_REPORT_TO, help="also log to TensorBoard or W&B")
    run.add_argument("--push-to-hub", action="store_true", default=None, help="upload the pipeline at the end")
    run.add_argument("--hub-model-id", help="the Hub repo to upload to, namespace/name")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gandiff", description="Train and sample GANs and diffusion models.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,sample}")

    train = commands.add_parser("train", help="train a model", description="Train a DDPM or a GAN.")
    methods = train.add_subparsers(dest="method", required=True, metavar="{ddpm,gan}")
    ddpm = methods.add_parser("ddpm", help="denoising diffusion (Ho et al. 2020)",
                              description="Train a DDPM (Ho et al. 2020, Algorithm 1).")
    _add_training_flags(ddpm)
    diffusion = ddpm.add_argument_group("diffusion")
    diffusion.add_argument("--num-train-timesteps", type=_positive_int, help="T (default 1000)")
    diffusion.add_argument("--beta-schedule", choices=_BETA_SCHEDULES, help="default: linear")
    diffusion.add_argument("--variance-type", choices=_VARIANCE_TYPES, help="σ² of sampling (default: fixed_small)")
    diffusion.add_argument("--prediction-type", choices=_PREDICTION_TYPES, help="default: epsilon")
    diffusion.add_argument("--snr-gamma", type=_positive_float, help="min-SNR-γ loss weighting (Hang et al.: 5)")
    diffusion.add_argument("--num-inference-steps", type=_positive_int, help="DDIM steps for sample grids (50)")

    gan = methods.add_parser("gan", help="generative adversarial network (Goodfellow et al. 2014)",
                             description="Train a GAN (Goodfellow et al. 2014, Algorithm 1).")
    _add_training_flags(gan)
    game = gan.add_argument_group("GAN")
    game.add_argument("--loss", choices=_GAN_LOSSES, help="default: non_saturating")
    game.add_argument("--regularizer", choices=_REGULARIZERS, help="default: gp for wasserstein, else none")
    game.add_argument("--d-steps", type=_positive_int, help="discriminator steps per generator step")
    game.add_argument("--optimizer", choices=_OPTIMIZERS, help="default: the loss's paper's")
    game.add_argument("--adam-betas", type=float, nargs=2, metavar=("BETA1", "BETA2"))
    game.add_argument("--gp-lambda", type=_positive_float, help="gradient-penalty λ (default 10)")
    game.add_argument("--r1-gamma", type=_positive_float, help="R1 γ (default 10)")
    game.add_argument("--clip-value", type=_positive_float, help="weight-clipping c (default 0.01)")
    game.add_argument("--latent-dim", type=_positive_int, help="size of z (default: 100 images, 2 points)")

    sample = commands.add_parser("sample", help="sample a saved pipeline into a PNG",
                                 description="Sample a pipeline folder (or a training run's output folder).")
    sample.add_argument("path", help="a pipeline folder, a training run's output folder, or a Hub repo id")
    sample.add_argument("--num-samples", type=_positive_int, default=64, help="default 64")
    sample.add_argument("--out", default="samples.png", help="the PNG to write (default samples.png)")
    sample.add_argument("--scheduler", choices=tuple(_SCHEDULERS), help="swap the diffusion scheduler")
    sample.add_argument("--steps", type=_positive_int, help="sampling steps (default: 50 for ddim, T for ddpm)")
    sample.add_argument("--seed", type=_count, default=0)
    return parser


def _train(args: argparse.Namespace) -> None:
    if args.method == "ddpm":
        from .training.diffusion import DiffusionTrainer as Trainer
        from .training.diffusion import DiffusionTrainingConfig as Config
    else:
        from .training.gan import GANTrainer as Trainer
        from .training.gan import GANTrainingConfig as Config
    import dataclasses

    fields = {f.name for f in dataclasses.fields(Config)}
    settings = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    settings = {k: None if v == "none" else v for k, v in settings.items()}
    trainer = Trainer(Config(**settings))
    trainer.train()
    if trainer.accelerator.is_main_process:
        print(f"saved the pipeline to {trainer.config.output_dir}/pipeline; "
              f"sample it with: gandiff sample {trainer.config.output_dir} --out samples.png")


def _sample(args: argparse.Namespace) -> None:
    import torch

    from .pipelines.ddpm import DDPMPipeline
    from .pipelines.pipeline import Pipeline
    from .registry import lookup
    from .training.output import find_pipeline_folder
    from .training.plots import image_grid, scatter_plot

    pipeline = Pipeline.from_pretrained(find_pipeline_folder(args.path))
    generator = torch.Generator().manual_seed(args.seed)
    kwargs = {}
    if isinstance(pipeline, DDPMPipeline):
        if args.scheduler is not None:
            pipeline.scheduler = lookup("scheduler", _SCHEDULERS[args.scheduler]).from_config(pipeline.scheduler.config)
        default_steps = 50 if args.scheduler == "ddim" else pipeline.scheduler.config.num_train_timesteps
        kwargs["num_inference_steps"] = args.steps or default_steps
        network = pipeline.network
    elif args.scheduler is not None or args.steps is not None:
        raise ValueError(f"{type(pipeline).__name__} samples in one step; --scheduler and --steps are for diffusion pipelines")
    else:
        network = pipeline.generator
    num_classes = network.config.get("num_classes") or network.config.get("num_class_embeds")
    if num_classes:
        kwargs["class_labels"] = torch.arange(args.num_samples) % num_classes
    out = pipeline(batch_size=args.num_samples, generator=generator, output_type="pt", **kwargs)
    if hasattr(out, "images"):
        picture = image_grid(out.images)
    else:
        picture = scatter_plot(out.points, out.points, title=f"{args.num_samples} samples")
    picture.save(args.out)
    print(f"wrote {args.out}")


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors that are the user's to fix (a bad path, flag value or setting, a missing package,
    a diverged run), reported as one line; anything else is a bug and keeps its traceback."""
    from .training.common import NonFiniteLossError

    return (FileNotFoundError, FileExistsError, NotADirectoryError, ValueError, ImportError, NonFiniteLossError)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            _train(args)
        else:
            _sample(args)
    except _user_errors() as err:
        # The messages are written to be read as they are; a traceback would bury them.
        print(f"gandiff: error: {err}", file=sys.stderr)
        return 1
    return 0
