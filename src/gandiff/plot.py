"""Pictures for understanding diffusion and GANs, each written as a PNG.

=========================  ======================================================================
function                   what it shows
=========================  ======================================================================
plot_schedules             β_t, ᾱ_t and log-SNR of the linear and cosine schedules
plot_forward_process       q(x_t | x_0) of images or a point cloud at several t (add_noise)
plot_reverse_process       x_T -> x_0: x_t and the predicted x_0 along the sampling loop
plot_gan_training          losses, D(x) and D(G(z)), gradient norms from a run's log.jsonl,
                           with the equilibrium of Goodfellow et al. 2014 marked
plot_samples_2d            2-D samples over the data, one panel per model or checkpoint
plot_checkpoints_2d        a 2-D training run's samples at each of its checkpoints, over the data
=========================  ======================================================================

matplotlib is an optional extra (``pip install "gandiff[plot]"``), imported when a function
is called. Figures are drawn on matplotlib's object interface (no pyplot, no global backend
state) at a fixed size, so a PNG is always `figsize × dpi` pixels.
"""

from __future__ import annotations

import copy
import importlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "ReverseTrajectory",
    "checkpoint_samples",
    "plot_checkpoints_2d",
    "plot_forward_process",
    "plot_gan_training",
    "plot_reverse_process",
    "plot_samples_2d",
    "plot_schedules",
    "read_run_config",
    "require_matplotlib",
    "reverse_trajectory",
]

INSTALL_HINT = 'pip install "gandiff[plot]"'
DPI = 100
# Names of the schedules in legends (diffusers' config names -> what the papers call them).
_SCHEDULE_NAMES = {
    "linear": "linear (Ho et al. 2020)",
    "scaled_linear": "scaled linear (latent diffusion)",
    "squaredcos_cap_v2": "cosine (Nichol & Dhariwal 2021)",
    "cosine": "cosine (Nichol & Dhariwal 2021)",
    "sigmoid": "sigmoid (GeoDiff)",
}
# Losses whose discriminator outputs a logit, D = σ(l): their D(x), D(G(z)) are probabilities.
_LOGIT_LOSSES = ("minimax", "non_saturating")
_DATA_COLOUR, _SAMPLE_COLOUR, _MODE_COLOUR = "#b0b0b0", "#d62728", "#1f1f1f"


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


def _figure(width: float, height: float):
    """A matplotlib Figure of `width` × `height` inches, or an ImportError saying how to install it."""
    return require_matplotlib().Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)  # no bbox_inches="tight": the size stays figsize × dpi
    return path


# -- schedules --------------------------------------------------------------------------------------


def plot_schedules(
    path: str | os.PathLike,
    schedules: Sequence[str] = ("linear", "squaredcos_cap_v2"),
    num_train_timesteps: int = 1000,
) -> Path:
    """β_t, ᾱ_t and log-SNR(t) = log(ᾱ_t / (1 − ᾱ_t)) of each β schedule, side by side.

    The tables are those a `DDPMScheduler` with ``beta_schedule=name`` builds (its defaults
    otherwise: β from 1e-4 to 0.02 for the linear schedule).

    Args:
        path: the PNG to write (its folder is created).
        schedules: ``beta_schedule`` names, one curve each.
        num_train_timesteps: T.

    Returns:
        `path`, as a `Path`.

    Raises:
        ValueError: an unknown schedule name (from `DDPMScheduler`).
        ImportError: matplotlib is missing.

    Example:
        >>> plot_schedules("schedules.png")  # doctest: +SKIP
    """
    from .schedulers.ddpm import DDPMScheduler

    figure = _figure(14, 4.2)
    beta_axis, alpha_axis, snr_axis = figure.subplots(1, 3)
    for name in schedules:
        scheduler = DDPMScheduler(num_train_timesteps=num_train_timesteps, beta_schedule=name)
        t = torch.arange(num_train_timesteps).numpy()
        alpha_bar = scheduler.alphas_cumprod
        label = _SCHEDULE_NAMES.get(name, name)
        beta_axis.plot(t, scheduler.betas.numpy(), label=label)
        alpha_axis.plot(t, alpha_bar.numpy(), label=label)
        snr_axis.plot(t, torch.log(alpha_bar / (1 - alpha_bar)).numpy(), label=label)
    beta_axis.set(yscale="log", title="β_t (noise added at step t)", xlabel="t", ylabel="β_t")
    alpha_axis.set(title="ᾱ_t = Π (1 − β_s): signal kept", xlabel="t", ylabel="ᾱ_t", ylim=(-0.02, 1.02))
    snr_axis.axhline(0, color="grey", linewidth=0.8, linestyle=":")
    snr_axis.set(title="log-SNR = log(ᾱ_t / (1 − ᾱ_t))", xlabel="t", ylabel="log-SNR (nats)")
    for axis in (beta_axis, alpha_axis, snr_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(f"β schedules, T = {num_train_timesteps}")
    return _save(figure, path)


# -- forward process ----------------------------------------------------------------------------


def _points_limits(*clouds: torch.Tensor, margin: float = 0.1) -> tuple[float, float]:
    """One symmetric range for both axes that holds every cloud (ignoring the farthest 0.5%)."""
    extent = max(float(torch.quantile(c.abs().flatten().float(), 0.995)) for c in clouds if len(c))
    return -extent * (1 + margin), extent * (1 + margin)


def _image_tile(images: torch.Tensor, ncol: int | None = None) -> torch.Tensor:
    """(B, C, H, W) in [-1, 1] -> one (H', W', C) array in [0, 1] with the images in a grid."""
    count, channels, height, width = images.shape
    ncol = ncol or math.ceil(math.sqrt(count))
    rows = math.ceil(count / ncol)
    tile = torch.ones(channels, rows * (height + 1) - 1, ncol * (width + 1) - 1)
    for i, image in enumerate(images.clamp(-1, 1) / 2 + 0.5):
        row, column = divmod(i, ncol)
        top, left = row * (height + 1), column * (width + 1)  # one pixel of white between images
        tile[:, top : top + height, left : left + width] = image
    return tile.permute(1, 2, 0)  # (H', W', C)


def _show_images(axis, images: torch.Tensor, title: str) -> None:
    tile = _image_tile(images.detach().float().cpu()).numpy()
    if tile.shape[-1] == 1:
        axis.imshow(tile[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        axis.imshow(tile, interpolation="nearest")
    axis.set_title(title, fontsize=9)
    axis.set_axis_off()


def _show_points(
    axis, points: torch.Tensor, title: str, limits: tuple[float, float], data: torch.Tensor | None = None
):
    if data is not None:
        axis.scatter(data[:, 0].numpy(), data[:, 1].numpy(), s=2, color=_DATA_COLOUR, linewidths=0)
    points = points.detach().float().cpu()
    axis.scatter(points[:, 0].numpy(), points[:, 1].numpy(), s=3, color=_SAMPLE_COLOUR, alpha=0.6, linewidths=0)
    axis.set(xlim=limits, ylim=limits, aspect="equal")
    outside = int((points.abs() > limits[1]).any(dim=1).sum())
    axis.set_title(title + (f"\n{outside} of {len(points)} outside the frame" if outside else ""), fontsize=9)
    axis.tick_params(labelsize=7)


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
    from .schedulers.ddpm import DDPMScheduler

    scheduler = scheduler if scheduler is not None else DDPMScheduler()
    x0 = torch.as_tensor(x0).detach().float().cpu()
    is_points = x0.ndim == 2
    if not is_points and x0.ndim == 3:
        x0 = x0[None]
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    noisy = [scheduler.add_noise(x0, noise, torch.full((len(x0),), t, dtype=torch.long)) for t in timesteps]
    rows = 1 if is_points else len(x0)
    figure = _figure(2.3 * len(timesteps), 2.6 * rows + 0.5)
    axes = figure.subplots(rows, len(timesteps), squeeze=False)
    limits = _points_limits(x0, *noisy) if is_points else None
    for column, (t, x_t) in enumerate(zip(timesteps, noisy, strict=True)):
        alpha_bar = float(scheduler.alphas_cumprod[t])
        title = f"t = {t}\nᾱ = {alpha_bar:.3g}, √ᾱ = {math.sqrt(alpha_bar):.2f}"
        if is_points:
            _show_points(axes[0, column], x_t, title, limits)
        else:
            for row in range(rows):
                _show_images(axes[row, column], x_t[row : row + 1], title if row == 0 else "")
    figure.suptitle(
        "forward process q(x_t | x_0): x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, one ε for all t"
        + ("" if is_points else " (shown clipped to [-1, 1])")
    )
    return _save(figure, path)


# -- reverse process ----------------------------------------------------------------------------


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
    from .pipelines.pipeline import ImagePipelineOutput
    from .pipelines.sampling import balanced_labels

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
    figure = _figure(2.4 * columns, 5.6)
    axes = figure.subplots(2, columns, squeeze=False)
    if is_points:
        data = None if data is None else torch.as_tensor(data).float().cpu()
        # Framed by x_T, the samples and the data; not by the early x_0 predictions, which
        # divide by √ᾱ_t ≈ 0.006 at t = T and can land far outside.
        limits = _points_limits(trajectory.samples[0], trajectory.final, *([data] if data is not None else []))
    for column, t in enumerate(trajectory.timesteps):
        x_t, x0 = trajectory.samples[column], trajectory.predicted_x0[column]
        if is_points:
            _show_points(axes[0, column], x_t, f"x_t, t = {t}", limits, data)
            _show_points(axes[1, column], x0, f"predicted x_0 at t = {t}", limits, data)
        else:
            _show_images(axes[0, column], x_t, f"x_t, t = {t}")
            _show_images(axes[1, column], x0, f"predicted x_0 at t = {t}")
    if is_points:
        _show_points(axes[0, -1], trajectory.final, "x_0 (samples)", limits, data)
    else:
        _show_images(axes[0, -1], trajectory.final, "x_0 (samples)")
    axes[1, -1].set_axis_off()
    name = type(pipeline.scheduler).__name__
    figure.suptitle(
        f"reverse process, {name} with {num_inference_steps} steps: x_t (top), the network's "
        f"prediction of x_0 from it (bottom)" + ("" if is_points else "; images clipped to [-1, 1]")
    )
    return _save(figure, path)


# -- GAN training -------------------------------------------------------------------------------


def read_run_config(run: str | os.PathLike) -> dict[str, Any]:
    """The settings of a training run, from its ``training_config.json``.

    Args:
        run: a run's output folder (``--output-dir`` of ``gandiff train``).

    Returns:
        The saved config: ``_class_name`` (``"GANTrainingConfig"`` or
        ``"DiffusionTrainingConfig"``), ``dataset``, and every other setting of the run.

    Raises:
        FileNotFoundError: the folder does not exist, or holds no ``training_config.json``.
    """
    run = Path(run)
    if not run.is_dir():
        raise FileNotFoundError(f"no run folder {run}; pass the --output-dir of a `gandiff train` run")
    path = run / "training_config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run} is not the output folder of a training run: it has no training_config.json")
    return json.loads(path.read_text(encoding="utf-8"))


def _read_run(run: str | os.PathLike) -> tuple[list[dict[str, Any]], str | None]:
    """A GAN run folder's log records and loss name (from its training_config.json)."""
    from .training.logger import read_log

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
    figure = _figure(15 if has_norms else 10.5, 4.4)
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
    return _save(figure, path)


# -- 2-D samples --------------------------------------------------------------------------------


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
    from .metrics.mode_coverage import mode_coverage

    panels = dict(samples) if isinstance(samples, Mapping) else {"samples": samples}
    panels = {name: torch.as_tensor(points).detach().float().cpu() for name, points in panels.items()}
    data = None if data is None else torch.as_tensor(data).detach().float().cpu()
    clouds = list(panels.values()) + ([data] if data is not None else [])
    if mixture is not None:
        clouds.append(mixture.centers)
    limits = _points_limits(*clouds)
    columns = min(len(panels), 4)
    rows = math.ceil(len(panels) / columns)
    figure = _figure(3.6 * columns, 3.6 * rows + 0.4)
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis, (name, points) in zip(axes.flat, panels.items(), strict=False):  # extra axes stay empty
        label = name
        if mixture is not None:
            score = mode_coverage(points, mixture.centers, mixture.std)
            label = (
                f"{name}\n{score.modes_captured}/{score.num_modes} modes, "
                f"{score.high_quality_fraction:.0%} high quality"
            )
        _show_points(axis, points, label, limits, data)
        if mixture is not None:
            for x, y in mixture.centers.tolist():
                axis.add_patch(_circle((x, y), 3 * mixture.std))
            centers = mixture.centers.numpy()
            axis.scatter(centers[:, 0], centers[:, 1], marker="+", s=25, color=_MODE_COLOUR, linewidths=0.8)
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_axis_off()
    legend = "samples (red) over the data (grey)" + ("; +: modes, circles: 3σ" if mixture is not None else "")
    figure.suptitle(title or legend)
    return _save(figure, path)


def _circle(centre: tuple[float, float], radius: float):
    patches = importlib.import_module("matplotlib.patches")
    return patches.Circle(centre, radius, fill=False, color=_MODE_COLOUR, linewidth=0.6)


# -- 2-D samples at each checkpoint of a run ------------------------------------------------------


def checkpoint_samples(
    run: str | os.PathLike,
    num_samples: int = 1000,
    seed: int = 0,
    num_inference_steps: int | None = None,
) -> dict[str, torch.Tensor]:
    """Samples of a training run's network at each of its checkpoints, oldest first.

    The run's pipeline folder (written when the run finishes) gives the architecture and, for
    diffusion, the scheduler; each checkpoint gives the weights of the network that samples:
    the EMA when the run keeps one (what the saved pipeline holds), else the generator (GAN) or
    the denoiser (diffusion). Every checkpoint is sampled with the same seed, so the panels
    differ only by the weights.

    Args:
        run: a run's output folder, with ``checkpoints/`` and ``pipeline/``.
        num_samples: samples per checkpoint.
        seed: seeds the sampling.
        num_inference_steps: reverse steps of a diffusion run (default: its T).

    Returns:
        ``{"step <n>": samples}``: points (num_samples, 2) for 2-D runs, images in [-1, 1] otherwise.

    Raises:
        FileNotFoundError: no such run, no checkpoints, or no pipeline folder yet.
    """
    from .evaluation import sample_pipeline
    from .pipelines.pipeline import Pipeline
    from .training.checkpoints import (
        checkpoint_modules,
        checkpoint_step,
        list_checkpoints,
        load_module_weights,
    )
    from .training.output import PIPELINE_DIR

    read_run_config(run)  # a missing or foreign folder is named as such
    checkpoints = list_checkpoints(run)
    if not checkpoints:
        raise FileNotFoundError(
            f"{run} has no checkpoints (checkpoints/checkpoint-<step>); train with "
            "--checkpoint-every N (and --checkpoints-total-limit to keep more than 3)"
        )
    folder = Path(run) / PIPELINE_DIR
    if not (folder / "model_index.json").is_file():
        raise FileNotFoundError(
            f"{run} has no pipeline folder yet; the run writes it when it finishes, and its "
            "components give the architecture the checkpoints' weights are loaded into"
        )
    pipeline = Pipeline.from_pretrained(folder)
    pipeline.set_progress_bar_config(disable=True)
    diffusion = pipeline.is_diffusion
    network = pipeline.network
    samples = {}
    for checkpoint in checkpoints:
        # The trainers' names: "ema" is the average of "model" (diffusion) or "generator" (GAN).
        name = "ema" if "ema" in checkpoint_modules(checkpoint) else ("model" if diffusion else "generator")
        network.load_state_dict(load_module_weights(checkpoint, name))
        network.eval()
        samples[f"step {checkpoint_step(checkpoint)}"] = sample_pipeline(
            pipeline, num_samples, num_inference_steps=num_inference_steps if diffusion else None, seed=seed
        )
    return samples


def plot_checkpoints_2d(
    run: str | os.PathLike,
    path: str | os.PathLike,
    num_samples: int = 1000,
    seed: int = 0,
    num_inference_steps: int | None = None,
) -> Path:
    """A 2-D training run's samples at each of its checkpoints, over its data: how the model
    learned, and for GANs whether and when modes were dropped.

    For ring8 and grid25 each panel gives the modes captured and the high-quality fraction
    (VEEGAN / PacGAN protocol, see `plot_samples_2d`).

    Args:
        run: the output folder of a 2-D ``gandiff train gan`` or ``gandiff train ddpm`` run.
        path: the PNG to write.
        num_samples, seed, num_inference_steps: see `checkpoint_samples`.

    Returns:
        `path`.

    Raises:
        FileNotFoundError: see `checkpoint_samples`.
        ValueError: the run trained on images.
        ImportError: matplotlib is missing (checked before any sampling).

    Example:
        >>> plot_checkpoints_2d("out/ring8-gan", "checkpoints.png")  # doctest: +SKIP
    """
    from .data import POINT_SETS, load_dataset

    require_matplotlib()
    config = read_run_config(run)
    dataset = config.get("dataset")
    if dataset not in POINT_SETS:
        raise ValueError(
            f"{run} trained on {dataset!r}, not a 2-D point set ({', '.join(POINT_SETS)}): "
            "checkpoint scatter plots are for 2-D runs; sample image runs with `gandiff sample`"
        )
    data = load_dataset(dataset, num_samples=2000, seed=1001)  # not the training draw (seed 0)
    panels = checkpoint_samples(run, num_samples, seed, num_inference_steps)
    kind = "GAN" if config.get("_class_name") == "GANTrainingConfig" else "diffusion"
    title = f"{Path(run).name}: {kind} samples (red) over {dataset} (grey) at each checkpoint"
    if data.mixture is not None:
        title += "; +: modes, circles: 3σ"
    return plot_samples_2d(panels, path, data=data.points, mixture=data.mixture, title=title)
