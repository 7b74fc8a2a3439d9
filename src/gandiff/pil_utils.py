"""Pictures from tensors, drawn with PIL only: sample grids, 2-D scatter plots, loss curves.

PIL is a core dependency, so a training run never fails or skips a picture for want of a
plotting library; the plots are plain but read at a glance. This module imports nothing of
gandiff (diffusers keeps ``make_image_grid`` in its utils the same way), so the trainers use it;
the matplotlib figures that read runs and checkpoints are `gandiff.plot`, which re-exports these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from PIL import Image, ImageDraw, ImageFont

__all__ = ["image_grid", "loss_curve", "scatter_plot", "tile_images"]

_BACKGROUND = (255, 255, 255)
_AXES = (90, 90, 90)
_COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75)]


def tile_images(images: torch.Tensor, nrow: int | None = None, padding: int = 1, border: int = 0) -> torch.Tensor:
    """Images (B, C, H, W) in [0, 1] side by side, `nrow` per row, with white gaps: one (C, H', W') image.

    Args:
        images: (B, C, H, W) images in [0, 1].
        nrow: images per row; ⌈√B⌉ by default.
        padding: white pixels between neighbouring images.
        border: white pixels around the whole grid.

    Returns:
        The grid, (C, rows·(H + padding) − padding + 2·border, nrow·(W + padding) − padding + 2·border);
        the cells of an unfilled last row stay white.

    Example:
        >>> tile_images(torch.zeros(3, 1, 4, 4), padding=1).shape  # 2 × 2 cells, 1 px between
        torch.Size([1, 9, 9])
    """
    count, channels, height, width = images.shape
    nrow = nrow or math.ceil(math.sqrt(count))
    rows = math.ceil(count / nrow)
    grid = torch.ones(
        channels, rows * (height + padding) - padding + 2 * border, nrow * (width + padding) - padding + 2 * border
    )
    for i, image in enumerate(images):
        row, column = divmod(i, nrow)
        top, left = border + row * (height + padding), border + column * (width + padding)
        grid[:, top : top + height, left : left + width] = image
    return grid


def image_grid(images: torch.Tensor, nrow: int | None = None, min_tile: int = 48, padding: int = 2) -> Image.Image:
    """Tile images (B, C, H, W) in [0, 1] into one picture, `nrow` per row (default: square).

    Small images (8×8 digits) are enlarged with nearest-neighbour to at least `min_tile`
    pixels, so each pixel stays visible as a square.

    Args:
        images: (B, C, H, W) images in [0, 1], C = 1 or 3.
        nrow: images per row; ⌈√B⌉ by default.
        min_tile: the smallest side, in pixels, of a tile.
        padding: white pixels between and around the tiles.

    Returns:
        A PIL image (mode ``L`` or ``RGB``).

    Example:
        >>> import torch
        >>> from gandiff.pil_utils import image_grid
        >>> image_grid(torch.rand(6, 1, 8, 8)).size  # 3 × 2 tiles of 48 px (8 px × 6), 2 px apart
        (152, 102)
    """
    images = images.detach().float().cpu().clamp(0, 1)
    scale = max(1, math.ceil(min_tile / max(images.shape[-2:])))
    images = images.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)  # nearest-neighbour
    grid = tile_images(images, nrow, padding=padding, border=padding)
    pixels = (grid * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()  # (H', W', C)
    return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def scatter_plot(
    samples: torch.Tensor, data: torch.Tensor | None = None, size: int = 480, title: str = ""
) -> Image.Image:
    """2-D `samples` (N, 2) in red over `data` (M, 2) in grey, framed by the data's extent.

    Args:
        samples: (N, 2) generated points.
        data: (M, 2) data points; they set the frame. Without them the samples set it, and
            the legend names none.
        size: the picture's side, in pixels.
        title: text shown at the top left.

    Returns:
        A square RGB PIL image.
    """
    samples = samples.detach().float().cpu()
    data = None if data is None else data.detach().float().cpu()
    frame = samples if data is None else data
    low, high = frame.min(dim=0).values, frame.max(dim=0).values
    centre, half = (low + high) / 2, float((high - low).max()) * 0.6 + 1e-6  # a square frame, 20% margin
    image = Image.new("RGB", (size, size), _BACKGROUND)
    draw = ImageDraw.Draw(image)

    def to_pixels(points: torch.Tensor) -> list[tuple[float, float]]:
        xy = (points - centre) / half  # [-1, 1] inside the frame
        xs, ys = (xy[:, 0] + 1) * size / 2, (1 - xy[:, 1]) * size / 2  # y grows upwards
        return [(x, y) for x, y in zip(xs.tolist(), ys.tolist(), strict=True) if 0 <= x < size and 0 <= y < size]

    for x, y in to_pixels(data) if data is not None else []:
        draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=(190, 190, 190))
    for x, y in to_pixels(samples):
        draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=(214, 39, 40))
    outside = len(samples) - len(to_pixels(samples))
    legend = [title] if title else []
    legend.append(f"red: {len(samples)} samples ({outside} outside)")
    if data is not None:
        legend.append("grey: data")
    draw.text((6, 4), "  ".join(legend), fill=_AXES, font=ImageFont.load_default())
    return image


def loss_curve(records: Sequence[dict], panels: Sequence[Sequence[str]], width: int = 720) -> Image.Image:
    """Logged values against the step: one panel per group of `panels` (e.g. the losses, then
    D(x) and D(G(z))), stacked, each with its own vertical scale and one colour per value.

    Args:
        records: the run's log records (`read_log`), each with a ``"step"``.
        panels: the keys of each panel, e.g. ``[["d_loss", "g_loss"], ["d_real", "d_fake"]]``.
        width: the picture's width, in pixels; each panel is 300 pixels high.

    Returns:
        An RGB PIL image.
    """
    parts = [_panel(records, keys, (width, 300)) for keys in panels]
    image = Image.new("RGB", (width, sum(p.height for p in parts)), _BACKGROUND)
    for i, part in enumerate(parts):
        image.paste(part, (0, 300 * i))
    return image


def _panel(records: Sequence[dict], keys: Sequence[str], size: tuple[int, int]) -> Image.Image:
    width, height = size
    left, right, top, bottom = 64, 16, 28, 36
    series = {k: [(r["step"], r[k]) for r in records if k in r and math.isfinite(r[k])] for k in keys}
    series = {k: v for k, v in series.items() if v}
    image = Image.new("RGB", size, _BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    if not series:
        draw.text((left, height // 2), f"nothing logged for {', '.join(keys)}", fill=_AXES, font=font)
        return image
    steps = [s for points in series.values() for s, _ in points]
    values = [v for points in series.values() for _, v in points]
    x0, x1 = min(steps), max(max(steps), min(steps) + 1)
    y0, y1 = min(values), max(values)
    y0, y1 = (y0 - 0.5, y1 + 0.5) if y1 - y0 < 1e-12 else (y0, y1)

    def to_pixel(step: float, value: float) -> tuple[float, float]:
        return (
            left + (step - x0) / (x1 - x0) * (width - left - right),
            top + (y1 - value) / (y1 - y0) * (height - top - bottom),
        )

    draw.rectangle((left, top, width - right, height - bottom), outline=_AXES)
    for value in (y0, (y0 + y1) / 2, y1):
        _, y = to_pixel(x0, value)
        draw.text((4, y - 6), f"{value:.3g}", fill=_AXES, font=font)
    draw.text((left, height - bottom + 6), f"step {x0}", fill=_AXES, font=font)
    draw.text((width - right - 70, height - bottom + 6), f"step {x1}", fill=_AXES, font=font)
    legend_x = left + 4
    for i, (key, points) in enumerate(series.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        pixels = [to_pixel(s, v) for s, v in points]
        if len(pixels) > 1:
            draw.line(pixels, fill=colour, width=1)
        else:
            draw.point(pixels, fill=colour)
        draw.text((legend_x, 8), key, fill=colour, font=font)
        legend_x += 8 * len(key) + 16
    return image
