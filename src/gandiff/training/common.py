"""The names ``gandiff.training.common`` held before it was split into one file per concept.

Kept so that older code and notebooks keep importing from here; new code imports from the
module that defines each name: `config` (settings), `accelerator`, `seeding`, `batches`,
`optimization`, `ema`, `divergence`, `output` (the output folder) and `trainer` (the base).
"""

from .accelerator import autocast, backward, make_accelerator
from .batches import EpochBatchSampler, load_training_data, make_batches, num_classes_for
from .config import LR_SCHEDULES, MIXED_PRECISION, MODEL_SIZES, REPORT_TO, TrainingConfig
from .divergence import NonFiniteLossError, check_finite
from .ema import make_ema
from .optimization import clip_grad_norm, lr_scheduler, make_adam
from .output import check_output_dir, samples_path, start_run
from .seeding import seed_everything
from .trainer import ResumableTrainer, warn_changed_settings

__all__ = [
    "TrainingConfig",
    "ResumableTrainer",
    "NonFiniteLossError",
    "MIXED_PRECISION",
    "MODEL_SIZES",
    "REPORT_TO",
    "make_accelerator",
    "seed_everything",
    "load_training_data",
    "EpochBatchSampler",
    "make_batches",
    "LR_SCHEDULES",
    "lr_scheduler",
    "make_ema",
    "make_adam",
    "clip_grad_norm",
    "autocast",
    "backward",
    "check_finite",
    "check_output_dir",
    "start_run",
    "samples_path",
    "warn_changed_settings",
    "num_classes_for",
]
