"""The reverse process x_T -> x_0 of a diffusion pipeline: x_t and the predicted x_0 along the
sampling loop, recorded through the pipeline's per-step ``callback``."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .canvas import new_figure, points_limits, save_figure, show_images, show_points

__all__ = ["ReverseTrajectory", "plot_reverse_process", "reverse_trajectory"]


@dataclass
class ReverseTrajectory:
    """Snapshots of one run of the sampling loop.

    Attributes:
        timesteps: the t of each snapshot, in sampling order (descending).
        samples: x_t fed to the network at each snapshot, each (B, ...).
        predicted_x0: the scheduler's prediction of x_0 from that x_t, each (B, ...).
        final: the samples x_0 the loop ends with, (B, ...): the pipeline's output (images
            clipped to [-1, 1]).
    """

    timesteps: list[int]
    samples: list[torch.Tensor]
    predicted_x0: list[torch.Tensor]
    final: torch.Tensor


def reverse_trajectory(
    pipeline,
    batch_size: int = 8,
    num_inference_steps: int = 50,
    num_frames: int = 6,
    seed: int = 0,
    class_labels: torch.Tensor | None = None,
) -> ReverseTrajectory:
    """Run the diffusion pipeline, keeping x_t and the predicted x_0 at `num_frames` evenly
    spaced steps (the first and the last included), through its per-step ``callback``.

    The samples are the pipeline's own, drawn as `gandiff.pipelines.sampling.draw_samples`
    draws them (one generator seeded with `seed`), so a seed gives the same final samples as
    ``pipeline(...)``. A class-conditional network gets the balanced labels 0, 1, 2, ... unless
    `class_labels` are given.

    Args:
        pipeline: a `DDPMPipeline` (its scheduler's timesteps are reset to `num_inference_steps`).
        batch_size: samples to follow.
        num_inference_steps: steps of the loop.
        num_frames: snapshots to keep.
        seed: seeds the starting noise and the scheduler's noise.
        class_labels: labels (batch_size,) for a class-conditional network.

    Returns:
        The `ReverseTrajectory`, on the CPU in float32.
    """
    from ..pipelines.pipeline import ImagePipelineOutput
    from ..pipelines.sampling import balanced_labels

    if class_labels is None:
        class_labels = balanced_labels(batch_size, pipeline.num_classes)
    # Steps of the loop: a second-order scheduler (Heun) makes more than num_inference_steps.
    pipeline.scheduler.set_timesteps(num_inference_steps)
    num_steps = len(pipeline.scheduler.timesteps)
    keep = set(torch.linspace(0, num_steps - 1, num_frames).round().long().tolist())
    trajectory = ReverseTrajectory(timesteps=[], samples=[], predicted_x0=[], final=torch.empty(0))

    def snapshot(i: int, t: torch.Tensor, sample: torch.Tensor, predicted_x0: torch.Tensor) -> None:
        if i in keep:
            trajectory.timesteps.append(int(t))
            trajectory.samples.append(sample.float().cpu())
            trajectory.predicted_x0.append(predicted_x0.float().cpu())

    quiet = copy.copy(pipeline)  # the same components; the caller's progress-bar setting stays
    quiet.set_progress_bar_config(disable=True)
    out = quiet(
        batch_size=batch_size,
        generator=torch.Generator(pipeline.device).manual_seed(seed),
        num_inference_steps=num_inference_steps,
        class_labels=class_labels,
        output_type="pt",
        callback=snapshot,
    )
    # The pipeline's output is in [0, 1] for images; the trajectory stays in model space.
    trajectory.final = out.images * 2 - 1 if isinstance(out, ImagePipelineOutput) else out.points
    return trajectory


def plot_reverse_process(
    pipeline,
    path: str | os.PathLike,
    batch_size: int | None = None,
    num_inference_steps: int = 50,
    num_frames: int = 6,
    seed: int = 0,
    data: torch.Tensor | None = None,
) -> Path:
    """The reverse process x_T -> x_0 of a diffusion pipeline: x_t (top row) and the network's
    predicted x_0 (bottom row) at `num_frames` steps, then the final samples.

    Args:
        pipeline: a `DDPMPipeline` (any scheduler; DDIM makes short trajectories).
        path: the PNG to write.
        batch_size: samples to follow (default: 16 images, or 1,000 points).
        num_inference_steps, num_frames, seed: see `reverse_trajectory`.
        data: for 2-D pipelines, data points (M, 2) drawn in grey behind the samples.

    Returns:
        `path`, as a `Path`.

    Raises:
        ImportError: matplotlib is missing.
    """
    is_points = len(pipeline.network.sample_shape) == 1
    batch_size = batch_size or (1000 if is_points else 16)
    trajectory = reverse_trajectory(pipeline, batch_size, num_inference_steps, num_frames, seed)
    columns = len(trajectory.timesteps) + 1
    figure = new_figure(2.4 * columns, 5.6)
    axes = figure.subplots(2, columns, squeeze=False)
    if is_points:
        data = None if data is None else torch.as_tensor(data).float().cpu()
        # Framed by x_T, the samples and the data; not by the early x_0 predictions, which
        # divide by √ᾱ_t ≈ 0.006 at t = T and can land far outside.
        limits = points_limits(trajectory.samples[0], trajectory.final, *([data] if data is not None else []))
    for column, t in enumerate(trajectory.timesteps):
        x_t, x0 = trajectory.samples[column], trajectory.predicted_x0[column]
        if is_points:
            show_points(axes[0, column], x_t, f"x_t, t = {t}", limits, data)
            show_points(axes[1, column], x0, f"predicted x_0 at t = {t}", limits, data)
        else:
            show_images(axes[0, column], x_t, f"x_t, t = {t}")
            show_images(axes[1, column], x0, f"predicted x_0 at t = {t}")
    if is_points:
        show_points(axes[0, -1], trajectory.final, "x_0 (samples)", limits, data)
    else:
        show_images(axes[0, -1], trajectory.final, "x_0 (samples)")
    axes[1, -1].set_axis_off()
    name = type(pipeline.scheduler).__name__
    figure.suptitle(
        f"reverse process, {name} with {num_inference_steps} steps: x_t (top), the network's "
        f"prediction of x_0 from it (bottom)" + ("" if is_points else "; images clipped to [-1, 1]")
    )
    return save_figure(figure, path)
