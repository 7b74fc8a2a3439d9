"""Test helper: the toy sizes the fast tests share (imported by conftest.py's fixtures and by test
modules that need the plain config; a helper module rather than ``from conftest import``, which
breaks as soon as a second conftest.py is loaded under the same module name)."""

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
