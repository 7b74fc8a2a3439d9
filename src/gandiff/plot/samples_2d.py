"""2-D samples over the data, one panel per model or checkpoint, with the modes of a mixture marked."""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Mapping
from pathlib import Path

import torch

from .canvas import MODE_COLOUR, new_figure, points_limits, save_figure, show_points

__all__ = ["plot_samples_2d"]


def plot_samples_2d(
    samples: torch.Tensor | Mapping[str, torch.Tensor],
    path: str | os.PathLike,
    data: torch.Tensor | None = None,
    mixture=None,
    title: str | None = None,
) -> Path:
    """Scatter 2-D samples (red) over the data (grey), one panel per entry.

    Args:
        samples: points (N, 2), or ``{panel title: points}`` — e.g. one entry per training
            checkpoint (``{"step 1000": ..., "step 2000": ...}``) or per model.
        path: the PNG to write.
        data: data points (M, 2) drawn behind the samples.
        mixture: a `GaussianMixture2D` (ring8, grid25): its modes are marked with their 3σ
            circles (the high-quality region of VEEGAN / PacGAN), and each panel's title
            gives the modes captured and the high-quality fraction.
        title: the figure's title.

    Returns:
        `path`, as a `Path`.

    Raises:
        ImportError: matplotlib is missing.
    """
    from ..metrics.mode_coverage import mode_coverage

    panels = dict(samples) if isinstance(samples, Mapping) else {"samples": samples}
    panels = {name: torch.as_tensor(points).detach().float().cpu() for name, points in panels.items()}
    data = None if data is None else torch.as_tensor(data).detach().float().cpu()
    clouds = list(panels.values()) + ([data] if data is not None else [])
    if mixture is not None:
        clouds.append(mixture.centers)
    limits = points_limits(*clouds)
    columns = min(len(panels), 4)
    rows = math.ceil(len(panels) / columns)
    figure = new_figure(3.6 * columns, 3.6 * rows + 0.4)
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis, (name, points) in zip(axes.flat, panels.items(), strict=False):  # extra axes stay empty
        label = name
        if mixture is not None:
            score = mode_coverage(points, mixture.centers, mixture.std)
            label = (
                f"{name}\n{score.modes_captured}/{score.num_modes} modes, "
                f"{score.high_quality_fraction:.0%} high quality"
            )
        show_points(axis, points, label, limits, data)
        if mixture is not None:
            for x, y in mixture.centers.tolist():
                axis.add_patch(_circle((x, y), 3 * mixture.std))
            centers = mixture.centers.numpy()
            axis.scatter(centers[:, 0], centers[:, 1], marker="+", s=25, color=MODE_COLOUR, linewidths=0.8)
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_axis_off()
    legend = "samples (red) over the data (grey)" + ("; +: modes, circles: 3σ" if mixture is not None else "")
    figure.suptitle(title or legend)
    return save_figure(figure, path)


def _circle(centre: tuple[float, float], radius: float):
    patches = importlib.import_module("matplotlib.patches")
    return patches.Circle(centre, radius, fill=False, color=MODE_COLOUR, linewidth=0.6)
