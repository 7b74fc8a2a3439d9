"""DCGAN generator and discriminator (Radford et al. 2016), optionally class-conditional.

The layout is the reference PyTorch DCGAN example's, generalized over resolution:

    generator      z (B, latent_dim, 1, 1)
                   -> ConvTranspose k=s0, stride 1       (B, base·2^(n-1), s0, s0)   BN, ReLU
                   -> n-1 × ConvTranspose k=4, s=2, p=1   channels halve, size doubles, BN, ReLU
                   -> ConvTranspose k=4, s=2, p=1         (B, out_channels, H, W)     tanh
    discriminator  x (B, in_channels, H, W)
                   -> Conv k=4, s=2, p=1                  (B, base, H/2, W/2)         LeakyReLU 0.2
                   -> n-1 × Conv k=4, s=2, p=1            channels double, size halves, norm, LeakyReLU 0.2
                   -> Conv k=s0, stride 1                 (B, 1, 1, 1) -> (B,)

where s0 is the starting size (4 for 32, 64, 128; 7 for 28) and n = log2(resolution / s0) is
the number of stride-2 layers. At 64×64 (n = 4) this is exactly the reference example: G has
3,576,704 parameters and D 2,765,568. All convolutions have ``bias=False`` because a
normalization layer follows (its shift makes a bias redundant), or, for the last layer of the
discriminator, because the reference has none.

Conditioning follows Mirza & Osindero 2014 for the generator (the one-hot label is
concatenated with z) and Miyato & Koyama 2018 for the discriminator (projection); see the
class docstrings for why.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ..choices import OUTPUT_TYPES
from ..outputs import model_output
from ..registry import register
from ..validation import check_choice, check_positive
from .conditioning import check_class_labels
from .modeling import ModelMixin

__all__ = ["DCGANGenerator", "DCGANDiscriminator"]

# resolution -> size of the first (generator) / last (discriminator) feature map, s0.
# Powers of two start at 4×4 as in Radford et al.; 28 = 7 · 2², so MNIST-sized images get the
# 7 -> 14 -> 28 layout of the usual MNIST GANs instead of being padded to 32.
_START_SIZE = {28: 7, 32: 4, 64: 4, 128: 4}
SUPPORTED_RESOLUTIONS = tuple(_START_SIZE)


def _num_stride2_layers(resolution: int) -> int:
    """n such that start_size · 2**n == resolution."""
    return int(math.log2(resolution // _START_SIZE[resolution]))


def _check_resolution_and_sizes(resolution: int, base_channels: int, num_classes: int | None) -> None:
    check_choice("resolution", resolution, SUPPORTED_RESOLUTIONS)
    check_positive("base_channels", base_channels)
    check_positive("num_classes", num_classes, allow_none=True)


def _init_weights(module: nn.Module) -> None:
    """Radford et al. 2016: every weight from N(0, 0.02); normalization scales from N(1, 0.02).

    The normalization rule (scale N(1, 0.02), shift 0) is the reference example's for batch
    norm; the layer norm of a critic gets the same so both variants start alike.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@register("model")
class DCGANGenerator(ModelMixin):
    """The DCGAN generator: z -> image in [-1, 1] (Radford et al. 2016).

    z is projected to an s0×s0 map by a transposed convolution of kernel s0 applied to z seen
    as a (B, latent_dim, 1, 1) image, then each stride-2 transposed convolution (kernel 4,
    padding 1) doubles the size and halves the channels, with batch norm and ReLU; the last
    one outputs `out_channels` through tanh. 32, 64 and 128 start at 4×4. 28×28 (MNIST) has
    its own layout, 7 -> 14 -> 28 (kernel-7 projection, two stride-2 layers), rather than
    generating 32×32 and cropping: it spends no capacity on a border that is thrown away, and
    the discriminator sees exactly the data's pixels.

    Conditional (``num_classes`` set): the label enters as a one-hot vector concatenated with
    z, Mirza & Osindero 2014's conditional GAN. The projection layer's weights on those
    inputs *are* a learned label embedding (one s0×s0×C map per class), so a separate
    ``nn.Embedding`` would add parameters without adding expressiveness.

    Args:
        latent_dim: size of z.
        out_channels: image channels (3 for RGB, 1 for grey).
        resolution: output height and width; one of 28, 32, 64, 128.
        base_channels: channels of the last hidden layer (``ngf`` in the reference); the
            first has ``base_channels · 2^(n-1)``.
        num_classes: number of classes for a conditional generator; None for unconditional.

    Raises:
        ValueError: for an unsupported resolution or a non-positive size.

    Example:
        >>> import torch
        >>> from gandiff import DCGANGenerator
        >>> generator = DCGANGenerator()  # the reference DCGAN at 64×64
        >>> sum(p.numel() for p in generator.parameters())
        3576704
        >>> small = DCGANGenerator(latent_dim=16, out_channels=1, resolution=28, base_channels=8, num_classes=10)
        >>> images = small(torch.randn(4, 16), class_labels=torch.tensor([0, 1, 2, 3]))
        >>> images.shape, small.sample_shape
        (torch.Size([4, 1, 28, 28]), (1, 28, 28))
        >>> bool(images.abs().max() <= 1)  # tanh output
        True
    """

    def __init__(
        self,
        latent_dim: int = 100,
        out_channels: int = 3,
        resolution: int = 64,
        base_channels: int = 64,
        num_classes: int | None = None,
    ):
        super().__init__()
        check_positive("latent_dim", latent_dim)
        check_positive("out_channels", out_channels)
        _check_resolution_and_sizes(resolution, base_channels, num_classes)

        start_size = _START_SIZE[resolution]
        num_up = _num_stride2_layers(resolution)
        channels = [base_channels * 2 ** (num_up - 1 - i) for i in range(num_up)]  # e.g. 512, 256, 128, 64
        in_features = latent_dim + (num_classes or 0)

        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_features, channels[0], start_size, 1, 0, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True),
        ]
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ConvTranspose2d(channels[-1], out_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(_init_weights)

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        """Shape of one generated image, (C, H, W)."""
        return (self.config.out_channels, self.config.resolution, self.config.resolution)

    def forward(
        self, z: torch.Tensor, class_labels: torch.Tensor | None = None, return_dict: bool | None = None
    ) -> torch.Tensor:
        """Generate images.

        Args:
            z: latents of shape (B, latent_dim) or (B, latent_dim, 1, 1).
            class_labels: integer labels of shape (B,) for a conditional model, else None.
            return_dict: ``None`` returns the tensor; ``True`` a `ModelOutput` (``.sample``) and ``False`` the
                tuple ``(tensor,)``, as diffusers' models (`gandiff.outputs.model_output`).

        Returns:
            Images of shape (B, out_channels, resolution, resolution), in [-1, 1].
        """
        latent_dim = self.config.latent_dim
        flat = z.dim() == 2 and z.shape[1] == latent_dim
        image_like = z.dim() == 4 and tuple(z.shape[1:]) == (latent_dim, 1, 1)
        if not (flat or image_like):
            raise ValueError(
                f"expected latents of shape (B, {latent_dim}) or (B, {latent_dim}, 1, 1); got {tuple(z.shape)}"
            )
        z = z.reshape(z.shape[0], latent_dim, 1, 1)
        labels = check_class_labels(class_labels, self.config.num_classes, z.shape[0], z.device)
        if labels is not None:
            one_hot = nn.functional.one_hot(labels, self.config.num_classes).to(z.dtype)
            z = torch.cat([z, one_hot[:, :, None, None]], dim=1)  # (B, latent_dim + K, 1, 1)
        return model_output(self.main(z), return_dict)


@register("model")
class DCGANDiscriminator(ModelMixin):
    """The DCGAN discriminator, or a WGAN critic: image -> one score per image, shape (B,).

    Stride-2 convolutions (kernel 4, padding 1) halve the size and double the channels, with
    LeakyReLU 0.2 and no normalization after the first layer (Radford et al.); a final
    convolution of kernel s0 (4, or 7 at 28×28: see `DCGANGenerator`) maps the s0×s0 features
    to one number.

    Outputs are always raw: ``output="logit"`` means the score is a logit for the minimax /
    non-saturating losses, which apply the sigmoid themselves through ``softplus`` /
    ``logsigmoid`` for numerical stability; ``output="critic"`` means an unbounded
    Wasserstein critic score f(x). The choice is recorded in the config for the trainer; the
    network computes the same function either way.

    Normalization: ``batch_norm=True`` is Radford et al.'s batch norm. A WGAN-GP critic must not
    use it, because batch norm mixes the samples of a batch and the gradient penalty is
    defined per sample (Gulrajani et al. 2017): ``batch_norm=False`` uses layer norm
    (``GroupNorm`` with one group: per sample over C, H, W, with a per-channel scale and shift),
    the replacement Gulrajani et al. recommend and use in their 64×64 critic. It keeps the
    same parameter count as the batch-norm model and keeps activations well scaled at the
    N(0, 0.02) initialization.

    Conditional (``num_classes`` set): projection discriminator (Miyato & Koyama 2018),
    ``score += <embed(y), φ(x)>`` with φ(x) the last feature map summed over space, rather than
    one-hot channels concatenated to the image. Projection is the better-performing choice in
    Miyato & Koyama's comparison, it leaves the unconditional network unchanged (a conditional
    D is an unconditional D plus one embedding table), and the gradient penalty and R1
    regularizer see only image pixels, not constant label channels.

    Args:
        in_channels: image channels.
        resolution: input height and width; one of 28, 32, 64, 128.
        base_channels: channels of the first layer (``ndf`` in the reference).
        num_classes: number of classes for a projection discriminator; None for unconditional.
        output: ``"logit"`` (classifier for minimax / non-saturating / hinge losses) or
            ``"critic"`` (Wasserstein critic). Both are raw, no sigmoid.
        spectral_norm: wrap every convolution (and the class embedding) in
            ``torch.nn.utils.parametrizations.spectral_norm`` (Miyato et al. 2018).
        batch_norm: batch norm (True) or layer norm (False, for WGAN-GP critics).
    """

    def __init__(
        self,
        in_channels: int = 3,
        resolution: int = 64,
        base_channels: int = 64,
        num_classes: int | None = None,
        output: str = "logit",
        spectral_norm: bool = False,
        batch_norm: bool = True,
    ):
        super().__init__()
        check_positive("in_channels", in_channels)
        _check_resolution_and_sizes(resolution, base_channels, num_classes)
        check_choice("output", output, OUTPUT_TYPES)

        start_size = _START_SIZE[resolution]
        num_down = _num_stride2_layers(resolution)
        channels = [base_channels * 2**i for i in range(num_down)]  # e.g. 64, 128, 256, 512

        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, channels[0], 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            norm = nn.BatchNorm2d(c_out) if batch_norm else nn.GroupNorm(1, c_out)
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), norm, nn.LeakyReLU(0.2, inplace=True)]
        self.features = nn.Sequential(*layers)  # (B, channels[-1], s0, s0)
        self.head = nn.Conv2d(channels[-1], 1, start_size, 1, 0, bias=False)
        self.class_embedding = nn.Embedding(num_classes, channels[-1]) if num_classes is not None else None
        self.apply(_init_weights)

        if spectral_norm:
            # Wrapped after initialization: the parametrization keeps the initialized weight as
            # its `original` and divides it by its largest singular value at every use.
            for module in [m for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Embedding))]:
                _spectral_norm(module)

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        """Shape of one input image, (C, H, W)."""
        return (self.config.in_channels, self.config.resolution, self.config.resolution)

    def forward(
        self, x: torch.Tensor, class_labels: torch.Tensor | None = None, return_dict: bool | None = None
    ) -> torch.Tensor:
        """Score images.

        Args:
            x: images of shape (B, in_channels, resolution, resolution).
            class_labels: integer labels of shape (B,) for a conditional model, else None.
            return_dict: ``None`` returns the tensor; ``True`` a `ModelOutput` (``.sample``) and ``False`` the
                tuple ``(tensor,)``, as diffusers' models (`gandiff.outputs.model_output`).

        Returns:
            Raw scores (logits or critic values) of shape (B,).
        """
        if x.dim() != 4 or tuple(x.shape[1:]) != self.sample_shape:
            channels, height, width = self.sample_shape
            raise ValueError(f"expected images of shape (B, {channels}, {height}, {width}); got {tuple(x.shape)}")
        labels = check_class_labels(class_labels, self.config.num_classes, x.shape[0], x.device)
        h = self.features(x)  # (B, C, s0, s0)
        score = self.head(h).flatten()  # (B,)
        if labels is not None:
            phi = h.sum(dim=(2, 3))  # (B, C): global sum pooling, as in Miyato & Koyama
            score = score + (self.class_embedding(labels) * phi).sum(dim=1)
        return model_output(score, return_dict)
