"""GANPipeline: sample from a trained generator G(z); the discriminator is optional."""

from __future__ import annotations

import torch

from ..registry import register
from .ddpm import _class_labels
from .pipeline import ImagePipelineOutput, Pipeline, PointsPipelineOutput, randn_tensor

__all__ = ["GANPipeline"]


@register("pipeline")
class GANPipeline(Pipeline):
    """x = G(z), z ~ N(0, I). Serves images (DCGAN) and points (MLP generators) alike.

    Args:
        generator: the generator network; called as ``generator(z, class_labels=...)`` and
            has ``latent_dim`` in its config.
        discriminator: optional; kept so training can resume from the pipeline, and may be
            dropped (``None``) after training.

    Raises:
        ValueError: when no generator is given.

    Example:
        >>> import torch
        >>> from gandiff import DCGANGenerator, GANPipeline
        >>> generator = DCGANGenerator(latent_dim=8, out_channels=1, resolution=28, base_channels=4)
        >>> pipe = GANPipeline(generator=generator)
        >>> out = pipe(batch_size=2, generator=torch.Generator().manual_seed(0), output_type="np")
        >>> out.images.shape, out.images.dtype
        ((2, 28, 28, 1), dtype('float32'))
        >>> bool(out.images.min() >= 0 and out.images.max() <= 1)
        True
    """

    def __init__(self, generator=None, discriminator=None):
        if generator is None:
            raise ValueError("GANPipeline needs a generator network, e.g. gandiff.DCGANGenerator()")
        super().__init__(generator=generator, discriminator=discriminator)

    @torch.no_grad()
    def __call__(
        self,
        batch_size: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        class_labels: int | list[int] | torch.Tensor | None = None,
        output_type: str | None = None,
    ) -> ImagePipelineOutput | PointsPipelineOutput:
        """Generate `batch_size` samples.

        Args:
            batch_size: number of samples (ignored shape-wise when `latents` is given, which
                must then hold `batch_size` rows).
            generator: a `torch.Generator` (the random one, not the network), or one per
                sample, for reproducible samples.
            latents: explicit z of shape (batch_size, latent_dim), e.g. to interpolate.
            class_labels: one label for all samples or one per sample (conditional GANs).
            output_type: ``"pil"`` | ``"np"`` | ``"pt"`` for images, ``"np"`` | ``"pt"`` for points.

        Returns:
            `ImagePipelineOutput` (``.images`` in [0, 1]) for an image generator,
            `PointsPipelineOutput` (``.points`` in data units) for a points generator.

        Raises:
            ValueError: when `latents` or `class_labels` have the wrong shape.
        """
        network = self.generator  # the component; `generator` the argument is the RNG
        latent_shape = (batch_size, network.config.latent_dim)
        if latents is None:
            latents = randn_tensor(latent_shape, generator, self.device, self.dtype)
        elif tuple(latents.shape) != latent_shape:
            raise ValueError(f"latents must have shape {latent_shape} (batch_size, latent_dim), got {tuple(latents.shape)}")
        labels = _class_labels(class_labels, batch_size, self.device)
        samples = network(latents.to(self.device, self.dtype), class_labels=labels)
        return self.postprocess(samples, output_type)
