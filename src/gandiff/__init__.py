"""gandiff: interchangeable parts for GANs and diffusion models.

Public names are imported on first use (PEP 562), so ``import gandiff`` costs almost nothing
beyond Python itself and ``gandiff.DDPMScheduler`` imports only what a scheduler needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import registry as _registry
from ._lazy import lazy_getattr as _lazy_getattr
from ._version import __version__

# The one table of gandiff's public names: name -> (module inside gandiff that defines it, the
# registry kind of a class that saved files can name, or None). It serves both the lazy names
# below and the registry's built-in classes; in both, the module is imported on first use.
_PUBLIC: dict[str, tuple[str, str | None]] = {
    "ConfigMixin": ("configuration", None),
    "register": ("registry", None),
    "SchedulerMixin": ("schedulers.protocol", None),
    "SchedulerOutput": ("schedulers.protocol", None),
    "DDPMScheduler": ("schedulers.ddpm", "scheduler"),
    "DDIMScheduler": ("schedulers.ddim", "scheduler"),
    "ModelMixin": ("models.modeling", None),
    "UNet2DModel": ("models.unet_2d", "model"),
    "DCGANGenerator": ("models.dcgan", "model"),
    "DCGANDiscriminator": ("models.dcgan", "model"),
    "MLPDenoiser": ("models.mlp", "model"),
    "MLPGenerator": ("models.mlp", "model"),
    "MLPDiscriminator": ("models.mlp", "model"),
    "Pipeline": ("pipelines.pipeline", None),
    "ImagePipelineOutput": ("pipelines.pipeline", None),
    "PointsPipelineOutput": ("pipelines.pipeline", None),
    "DDPMPipeline": ("pipelines.ddpm", "pipeline"),
    "GANPipeline": ("pipelines.gan", "pipeline"),
}


def _declare_builtins() -> None:
    for name, (module, kind) in _PUBLIC.items():
        if kind is not None:
            _registry.declare_builtin(kind, name, f"{__name__}.{module}")


_declare_builtins()

__all__ = ["__version__", *_PUBLIC]


__getattr__ = _lazy_getattr(
    __name__, {name: f"{__name__}.{module}" for name, (module, _) in _PUBLIC.items()}, globals()
)


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
    from .schedulers.protocol import SchedulerMixin, SchedulerOutput
