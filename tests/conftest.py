"""Settings and small models shared by the whole test suite."""

import pytest
import torch
from toy_models import TINY_UNET_CONFIG


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Tests use toy sizes, which gain nothing from a second thread; and on a shared 2-core
    machine two OpenMP threads wait on each other whenever another process takes a core
    (a toy U-Net forward then takes 0.5 s instead of 8 ms)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_unet_config() -> dict:
    """`TINY_UNET_CONFIG`, a copy the test may change."""
    return dict(TINY_UNET_CONFIG)


@pytest.fixture
def tiny_unet():
    """Make the toy U-Net: ``tiny_unet(num_class_embeds=3)``; the keyword arguments override
    `TINY_UNET_CONFIG`. Weights from seed 0, in eval mode."""
    from gandiff.models.unet_2d import UNet2DModel

    def make(**overrides) -> UNet2DModel:
        torch.manual_seed(0)
        return UNet2DModel(**{**TINY_UNET_CONFIG, **overrides}).eval()

    return make
