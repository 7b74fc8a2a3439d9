"""Image transforms for training: resize, crop to a square, flip, scale to [-1, 1].

Images enter as float tensors (C, H, W) in [0, 1] and leave as (C, resolution, resolution) in
[-1, 1], the range the models and pipelines work in. Everything after decoding is done in torch
(no torchvision), on tensors rather than PIL images, so the in-memory sets (digits, mnist5k)
and decoded files go through the same code, and a whole in-memory set can be resized once.

Random choices (crop offset, flip) come from a `torch.Generator` that the data set seeds per
item from (seed, epoch, index), so an item looks the same whichever DataLoader worker loads it,
and a resumed run sees the same augmentations as an uninterrupted one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ImageTransform", "pil_to_tensor", "resize_shorter_side", "crop_square", "to_signed"]


def pil_to_tensor(image: Image.Image, mode: str) -> torch.Tensor:
    """Convert a PIL image to `mode` ("L" or "RGB") and return it as (C, H, W) float32 in [0, 1].

    Args:
        image: any PIL image.
        mode: ``"L"`` (one channel) or ``"RGB"`` (three).

    Returns:
        (1 or 3, H, W) float32 in [0, 1].
    """
    import numpy as np

    array = np.asarray(image.convert(mode), dtype=np.uint8)  # (H, W) or (H, W, C)
    tensor = torch.from_numpy(array.copy())
    tensor = tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1)  # (C, H, W)
    return tensor.float() / 255


def resize_shorter_side(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (C, H, W) or (N, C, H, W) images in [0, 1] so that the shorter side is `size`.

    Bicubic, with antialiasing when shrinking (PIL's resize does the same); bicubic overshoots
    at sharp edges, so the result is clipped back to [0, 1]. Images already the right size are
    returned as they are.

    Args:
        images: (C, H, W) or (N, C, H, W) float images in [0, 1].
        size: the new shorter side.

    Returns:
        The resized images, the aspect ratio kept to the nearest pixel.

    Example:
        >>> import torch
        >>> from gandiff.data.transforms import resize_shorter_side
        >>> resize_shorter_side(torch.rand(3, 40, 60), 20).shape
        torch.Size([3, 20, 30])
    """
    height, width = images.shape[-2:]
    if min(height, width) == size:
        return images
    scale = size / min(height, width)
    # The shorter side is set to `size` exactly; the longer one is rounded, not truncated, so the
    # aspect ratio is kept as closely as whole pixels allow.
    new_size = (size, round(width * scale)) if height <= width else (round(height * scale), size)
    batch = images if images.dim() == 4 else images[None]
    resized = F.interpolate(batch, size=new_size, mode="bicubic", antialias=True, align_corners=False)
    resized = resized.clamp_(0, 1)
    return resized if images.dim() == 4 else resized[0]


def crop_square(image: torch.Tensor, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Crop a `size` × `size` window out of (..., H, W): centred, or at a random offset drawn
    from `generator` when one is given.

    Args:
        image: a tensor (..., H, W) with H, W >= `size`.
        size: the side of the crop.
        generator: draws the offset; None crops the centre.

    Returns:
        The (..., size, size) crop, a view of `image`.
    """
    height, width = image.shape[-2:]
    if height == width == size:
        return image
    if generator is None:
        top, left = (height - size) // 2, (width - size) // 2
    else:
        top = int(torch.randint(height - size + 1, (), generator=generator))
        left = int(torch.randint(width - size + 1, (), generator=generator))
    return image[..., top : top + size, left : left + size]


def to_signed(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1], the range the models train on.

    Args:
        image: values in [0, 1].

    Returns:
        ``2 · image − 1``.
    """
    return image * 2 - 1


class ImageTransform:
    """Resize the shorter side to `resolution`, crop to a square, maybe flip, scale to [-1, 1].

    The order and the defaults follow diffusers' ``train_unconditional.py``: resize, then
    ``CenterCrop`` if `center_crop` else ``RandomCrop``, then ``RandomHorizontalFlip`` if
    `random_flip`, then ``Normalize([0.5], [0.5])``.

    Args:
        resolution: side of the square output.
        center_crop: crop the centre; otherwise crop at a random offset (which only matters
            for images that are not square).
        random_flip: flip left-right with probability 1/2.
    """

    def __init__(self, resolution: int, center_crop: bool = False, random_flip: bool = False):
        self.resolution = resolution
        self.center_crop = center_crop
        self.random_flip = random_flip

    def __call__(self, image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(C, H, W) in [0, 1] -> (C, resolution, resolution) in [-1, 1]; randomness from `generator`.

        Args:
            image: (C, H, W) float in [0, 1].
            generator: draws the crop offset and the flip.

        Returns:
            (C, resolution, resolution) in [-1, 1].
        """
        image = resize_shorter_side(image, self.resolution)
        image = crop_square(image, self.resolution, generator=None if self.center_crop else generator)
        if self.random_flip and torch.rand((), generator=generator) < 0.5:
            image = image.flip(-1)
        return to_signed(image)

    def __repr__(self) -> str:
        return (
            f"ImageTransform(resolution={self.resolution}, center_crop={self.center_crop}, "
            f"random_flip={self.random_flip})"
        )
