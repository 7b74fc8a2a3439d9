"""GAN training curves from a run's log, with the equilibrium of Goodfellow et al. 2014 marked."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from .canvas import new_figure, save_figure

__all__ = ["plot_gan_training"]

# Losses whose discriminator outputs a logit, D = σ(l): their D(x), D(G(z)) are probabilities.
_LOGIT_LOSSES = ("minimax", "non_saturating")


def _read_run(run: str | os.PathLike) -> tuple[list[dict[str, Any]], str | None]:
    """A GAN run folder's log records and loss name (from its training_config.json)."""
    from ..training.logger import read_log

    if not Path(run).is_dir():
        raise FileNotFoundError(
            f"no run folder {run} to read log.jsonl from; pass the --output-dir of a `gandiff train gan` run"
        )
    config_path = Path(run) / "training_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    if config.get("_class_name", "GANTrainingConfig") != "GANTrainingConfig":
        raise ValueError(
            f"{run} is a {config['_class_name']} run, not a GAN run: GAN training curves need the log "
            "of `gandiff train gan` (D(x), D(G(z)), both losses)"
        )
    records = read_log(run)
    if not records:
        raise FileNotFoundError(f"{run} has no log.jsonl with records; is it the output folder of a training run?")
    return records, config.get("loss")


def _smooth(values: torch.Tensor) -> torch.Tensor:
    """Moving average over about 2% of the points (at least 1): logged GAN values are noisy."""
    window = max(1, len(values) // 50)
    if window == 1:
        return values
    kernel = torch.ones(1, 1, window, dtype=values.dtype) / window
    padded = torch.cat([values[:1].expand(window // 2), values, values[-1:].expand(window - 1 - window // 2)])
    return torch.nn.functional.conv1d(padded[None, None], kernel)[0, 0]


def _curve(axis, records: Sequence[Mapping[str, Any]], key: str, label: str, colour: str) -> bool:
    points = [(r["step"], r[key]) for r in records if key in r and r[key] is not None and math.isfinite(r[key])]
    if not points:
        return False
    steps, values = (torch.tensor(column, dtype=torch.float64) for column in zip(*points, strict=True))
    axis.plot(steps.numpy(), values.numpy(), color=colour, alpha=0.25, linewidth=0.8)
    axis.plot(steps.numpy(), _smooth(values).numpy(), color=colour, linewidth=1.6, label=label)
    return True


def plot_gan_training(
    run: str | os.PathLike | Sequence[Mapping[str, Any]],
    path: str | os.PathLike,
    loss: str | None = None,
) -> Path:
    """GAN training curves from the trainer's log, with the equilibrium values marked.

    Panels: the losses; D(x) and D(G(z)); the gradient norms of both networks (when logged).
    For the logit losses (``minimax``, ``non_saturating``) the equilibrium of Goodfellow et
    al. 2014 is marked: D*(x) = p_data / (p_data + p_g) = 1/2 when p_g = p_data, where the
    value of the game is V(D*, G*) = −2 log 2, i.e. a discriminator loss −V = 2 log 2 ≈ 1.386;
    the generator's loss is then log 2 (non-saturating, −log D(G(z))) or −log 2 (minimax,
    log(1 − D(G(z)))). Wasserstein and hinge critics output scores, with no such level.

    Args:
        run: a run's output folder (``log.jsonl`` and ``training_config.json``), or the log
            records themselves: dicts with ``step`` and any of ``d_loss, g_loss, d_real,
            d_fake, d_grad_norm, g_grad_norm, penalty, wasserstein_estimate``.
        path: the PNG to write.
        loss: the GAN loss name; read from the run's config when `run` is a folder.

    Returns:
        `path`, as a `Path`.

    Raises:
        FileNotFoundError: `run` is a folder without a log.
        ValueError: `run` is the folder of a diffusion run.
        ImportError: matplotlib is missing.

    Example:
        >>> plot_gan_training("out/ring8-gan", "curves.png")  # doctest: +SKIP
    """
    if isinstance(run, (str, os.PathLike)):
        records, saved_loss = _read_run(run)
        loss = loss or saved_loss
    else:
        records = list(run)
    has_norms = any("d_grad_norm" in r or "g_grad_norm" in r for r in records)
    figure = new_figure(15 if has_norms else 10.5, 4.4)
    axes = figure.subplots(1, 3 if has_norms else 2)
    loss_axis, d_axis = axes[0], axes[1]
    logit = loss in _LOGIT_LOSSES

    _curve(loss_axis, records, "d_loss", "discriminator loss", "#1f77b4")
    _curve(loss_axis, records, "g_loss", "generator loss", "#d62728")
    _curve(loss_axis, records, "wasserstein_estimate", "E f(x) − E f(G(z))", "#2ca02c")
    if logit:
        loss_axis.axhline(
            2 * math.log(2),
            color="#1f77b4",
            linestyle="--",
            linewidth=1,
            label="D loss at equilibrium: 2 log 2 (V = −2 log 2)",
        )
        g_level, g_name = (math.log(2), "log 2") if loss == "non_saturating" else (-math.log(2), "−log 2")
        loss_axis.axhline(
            g_level, color="#d62728", linestyle="--", linewidth=1, label=f"G loss at equilibrium: {g_name}"
        )
    loss_axis.set(title=f"losses ({loss or 'loss unknown'})", xlabel="step")

    _curve(d_axis, records, "d_real", "D(x), real", "#1f77b4")
    _curve(d_axis, records, "d_fake", "D(G(z)), generated", "#d62728")
    if logit:
        d_axis.axhline(0.5, color="black", linestyle="--", linewidth=1, label="D* = 1/2 when p_g = p_data")
        d_axis.set(ylim=(-0.03, 1.03), ylabel="probability")
    else:
        d_axis.set(ylabel="raw critic score")
    d_axis.set(title="discriminator outputs (batch means)", xlabel="step")

    if has_norms:
        norm_axis = axes[2]
        _curve(norm_axis, records, "d_grad_norm", "‖∇D‖", "#1f77b4")
        _curve(norm_axis, records, "g_grad_norm", "‖∇G‖", "#d62728")
        norm_axis.set(yscale="log", title="gradient norms (before clipping)", xlabel="step")
    for axis in axes:
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    figure.suptitle("GAN training (faint: logged values; bold: moving average)")
    return save_figure(figure, path)
