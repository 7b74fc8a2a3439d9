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

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import functools
import math
import os
import re
import sys
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from .choices import SCHEDULERS as _SCHEDULERS  # torch-free, so `gandiff --help` stays quick

__all__ = ["build_parser", "main"]

_EVALUATION_NAME = "evaluation.json"


# Upper bounds of sizes and counts: far above any run gandiff is meant for, low enough that a
# slip of the keyboard (an extra zero, `1e8`) fails at once instead of filling the memory
# (`plot schedules --num-train-timesteps 1e8` took 23.8 GB) or running for days.
_MAX_STEPS = 10**9
_MAX_TIMESTEPS = 100_000  # T; Ho et al. use 1,000, Nichol & Dhariwal 4,000
_MAX_RESOLUTION = 1024
_MAX_BATCH = 65_536
_MAX_SAMPLES = 10_000  # drawn in one call by `sample` and `plot reverse`
_MAX_POINTS = 10_000_000
_MAX_SEED = 2**63 - 1


def _whole_number(low: int, high: int):
    """An argparse type: a whole number in [low, high]; ``1e5`` is read as 100000."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not number.is_integer():
                raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
            value = int(number)
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a number >= {low}, got {value}")
        if value > high:
            raise argparse.ArgumentTypeError(f"expected a number <= {high:,}, got {value:,}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in some messages
    return parse


def _number(low: float, high: float = math.inf, *, include_low: bool = False, include_high: bool = True):
    """An argparse type: a finite number between `low` and `high` (each end open or closed)."""
    low_sign, high_sign = (">=" if include_low else ">"), ("<=" if include_high else "<")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
        if value < low or (value == low and not include_low):
            raise argparse.ArgumentTypeError(f"expected a number {low_sign} {low:g}, got {text}")
        if value > high or (value == high and not include_high):
            raise argparse.ArgumentTypeError(f"expected a number {high_sign} {high:g}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def _or_none(parse):
    """An argparse type: `parse`'s number, or ``none`` to switch the feature off (EMA, clipping)."""

    def parse_or_none(text: str) -> float | str:
        return "none" if text.lower() == "none" else parse(text)

    parse_or_none.__name__ = parse.__name__
    return parse_or_none


_steps = _whole_number(1, _MAX_STEPS)  # steps, intervals
_seed = _whole_number(0, _MAX_SEED)
_timesteps = _whole_number(1, _MAX_TIMESTEPS)
_positive = _number(0)  # loss weights, penalties: any finite number > 0


def _default_threads() -> int:
    """``OMP_NUM_THREADS`` when set (the user's or the job scheduler's choice), else 1.

    Why 1: gandiff's networks are small, so a second CPU thread gains little even on an idle
    machine, while under competing load torch's default (one thread per core) makes OpenMP
    threads wait on each other at every operation: 50 DDIM steps took 45 s instead of 2.3 s.
    """
    text = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(text) if text.isdigit() and int(text) > 0 else 1


def _add_common_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of every command."""
    parser.add_argument(
        "--threads",
        type=_whole_number(1, 1024),
        default=_default_threads(),
        help="torch CPU threads (default: $OMP_NUM_THREADS if set, else 1; more threads pay off only for large "
        "models on an otherwise idle machine)",
    )


# Bounds of the numeric training settings on the command line: [low, high] (a float range is
# open at 0). `training.config` checks the lower ends in Python; the upper ends are the CLI's
# guard against slips of the keyboard.
_TRAINING_BOUNDS: dict[str, tuple[float, float]] = {
    "resolution": (1, _MAX_RESOLUTION),
    "num_samples": (1, _MAX_POINTS),
    "num_workers": (0, 256),
    "batch_size": (1, _MAX_BATCH),
    "max_steps": (1, _MAX_STEPS),
    "learning_rate": (0, 1),  # above 1, Adam and RMSprop diverge
    "lr_warmup_steps": (0, _MAX_STEPS),
    "gradient_accumulation_steps": (1, 4096),
    "max_grad_norm": (0, math.inf),
    "ema_decay": (0, 1),  # open at both ends: 1 would never move
    "seed": (0, _MAX_SEED),
    "checkpoint_every": (1, _MAX_STEPS),
    "checkpoints_total_limit": (1, _MAX_STEPS),
    "log_every": (1, _MAX_STEPS),
    "sample_every": (0, _MAX_STEPS),
    "num_sample_images": (1, 1024),
    "num_train_timesteps": (1, _MAX_TIMESTEPS),
    "snr_gamma": (0, math.inf),
    "num_inference_steps": (1, _MAX_TIMESTEPS),
    "d_steps": (1, 1000),
    "adam_betas": (0, 1),  # [0, 1)
    "gp_lambda": (0, math.inf),
    "r1_gamma": (0, math.inf),
    "clip_value": (0, math.inf),
    "latent_dim": (1, 4096),
}


def _flag(name: str) -> str:
    """The command-line flag of a config field: ``max_steps`` -> ``--max-steps``."""
    return "--" + name.replace("_", "-")


def _add_training_flags(parser: argparse.ArgumentParser, config_cls: type) -> None:
    """One flag per field of `config_cls` (a `gandiff.training.config` dataclass), in the field's
    group, with its help and choices; a flag left out keeps the field's default (None here).

    The field's annotation gives the flag's type: ``bool`` a switch, ``int`` / ``float`` a
    bounded number (`_TRAINING_BOUNDS`), a fixed set of ``choices`` a choice; a setting that
    may be None (and is not by default) also takes ``none``.
    """
    groups: dict[str, argparse._ArgumentGroup] = {}
    names = [field.name for field in dataclasses.fields(config_cls)]
    for field in dataclasses.fields(config_cls):
        group_name = field.metadata["group"]
        if group_name not in groups:
            groups[group_name] = parser.add_argument_group(group_name)
        kind, optional = field.type.split(" | ")[0], "None" in field.type
        help_text = _as_flags(field.metadata["help"], names)
        if field.default is None:
            help_text = help_text.replace("None:", "default:")
        elif kind != "bool":
            # "gradient clipping (None: none)" -> "gradient clipping (default: 1.0; 'none': none)"
            base, _, none_means = help_text.partition("None: ")
            base = base.rstrip(" (") or field.name.replace("_", " ")
            help_text = f"{base} (default: {field.default}" + (
                f"; 'none': {none_means.rstrip(')')})" if none_means else ")"
            )
        options: dict[str, Any] = {"help": help_text}
        if field.name == "dataset":  # no default on the command line: see `_check_dataset`
            options["help"] = f"required: {field.metadata['help']}"
        elif kind == "bool":
            options.update(action="store_true", default=None)
        elif "choices" in field.metadata:
            options["choices"] = field.metadata["choices"]
        elif kind in ("int", "float", "tuple[float, float]"):
            low, high = _TRAINING_BOUNDS[field.name]
            if kind == "int":
                parse = _whole_number(int(low), int(high))
            elif kind == "float":
                parse = _number(low, high, include_high=field.name != "ema_decay")
            else:  # Adam's betas
                parse = _number(low, high, include_low=True, include_high=False)
                options.update(nargs=2, metavar=("BETA1", "BETA2"))
            options["type"] = _or_none(parse) if optional and field.default is not None else parse
        groups[group_name].add_argument(_flag(field.name), **options)
    _add_common_flags(parser)


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, with a mistake in the flags reported as one line (exit status 2, as argparse's).

    argparse prints the whole usage first, which for ``gandiff train`` is a screen of flags that
    buries the one line saying what is wrong.
    """

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``gandiff`` argument parser, built without importing torch (so ``--help`` is quick).

    Returns:
        The parser of every command: ``train ddpm|gan``, ``sample``, ``evaluate`` and
        ``plot schedules|forward|reverse|gan-curves|scatter``.
    """
    from ._version import __version__

    parser = _ArgumentParser(
        prog="gandiff", description="Train, sample, evaluate and picture GANs and diffusion models."
    )
    parser.add_argument("--version", action="version", version=f"gandiff {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,sample,evaluate,plot}")

    from .training.config import DiffusionTrainingConfig, GANTrainingConfig

    train = commands.add_parser("train", help="train a model", description="Train a DDPM or a GAN.")
    methods = train.add_subparsers(dest="method", required=True, metavar="{ddpm,gan}")
    ddpm = methods.add_parser(
        "ddpm", help="denoising diffusion (Ho et al. 2020)", description="Train a DDPM (Ho et al. 2020, Algorithm 1)."
    )
    gan = methods.add_parser(
        "gan",
        help="generative adversarial network (Goodfellow et al. 2014)",
        description="Train a GAN (Goodfellow et al. 2014, Algorithm 1).",
    )
    _add_training_flags(ddpm, DiffusionTrainingConfig)
    _add_training_flags(gan, GANTrainingConfig)

    sample = commands.add_parser(
        "sample",
        help="sample a saved pipeline into a PNG",
        description="Sample a pipeline folder (or a training run's output folder).",
    )
    sample.add_argument("path", help="a pipeline folder, a training run's output folder, or a Hub repo id")
    sample.add_argument(
        "--num-samples", type=_whole_number(1, _MAX_SAMPLES), default=64, help="default 64, drawn in one batch"
    )
    sample.add_argument("--out", default="samples.png", help="the PNG to write (default samples.png)")
    sample.add_argument("--scheduler", choices=tuple(_SCHEDULERS), help="swap the diffusion scheduler")
    sample.add_argument("--steps", type=_timesteps, help="sampling steps (default: 50 for ddim, T for ddpm)")
    sample.add_argument("--seed", type=_seed, default=0)
    sample.add_argument(
        "--rejection-sampling",
        action="store_true",
        help="GANs: keep the samples that discriminator rejection sampling accepts (Azadi et al. 2019)",
    )
    _add_common_flags(sample)
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
        type=_whole_number(1, _MAX_POINTS),
        help="default: 2500 for 2-D sets (VEEGAN / PacGAN), the held-out half for images",
    )
    evaluate.add_argument("--scheduler", choices=tuple(_SCHEDULERS), help="swap the diffusion scheduler")
    evaluate.add_argument("--steps", type=_timesteps, help="sampling steps (default: 50 for ddim, T for ddpm)")
    evaluate.add_argument("--seed", type=_seed, default=0)
    evaluate.add_argument(
        "--batch-size", type=_whole_number(1, _MAX_BATCH), default=500, help="samples per call (default 500)"
    )
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
    _add_common_flags(evaluate)


def _add_plot_command(commands) -> None:
    from .choices import BETA_SCHEDULES

    plot = commands.add_parser(
        "plot",
        help="draw a picture of a process or a run into a PNG",
        description="Pictures for understanding diffusion and GANs (needs gandiff[plot]).",
    )
    pictures = plot.add_subparsers(dest="picture", required=True, metavar="{" + ",".join(_PICTURE_COMMANDS) + "}")

    schedules = pictures.add_parser(
        "schedules",
        help="β_t, ᾱ_t and log-SNR of β schedules",
        description="β_t, ᾱ_t and log-SNR(t) of the linear and cosine schedules.",
    )
    schedules.add_argument(
        "--schedules",
        nargs="+",
        choices=BETA_SCHEDULES,
        default=["linear", "squaredcos_cap_v2"],
        help="default: linear squaredcos_cap_v2",
    )
    schedules.add_argument("--num-train-timesteps", type=_timesteps, default=1000, help="T (default 1000)")

    forward = pictures.add_parser(
        "forward",
        help="a data set's forward process q(x_t | x_0)",
        description="x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε at several t, one ε for all t: "
        "2-D sets as point clouds, images as images.",
    )
    forward.add_argument("--dataset", default="ring8", help="a built-in data set or an image folder (default ring8)")
    forward.add_argument(
        "--num-samples",
        type=_whole_number(1, _MAX_SAMPLES),
        help="points (default 2000) or images (default 4)",
    )
    forward.add_argument(
        "--timesteps",
        type=_whole_number(0, _MAX_TIMESTEPS),
        nargs="+",
        help="t to show (default 0 50 100 200 400 700 999)",
    )
    forward.add_argument("--beta-schedule", choices=BETA_SCHEDULES, default="linear", help="default: linear")
    forward.add_argument("--seed", type=_seed, default=0, help="seeds the points and ε")

    reverse = pictures.add_parser(
        "reverse",
        help="a diffusion pipeline's reverse process x_T -> x_0",
        description="x_t and the network's prediction of x_0 along a saved diffusion pipeline's sampling loop.",
    )
    reverse.add_argument("path", help="a pipeline folder, a training run's output folder, or a Hub repo id")
    reverse.add_argument("--scheduler", choices=tuple(_SCHEDULERS), help="swap the scheduler")
    reverse.add_argument("--steps", type=_timesteps, help="sampling steps (default: 50 for ddim, T for ddpm)")
    reverse.add_argument(
        "--num-samples",
        type=_whole_number(1, _MAX_SAMPLES),
        help="samples to follow (default: 16 images, 1000 points)",
    )
    reverse.add_argument(
        "--frames", type=_whole_number(1, 100), default=6, help="snapshots along the loop (default 6)"
    )
    reverse.add_argument("--dataset", help="2-D data drawn behind the points (default: the run's data set)")
    reverse.add_argument("--seed", type=_seed, default=0)

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
    scatter.add_argument(
        "--num-samples",
        type=_whole_number(1, _MAX_SAMPLES),
        default=1000,
        help="per checkpoint (default 1000)",
    )
    scatter.add_argument("--steps", type=_timesteps, help="diffusion sampling steps (default: T)")
    scatter.add_argument("--seed", type=_seed, default=0)

    for name, parser in pictures.choices.items():
        parser.add_argument("--out", default=f"{name}.png", help=f"the PNG to write (default {name}.png)")
        _add_common_flags(parser)


def _nearest_folder(path: Path) -> Path:
    """`path` if it is a folder, else its nearest existing ancestor (where it would be created)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_output_file(
    path: str, flag: str, extensions: Collection[str] | None = None, *, folder_must_exist: bool = True
) -> Path:
    """Fail at once, before any sampling, when the file `flag` names could not be written at the end.

    Args:
        path: the file to write.
        flag: the flag that named it, for the message.
        extensions: the file types the writer knows (lower case, with the dot); None: any.
        folder_must_exist: refuse a missing folder (else it is created when the file is written).

    Returns:
        The path.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ValueError(f"{flag} {path} exists and is not a regular file (a folder, a pipe or a device); name a file")
    if extensions is not None and path.suffix.lower() not in extensions:
        raise ValueError(
            f"{flag} {path}: {path.suffix or 'no extension'} is not a picture type gandiff can write; "
            f"use .png (or {', '.join(e for e in ('.jpg', '.pdf', '.svg', '.webp') if e in extensions)}, ...)"
        )
    if folder_must_exist and not path.parent.is_dir():
        raise FileNotFoundError(f"{flag} {path}: there is no folder {path.parent}; create it first")
    _check_writable(path.parent, flag)
    return path


def _check_writable(folder: Path, flag: str) -> None:
    """A `PermissionError` when `folder` (or, while it does not exist, the folder it would be
    created in) cannot be written: a read-only file system or folder."""
    existing = _nearest_folder(Path(folder))
    if existing.is_dir() and not os.access(existing, os.W_OK):
        raise PermissionError(f"{flag}: cannot write in {existing} (read-only); choose a folder you can write to")


def _picture_extensions() -> set[str]:
    """The file types PIL can write (``.png``, ``.jpg``, ...)."""
    from PIL import Image

    Image.init()
    return {ext for ext, format_name in Image.registered_extensions().items() if format_name in Image.SAVE}


def _figure_extensions() -> set[str]:
    """The file types matplotlib can write a figure to (``.png``, ``.pdf``, ``.svg``, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return {f".{ext}" for ext in FigureCanvasBase.get_supported_filetypes()}


def _config_class(method: str) -> type:
    from .training.config import DiffusionTrainingConfig, GANTrainingConfig

    return DiffusionTrainingConfig if method == "ddpm" else GANTrainingConfig


def _check_dataset(args: argparse.Namespace) -> None:
    """``--dataset`` has no default: a forgotten flag once trained on ring8 without a word."""
    if args.dataset is None:
        from .data import BUILTIN_DATASETS

        raise ValueError(
            f"--dataset is required: a built-in set ({', '.join(BUILTIN_DATASETS)}), an image folder, or hf:NAME"
        )


def _train(args: argparse.Namespace) -> None:
    _check_dataset(args)
    if args.method == "ddpm":
        from .training.diffusion import DiffusionTrainer as Trainer
    else:
        from .training.gan import GANTrainer as Trainer
    config_cls = _config_class(args.method)

    fields = {f.name for f in dataclasses.fields(config_cls)}
    settings = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    settings = {k: None if v == "none" else v for k, v in settings.items()}
    config = config_cls(**settings)
    _check_writable(Path(config.output_dir), "--output-dir")
    if config.push_to_hub:
        from .hub import create_repo

        create_repo(config.hub_model_id)  # a missing login or an unreachable Hub fails now, not after the run
    trainer = Trainer(config)
    main_process = trainer.accelerator.is_main_process
    if trainer.last_checkpoint is not None and main_process:
        print(f"resuming from {trainer.last_checkpoint} (step {trainer.step})")
    started = time.time()
    try:
        trainer.train()
    except Exception as err:
        pipeline = Path(config.output_dir) / "pipeline"
        saved = pipeline / "model_index.json"
        if config.push_to_hub and saved.is_file() and saved.stat().st_mtime >= started:
            # The run is over and its result on disk; only the upload failed. Whatever the error,
            # what the user needs now is where the result is and how to finish the upload.
            reason = _user_error_message(err) or f"{type(err).__name__}: {err}"
            raise _UploadError(
                f"the run finished and saved its pipeline in {pipeline}, but the upload to {config.hub_model_id} "
                f"failed: {reason} -- upload it later with: hf upload {config.hub_model_id} {pipeline}"
            ) from err
        raise
    if main_process:
        print(
            f"saved the pipeline to {config.output_dir}/pipeline; "
            f"sample it with: gandiff sample {config.output_dir} --out samples.png"
        )


class _UploadError(Exception):
    """A finished run whose pipeline is saved, but whose upload to the Hub failed."""


def _as_flags(message: str, names: Sequence[str]) -> str:
    """`message` with the config fields it names written as the flags that set them.

    The trainers' messages are written for Python (``pass resolution=``, ``ema_decay must lie
    in (0, 1)``); on the command line the same setting is ``--resolution``, ``--ema-decay``.
    ``name='value'`` becomes ``--name value`` and ``name=True`` or a bare ``name=`` ``--name``;
    a bare name is rewritten only when it holds an underscore (so plain words such as "loss" or
    "dataset" in a sentence stay words).
    """
    for name in sorted(names, key=len, reverse=True):
        value = r"(?:='([^']*)'|=True\b|=(?=[\s,;:)]|$))"
        pattern = rf"(?<![\w.-]){name}(?!\w)" + (f"{value}?" if "_" in name else value)
        message = re.sub(pattern, functools.partial(_flag_with_value, _flag(name)), message)
    return message


def _flag_with_value(flag: str, match: re.Match) -> str:
    return f"{flag} {match[1]}" if match[1] else flag


def _load_pipeline(args: argparse.Namespace):
    """The pipeline at ``args.path`` with ``--scheduler`` swapped in, and its number of
    sampling steps: ``--steps``, else 50 for DDIM and T for DDPM (None for a GAN)."""
    from .evaluation import load_pipeline

    pipeline = load_pipeline(args.path)
    if not pipeline.is_diffusion:
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

    from .pil_utils import image_grid, scatter_plot
    from .pipelines.pipeline import PointsPipelineOutput
    from .pipelines.sampling import balanced_labels

    _check_output_file(args.out, "--out", _picture_extensions())  # not after 1,000 steps
    pipeline, steps = _load_pipeline(args)
    generator = torch.Generator().manual_seed(args.seed)
    kwargs = {}
    if steps is not None:
        kwargs["num_inference_steps"] = steps
    if pipeline.num_classes:
        kwargs["class_labels"] = balanced_labels(args.num_samples, pipeline.num_classes)
    if args.rejection_sampling:
        if steps is not None:
            raise ValueError(
                "--rejection-sampling filters a GAN's samples with its discriminator; a diffusion "
                "pipeline has none: sample it without"
            )
        kwargs["rejection_sampling"] = True
    out = pipeline(batch_size=args.num_samples, generator=generator, output_type="pt", **kwargs)
    if isinstance(out, PointsPipelineOutput):
        picture = scatter_plot(out.points)  # no data to show: a pipeline does not know its data set
    else:
        picture = image_grid(out.images)
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
    from .configuration import load_config_file

    run = _run_folder(path)
    return load_config_file(run / "training_config.json").get("dataset") if run else None


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
    # evaluate_pipeline creates a missing folder
    _check_output_file(json_path, "--json" if args.json is not None else "the result file", folder_must_exist=False)
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
    # gandiff.plot creates a missing folder
    _check_output_file(args.out, "--out", _figure_extensions(), folder_must_exist=False)
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


# What the disk or the file system refused: the user's to fix (free space, another folder).
_FILE_SYSTEM_ERRNOS = {
    errno.ENOSPC: "free some space or write elsewhere",
    errno.EDQUOT: "free some space or write elsewhere",
    errno.EFBIG: "write elsewhere",
    errno.EROFS: "choose a folder you can write to",
    errno.EACCES: "choose a path you can read and write",
    errno.EPERM: "choose a path you can read and write",
    errno.ENAMETOOLONG: "choose a shorter path",
    errno.ELOOP: "the path has a symbolic link loop",
}


def _user_error_types() -> tuple[type[BaseException], ...]:
    """The errors that are the user's to fix, shown as one line; anything else is a bug in
    gandiff and keeps its traceback.

    * ``ValueError``: gandiff's check of a setting, a flag or a file's content (DESIGN: invalid
      values raise ValueError naming the valid ones), and undecodable JSON or text.
    * ``FileNotFoundError``, ``FileExistsError``, ``NotADirectoryError``, ``IsADirectoryError``:
      a path the user gave.
    * ``PermissionError``: a read-only file or folder; a gated or private Hub repo (`gandiff.hub`
      turns huggingface_hub's errors into builtin ones).
    * ``HubError`` (`gandiff.hub`; also ``ConnectionError``, ``TimeoutError``): the Hub cannot be
      reached, answers too slowly, refuses, or sent a corrupt file.
    * ``OSError`` with an errno of `_FILE_SYSTEM_ERRNOS`: a full disk, a read-only file system.
    * ``ImportError``: an optional package is missing (the messages name the extra to install).
    * ``MemoryError``, ``torch.OutOfMemoryError``: the sizes asked for do not fit.
    * ``NonFiniteLossError``: the run diverged with these settings;
      ``InceptionWeightsUnavailableError``: weights that must be downloaded first;
      ``_UploadError``: a finished, saved run whose upload failed (the message says where the
      result is and how to upload it).

    Not in the list: ``TypeError``, ``AttributeError``, ``KeyError``, ``IndexError``,
    ``RuntimeError``, ``RecursionError``. In gandiff's own code they mean a bug. Input of the wrong
    type, kind or depth is caught where it is read (`gandiff.configuration.load_config_file`,
    ``from_config``, the pipeline's component check) and raised as a ValueError naming the file
    or setting (`ComponentKindError` and `RegistryError` are ValueErrors too).
    """
    import torch

    from .hub import HubError
    from .metrics.inception_fid import InceptionWeightsUnavailableError
    from .training.divergence import NonFiniteLossError

    return (
        ValueError,
        HubError,
        FileNotFoundError,
        FileExistsError,
        NotADirectoryError,
        IsADirectoryError,
        PermissionError,
        ConnectionError,
        TimeoutError,
        ImportError,
        MemoryError,
        torch.OutOfMemoryError,
        NonFiniteLossError,
        InceptionWeightsUnavailableError,
        _UploadError,
    )


def _user_error_message(err: Exception) -> str | None:
    """The one line to print for `err` when it is the user's to fix (`_user_error_types`), else None."""
    file_system = isinstance(err, OSError) and err.errno in _FILE_SYSTEM_ERRNOS
    if not (file_system or isinstance(err, _user_error_types())):
        return None
    if isinstance(err, OSError) and err.errno is not None and err.strerror:
        # the OS's "[Errno 28] No space left on device: 'x.png'" as "x.png: no space left on device; ..."
        where = f"{err.filename}: " if err.filename is not None else ""
        hint = _FILE_SYSTEM_ERRNOS.get(err.errno)
        message = f"{where}{err.strerror[0].lower()}{err.strerror[1:]}" + (f"; {hint}" if hint else "")
    else:
        message = str(err) or type(err).__name__
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def _end_progress_bars() -> None:
    """Close any open progress bar, so that an error starts on a line of its own instead of
    after the bar's last frame."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        for bar in list(getattr(tqdm.tqdm, "_instances", ())):
            bar.close()


def _use_threads(threads: int) -> None:
    """Run torch's CPU work on `threads` threads (see `_default_threads`)."""
    import torch

    torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != threads:
        # torch sizes the inter-op pool once per process, before any inter-op work; a second
        # command in the same process (a notebook, the tests) keeps the first size.
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(threads)


# argparse destinations that are not flags: the command words and the positional paths
_NOT_FLAGS = {"command", "method", "picture", "path", "run"}
_COMMANDS = {"train": _train, "sample": _sample, "evaluate": _evaluate, "plot": _plot}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``gandiff`` command.

    Args:
        argv: the arguments after ``gandiff`` (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 2 for an error that is the user's to fix, printed as one
        line on stderr (as argparse does for a bad flag). Other errors are bugs: they propagate
        with their traceback.

    Example:
        >>> main(["plot", "schedules", "--out", "schedules.png"])  # doctest: +SKIP
        wrote schedules.png
        0
    """
    args = build_parser().parse_args(argv)
    import torch

    threads = torch.get_num_threads()
    _use_threads(args.threads)
    try:
        _COMMANDS[args.command](args)
    except Exception as err:
        message = _user_error_message(err)
        if message is None:
            raise
        # the Python names of the settings this command's flags set (`train`: every config field)
        flags = [name for name in vars(args) if name not in _NOT_FLAGS]
        message = _as_flags(message, flags)
        _end_progress_bars()
        print(f"gandiff: error: {message}", file=sys.stderr)
        return 2
    finally:
        torch.set_num_threads(threads)  # for callers in the same process
    return 0
