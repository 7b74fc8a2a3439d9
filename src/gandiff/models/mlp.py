"""Small MLPs for 2-D data: a GAN generator and discriminator, and a diffusion denoiser.

They serve the 2-D mode-collapse benchmarks (ring of 8 Gaussians, grid of 25 Gaussians,
as in VEEGAN and PacGAN), where a GAN and a DDPM are trained on the same points and compared.
The defaults, 3 hidden layers of 128 units and a 2-D latent, are sized for those: about 34k
parameters each, trained on a CPU in minutes. The 2-D Gaussian latent follows PacGAN's 2-D
experiments: the generator must stretch one Gaussian blob over every mode, which is where
mode collapse shows.

The networks keep PyTorch's default initialization (uniform in ±1/√fan_in), which suits
plain MLPs; the N(0, 0.02) rule of Radford et al. is for the DCGAN convolutions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ..choices import OUTPUT_TYPES
from ..outputs import model_output
from ..registry import register
from ..validation import check_choice, check_positive
from .conditioning import check_class_labels
from .embeddings import sinusoidal_embedding
from .modeling import ModelMixin

__all__ = ["MLPGenerator", "MLPDiscriminator", "MLPDenoiser"]


def _hidden_layers(
    in_dim: int, hidden_dim: int, num_layers: int, make_activation: Callable[[], nn.Module]
) -> nn.Sequential:
    """`num_layers` × (Linear -> activation), the first from `in_dim`, the rest hidden -> hidden."""
    layers: list[nn.Module] = []
    for i in range(num_layers):
        layers += [nn.Linear(in_dim if i == 0 else hidden_dim, hidden_dim), make_activation()]
    return nn.Sequential(*layers)


def _check_points(x: torch.Tensor, dim: int, name: str) -> None:
    if x.dim() != 2 or x.shape[1] != dim:
        raise ValueError(f"expected {name} of shape (B, {dim}); got {tuple(x.shape)}")


def _check_mlp_sizes(hidden_dim: int, num_layers: int, num_classes: int | None) -> None:
    check_positive("hidden_dim", hidden_dim)
    check_positive("num_layers", num_layers)
    check_positive("num_classes", num_classes, allow_none=True)


@register("model")
class MLPGenerator(ModelMixin):
    """GAN generator for points: z (B, latent_dim) -> x (B, data_dim), no output squashing.

    ``num_layers`` hidden layers of ``hidden_dim`` ReLU units and a linear output (2-D data is
    unbounded, so no tanh). Conditional (``num_classes`` set): the one-hot label is
    concatenated with z, as in `DCGANGenerator` (Mirza & Osindero 2014).

    Args:
        latent_dim: size of z.
        data_dim: size of one data point.
        hidden_dim: units per hidden layer.
        num_layers: number of hidden layers.
        num_classes: number of classes for a conditional generator; None for unconditional.
    """

    def __init__(
        self,
        latent_dim: int = 2,
        data_dim: int = 2,
        hidden_dim: int = 128,
        num_layers: int = 3,
        num_classes: int | None = None,
    ):
        super().__init__()
        check_positive("latent_dim", latent_dim)
        check_positive("data_dim", data_dim)
        _check_mlp_sizes(hidden_dim, num_layers, num_classes)
        self.hidden = _hidden_layers(latent_dim + (num_classes or 0), hidden_dim, num_layers, nn.ReLU)
        self.out = nn.Linear(hidden_dim, data_dim)

    @property
    def sample_shape(self) -> tuple[int]:
        """Shape of one generated point, (data_dim,)."""
        return (self.config.data_dim,)

    def forward(
        self, z: torch.Tensor, class_labels: torch.Tensor | None = None, return_dict: bool | None = None
    ) -> torch.Tensor:
        """Map latents to points.

        Args:
            z: latents (B, latent_dim).
            class_labels: integer labels (B,) for a conditional model, else None.
            return_dict: ``None`` returns the tensor; ``True`` a `ModelOutput` (``.sample``) and ``False`` the
                tuple ``(tensor,)``, as diffusers' models (`gandiff.outputs.model_output`).

        Returns:
            Points (B, data_dim).
        """
        _check_points(z, self.config.latent_dim, "latents")
        labels = check_class_labels(class_labels, self.config.num_classes, z.shape[0], z.device)
        if labels is not None:
            z = torch.cat([z, nn.functional.one_hot(labels, self.config.num_classes).to(z.dtype)], dim=1)
        return model_output(self.out(self.hidden(z)), return_dict)


@register("model")
class MLPDiscriminator(ModelMixin):
    """GAN discriminator or Wasserstein critic for points: x (B, data_dim) -> score (B,).

    ``num_layers`` hidden layers of LeakyReLU(0.2) units and one linear output, raw (no
    sigmoid) for both ``output="logit"`` and ``"critic"``: see `DCGANDiscriminator`. There is
    no normalization, so it is a valid WGAN-GP critic as is. Conditional (``num_classes``
    set): projection, ``score += <embed(y), φ(x)>`` with φ the last hidden layer (Miyato &
    Koyama 2018), as in `DCGANDiscriminator`.

    Args:
        data_dim: size of one data point.
        hidden_dim: units per hidden layer.
        num_layers: number of hidden layers.
        output: ``"logit"`` or ``"critic"``; both raw.
        spectral_norm: wrap every linear layer (and the class embedding) in torch's
            ``spectral_norm`` parametrization.
        num_classes: number of classes for a projection discriminator; None for unconditional.
    """

    def __init__(
        self,
        data_dim: int = 2,
        hidden_dim: int = 128,
        num_layers: int = 3,
        output: str = "logit",
        spectral_norm: bool = False,
        num_classes: int | None = None,
    ):
        super().__init__()
        check_positive("data_dim", data_dim)
        _check_mlp_sizes(hidden_dim, num_layers, num_classes)
        check_choice("output", output, OUTPUT_TYPES)
        self.hidden = _hidden_layers(data_dim, hidden_dim, num_layers, functools.partial(nn.LeakyReLU, 0.2))
        self.head = nn.Linear(hidden_dim, 1)
        self.class_embedding = nn.Embedding(num_classes, hidden_dim) if num_classes is not None else None
        if self.class_embedding is not None:
            # The default N(0, 1) would let the label term dominate the score at the start.
            nn.init.normal_(self.class_embedding.weight, 0.0, 1.0 / math.sqrt(hidden_dim))
        if spectral_norm:
            for module in [m for m in self.modules() if isinstance(m, (nn.Linear, nn.Embedding))]:
                _spectral_norm(module)

    @property
    def sample_shape(self) -> tuple[int]:
        """Shape of one input point, (data_dim,)."""
        return (self.config.data_dim,)

    def forward(
        self, x: torch.Tensor, class_labels: torch.Tensor | None = None, return_dict: bool | None = None
    ) -> torch.Tensor:
        """Score points.

        Args:
            x: points (B, data_dim).
            class_labels: integer labels (B,) for a conditional model, else None.
            return_dict: ``None`` returns the tensor; ``True`` a `ModelOutput` (``.sample``) and ``False`` the
                tuple ``(tensor,)``, as diffusers' models (`gandiff.outputs.model_output`).

        Returns:
            Raw scores (B,): logits or critic values.
        """
        _check_points(x, self.config.data_dim, "points")
        labels = check_class_labels(class_labels, self.config.num_classes, x.shape[0], x.device)
        h = self.hidden(x)  # (B, hidden_dim) = φ(x)
        score = self.head(h).squeeze(1)
        if labels is not None:
            score = score + (self.class_embedding(labels) * h).sum(dim=1)
        return model_output(score, return_dict)


@register("model")
class MLPDenoiser(ModelMixin):
    """Time-conditioned MLP for diffusion on points: (x_t, t) -> a tensor shaped like x_t.

    The input is x_t concatenated with sinusoidal features of t (plus, if conditional, a
    learned class embedding added to those features, as diffusers' ``UNet2DModel`` adds its
    class embedding to the time embedding), followed by ``num_layers`` hidden SiLU layers and
    a linear output. What the output means (ε, x_0 or v) is the scheduler's
    ``prediction_type``; the network does not know.

    Args:
        data_dim: size of one data point.
        hidden_dim: units per hidden layer.
        num_layers: number of hidden layers.
        time_embedding_dim: number of sinusoidal time features (even).
        num_train_timesteps: T of the schedule it is trained with; timesteps must lie in
            ``[0, num_train_timesteps)``, which catches a model paired with the wrong schedule
            or fed times normalized to [0, 1].
        num_classes: number of classes for a conditional denoiser; None for unconditional.

    Raises:
        ValueError: for a non-positive size, or an odd `time_embedding_dim`.

    Example:
        >>> import torch
        >>> from gandiff import MLPDenoiser
        >>> denoiser = MLPDenoiser(hidden_dim=32, num_layers=2)
        >>> x_t = torch.randn(5, 2)
        >>> denoiser(x_t, torch.tensor([0, 10, 100, 500, 999])).shape  # one t per point
        torch.Size([5, 2])
        >>> denoiser(x_t, 250).shape, denoiser.sample_shape  # one t for all
        (torch.Size([5, 2]), (2,))
    """

    def __init__(
        self,
        data_dim: int = 2,
        hidden_dim: int = 128,
        num_layers: int = 3,
        time_embedding_dim: int = 32,
        num_train_timesteps: int = 1000,
        num_classes: int | None = None,
    ):
        super().__init__()
        check_positive("data_dim", data_dim)
        _check_mlp_sizes(hidden_dim, num_layers, num_classes)
        check_positive("time_embedding_dim", time_embedding_dim)
        if time_embedding_dim % 2:
            raise ValueError(f"time_embedding_dim must be even (sine and cosine pairs), got {time_embedding_dim}")
        check_positive("num_train_timesteps", num_train_timesteps)
        self.class_embedding = nn.Embedding(num_classes, time_embedding_dim) if num_classes is not None else None
        self.hidden = _hidden_layers(data_dim + time_embedding_dim, hidden_dim, num_layers, nn.SiLU)
        self.out = nn.Linear(hidden_dim, data_dim)

    @property
    def sample_shape(self) -> tuple[int]:
        """Shape of one data point, (data_dim,)."""
        return (self.config.data_dim,)

    def forward(
        self,
        x_t: torch.Tensor,
        timestep: torch.Tensor | int,
        class_labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> torch.Tensor:
        """Predict from noisy points.

        Args:
            x_t: noisy points of shape (B, data_dim).
            timestep: an int, a 0-d tensor (one t for the whole batch), or a 1-D tensor of
                shape (B,) or (1,).
            class_labels: integer labels of shape (B,) for a conditional model, else None.
            return_dict: ``None`` returns the tensor; ``True`` a `ModelOutput` (``.sample``) and ``False`` the
                tuple ``(tensor,)``, as diffusers' models (`gandiff.outputs.model_output`).

        Returns:
            A tensor of the same shape as `x_t`.
        """
        _check_points(x_t, self.config.data_dim, "x_t")
        batch_size = x_t.shape[0]
        t = self._check_timesteps(timestep, batch_size, x_t.device)
        labels = check_class_labels(class_labels, self.config.num_classes, batch_size, x_t.device)
        # [sin, cos] with ω_i = 10000^(−i/half) (Vaswani et al. 2017): freq_shift 0.
        emb = sinusoidal_embedding(t, self.config.time_embedding_dim, freq_shift=0)  # (B, time_embedding_dim)
        if labels is not None:
            emb = emb + self.class_embedding(labels)
        h = self.hidden(torch.cat([x_t, emb.to(x_t.dtype)], dim=1))
        return model_output(self.out(h), return_dict)

    def _check_timesteps(self, timestep: torch.Tensor | int, batch_size: int, device: torch.device) -> torch.Tensor:
        """The timesteps as a tensor of shape (B,) on `device`; ValueError for a bad shape or range."""
        t = torch.as_tensor(timestep, device=device)
        if t.dim() == 0 or t.shape == (1,):
            t = t.reshape(1).expand(batch_size)
        if t.shape != (batch_size,):
            raise ValueError(
                f"timestep must be an int, a 0-d tensor or of shape ({batch_size},); got shape {tuple(t.shape)}"
            )
        num_train_timesteps = self.config.num_train_timesteps
        if batch_size > 0 and (bool((t < 0).any()) or bool((t >= num_train_timesteps).any())):
            raise ValueError(
                f"timesteps must be in [0, {num_train_timesteps}) (num_train_timesteps={num_train_timesteps}); "
                f"got values from {t.min().item()} to {t.max().item()}"
            )
        return t
