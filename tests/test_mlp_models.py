"""MLPs for 2-D data: generator, discriminator / critic, time-conditioned denoiser.

Saving, loading, strict loading and eval determinism are tested for every registered model in
test_models_common.py."""

import math

import pytest
import torch
from torch import nn

from gandiff.models.embeddings import sinusoidal_embedding
from gandiff.models.mlp import MLPDenoiser, MLPDiscriminator, MLPGenerator


def test_default_shapes_for_2d_points():
    torch.manual_seed(0)
    generator, discriminator, denoiser = MLPGenerator(), MLPDiscriminator(), MLPDenoiser()
    assert generator.sample_shape == discriminator.sample_shape == denoiser.sample_shape == (2,)
    points = generator(torch.randn(5, generator.config.latent_dim))
    assert points.shape == (5, 2)
    assert discriminator(points).shape == (5,)
    assert denoiser(points, 10).shape == (5, 2)


def test_discriminator_has_no_normalization():
    # No batch norm, so the per-sample gradient penalty of WGAN-GP applies (Gulrajani et al. 2017).
    discriminator = MLPDiscriminator(output="critic")
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.LayerNorm, nn.GroupNorm)) for m in discriminator.modules())


@pytest.mark.parametrize("output", ["logit", "critic"])
def test_discriminator_output_is_the_raw_linear_output(output):
    torch.manual_seed(0)
    discriminator = MLPDiscriminator(output=output)
    x = 5 * torch.randn(64, 2)
    scores = discriminator(x)
    torch.testing.assert_close(scores, discriminator.head(discriminator.hidden(x)).squeeze(1), rtol=0, atol=0)
    assert (scores < 0).any() or (scores > 1).any()  # impossible behind a sigmoid


# --- time conditioning -----------------------------------------------------------------------


def test_timestep_embedding_closed_form():
    # emb = [sin(t ω_i), cos(t ω_i)], ω_i = 10000^(-i/half) (Vaswani et al. 2017).
    t = torch.tensor([0, 1, 500])
    emb = sinusoidal_embedding(t, 8, freq_shift=0)  # what MLPDenoiser uses
    assert emb.shape == (3, 8) and emb.dtype == torch.float32
    torch.testing.assert_close(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    omega = torch.tensor([10000 ** (-i / 4) for i in range(4)])
    torch.testing.assert_close(emb[2], torch.cat([torch.sin(500 * omega), torch.cos(500 * omega)]))
    assert emb[1, 0].item() == pytest.approx(math.sin(1.0))


def test_denoiser_accepts_every_timestep_form():
    torch.manual_seed(0)
    denoiser = MLPDenoiser()
    x = torch.randn(3, 2)
    expected = denoiser(x, torch.tensor([7, 7, 7]))
    for timestep in (7, torch.tensor(7), torch.tensor([7]), torch.tensor([7.0])):
        torch.testing.assert_close(denoiser(x, timestep), expected)
    # Per-sample timesteps act per sample.
    mixed = denoiser(x, torch.tensor([0, 500, 999]))
    for i, t in enumerate((0, 500, 999)):
        torch.testing.assert_close(mixed[i], denoiser(x[i : i + 1], t)[0])
    assert not torch.allclose(denoiser(x, 0), denoiser(x, 999))


def test_denoiser_timestep_errors():
    denoiser = MLPDenoiser(num_train_timesteps=100)
    x = torch.randn(3, 2)
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(2,\)"):
        denoiser(x, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"\[0, 100\)"):
        denoiser(x, 100)
    with pytest.raises(ValueError, match=r"\[0, 100\)"):
        denoiser(x, torch.tensor([-1, 0, 1]))
    with pytest.raises(ValueError, match="even"):
        MLPDenoiser(time_embedding_dim=15)


# --- conditioning ----------------------------------------------------------------------------


def test_conditional_models_change_output_with_the_label():
    torch.manual_seed(0)
    labels = torch.tensor([0, 1, 24])
    generator = MLPGenerator(num_classes=25)
    z = torch.randn(1, 2).expand(3, 2)
    points = generator(z, labels)
    assert not torch.allclose(points[0], points[1]) and not torch.allclose(points[1], points[2])

    discriminator = MLPDiscriminator(num_classes=25)
    x = torch.randn(1, 2).expand(3, 2)
    assert len(set(discriminator(x, labels).tolist())) == 3

    denoiser = MLPDenoiser(num_classes=25)
    outputs = denoiser(x, 10, labels)
    assert not torch.allclose(outputs[0], outputs[1]) and not torch.allclose(outputs[1], outputs[2])


def test_class_label_errors():
    x = torch.randn(2, 2)
    with pytest.raises(ValueError, match=r"\[0, 8\)"):
        MLPGenerator(num_classes=8)(x, torch.tensor([0, 8]))
    with pytest.raises(ValueError, match="class-conditional"):
        MLPDiscriminator(num_classes=8)(x)
    with pytest.raises(ValueError, match="unconditional"):
        MLPDenoiser()(x, 0, torch.tensor([0, 1]))


# --- spectral norm ---------------------------------------------------------------------------


def test_spectral_norm_bounds_every_weight():
    torch.manual_seed(0)
    discriminator = MLPDiscriminator(hidden_dim=32, spectral_norm=True, num_classes=4)
    wrapped = [m for m in discriminator.modules() if isinstance(m, (nn.Linear, nn.Embedding))]
    assert len(wrapped) == 5 and all(hasattr(m, "parametrizations") for m in wrapped)
    with torch.no_grad():
        # One power iteration per training-mode forward, after 15 at construction; the larger a
        # random matrix, the closer its top singular values and the more iterations it needs.
        for _ in range(10):
            discriminator(torch.randn(8, 2), torch.randint(0, 4, (8,)))
    for module in wrapped:
        assert torch.linalg.matrix_norm(module.weight.detach(), ord=2).item() == pytest.approx(1.0, abs=0.01)


# --- bad input -------------------------------------------------------------------------------


def test_wrong_input_shapes_name_expected_and_got():
    with pytest.raises(ValueError, match=r"\(B, 2\).*\(4, 3\)"):
        MLPGenerator(latent_dim=2)(torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"\(B, 2\).*\(4,\)"):
        MLPDiscriminator()(torch.randn(4))
    with pytest.raises(ValueError, match=r"\(B, 2\).*\(4, 2, 1\)"):
        MLPDenoiser()(torch.randn(4, 2, 1), 0)
