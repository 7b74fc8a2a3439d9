"""DCGAN generator and discriminator: reference layout, shapes, init, conditioning, bad input.

Saving, loading, strict loading and eval determinism are tested for every registered model in
test_models_common.py."""

import re

import pytest
import torch
from torch import nn

from gandiff.models.dcgan import SUPPORTED_RESOLUTIONS, DCGANDiscriminator, DCGANGenerator


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- the reference DCGAN (pytorch/examples dcgan/main.py, Radford et al. 2016) -------------


def test_parameter_counts_equal_the_reference_dcgan():
    # Source: REFERENCES.md, "DCGAN": 64×64×3, nz = 100, ngf = ndf = 64 gives
    # G 3,576,704 and D 2,765,568 parameters in the PyTorch example.
    assert num_parameters(DCGANGenerator(latent_dim=100, out_channels=3, resolution=64, base_channels=64)) == 3_576_704
    assert num_parameters(DCGANDiscriminator(in_channels=3, resolution=64, base_channels=64)) == 2_765_568


def test_layer_shapes_equal_the_reference_dcgan():
    # Source: pytorch/examples dcgan/main.py: G is ConvT(nz, ngf*8, 4, 1, 0) then ConvT(·, ·, 4, 2, 1)
    # down to ngf and nc; D is Conv(nc, ndf, 4, 2, 1) up to ndf*8, then Conv(ndf*8, 1, 4, 1, 0);
    # every convolution without bias.
    generator, discriminator = DCGANGenerator(), DCGANDiscriminator()
    g_convs = [m for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    g_shapes = [(100, 512, 4, 4), (512, 256, 4, 4), (256, 128, 4, 4), (128, 64, 4, 4), (64, 3, 4, 4)]
    assert [tuple(m.weight.shape) for m in g_convs] == g_shapes
    assert [(m.stride, m.padding) for m in g_convs] == [((1, 1), (0, 0))] + [((2, 2), (1, 1))] * 4
    d_convs = [m for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    d_shapes = [(64, 3, 4, 4), (128, 64, 4, 4), (256, 128, 4, 4), (512, 256, 4, 4), (1, 512, 4, 4)]
    assert [tuple(m.weight.shape) for m in d_convs] == d_shapes
    assert [(m.stride, m.padding) for m in d_convs] == [((2, 2), (1, 1))] * 4 + [((1, 1), (0, 0))]
    assert all(m.bias is None for m in g_convs + d_convs)
    # No batch norm on the discriminator's first layer (Radford et al. 2016, Sec. 3).
    assert isinstance(discriminator.features[1], nn.LeakyReLU) and discriminator.features[1].negative_slope == 0.2
    assert sum(isinstance(m, nn.BatchNorm2d) for m in discriminator.modules()) == 3
    assert sum(isinstance(m, nn.BatchNorm2d) for m in generator.modules()) == 4
    assert isinstance(generator.main[-1], nn.Tanh)


def test_layer_norm_critic_has_no_batch_norm_and_the_same_parameter_count():
    # Layer norm (GroupNorm with 1 group) has a per-channel scale and shift, as batch norm does.
    critic = DCGANDiscriminator(output="critic", batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())
    assert num_parameters(critic) == 2_765_568


@pytest.mark.parametrize("resolution", SUPPORTED_RESOLUTIONS)
def test_every_resolution_generates_and_scores(resolution):
    torch.manual_seed(0)
    generator = DCGANGenerator(latent_dim=16, out_channels=1, resolution=resolution, base_channels=8)
    discriminator = DCGANDiscriminator(in_channels=1, resolution=resolution, base_channels=8)
    assert generator.sample_shape == (1, resolution, resolution) == discriminator.sample_shape
    images = generator(torch.randn(3, 16))
    assert images.shape == (3, 1, resolution, resolution)
    assert images.abs().max() <= 1  # tanh
    assert discriminator(images).shape == (3,)


def test_supported_resolutions():
    assert SUPPORTED_RESOLUTIONS == (28, 32, 64, 128)


def test_mnist_resolution_uses_a_7x7_start():
    # 28 = 7·2²: kernel-7 projection, then 7 -> 14 -> 28 (see the DCGANGenerator docstring).
    generator = DCGANGenerator(out_channels=1, resolution=28, base_channels=8)
    convs = [m for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [m.kernel_size for m in convs] == [(7, 7), (4, 4), (4, 4)]
    discriminator = DCGANDiscriminator(in_channels=1, resolution=28, base_channels=8)
    assert discriminator.head.kernel_size == (7, 7)


def test_generator_accepts_flat_and_4d_latents_alike():
    torch.manual_seed(0)
    generator = DCGANGenerator(latent_dim=16, resolution=32, base_channels=8).eval()
    z = torch.randn(2, 16)
    torch.testing.assert_close(generator(z), generator(z[:, :, None, None]), rtol=0, atol=0)


def test_config_records_the_constructor_arguments():
    generator = DCGANGenerator(latent_dim=32, resolution=32, base_channels=8, num_classes=10)
    assert generator.config.latent_dim == 32 and generator.config.num_classes == 10
    assert generator.sample_shape == (3, 32, 32)
    discriminator = DCGANDiscriminator(resolution=32, base_channels=8, output="critic", batch_norm=False)
    assert discriminator.config.output == "critic" and discriminator.config.batch_norm is False


# --- initialization (Radford et al. 2016, Sec. 4: N(0, 0.02); BN scale N(1, 0.02)) --------


def test_initialization_statistics():
    torch.manual_seed(0)
    for model in (DCGANGenerator(), DCGANDiscriminator(), DCGANDiscriminator(batch_norm=False)):
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                weight = module.weight.detach()
                # Relative error of a std estimated from n >= 3072 draws is about 1/sqrt(2n) < 1.3%.
                assert weight.std().item() == pytest.approx(0.02, rel=0.06)
                assert abs(weight.mean().item()) < 2e-3
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                assert module.weight.detach().mean().item() == pytest.approx(1.0, abs=0.01)
                assert 0.01 < module.weight.detach().std().item() < 0.03
                assert torch.all(module.bias == 0)


# --- outputs: raw scores, conditioning --------------------------------------------------------


@pytest.mark.parametrize("output", ["logit", "critic"])
def test_discriminator_output_is_the_raw_linear_output(output):
    torch.manual_seed(0)
    discriminator = DCGANDiscriminator(resolution=32, base_channels=8, output=output).eval()
    x = 3 * torch.randn(16, 3, 32, 32)
    scores = discriminator(x)
    # The last layer is linear: no sigmoid, so the score is the head applied to the features.
    torch.testing.assert_close(scores, discriminator.head(discriminator.features(x)).flatten(), rtol=0, atol=0)
    assert (scores < 0).any()  # a sigmoid could never give a negative value


def test_logit_and_critic_compute_the_same_function():
    logit = DCGANDiscriminator(resolution=32, base_channels=8, output="logit").eval()
    critic = DCGANDiscriminator(resolution=32, base_channels=8, output="critic").eval()
    critic.load_state_dict(logit.state_dict())
    x = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(logit(x), critic(x), rtol=0, atol=0)


def test_conditional_models_change_output_with_the_label():
    torch.manual_seed(0)
    generator = DCGANGenerator(latent_dim=16, resolution=32, base_channels=8, num_classes=10).eval()
    z = torch.randn(1, 16).expand(4, 16)
    images = generator(z, torch.tensor([0, 1, 2, 2]))
    assert not torch.allclose(images[0], images[1]) and not torch.allclose(images[1], images[2])
    torch.testing.assert_close(images[2], images[3])  # same z and label: same image

    discriminator = DCGANDiscriminator(resolution=32, base_channels=8, num_classes=10).eval()
    x = torch.randn(1, 3, 32, 32).expand(3, 3, 32, 32)
    scores = discriminator(x, torch.tensor([0, 5, 9]))
    assert len(set(scores.tolist())) == 3


def test_projection_discriminator_adds_the_inner_product_with_the_label_embedding():
    # Miyato & Koyama 2018: score(x, y) = head(φ(x)) + <embed(y), Σ_spatial φ(x)>.
    torch.manual_seed(0)
    discriminator = DCGANDiscriminator(resolution=32, base_channels=8, num_classes=4).eval()
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([3, 1])
    features = discriminator.features(x)
    projection = (discriminator.class_embedding.weight[y] * features.sum((2, 3))).sum(1)
    expected = discriminator.head(features).flatten() + projection
    torch.testing.assert_close(discriminator(x, y), expected)


# --- spectral norm ---------------------------------------------------------------------------


def test_spectral_norm_bounds_every_weight():
    torch.manual_seed(0)
    discriminator = DCGANDiscriminator(
        resolution=32, base_channels=8, num_classes=3, spectral_norm=True, batch_norm=False
    )
    wrapped = [m for m in discriminator.modules() if isinstance(m, (nn.Conv2d, nn.Embedding))]
    assert len(wrapped) == 5 and all(hasattr(m, "parametrizations") for m in wrapped)
    discriminator.train()
    with torch.no_grad():
        for _ in range(5):  # each training-mode forward runs one power iteration
            discriminator(torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 0]))
    for module in wrapped:
        # torch's spectral_norm divides the weight, seen as a matrix (out, -1), by its top singular value.
        sigma = torch.linalg.matrix_norm(module.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.02)
    # Without the option the same layers are far from 1 (N(0, 0.02) weights are small).
    plain = DCGANDiscriminator(resolution=32, base_channels=8)
    assert torch.linalg.matrix_norm(plain.head.weight.flatten(1), ord=2) < 0.5


# --- bad input -------------------------------------------------------------------------------


def test_wrong_latent_shape_names_expected_and_got():
    generator = DCGANGenerator(latent_dim=16, resolution=32, base_channels=8)
    for z in (torch.randn(2, 15), torch.randn(2, 16, 2, 2), torch.randn(16)):
        with pytest.raises(ValueError, match=re.escape("(B, 16)") + ".*got " + re.escape(str(tuple(z.shape)))):
            generator(z)


def test_wrong_image_shape_is_an_error():
    discriminator = DCGANDiscriminator(resolution=32, base_channels=8)
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\).*\(2, 3, 64, 64\)"):
        discriminator(torch.randn(2, 3, 64, 64))


def test_class_label_errors():
    generator = DCGANGenerator(latent_dim=16, resolution=32, base_channels=8, num_classes=10)
    discriminator = DCGANDiscriminator(resolution=32, base_channels=8, num_classes=10)
    z, x = torch.randn(2, 16), torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError, match=r"\[0, 10\).*10"):
        generator(z, torch.tensor([3, 10]))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        discriminator(x, torch.tensor([-1, 0]))
    with pytest.raises(ValueError, match="class-conditional"):
        generator(z)
    with pytest.raises(ValueError, match="shape"):
        generator(z, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="integers"):
        generator(z, torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="unconditional"):
        DCGANGenerator(latent_dim=16, resolution=32, base_channels=8)(z, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="unconditional"):
        DCGANDiscriminator(resolution=32, base_channels=8)(x, torch.tensor([0, 1]))
