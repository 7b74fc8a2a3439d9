"""gandiff: interchangeable parts for GANs and diffusion models.

Public names are imported on first use (PEP 562), so ``import gandiff`` costs almost nothing
beyond Python itself and ``gandiff.DDPMScheduler`` imports only what a scheduler needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "ConfigMixin": "gandiff.configuration",
    "register": "gandiff.registry",
    "SchedulerMixin": "gandiff.schedulers.scheduling_utils",
    "SchedulerOutput": "gandiff.schedulers.scheduling_utils",
    "DDPMScheduler": "gandiff.schedulers.ddpm",
    "DDIMScheduler": "gandiff.schedulers.ddim",
    "ModelMixin": "gandiff.models.modeling",
    "UNet2DModel": "gandiff.models.unet_2d",
    "DCGANGenerator": "gandiff.models.dcgan",
    "DCGANDiscriminator": "gandiff.models.dcgan",
    "MLPDenoiser": "gandiff.models.mlp",
    "MLPGenerator": "gandiff.models.mlp",
    "MLPDiscriminator": "gandiff.models.mlp",
    "Pipeline": "gandiff.pipelines.pipeline",
    "ImagePipelineOutput": "gandiff.pipelines.pipeline",
    "PointsPipelineOutput": "gandiff.pipelines.pipeline",
    "DDPMPipeline": "gandiff.pipelines.ddpm",
    "GANPipeline": "gandiff.pipelines.gan",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'gandiff' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # for type checkers and IDEs only
    from .configuration import ConfigMixin
    from .models.dcgan import DCGANDiscriminator, DCGANGenerator
    from .models.mlp import MLPDenoiser, MLPDiscriminator, MLPGenerator
    from .models.modeling import ModelMixin
    from .models.unet_2d import UNet2DModel
    from .pipelines.ddpm import DDPMPipeline
    from .pipelines.gan import GANPipeline
    from .pipelines.pipeline import ImagePipelineOutput, Pipeline, PointsPipelineOutput
    from .registry import register
    from .schedulers.ddim import DDIMScheduler
    from .schedulers.ddpm import DDPMScheduler
    from .schedulers.scheduling_utils import SchedulerMixin, SchedulerOutput
