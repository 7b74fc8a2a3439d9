"""Pictures for understanding diffusion and GANs: the one picture package.

=========================  ======================================================================
function                   what it shows
=========================  ======================================================================
plot_schedules             β_t, ᾱ_t and log-SNR of the linear and cosine schedules
plot_forward_process       q(x_t | x_0) of images or a point cloud at several t (add_noise)
plot_reverse_process       x_T -> x_0: x_t and the predicted x_0 along the sampling loop
plot_gan_training          losses, D(x) and D(G(z)), gradient norms from a run's log.jsonl,
                           with the equilibrium of Goodfellow et al. 2014 marked
plot_samples_2d            2-D samples over the data, one panel per model or checkpoint
plot_checkpoints_2d        a 2-D training run's samples at each of its checkpoints, over the data
image_grid                 a grid of images (PIL)
scatter_plot               2-D samples over the data (PIL)
loss_curve                 logged values against the step, one panel per group (PIL)
=========================  ======================================================================

The ``plot_*`` functions draw with matplotlib, an optional extra (``pip install
"gandiff[plot]"``) imported when a function is called, and write a PNG of a fixed size
(`figsize × dpi` pixels). One file per kind of picture. The last three draw with PIL alone and
return the picture; they live in `gandiff.pil_utils`, on the bottom floor, so that the trainers
(which may not import this package) draw their sample grids and loss curves with them.
"""

from ..pil_utils import image_grid, loss_curve, scatter_plot
from .canvas import require_matplotlib
from .checkpoints import checkpoint_samples, plot_checkpoints_2d, read_run_config
from .forward_process import plot_forward_process
from .gan_training import plot_gan_training
from .reverse_process import ReverseTrajectory, plot_reverse_process, reverse_trajectory
from .samples_2d import plot_samples_2d
from .schedules import plot_schedules

__all__ = [
    "ReverseTrajectory",
    "checkpoint_samples",
    "image_grid",
    "loss_curve",
    "plot_checkpoints_2d",
    "plot_forward_process",
    "plot_gan_training",
    "plot_reverse_process",
    "plot_samples_2d",
    "plot_schedules",
    "read_run_config",
    "require_matplotlib",
    "reverse_trajectory",
    "scatter_plot",
]
