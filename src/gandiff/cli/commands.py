"""What each command does: ``train``, ``sample``, ``evaluate`` and ``plot``, each input checked first."""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Collection
from pathlib import Path

from .errors import UploadError, user_error_message

EVALUATION_NAME = "evaluation.json"


def nearest_folder(path: Path) -> Path:
    """`path` if it is a folder, else its nearest existing ancestor (where it would be created)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_file(
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
    check_writable(path.parent, flag)
    return path


def check_writable(folder: Path, flag: str) -> None:
    """A `PermissionError` when `folder` (or, while it does not exist, the folder it would be
    created in) cannot be written: a read-only file system or folder."""
    existing = nearest_folder(Path(folder))
    if existing.is_dir() and not os.access(existing, os.W_OK):
        raise PermissionError(f"{flag}: cannot write in {existing} (read-only); choose a folder you can write to")


def picture_extensions() -> set[str]:
    """The file types PIL can write (``.png``, ``.jpg``, ...)."""
    from PIL import Image

    Image.init()
    return {ext for ext, format_name in Image.registered_extensions().items() if format_name in Image.SAVE}


def figure_extensions() -> set[str]:
    """The file types matplotlib can write a figure to (``.png``, ``.pdf``, ``.svg``, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return {f".{ext}" for ext in FigureCanvasBase.get_supported_filetypes()}


def config_class(method: str) -> type:
    from ..training.config import DiffusionTrainingConfig, GANTrainingConfig

    return DiffusionTrainingConfig if method == "ddpm" else GANTrainingConfig


def check_dataset(args: argparse.Namespace) -> None:
    """``--dataset`` has no default: a forgotten flag once trained on ring8 without a word."""
    if args.dataset is None:
        from ..data import BUILTIN_DATASETS

        raise ValueError(
            f"--dataset is required: a built-in set ({', '.join(BUILTIN_DATASETS)}), an image folder, or hf:NAME"
        )


def train(args: argparse.Namespace) -> None:
    check_dataset(args)
    if args.method == "ddpm":
        from ..training.diffusion import DiffusionTrainer as Trainer
    else:
        from ..training.gan import GANTrainer as Trainer
    config_cls = config_class(args.method)

    fields = {f.name for f in dataclasses.fields(config_cls)}
    settings = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    settings = {k: None if v == "none" else v for k, v in settings.items()}
    config = config_cls(**settings)
    check_writable(Path(config.output_dir), "--output-dir")
    if config.push_to_hub:
        from ..hub import create_repo

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
            reason = user_error_message(err) or f"{type(err).__name__}: {err}"
            raise UploadError(
                f"the run finished and saved its pipeline in {pipeline}, but the upload to {config.hub_model_id} "
                f"failed: {reason} -- upload it later with: hf upload {config.hub_model_id} {pipeline}"
            ) from err
        raise
    if main_process:
        print(
            f"saved the pipeline to {config.output_dir}/pipeline; "
            f"sample it with: gandiff sample {config.output_dir} --out samples.png"
        )


def pipeline_from_args(args: argparse.Namespace):
    """The pipeline at ``args.path`` with ``--scheduler`` swapped in, and its number of
    sampling steps: ``--steps``, else 50 for DDIM and T for DDPM (None for a GAN)."""
    from ..evaluation import load_pipeline

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


def sample(args: argparse.Namespace) -> None:
    import torch

    from ..pil_utils import image_grid, scatter_plot
    from ..pipelines.pipeline import PointsPipelineOutput
    from ..pipelines.sampling import balanced_labels

    check_output_file(args.out, "--out", picture_extensions())  # not after 1,000 steps
    pipeline, steps = pipeline_from_args(args)
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


def run_folder(path: str) -> Path | None:
    """The training run a path belongs to: the path itself, or the run around its ``pipeline``
    folder; None when there is none (a bare pipeline folder, a Hub repo id)."""
    for folder in (Path(path), Path(path).parent):
        if (folder / "training_config.json").is_file():
            return folder
    return None


def run_dataset(path: str, flag: str | None) -> str | None:
    """``--dataset`` if given, else the data set of the run `path` belongs to."""
    if flag is not None:
        return flag
    from ..configuration import load_config_file

    run = run_folder(path)
    return load_config_file(run / "training_config.json").get("dataset") if run else None


def evaluate(args: argparse.Namespace) -> None:
    from ..evaluation import evaluate_pipeline

    dataset = run_dataset(args.path, args.dataset)
    if dataset is None:
        raise ValueError(
            f"{args.path} is not a training run's folder, so its data set is unknown; pass --dataset "
            "(e.g. --dataset digits)"
        )
    if args.json is not None:
        json_path = Path(args.json)
    else:
        json_path = Path(args.path) / EVALUATION_NAME if Path(args.path).is_dir() else Path(EVALUATION_NAME)
    # evaluate_pipeline creates a missing folder
    check_output_file(json_path, "--json" if args.json is not None else "the result file", folder_must_exist=False)
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


def plot(args: argparse.Namespace) -> None:
    from ..plot import require_matplotlib

    require_matplotlib()  # before any sampling
    # gandiff.plot creates a missing folder
    check_output_file(args.out, "--out", figure_extensions(), folder_must_exist=False)
    print(f"wrote {PICTURES[args.picture](args)}")


def draw_schedules(args: argparse.Namespace) -> Path:
    from ..plot import plot_schedules

    return plot_schedules(args.out, args.schedules, args.num_train_timesteps)


def draw_gan_curves(args: argparse.Namespace) -> Path:
    from ..plot import plot_gan_training

    return plot_gan_training(args.run, args.out)


def draw_scatter(args: argparse.Namespace) -> Path:
    from ..plot import plot_checkpoints_2d

    return plot_checkpoints_2d(args.run, args.out, args.num_samples, args.seed, args.steps)


def draw_forward(args: argparse.Namespace) -> Path:
    import torch

    from ..data import POINT_SETS, load_dataset
    from ..plot import plot_forward_process
    from ..schedulers.ddpm import DDPMScheduler

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


def draw_reverse(args: argparse.Namespace) -> Path:
    from ..data import POINT_SETS, load_dataset
    from ..plot import plot_reverse_process

    pipeline, steps = pipeline_from_args(args)
    if steps is None:
        raise ValueError(
            f"{args.path} holds a {type(pipeline).__name__}, which samples in one step: the reverse "
            "process is drawn for diffusion pipelines (DDPMPipeline)"
        )
    dataset = run_dataset(args.path, args.dataset)
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


PICTURES = {
    "schedules": draw_schedules,
    "forward": draw_forward,
    "reverse": draw_reverse,
    "gan-curves": draw_gan_curves,
    "scatter": draw_scatter,
}


COMMANDS = {"train": train, "sample": sample, "evaluate": evaluate, "plot": plot}
