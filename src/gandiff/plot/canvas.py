"""What every matplotlib picture of `gandiff.plot` shares: the figure, its PNG, and drawing
images or a point cloud on one axis.

matplotlib is an optional extra (``pip install "gandiff[plot]"``), imported when a figure is
made. Figures are drawn on matplotlib's object interface (no pyplot, no global backend state)
at a fixed size, so a PNG is always `figsize × dpi` pixels.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import torch

from ..pil_utils import tile_images

__all__ = ["require_matplotlib"]

INSTALL_HINT = 'pip install "gandiff[plot]"'
DPI = 100
DATA_COLOUR, SAMPLE_COLOUR, MODE_COLOUR = "#b0b0b0", "#d62728", "#1f1f1f"


def require_matplotlib():
    """Import matplotlib's `Figure` module, the one part of matplotlib gandiff draws with.

    Callers that compute for a while before drawing (sampling every checkpoint of a run) call
    this first, so that a missing matplotlib is reported before the work, not after it.

    Returns:
        The ``matplotlib.figure`` module.

    Raises:
        ImportError: matplotlib is not installed; the message gives the install command.
    """
    try:
        return importlib.import_module("matplotlib.figure")
    except ImportError as error:
        raise ImportError(
            f"gandiff.plot needs the optional package 'matplotlib', which is not installed; "
            f"install gandiff's plot extra: {INSTALL_HINT}"
        ) from error


def new_figure(width: float, height: float):
    """A matplotlib Figure of `width` × `height` inches, or an ImportError saying how to install it."""
    return require_matplotlib().Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_figure(figure, path: str | os.PathLike) -> Path:
    """Write `figure` as a PNG of exactly figsize × dpi pixels at `path` (its folder is created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)  # no bbox_inches="tight": the size stays figsize × dpi
    return path


def points_limits(*clouds: torch.Tensor, margin: float = 0.1) -> tuple[float, float]:
    """One symmetric range for both axes that holds every cloud (ignoring the farthest 0.5%)."""
    extent = max(float(torch.quantile(c.abs().flatten().float(), 0.995)) for c in clouds if len(c))
    return -extent * (1 + margin), extent * (1 + margin)


def show_images(axis, images: torch.Tensor, title: str) -> None:
    """Images (B, C, H, W) in [-1, 1] (clipped) as one grid on `axis`, one white pixel apart."""
    tile = tile_images(images.detach().float().cpu().clamp(-1, 1) / 2 + 0.5).permute(1, 2, 0).numpy()  # (H', W', C)
    if tile.shape[-1] == 1:
        axis.imshow(tile[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        axis.imshow(tile, interpolation="nearest")
    axis.set_title(title, fontsize=9)
    axis.set_axis_off()


def show_points(
    axis, points: torch.Tensor, title: str, limits: tuple[float, float], data: torch.Tensor | None = None
) -> None:
    """Points (N, 2) in red over `data` (M, 2) in grey, framed by `limits`; the title counts the points outside."""
    if data is not None:
        axis.scatter(data[:, 0].numpy(), data[:, 1].numpy(), s=2, color=DATA_COLOUR, linewidths=0)
    points = points.detach().float().cpu()
    axis.scatter(points[:, 0].numpy(), points[:, 1].numpy(), s=3, color=SAMPLE_COLOUR, alpha=0.6, linewidths=0)
    axis.set(xlim=limits, ylim=limits, aspect="equal")
    outside = int((points.abs() > limits[1]).any(dim=1).sum())
    axis.set_title(title + (f"\n{outside} of {len(points)} outside the frame" if outside else ""), fontsize=9)
    axis.tick_params(labelsize=7)
