"""The PIL pictures of a run moved to `gandiff.pil_utils` (and are re-exported by `gandiff.plot`);
this module keeps the old import path working."""

from ..pil_utils import image_grid, loss_curve, scatter_plot

__all__ = ["image_grid", "loss_curve", "scatter_plot"]
