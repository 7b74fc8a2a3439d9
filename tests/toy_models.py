"""Test helper: the toy sizes the fast tests share (imported by conftest.py's fixtures and by test
modules that need the plain config; a helper module rather than ``from conftest import``, which
breaks as soon as a second conftest.py is loaded under the same module name)."""

import os
import socket

# The toy U-Net of the fast tests (STYLE: block_out_channels=(8, 16) at 8x8 tests the wiring in
# milliseconds): two levels, attention at 4x4 and in the middle, groups of 4 channels.
TINY_UNET_CONFIG = dict(
    sample_size=8,
    block_out_channels=(8, 16),
    norm_num_groups=4,
    layers_per_block=1,
    down_block_types=("DownBlock2D", "AttnDownBlock2D"),
    up_block_types=("AttnUpBlock2D", "UpBlock2D"),
)

# The toy U-Net, wider, with the settings of google/ddpm-cifar10-32 that differ from diffusers'
# defaults, so a saved config carries non-default keys (the diffusers parity and layout tests).
CIFAR_LIKE_UNET_CONFIG = TINY_UNET_CONFIG | dict(
    block_out_channels=(16, 32),
    norm_num_groups=8,
    attention_head_dim=None,
    downsample_padding=0,
    freq_shift=1,
    flip_sin_to_cos=False,
    norm_eps=1e-6,
)

# The settings of a training run that takes seconds (the trainers' tests): the smallest model on
# ring8, four steps, no sample pictures.
TINY_RUN = {"dataset": "ring8", "model_size": "tiny", "batch_size": 16, "max_steps": 4, "sample_every": 0}

# The CLI flags of a training run that takes seconds: the smallest model, no sample pictures.
TINY_RUN_FLAGS = ["--batch-size", "64", "--model-size", "tiny", "--sample-every", "0", "--log-every", "5"]


def free_port() -> int:
    """A TCP port nobody listens on now, for a 2-process run's rendezvous on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def two_process_env(rank: int, port: int) -> dict[str, str]:
    """The environment `accelerate launch` gives process `rank` of 2 on one machine (gloo over
    loopback at `port`; one thread each, so the two share the cores fairly)."""
    return {
        **os.environ,
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "WORLD_SIZE": "2",
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "LOCAL_WORLD_SIZE": "2",
        "OMP_NUM_THREADS": "1",
    }
