"""Settings shared by the whole test suite."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Tests use toy sizes, which gain nothing from a second thread; and on a shared 2-core
    machine two OpenMP threads wait on each other whenever another process takes a core
    (a toy U-Net forward then takes 0.5 s instead of 8 ms)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
