"""β_t, ᾱ_t and the log-SNR of β schedules, side by side."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from .canvas import new_figure, save_figure

__all__ = ["plot_schedules"]

# Names of the schedules in legends (diffusers' config names -> what the papers call them).
_SCHEDULE_NAMES = {
    "linear": "linear (Ho et al. 2020)",
    "scaled_linear": "scaled linear (latent diffusion)",
    "squaredcos_cap_v2": "cosine (Nichol & Dhariwal 2021)",
    "cosine": "cosine (Nichol & Dhariwal 2021)",
    "sigmoid": "sigmoid (GeoDiff)",
}


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
    from ..schedulers.ddpm import DDPMScheduler

    figure = new_figure(14, 4.2)
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
    return save_figure(figure, path)
