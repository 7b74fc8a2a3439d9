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

Every flag maps to a field of `DiffusionTrainingConfig` / `GANTrainingConfig` (``--max-steps``
is ``max_steps``); a flag left out keeps the config's default. ``python -m gandiff`` is the
same command. Errors that are the user's to fix (a bad path, a wrong kind of run, a missing
optional package) are reported as one line and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]

# Kept in step with the trainers' tuples (tests check); repeated here so that `gandiff --help`
# answers without importing torch.
_MODEL_SIZES = ("tiny", "small", "base")
_MIXED_PRECISION = ("no", "bf16", "fp16")
_LR_SCHEDULES = ("constant", "cosine")
_REPORT_TO = ("tensorboard", "wandb")
_BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2", "cosine", "sigmoid")
_VARIANCE_TYPES = ("fixed_small", "fixed_large", "fixed_small_log", "fixed_large_log")
_PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")
_GAN_LOSSES = ("minimax", "non_saturating", "wasserstein", "hinge", "least_squares")
_REGULARIZERS = ("none", "clip", "gp", "r1")
_OPTIMIZERS = ("adam", "rmsprop")
_SCHEDULERS = {"ddpm": "DDPMScheduler", "ddim": "DDIMScheduler"}  # gandiff.metrics.evaluate.SCHEDULERS
_PICTURES = ("schedules", "forward", "reverse", "gan-curves", "scatter")
_EVALUATION_NAME = "evaluation.json"


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
    data.add_argument(
        "--dataset",
        help="ring8, grid25, swissroll, moons, circle, line, digits, mnist5k, "
        "an image folder, or hf:NAME (default: ring8)",
    )
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
    optimization.add_argument(
        "--lr-schedule",
        choices=_LR_SCHEDULES,
        help="after the warm-up: constant, or cosine decay to 0 at --max-steps (default: constant)",
    )
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
    run.add_argument(
        "--sample-every", type=_count, help="steps between sample grids, 0: only at the end (default 500)"
    )
    run.add_argument("--num-sample-images", type=_positive_int, help="images per sample grid (default 64)")
    run.add_argument("--report-to", choices=_REPORT_TO, help="also log to TensorBoard or W&B")
    run.add_argument("--push-to-hub", action="store_true", default=None, help="upload the pipeline at the end")
    run.add_argument("--hub-model-id", help="the Hub repo to upload to, namespace/name")


def build_parser() -> argparse.ArgumentParser:
    """The ``gandiff`` argument parser, built without importing torch (so ``--help`` is quick).

    Returns:
        The parser of every command: ``train ddpm|gan``, ``sample``, ``evaluate`` and
        ``plot schedules|forward|reverse|gan-curves|scatter``.
    """
    parser = argparse.ArgumentParser(
        prog="gandiff", description="Train, sample, evaluate and picture GANs and diffusion models."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,sample,evaluate,plot}")

    train = commands.add_parser("train", help="train a model", description="Train a DDPM or a GAN.")
    methods = train.add_subparsers(dest="method", required=True, metavar="{ddpm,gan}")
    ddpm = methods.add_parser(
        "ddpm", help="denoising diffusion (Ho et al. 2020)", description="Train a DDPM (Ho et al. 2020, Algorithm 1)."
    )
    _add_training_flags(ddpm)
    diffusion = ddpm.add_argument_group("diffusion")
    diffusion.add_argument("--num-train-timesteps", type=_positive_int, help="T (default 1000)")
    diffusion.add_argument("--beta-schedule", choices=_BETA_SCHEDULES, help="default: linear")
    diffusion.add_argument("--variance-type", choices=_VARIANCE_TYPES, help="σ² of sampling (default: fixed_small)")
    diffusion.add_argument("--prediction-type", choices=_PREDICTION_TYPES, help="default: epsilon")
    diffusion.add_argument("--snr-gamma", type=_positive_float, help="min-SNR-γ loss weighting (Hang et al.: 5)")
    diffusion.add_argument("--num-inference-steps", type=_positive_int, help="DDIM steps for sample grids (50)")

    gan = methods.add_parser(
        "gan",
        help="generative adversarial network (Goodfellow et al. 2014)",
        description="Train a GAN (Goodfellow et al. 2014, Algorithm 1).",
    )
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

    sample = commands.add_parser(
        "sample",
        help="sample a saved pipeline into a PNG",
        description="Sample a pipeline folder (or a training run's output folder).",
    )
    sample.add_argument("path", help="a pipeline folder, a training run's output folder, or a Hub repo id")
    sample.add_argument("--num-samples", type=_positive_int, default=64, help="default 64")
    sample.add_argument("--out", default="samples.png", help="the PNG to write (default samples.png)")
    sample.add_argument("--scheduler", choices=tuple(_SCHEDULERS), help="swap the diffusion scheduler")
    sample.add_argument("--steps", type=_positive_int, help="sampling steps (default: 50 for ddim, T for ddpm)")
    sample.add_argument("--seed", type=_count, default=0)
    sample.add_argument(
        "--rejection-sampling",
        action="store_true",
        help="GANs: keep the samples that discriminator rejection sampling accepts (Azadi et al. 2019)",
    )
    _add_evaluate_command(commands)
    _add_plot_command(commands)
    return parser


def _add_evaluate_command(commands) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="score a saved pipeline against its data set",
        description="Sample a pipeline and score the samples against its data set, each score beside the "
        "data's own floor (what real data scores the same way): mode coverage and sliced Wasserstein "
        "for 2-D sets; Fréchet distance on the shipped classifier's features, class coverage and "
        "precision/recall for digits and mnist5k. Prints a table and writes it as JSON.",
    )
    evaluate.add_argument("path", help="a pipeline folder, a training run's output folder, or a Hub repo id")
    evaluate.add_argument(
        "--dataset", help="the data set the model learned (default: the run's, from its training_config.json)"
    )
    evaluate.add_argument(
        "--num-samples",
        type=_positive_int,
        help="default: 2500 for 2-D sets (VEEGAN / PacGAN), the held-out half for images",
    )
    evaluate.add_argument("--scheduler", choices=tuple(_SCHEDULERS), help="swap the diffusion scheduler")
    evaluate.add_argument("--steps", type=_positive_int, help="sampling steps (default: 50 for ddim, T for ddpm)")
    evaluate.add_argument("--seed", type=_count, default=0)
    evaluate.add_argument("--batch-size", type=_positive_int, default=500, help="samples per call (default 500)")
    evaluate.add_argument(
        "--json",
        help=f"where to write the result (default: PATH/{_EVALUATION_NAME} for a "
        f"folder, ./{_EVALUATION_NAME} for a Hub repo)",
    )
    evaluate.add_argument(
        "--inception",
        action="store_true",
        help="add the standard Inception FID (needs gandiff[metrics] and downloaded weights)",
    )
    evaluate.add_argument(
        "--rejection-sampling",
        action="store_true",
        help="GANs: score the samples that discriminator rejection sampling accepts",
    )


def _add_plot_command(commands) -> None:
    plot = commands.add_parser(
        "plot",
        help="draw a picture of a process or a run into a PNG",
        description="Pictures for understanding diffusion and GANs (needs gandiff[plot]).",
    )
    pictures = plot.add_subparsers(dest="picture", required=True, metavar="{" + ",".join(_PICTURES) + "}")

    schedules = pictures.add_parser(
        "schedules",
        help="β_t, ᾱ_t and log-SNR of β schedules",
        description="β_t, ᾱ_t and log-SNR(t) of the linear and cosine schedules.",
    )
    schedules.add_argument(
        "--schedules",
        nargs="+",
        choices=_BETA_SCHEDULES,
        default=["linear", "squaredcos_cap_v2"],
        help="default: linear squaredcos_cap_v2",
    )
    schedules.add_argument("--num-train-timesteps", type=_positive_int, default=1000, help="T (default 1000)")

    forward = pictures.add_parser(
        "forward",
        help="a data set's forward process q(x_t | x_0)",
        description="x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε at several t, one ε for all t: "
        "2-D sets as point clouds, images as images.",
    )
    forward.add_argument("--dataset", default="ring8", help="a built-in data set or an image folder (default ring8)")
    forward.add_argument("--num-samples", type=_positive_int, help="points (default 2000) or images (default 4)")
    forward.add_argument("--timesteps", type=_count, nargs="+", help="t to show (default 0 50 100 200 400 700 999)")
    forward.add_argument("--beta-schedule", choices=_BETA_SCHEDULES, default="linear", help="default: linear")
    forward.add_argument("--seed", type=_count, default=0, help="seeds the points and ε")

    reverse = pictures.add_parser(
        "reverse",
        help="a diffusion pipeline's reverse process x_T -> x_0",
        description="x_t and the network's prediction of x_0 along a saved diffusion pipeline's sampling loop.",
    )
    reverse.add_argument("path", help="a pipeline folder, a training run's output folder, or a Hub repo id")
    reverse.add_argument("--scheduler", choices=tuple(_SCHEDULERS), help="swap the scheduler")
    reverse.add_argument("--steps", type=_positive_int, help="sampling steps (default: 50 for ddim, T for ddpm)")
    reverse.add_argument(
        "--num-samples", type=_positive_int, help="samples to follow (default: 16 images, 1000 points)"
    )
    reverse.add_argument("--frames", type=_positive_int, default=6, help="snapshots along the loop (default 6)")
    reverse.add_argument("--dataset", help="2-D data drawn behind the points (default: the run's data set)")
    reverse.add_argument("--seed", type=_count, default=0)

    curves = pictures.add_parser(
        "gan-curves",
        help="a GAN run's losses, D(x), D(G(z)) and gradient norms",
        description="Training curves from a GAN run's log.jsonl, with D = 1/2 and the "
        "value −2 log 2 of the game at equilibrium marked.",
    )
    curves.add_argument("run", help="the output folder of a `gandiff train gan` run")

    scatter = pictures.add_parser(
        "scatter",
        help="a 2-D run's samples at each checkpoint",
        description="2-D samples over the data, one panel per checkpoint of the run "
        "(loaded into the run's saved pipeline).",
    )
    scatter.add_argument("run", help="the output folder of a 2-D `gandiff train` run")
    scatter.add_argument("--num-samples", type=_positive_int, default=1000, help="per checkpoint (default 1000)")
    scatter.add_argument("--steps", type=_positive_int, help="diffusion sampling steps (default: T)")
    scatter.add_argument("--seed", type=_count, default=0)

    for name, parser in pictures.choices.items():
        parser.add_argument("--out", default=f"{name}.png", help=f"the PNG to write (default {name}.png)")


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
        print(
            f"saved the pipeline to {trainer.config.output_dir}/pipeline; "
            f"sample it with: gandiff sample {trainer.config.output_dir} --out samples.png"
        )


def _load_pipeline(args: argparse.Namespace):
    """The pipeline at ``args.path`` with ``--scheduler`` swapped in, and its number of
    sampling steps: ``--steps``, else 50 for DDIM and T for DDPM (None for a GAN)."""
    from .evaluation import load_pipeline

    pipeline = load_pipeline(args.path)
    if not hasattr(pipeline, "scheduler"):
        if args.scheduler is not None or args.steps is not None:
            raise ValueError(
                f"{type(pipeline).__name__} samples in one step; --scheduler and --steps are for diffusion pipelines"
            )
        return pipeline, None
    pipeline = load_pipeline(pipeline, args.scheduler)
    default_steps = 50 if args.scheduler == "ddim" else pipeline.scheduler.config.num_train_timesteps
    return pipeline, args.steps or default_steps


def _sample(args: argparse.Namespace) -> None:
    import torch

    from .training.plots import image_grid, scatter_plot

    pipeline, steps = _load_pipeline(args)
    generator = torch.Generator().manual_seed(args.seed)
    kwargs = {}
    if steps is not None:
        kwargs["num_inference_steps"] = steps
        network = pipeline.network
    else:
        network = pipeline.generator
    num_classes = network.config.get("num_classes") or network.config.get("num_class_embeds")
    if num_classes:
        kwargs["class_labels"] = torch.arange(args.num_samples) % num_classes
    if args.rejection_sampling:
        if steps is not None:
            raise ValueError(
                "--rejection-sampling filters a GAN's samples with its discriminator; a diffusion "
                "pipeline has none: sample it without"
            )
        kwargs["rejection_sampling"] = True
    out = pipeline(batch_size=args.num_samples, generator=generator, output_type="pt", **kwargs)
    if hasattr(out, "images"):
        picture = image_grid(out.images)
    else:
        picture = scatter_plot(out.points)  # no data to show: a pipeline does not know its data set
    picture.save(args.out)
    print(f"wrote {args.out}")


def _run_folder(path: str) -> Path | None:
    """The training run a path belongs to: the path itself, or the run around its ``pipeline``
    folder; None when there is none (a bare pipeline folder, a Hub repo id)."""
    for folder in (Path(path), Path(path).parent):
        if (folder / "training_config.json").is_file():
            return folder
    return None


def _run_dataset(path: str, flag: str | None) -> str | None:
    """``--dataset`` if given, else the data set of the run `path` belongs to."""
    if flag is not None:
        return flag
    run = _run_folder(path)
    return json.loads((run / "training_config.json").read_text(encoding="utf-8")).get("dataset") if run else None


def _evaluate(args: argparse.Namespace) -> None:
    from .evaluation import evaluate_pipeline

    dataset = _run_dataset(args.path, args.dataset)
    if dataset is None:
        raise ValueError(
            f"{args.path} is not a training run's folder, so its data set is unknown; pass --dataset "
            "(e.g. --dataset digits)"
        )
    if args.json is not None:
        json_path = Path(args.json)
    else:
        json_path = Path(args.path) / _EVALUATION_NAME if Path(args.path).is_dir() else Path(_EVALUATION_NAME)
    steps = args.steps or (50 if args.scheduler == "ddim" else None)  # None: evaluate_pipeline's T
    evaluate_pipeline(
        args.path,
        dataset,
        args.num_samples,
        scheduler=args.scheduler,
        num_inference_steps=steps,
        batch_size=args.batch_size,
        seed=args.seed,
        inception=args.inception,
        rejection_sampling=args.rejection_sampling,
        json_path=json_path,
    )
    print(f"wrote {json_path}")


def _plot(args: argparse.Namespace) -> None:
    from .plot import require_matplotlib

    require_matplotlib()  # before any sampling
    print(f"wrote {_PICTURE_COMMANDS[args.picture](args)}")


def _plot_schedules(args: argparse.Namespace) -> Path:
    from .plot import plot_schedules

    return plot_schedules(args.out, args.schedules, args.num_train_timesteps)


def _plot_gan_curves(args: argparse.Namespace) -> Path:
    from .plot import plot_gan_training

    return plot_gan_training(args.run, args.out)


def _plot_scatter(args: argparse.Namespace) -> Path:
    from .plot import plot_checkpoints_2d

    return plot_checkpoints_2d(args.run, args.out, args.num_samples, args.seed, args.steps)


def _plot_forward(args: argparse.Namespace) -> Path:
    import torch

    from .data import POINT_SETS, load_dataset
    from .plot import plot_forward_process
    from .schedulers.ddpm import DDPMScheduler

    scheduler = DDPMScheduler(beta_schedule=args.beta_schedule)
    timesteps = args.timesteps or (0, 50, 100, 200, 400, 700, 999)
    late = [t for t in timesteps if t >= scheduler.config.num_train_timesteps]
    if late:
        raise ValueError(
            f"--timesteps {late} lie beyond the schedule; t runs from 0 to {scheduler.config.num_train_timesteps - 1}"
        )
    if args.dataset in POINT_SETS:
        x0 = load_dataset(args.dataset, num_samples=args.num_samples or 2000, seed=args.seed).points
    else:  # the first images: for digits and mnist5k, different digits
        data = load_dataset(args.dataset)
        x0 = torch.stack([data[i]["sample"] for i in range(min(args.num_samples or 4, len(data)))])
    return plot_forward_process(x0, args.out, scheduler=scheduler, timesteps=timesteps, seed=args.seed)


def _plot_reverse(args: argparse.Namespace) -> Path:
    from .data import POINT_SETS, load_dataset
    from .plot import plot_reverse_process

    pipeline, steps = _load_pipeline(args)
    if steps is None:
        raise ValueError(
            f"{args.path} holds a {type(pipeline).__name__}, which samples in one step: the reverse "
            "process is drawn for diffusion pipelines (DDPMPipeline)"
        )
    dataset = _run_dataset(args.path, args.dataset)
    data = None
    if len(pipeline.network.sample_shape) == 1 and dataset in POINT_SETS:
        data = load_dataset(dataset, num_samples=2000, seed=1001).points
    return plot_reverse_process(
        pipeline,
        args.out,
        batch_size=args.num_samples,
        num_inference_steps=steps,
        num_frames=min(args.frames, steps),
        seed=args.seed,
        data=data,
    )


_PICTURE_COMMANDS = {
    "schedules": _plot_schedules,
    "forward": _plot_forward,
    "reverse": _plot_reverse,
    "gan-curves": _plot_gan_curves,
    "scatter": _plot_scatter,
}


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors that are the user's to fix (a bad path, flag value or setting, a missing package or
    downloaded weights, a diverged run), reported as one line; anything else is a bug and keeps
    its traceback."""
    from .metrics.inception_fid import InceptionWeightsUnavailableError
    from .training.divergence import NonFiniteLossError

    return (
        FileNotFoundError,
        FileExistsError,
        NotADirectoryError,
        ValueError,
        ImportError,
        NonFiniteLossError,
        InceptionWeightsUnavailableError,
    )


_COMMANDS = {"train": _train, "sample": _sample, "evaluate": _evaluate, "plot": _plot}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``gandiff`` command.

    Args:
        argv: the arguments after ``gandiff`` (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 1 for an error that is the user's to fix (printed as
        one line on stderr). Bad flags exit with argparse's status 2; other errors propagate
        with their traceback.

    Example:
        >>> main(["plot", "schedules", "--out", "schedules.png"])  # doctest: +SKIP
        wrote schedules.png
        0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _COMMANDS[args.command](args)
    except _user_errors() as err:
        # The messages are written to be read as they are; a traceback would bury them.
        print(f"gandiff: error: {err}", file=sys.stderr)
        return 1
    return 0
