"""GANPipeline: sample from a trained generator G(z); the discriminator is optional, and when
present can filter G's samples by discriminator rejection sampling (`rejection`)."""

from __future__ import annotations

import torch

from ..registry import register
from ..torch_utils import randn_tensor
from .pipeline import ImagePipelineOutput, Pipeline, PointsPipelineOutput, no_side_effects
from .rejection import discriminator_rejection_sampling
from .sampling import expand_class_labels

__all__ = ["GANPipeline"]


@register("pipeline")
class GANPipeline(Pipeline):
    """x = G(z), z ~ N(0, I). Serves images (DCGAN) and points (MLP generators) alike.

    Args:
        generator: the generator network; called as ``generator(z, class_labels=...)`` and
            has ``latent_dim`` in its config.
        discriminator: optional; kept so training can resume from the pipeline and for
            ``rejection_sampling``, and may be dropped (``None``) after training.

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

    component_kinds = {"generator": "model", "discriminator": "model"}

    def __init__(self, generator=None, discriminator=None):
        if generator is None:
            raise ValueError("GANPipeline needs a generator network, e.g. gandiff.DCGANGenerator()")
        super().__init__(generator=generator, discriminator=discriminator)

    @property
    def network(self) -> torch.nn.Module:
        """The generator network G (the component; ``generator`` in a call is the random generator)."""
        return self.generator

    @torch.no_grad()
    @no_side_effects
    def __call__(
        self,
        batch_size: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        class_labels: int | list[int] | torch.Tensor | None = None,
        output_type: str | None = None,
        rejection_sampling: bool = False,
        rejection_gamma: float = 0.0,
        return_dict: bool = True,
    ) -> ImagePipelineOutput | PointsPipelineOutput | tuple:
        """Generate `batch_size` samples.

        Args:
            batch_size: number of samples (ignored shape-wise when `latents` is given, which
                must then hold `batch_size` rows).
            generator: a `torch.Generator` (the random one, not the network), or one per
                sample, for reproducible samples.
            latents: explicit z of shape (batch_size, latent_dim), e.g. to interpolate.
            class_labels: one label for all samples or one per sample (conditional GANs).
            output_type: ``"pil"`` | ``"np"`` | ``"pt"`` for images, ``"np"`` | ``"pt"`` for points.
            rejection_sampling: keep only the samples that discriminator rejection sampling
                accepts (Azadi et al. 2019; `gandiff.pipelines.rejection`): G's samples are
                drawn until `batch_size` are kept, each with probability given by the
                discriminator's density-ratio estimate, which removes samples that fall
                between the data's modes. Needs the discriminator, trained with the minimax or
                non-saturating loss, and an unconditional generator.
            rejection_gamma: γ of rejection sampling: 0 is exact rejection sampling under the
                discriminator's estimate, negative values keep more samples.
            return_dict: ``False`` returns the tuple ``(images,)`` (or ``(points,)``), as diffusers does.

        Returns:
            `ImagePipelineOutput` (``.images`` in [0, 1]) for an image generator,
            `PointsPipelineOutput` (``.points`` in data units) for a points generator.

        Raises:
            ValueError: when `latents` or `class_labels` have the wrong shape, or
                `rejection_sampling` is asked of a pipeline that cannot do it.
            TypeError: `rejection_sampling` with a list of generators.
        """
        network = self.generator  # the component; `generator` the argument is the RNG
        if rejection_sampling:
            self._check_rejection_sampling(generator, latents, class_labels)

            def propose(num: int) -> torch.Tensor:
                z = randn_tensor((num, network.config.latent_dim), generator, self.device, self.dtype)
                return network(z)

            # Proposals in rounds of `batch_size`: as much memory as a plain call.
            samples, _ = discriminator_rejection_sampling(
                propose,
                self.discriminator,
                batch_size,
                gamma=rejection_gamma,
                proposals_per_round=batch_size,
                generator=generator,
            )
            output = self.postprocess(samples, output_type)
            return output if return_dict else output.to_tuple()
        latent_shape = (batch_size, network.config.latent_dim)
        if latents is None:
            latents = randn_tensor(latent_shape, generator, self.device, self.dtype)
        elif tuple(latents.shape) != latent_shape:
            raise ValueError(
                f"latents must have shape {latent_shape} (batch_size, latent_dim), got {tuple(latents.shape)}"
            )
        labels = expand_class_labels(class_labels, batch_size, self.device)
        samples = network(latents.to(self.device, self.dtype), class_labels=labels)
        output = self.postprocess(samples, output_type)
        return output if return_dict else output.to_tuple()

    def _check_rejection_sampling(self, generator, latents, class_labels) -> None:
        if self.discriminator is None:
            raise ValueError(
                "rejection_sampling needs the discriminator: load a pipeline saved with one (gandiff's GAN "
                "trainer saves it) or pass discriminator= to GANPipeline"
            )
        if self.discriminator.config.get("output") == "critic":
            raise ValueError(
                "rejection_sampling reads the discriminator's logit as log p_data/p_g, which a Wasserstein "
                "critic's score is not: train with the minimax or non-saturating loss to use it"
            )
        if latents is not None:
            raise ValueError("rejection_sampling draws its own latents (it rejects some): leave latents=None")
        if class_labels is not None or self.num_classes:
            raise ValueError("rejection_sampling is for unconditional GANs; sample a conditional one without it")
        if isinstance(generator, list):
            raise TypeError(
                "rejection_sampling draws an unknown number of latents: pass one torch.Generator, not a list"
            )
