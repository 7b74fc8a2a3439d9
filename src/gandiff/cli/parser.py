"""The argument parser of every command, built without importing torch (so ``--help`` is quick)."""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any

from ..choices import SCHEDULERS
from .commands import EVALUATION_NAME, PICTURES
from .flags import (
    MAX_BATCH,
    MAX_POINTS,
    MAX_RESOLUTION,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_STEPS,
    MAX_TIMESTEPS,
    as_flags,
    default_threads,
    flag,
    number,
    or_none,
    seed_type,
    timesteps_type,
    whole_number,
)


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of every command."""
    parser.add_argument(
        "--threads",
        type=whole_number(1, 1024),
        default=default_threads(),
        help="torch CPU threads (default: $OMP_NUM_THREADS if set, else 1; more threads pay off only for large "
        "models on an otherwise idle machine)",
    )


# Bounds of the numeric training settings on the command line: [low, high] (a float range is
# open at 0). `training.config` checks the lower ends in Python; the upper ends are the CLI's
# guard against slips of the keyboard.
TRAINING_BOUNDS: dict[str, tuple[float, float]] = {
    "resolution": (1, MAX_RESOLUTION),
    "num_samples": (1, MAX_POINTS),
    "num_workers": (0, 256),
    "batch_size": (1, MAX_BATCH),
    "max_steps": (1, MAX_STEPS),
    "learning_rate": (0, 1),  # above 1, Adam and RMSprop diverge
    "lr_warmup_steps": (0, MAX_STEPS),
    "gradient_accumulation_steps": (1, 4096),
    "max_grad_norm": (0, math.inf),
    "ema_decay": (0, 1),  # open at both ends: 1 would never move
    "seed": (0, MAX_SEED),
    "checkpoint_every": (1, MAX_STEPS),
    "checkpoints_total_limit": (1, MAX_STEPS),
    "log_every": (1, MAX_STEPS),
    "sample_every": (0, MAX_STEPS),
    "num_sample_images": (1, 1024),
    "num_train_timesteps": (1, MAX_TIMESTEPS),
    "snr_gamma": (0, math.inf),
    "num_inference_steps": (1, MAX_TIMESTEPS),
    "d_steps": (1, 1000),
    "adam_betas": (0, 1),  # [0, 1)
    "gp_lambda": (0, math.inf),
    "r1_gamma": (0, math.inf),
    "clip_value": (0, math.inf),
    "latent_dim": (1, 4096),
}


def add_training_flags(parser: argparse.ArgumentParser, config_cls: type) -> None:
    """One flag per field of `config_cls` (a `gandiff.training.config` dataclass), in the field's
    group, with its help and choices; a flag left out keeps the field's default (None here).

    The field's annotation gives the flag's type: ``bool`` a switch, ``int`` / ``float`` a
    bounded number (`TRAINING_BOUNDS`), a fixed set of ``choices`` a choice; a setting that
    may be None (and is not by default) also takes ``none``.
    """
    groups: dict[str, argparse._ArgumentGroup] = {}
    names = [field.name for field in dataclasses.fields(config_cls)]
    for field in dataclasses.fields(config_cls):
        group_name = field.metadata["group"]
        if group_name not in groups:
            groups[group_name] = parser.add_argument_group(group_name)
        kind, optional = field.type.split(" | ")[0], "None" in field.type
        help_text = as_flags(field.metadata["help"], names)
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
        if field.name == "dataset":  # no default on the command line: see `check_dataset`
            options["help"] = f"required: {field.metadata['help']}"
        elif kind == "bool":
            options.update(action="store_true", default=None)
        elif "choices" in field.metadata:
            options["choices"] = field.metadata["choices"]
        elif kind in ("int", "float", "tuple[float, float]"):
            low, high = TRAINING_BOUNDS[field.name]
            if kind == "int":
                parse = whole_number(int(low), int(high))
            elif kind == "float":
                parse = number(low, high, include_high=field.name != "ema_decay")
            else:  # Adam's betas
                parse = number(low, high, include_low=True, include_high=False)
                options.update(nargs=2, metavar=("BETA1", "BETA2"))
            options["type"] = or_none(parse) if optional and field.default is not None else parse
        groups[group_name].add_argument(flag(field.name), **options)
    add_common_flags(parser)


class OneLineArgumentParser(argparse.ArgumentParser):
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
    from .._version import __version__

    parser = OneLineArgumentParser(
        prog="gandiff", description="Train, sample, evaluate and picture GANs and diffusion models."
    )
    parser.add_argument("--version", action="version", version=f"gandiff {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,sample,evaluate,plot}")

    from ..training.config import DiffusionTrainingConfig, GANTrainingConfig

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
    add_training_flags(ddpm, DiffusionTrainingConfig)
    add_training_flags(gan, GANTrainingConfig)

    sample = commands.add_parser(
        "sample",
        help="sample a saved pipeline into a PNG",
        description="Sample a pipeline folder (or a training run's output folder).",
    )
    sample.add_argument("path", help="a pipeline folder, a training run's output folder, or a Hub repo id")
    sample.add_argument(
        "--num-samples", type=whole_number(1, MAX_SAMPLES), default=64, help="default 64, drawn in one batch"
    )
    sample.add_argument("--out", default="samples.png", help="the PNG to write (default samples.png)")
    sample.add_argument("--scheduler", choices=tuple(SCHEDULERS), help="swap the diffusion scheduler")
    sample.add_argument("--steps", type=timesteps_type, help="sampling steps (default: 50 for ddim, T for ddpm)")
    sample.add_argument("--seed", type=seed_type, default=0)
    sample.add_argument(
        "--rejection-sampling",
        action="store_true",
        help="GANs: keep the samples that discriminator rejection sampling accepts (Azadi et al. 2019)",
    )
    add_common_flags(sample)
    add_evaluate_command(commands)
    add_plot_command(commands)
    return parser


def add_evaluate_command(commands) -> None:
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
        type=whole_number(1, MAX_POINTS),
        help="default: 2500 for 2-D sets (VEEGAN / PacGAN), the held-out half for images",
    )
    evaluate.add_argument("--scheduler", choices=tuple(SCHEDULERS), help="swap the diffusion scheduler")
    evaluate.add_argument("--steps", type=timesteps_type, help="sampling steps (default: 50 for ddim, T for ddpm)")
    evaluate.add_argument("--seed", type=seed_type, default=0)
    evaluate.add_argument(
        "--batch-size", type=whole_number(1, MAX_BATCH), default=500, help="samples per call (default 500)"
    )
    evaluate.add_argument(
        "--json",
        help=f"where to write the result (default: PATH/{EVALUATION_NAME} for a "
        f"folder, ./{EVALUATION_NAME} for a Hub repo)",
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
    add_common_flags(evaluate)


def add_plot_command(commands) -> None:
    from ..choices import BETA_SCHEDULES

    plot = commands.add_parser(
        "plot",
        help="draw a picture of a process or a run into a PNG",
        description="Pictures for understanding diffusion and GANs (needs gandiff[plot]).",
    )
    pictures = plot.add_subparsers(dest="picture", required=True, metavar="{" + ",".join(PICTURES) + "}")

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
    schedules.add_argument("--num-train-timesteps", type=timesteps_type, default=1000, help="T (default 1000)")

    forward = pictures.add_parser(
        "forward",
        help="a data set's forward process q(x_t | x_0)",
        description="x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε at several t, one ε for all t: "
        "2-D sets as point clouds, images as images.",
    )
    forward.add_argument("--dataset", default="ring8", help="a built-in data set or an image folder (default ring8)")
    forward.add_argument(
        "--num-samples",
        type=whole_number(1, MAX_SAMPLES),
        help="points (default 2000) or images (default 4)",
    )
    forward.add_argument(
        "--timesteps",
        type=whole_number(0, MAX_TIMESTEPS),
        nargs="+",
        help="t to show (default 0 50 100 200 400 700 999)",
    )
    forward.add_argument("--beta-schedule", choices=BETA_SCHEDULES, default="linear", help="default: linear")
    forward.add_argument("--seed", type=seed_type, default=0, help="seeds the points and ε")

    reverse = pictures.add_parser(
        "reverse",
        help="a diffusion pipeline's reverse process x_T -> x_0",
        description="x_t and the network's prediction of x_0 along a saved diffusion pipeline's sampling loop.",
    )
    reverse.add_argument("path", help="a pipeline folder, a training run's output folder, or a Hub repo id")
    reverse.add_argument("--scheduler", choices=tuple(SCHEDULERS), help="swap the scheduler")
    reverse.add_argument("--steps", type=timesteps_type, help="sampling steps (default: 50 for ddim, T for ddpm)")
    reverse.add_argument(
        "--num-samples",
        type=whole_number(1, MAX_SAMPLES),
        help="samples to follow (default: 16 images, 1000 points)",
    )
    reverse.add_argument("--frames", type=whole_number(1, 100), default=6, help="snapshots along the loop (default 6)")
    reverse.add_argument("--dataset", help="2-D data drawn behind the points (default: the run's data set)")
    reverse.add_argument("--seed", type=seed_type, default=0)

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
        type=whole_number(1, MAX_SAMPLES),
        default=1000,
        help="per checkpoint (default 1000)",
    )
    scatter.add_argument("--steps", type=timesteps_type, help="diffusion sampling steps (default: T)")
    scatter.add_argument("--seed", type=seed_type, default=0)

    for name, parser in pictures.choices.items():
        parser.add_argument("--out", default=f"{name}.png", help=f"the PNG to write (default {name}.png)")
        add_common_flags(parser)
