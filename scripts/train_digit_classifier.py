"""Train the digit classifiers that gandiff's offline image metrics use, deterministically.

    python scripts/train_digit_classifier.py                  # digits and mnist5k, into the package
    python scripts/train_digit_classifier.py --dataset digits --out /tmp/digits-classifier

Each classifier trains on the reference half of its data set (`reference_split`, seed 0) at
the set's own resolution and is tested on the held-out half. It is saved with
``save_pretrained`` (``config.json`` + ``model.safetensors``) and a ``training.json`` recording
the settings, the held-out accuracy and the Fréchet-distance floor (held-out vs reference).
One thread and fixed seeds make a rerun give the same weights on the same torch build.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gandiff.data import load_dataset
from gandiff.metrics.digit_classifier import (
    CLASSIFIER_DATASETS,
    DigitClassifier,
    classify,
    reference_split,
)
from gandiff.metrics.frechet_distance import frechet_distance

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "src" / "gandiff" / "metrics" / "weights"

# data set -> (classifier settings, training settings)
RECIPES = {
    "digits": (
        dict(resolution=8, channels=(16, 32), feature_dim=64),
        dict(epochs=60, batch_size=64, learning_rate=2e-3, weight_decay=1e-4, max_shift=0),
    ),
    "mnist5k": (
        dict(resolution=28, channels=(16, 32, 32), feature_dim=64),
        dict(epochs=20, batch_size=64, learning_rate=2e-3, weight_decay=1e-4, max_shift=2),
    ),
}


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to `max_shift` pixels in x and y, filling with background (-1):
    handwriting sits at slightly different places, and a classifier that has seen that
    generalizes from the half of a small data set it trains on."""
    padded = F.pad(images, (max_shift,) * 4, value=-1.0)
    size = images.shape[-1]
    offsets = torch.randint(0, 2 * max_shift + 1, (len(images), 2), generator=generator)
    return torch.stack([p[:, y : y + size, x : x + size] for p, (y, x) in zip(padded, offsets.tolist(), strict=True)])


def train(dataset_name: str, seed: int = 0) -> tuple[DigitClassifier, dict]:
    architecture, settings = RECIPES[dataset_name]
    dataset = load_dataset(dataset_name)
    images = torch.stack([dataset[i]["sample"] for i in range(len(dataset))])  # (N, 1, R, R) in [-1, 1]
    labels = torch.stack([dataset[i]["label"] for i in range(len(dataset))])
    reference, held_out = reference_split(labels)

    torch.manual_seed(seed)
    model = DigitClassifier(**architecture)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings["learning_rate"], weight_decay=settings["weight_decay"]
    )
    steps_per_epoch = -(-len(reference) // settings["batch_size"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, settings["learning_rate"], total_steps=settings["epochs"] * steps_per_epoch
    )
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for epoch in range(settings["epochs"]):
        model.train()
        for batch in reference[torch.randperm(len(reference), generator=generator)].split(settings["batch_size"]):
            inputs = random_shift(images[batch], settings["max_shift"], generator)
            loss = F.cross_entropy(model(inputs), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        if (epoch + 1) % 10 == 0:
            model.eval()
            _, predicted = classify(model, images[held_out])
            accuracy = (predicted == labels[held_out]).float().mean().item()
            print(f"{dataset_name} epoch {epoch + 1}: loss {loss.item():.4f}, held-out accuracy {accuracy:.4f}")
    model.eval()

    features, predicted = classify(model, images)
    record = {
        "dataset": dataset_name,
        "script": "scripts/train_digit_classifier.py",
        "seed": seed,
        "split": "gandiff.metrics.digit_classifier.reference_split(labels, seed=0)",
        "reference_size": len(reference),
        "held_out_size": len(held_out),
        **settings,
        "train_accuracy": round((predicted[reference] == labels[reference]).double().mean().item(), 4),
        "held_out_accuracy": round((predicted[held_out] == labels[held_out]).double().mean().item(), 4),
        "frechet_floor": round(frechet_distance(features[held_out], features[reference]), 4),
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "seconds": round(time.perf_counter() - start, 1),
    }
    return model, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--dataset",
        choices=CLASSIFIER_DATASETS,
        action="append",
        help="data set to train on (repeatable; default: all)",
    )
    parser.add_argument(
        "--out", type=Path, help="output folder (one data set only; default: the package's weights/<name>)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    names = args.dataset or list(CLASSIFIER_DATASETS)
    if args.out is not None and len(names) != 1:
        parser.error("--out needs exactly one --dataset")
    torch.set_num_threads(1)  # the same arithmetic order on every run
    torch.use_deterministic_algorithms(True)
    for name in names:
        model, record = train(name, args.seed)
        folder = args.out or WEIGHTS_DIR / name
        model.save_pretrained(folder)
        (folder / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
