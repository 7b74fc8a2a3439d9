"""The forward process q(x_t | x_0) of images or a point cloud at several t."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from .canvas import new_figure, points_limits, save_figure, show_images, show_points

__all__ = ["plot_forward_process"]


def plot_forward_process(
    x0: torch.Tensor,
    path: str | os.PathLike,
    scheduler=None,
    timesteps: Sequence[int] = (0, 50, 100, 200, 400, 700, 999),
    seed: int = 0,
) -> Path:
    """x_t ~ q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) at each of `timesteps`, one panel each.

    The same ε is used at every t, so the panels show one path x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε
    from the data to pure noise.

    Args:
        x0: images (B, C, H, W) or (C, H, W) in [-1, 1] (one row of panels per image), or a
            point cloud (N, 2) (one row of scatter plots; the ring dissolving into a Gaussian).
        path: the PNG to write.
        scheduler: whose ``add_noise`` and ``alphas_cumprod`` to use (default: ``DDPMScheduler()``,
            Ho et al.'s linear schedule).
        timesteps: the t to show, 0-indexed as in the schedulers (t = 0 is one step of noise).
        seed: seeds ε.

    Returns:
        `path`, as a `Path`.

    Raises:
        ImportError: matplotlib is missing.

    Example:
        >>> from gandiff.data import load_dataset
        >>> plot_forward_process(load_dataset("ring8", num_samples=1000).points, "forward.png")  # doctest: +SKIP
    """
    from ..schedulers.ddpm import DDPMScheduler

    scheduler = scheduler if scheduler is not None else DDPMScheduler()
    x0 = torch.as_tensor(x0).detach().float().cpu()
    is_points = x0.ndim == 2
    if not is_points and x0.ndim == 3:
        x0 = x0[None]
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    noisy = [scheduler.add_noise(x0, noise, torch.full((len(x0),), t, dtype=torch.long)) for t in timesteps]
    rows = 1 if is_points else len(x0)
    figure = new_figure(2.3 * len(timesteps), 2.6 * rows + 0.5)
    axes = figure.subplots(rows, len(timesteps), squeeze=False)
    limits = points_limits(x0, *noisy) if is_points else None
    for column, (t, x_t) in enumerate(zip(timesteps, noisy, strict=True)):
        alpha_bar = float(scheduler.alphas_cumprod[t])
        title = f"t = {t}\nᾱ = {alpha_bar:.3g}, √ᾱ = {math.sqrt(alpha_bar):.2f}"
        if is_points:
            show_points(axes[0, column], x_t, title, limits)
        else:
            for row in range(rows):
                show_images(axes[row, column], x_t[row : row + 1], title if row == 0 else "")
    figure.suptitle(
        "forward process q(x_t | x_0): x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, one ε for all t"
        + ("" if is_points else " (shown clipped to [-1, 1])")
    )
    return save_figure(figure, path)
