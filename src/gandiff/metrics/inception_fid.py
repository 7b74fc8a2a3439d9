"""Standard FID (Heusel et al. 2017): the Fréchet distance of Inception-v3 pool3 features.

The features come from torch-fidelity (an optional extra: ``pip install "gandiff[metrics]"``),
whose Inception-v3 is the TensorFlow original ported bit-exactly (the same weights as
torchmetrics, clean-fid and pytorch-fid), so the numbers compare with published FIDs when the
sample sizes match (50,000 samples against the training set, by convention). The distance
itself is gandiff's `frechet_distance`, the same formula those packages compute.

The weights (about 92 MB) are downloaded on first use into torch's hub cache. Where there is
no internet, download the file named in the error message elsewhere and put it in that cache
folder, or pass ``weights_path=``; or score digits offline with the classifier features of
`gandiff.metrics.digit_classifier`.
"""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path
from types import ModuleType

import torch

from .frechet_distance import frechet_distance

__all__ = ["InceptionWeightsUnavailableError", "inception_fid", "inception_features", "inception_weights_path"]

INSTALL_HINT = 'pip install "gandiff[metrics]"'
_MODULE = "torch_fidelity.feature_extractor_inceptionv3"


class InceptionWeightsUnavailableError(RuntimeError):
    """The Inception-v3 weights are neither cached nor downloadable; the message says how to get them."""


def _torch_fidelity() -> ModuleType:
    try:
        return importlib.import_module(_MODULE)
    except ImportError as error:
        raise ImportError(
            f"Inception FID needs the optional package 'torch-fidelity', which is not installed; "
            f"install gandiff's metrics extra: {INSTALL_HINT}"
        ) from error


def inception_weights_path(weights_path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The local file of torch-fidelity's Inception-v3 weights, downloading it when allowed.

    Args:
        weights_path: use this file (it must exist) instead of the cache.
        download: fetch the file into torch's hub cache when it is not there yet.

    Returns:
        The path of the weights file.

    Raises:
        InceptionWeightsUnavailableError: the file is not cached and may not or could not be
            downloaded; the message names the URL and where to put the file.
        FileNotFoundError: `weights_path` does not exist.
    """
    if weights_path is not None:
        if not Path(weights_path).is_file():
            raise FileNotFoundError(f"Inception weights file {weights_path} does not exist")
        return Path(weights_path)
    url = _torch_fidelity().URL_INCEPTION_V3
    cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    if cached.is_file():
        return cached
    how = (
        f"download {url} on a machine with internet access and copy it to {cached} (torch's hub cache; "
        f"set TORCH_HOME to move it), or pass weights_path=. Without them, digit models can be scored "
        f"offline with gandiff's classifier Fréchet distance (evaluate_pipeline on digits or mnist5k)."
    )
    if not download:
        raise InceptionWeightsUnavailableError(f"the Inception-v3 weights for FID are not cached; {how}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(cached), progress=False)
    except OSError as error:  # URLError, socket errors and HTTP errors are all OSErrors
        raise InceptionWeightsUnavailableError(
            f"the Inception-v3 weights for FID could not be downloaded ({error}); {how}"
        ) from error
    return cached


@functools.lru_cache(maxsize=1)
def _extractor(weights_path: str):
    """torch-fidelity's Inception-v3 with the weights at `weights_path`, built once for a run of calls."""
    return _torch_fidelity().FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=weights_path
    )


@torch.no_grad()
def inception_features(
    images: torch.Tensor,
    weights_path: str | os.PathLike | None = None,
    download: bool = True,
    batch_size: int = 50,
) -> torch.Tensor:
    """Inception-v3 pool3 features (N, 2048) of images (N, C, H, W) in [-1, 1], C = 1 or 3.

    Images are quantized to 8 bits as saved images are (what FID is defined on); grey images
    are repeated over three channels. torch-fidelity resizes them to 299 × 299 itself.

    Args:
        images: (N, 1 or 3, H, W) images in [-1, 1].
        weights_path, download: as for `inception_weights_path`.
        batch_size: images per forward pass.

    Returns:
        (N, 2048) float features.

    Raises:
        ImportError: torch-fidelity is missing (``pip install "gandiff[metrics]"``).
        InceptionWeightsUnavailableError: the weights are not cached and cannot be downloaded.
        ValueError: for images of another shape.
    """
    extractor = _extractor(str(inception_weights_path(weights_path, download)))
    images = torch.as_tensor(images).detach().float().cpu()
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images (N, 1 or 3, H, W), got shape {tuple(images.shape)}")
    pixels = ((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1)
    return torch.cat([extractor(batch)[0] for batch in pixels.split(batch_size)])


def inception_fid(
    real: torch.Tensor,
    fake: torch.Tensor,
    weights_path: str | os.PathLike | None = None,
    download: bool = True,
    batch_size: int = 50,
) -> float:
    """FID between `real` and `fake` images (N, C, H, W) in [-1, 1] (see `inception_features`).

    Args:
        real: (N, C, H, W) data images in [-1, 1].
        fake: (M, C, H, W) generated images in [-1, 1].
        weights_path, download, batch_size: as for `inception_features`.

    Returns:
        The Fréchet distance of the two sets' Inception features (Heusel et al. 2017).

    Raises:
        ImportError, InceptionWeightsUnavailableError, ValueError: as `inception_features`.
    """
    options = dict(weights_path=weights_path, download=download, batch_size=batch_size)
    return frechet_distance(inception_features(real, **options), inception_features(fake, **options))
