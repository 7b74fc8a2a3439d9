"""Sample quality of the quickstart's DDPM and DCGAN on digits and mnist5k, scored offline.

    python3 benchmarks/quality_digits.py [--datasets digits mnist5k] [--ddpm-steps 1500] [--gan-steps 2000]
                                         [--num-samples N] [--markdown-out FILE] [--out out/quality]

For each data set this trains, with `DiffusionTrainer` and `GANTrainer`,

* the quickstart's DDPM (`examples/quickstart.py`: a U-Net "small" on the 8×8 digits, batch 32,
  Adam 1e-3, EMA 0.995). On mnist5k the 8×8 network does not apply; there it is the U-Net "tiny"
  preset (two levels of 32 and 64 channels, no attention, 0.65M parameters) on MNIST halved to
  14×14, with the same optimizer settings: it trains in a few minutes on a CPU, where 28×28
  takes about 6 times as long per step;
* the quickstart's DCGAN (28×28, 32 base channels, non-saturating loss, Radford et al.'s Adam),

and loads each back from its saved pipeline folder, as ``gandiff evaluate`` does. The DDPM is
sampled twice: with its own `DDPMScheduler` over all 1000 steps (Ho et al. 2020, Algorithm 2),
and with a `DDIMScheduler` made from the same config in 50 steps (Song et al. 2021, η = 0),
without retraining. Every model draws the same number of samples N (seed 0), scored by
`gandiff.metrics.digit_metrics` with the data set's shipped classifier:

* Fréchet distance (FD) of the classifier's features to the reference half of the data, beside
  the *floor* (N held-out real images scored the same way; a model can at best reach it) and two
  baselines from `digit_baselines` at the same N: a Gaussian fitted to the pixels, and the
  blurry class means;
* classes covered (of 10) and KL(class histogram ‖ uniform) of the classifier's predictions;
* precision and recall (Kynkäänniemi et al. 2019, k = 3) in the classifier's feature space.

Targets: every model covers 10 of 10 classes, and its FD is below half the Gaussian fit's.
N defaults to 400 on digits and 150 on mnist5k: the 1000-step DDPM costs N × 1000 network
evaluations (measured here: 0.93 ms of CPU per 8×8 sample and step, 2.2 ms at 14×14), most of
the run's time. The floor and both baselines use the same N, so they carry the same finite-sample
bias as the model's FD; compare scores within a data set's rows, not with FDs at other N.

The default run takes about 27 minutes of CPU time on one thread (the table's note gives the
wall time and the CPU time); ``--datasets digits`` runs one set.

Measured here (torch 2.13 CPU, one thread, on a 2-core machine shared with other jobs); the
digits rows with the defaults (``--datasets digits``, 14.7 min of CPU time), the mnist5k rows from
an earlier run with ``--gan-steps 1000``. Every model covers 10 of 10 classes.

============  =================  =====  =====  ============  ============================
data          model              FD     floor  Gaussian fit  target (FD < ½ Gaussian fit)
============  =================  =====  =====  ============  ============================
digits        DDPM, 1000 steps   5.04   2.96   40.1          met
digits        DDIM, 50 steps     10.4   2.96   40.1          met
digits        DCGAN, 2000 steps  17.2   2.32   40.1          met
mnist5k       DDPM, 1000 steps   18.0   5.3    397           met
mnist5k       DDIM, 50 steps     27.6   5.3    397           met
mnist5k       DCGAN, 1000 steps  142    11.4   397           met
============  =================  =====  =====  ============  ============================

At 1000 steps the digits DCGAN scored FD 26.0 (missing the target of 20.1); the quickstart and
this benchmark therefore train it 2000 steps.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

from gandiff.evaluation import evaluate_pipeline, load_pipeline
from gandiff.metrics.evaluate import digit_baselines, digit_metrics
from gandiff.training import DiffusionTrainer, GANTrainer

# The quickstart's settings are read from the quickstart itself, so the two never drift apart.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from quickstart import ddpm_config, fresh, gan_config

DATASETS = ("digits", "mnist5k")
# Samples per model (see the module docstring).
NUM_SAMPLES = {"digits": 400, "mnist5k": 150}
# What changes from the quickstart's 8×8 DDPM on mnist5k (see the module docstring).
MNIST_DDPM = {"resolution": 14, "model_size": "tiny"}
DDPM_STEPS, DDIM_STEPS = 1000, 50


def train(dataset: str, out: Path, ddpm_steps: int, gan_steps: int) -> dict[str, tuple[Path, float]]:
    """Train the DDPM and the DCGAN on `dataset`; ``{"ddpm" | "gan": (run folder, seconds)}``."""
    runs = {}
    ddpm = dataclasses.replace(ddpm_config(out, ddpm_steps), dataset=dataset)
    if dataset == "mnist5k":
        ddpm = dataclasses.replace(ddpm, **MNIST_DDPM)
    gan = dataclasses.replace(gan_config(out, gan_steps), dataset=dataset)
    for name, config, trainer_cls in (("ddpm", ddpm, DiffusionTrainer), ("gan", gan, GANTrainer)):
        fresh(Path(config.output_dir))
        print(f"{dataset}: training the {name.upper()} for {config.max_steps} steps ...", flush=True)
        began = time.perf_counter()
        trainer_cls(config).train()
        runs[name] = (Path(config.output_dir), time.perf_counter() - began)
    return runs


def evaluate(dataset: str, runs: dict[str, tuple[Path, float]], num_samples: int) -> list[dict]:
    """Score each model and the baselines at `num_samples` samples; one dict per table row."""
    baseline_fd = {}
    for name, images in digit_baselines(dataset, num_samples).items():
        rows, _ = digit_metrics(images, dataset)
        baseline_fd[name] = rows["frechet_distance"]["model"]
    sampled = [
        ("DDPM", "ddpm", {"scheduler": "ddpm", "num_inference_steps": DDPM_STEPS}, f"DDPM, {DDPM_STEPS} steps"),
        ("DDPM", "ddpm", {"scheduler": "ddim", "num_inference_steps": DDIM_STEPS}, f"DDIM, {DDIM_STEPS} steps"),
        ("DCGAN", "gan", {}, "G(z), one step"),
    ]
    table = []
    for model, run, options, sampler in sampled:
        folder, train_seconds = runs[run]
        pipeline = load_pipeline(folder)
        pipeline.set_progress_bar_config(disable=True)
        print(f"{dataset}: sampling {num_samples} from the {model} ({sampler}) ...", flush=True)
        began = time.perf_counter()
        result = evaluate_pipeline(pipeline, dataset, num_samples, verbose=False, **options)
        metrics = result["metrics"]
        table.append(
            {
                "dataset": dataset,
                "model": model,
                "resolution": pipeline.generator.sample_shape[-1]
                if run == "gan"
                else pipeline.network.sample_shape[-1],
                "sampler": sampler,
                "num_samples": num_samples,
                "fd": metrics["frechet_distance"]["model"],
                "floor": metrics["frechet_distance"]["data"],
                "gaussian_fit": baseline_fd["gaussian_fit"],
                "class_means": baseline_fd["class_means"],
                "classes": metrics["classes_covered"]["model"],
                "class_kl": metrics["class_kl"]["model"],
                "precision": metrics["precision"]["model"],
                "recall": metrics["recall"]["model"],
                "train_seconds": train_seconds,
                "eval_seconds": time.perf_counter() - began,
            }
        )
        print(
            f"  FD {table[-1]['fd']:.3g} (floor {table[-1]['floor']:.3g}, Gaussian fit "
            f"{baseline_fd['gaussian_fit']:.3g}), {table[-1]['classes']}/10 classes",
            flush=True,
        )
    return table


def meets_targets(row: dict) -> bool:
    """10 of 10 classes covered, and FD below half the Gaussian pixel fit's."""
    return row["classes"] == 10 and row["fd"] < row["gaussian_fit"] / 2


def markdown(rows: list[dict], args: argparse.Namespace, seconds: float, cpu_seconds: float) -> str:
    header = (
        "| data | model (resolution) | sampler | N | FD | floor | Gaussian fit | class means | classes | KL | "
        "precision | recall | targets | train s | sample + score s |"
    )
    lines = [header, "|---" * (header.count("|") - 1) + "|"]
    for row in rows:
        lines.append(
            f"| {row['dataset']} | {row['model']} ({row['resolution']}×{row['resolution']}) | {row['sampler']} | "
            f"{row['num_samples']} | "
            f"{row['fd']:.3g} | {row['floor']:.3g} | {row['gaussian_fit']:.3g} | {row['class_means']:.3g} | "
            f"{row['classes']}/10 | {row['class_kl']:.3f} | {row['precision']:.2f} | {row['recall']:.2f} | "
            f"{'met' if meets_targets(row) else 'MISSED'} | {row['train_seconds']:.0f} | {row['eval_seconds']:.0f} |"
        )
    note = (
        f"FD: Fréchet distance of the shipped classifier's features to the reference half; floor: N held-out real "
        f"images; Gaussian fit, class means: the `digit_baselines` at the same N. Targets: 10/10 classes and FD < "
        f'½ Gaussian fit. DDPM: the quickstart\'s U-Net "small" at 8×8 on digits, {args.ddpm_steps} steps; on '
        f'mnist5k the U-Net "tiny" at 14×14 (MNIST halved; the 8×8 network does not apply). DCGAN: the '
        f"quickstart's, 28×28, {args.gan_steps} steps. DDIM reuses the DDPM's network. "
        f"{torch.get_num_threads()} thread(s): {seconds / 60:.1f} min in all, {cpu_seconds / 60:.1f} min of CPU time."
    )
    return "\n".join([*lines, "", note]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--ddpm-steps", type=int, default=1500, help="DDPM training steps (the quickstart's 1500)")
    parser.add_argument("--gan-steps", type=int, default=2000, help="DCGAN training steps (the quickstart's 2000)")
    parser.add_argument("--num-samples", type=int, help="samples per model (default: 400 digits, 150 mnist5k)")
    parser.add_argument("--out", type=Path, default=Path("out/quality"), help="where the runs go")
    parser.add_argument("--markdown-out", type=Path, help="also write the table to this file")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as the quickstart)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    start, cpu_start = time.perf_counter(), time.process_time()
    rows = []
    for dataset in args.datasets:
        runs = train(dataset, args.out / dataset, args.ddpm_steps, args.gan_steps)
        rows += evaluate(dataset, runs, args.num_samples or NUM_SAMPLES[dataset])
    table = markdown(rows, args, time.perf_counter() - start, time.process_time() - cpu_start)
    print("\n" + table)
    if args.markdown_out is not None:
        args.markdown_out.parent.mkdir(parents=True, exist_ok=True)
        args.markdown_out.write_text(table, encoding="utf-8")
        print(f"wrote {args.markdown_out}")


if __name__ == "__main__":
    main()
