"""The settings of a training run, as dataclasses that import nothing heavy (no torch).

`TrainingConfig` holds what every trainer takes; `DiffusionTrainingConfig` and
`GANTrainingConfig` add each method's settings. A config is validated in ``__post_init__``
(one line naming the setting and its valid values) and saved with the run as
``training_config.json``.

Every field carries metadata from which a command line builds its flag, so the settings, their
valid values and their help live here once:

    metadata["help"]     one line for ``--help`` (the default is the field's own default)
    metadata["group"]    the flag group: "data", "model and optimization", "run", "diffusion", "GAN"
    metadata["choices"]  the valid values, where there is a fixed set

``dataclasses.fields(DiffusionTrainingConfig)`` lists them all.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from ..choices import BETA_SCHEDULES, FIXED_VARIANCE_TYPES, PREDICTION_TYPES
from ..validation import check_bool, check_choice, check_int, check_number

__all__ = [
    "TrainingConfig",
    "DiffusionTrainingConfig",
    "GANTrainingConfig",
    "MODEL_SIZES",
    "MIXED_PRECISION",
    "LR_SCHEDULES",
    "REPORT_TO",
    "BETA_SCHEDULES",
    "VARIANCE_TYPES",
    "PREDICTION_TYPES",
    "GAN_LOSS_NAMES",
    "REGULARIZERS",
    "OPTIMIZERS",
]

MIXED_PRECISION = ("no", "bf16", "fp16")
REPORT_TO = ("tensorboard", "wandb")
MODEL_SIZES = ("tiny", "small", "base")
LR_SCHEDULES = ("constant", "cosine")
# Fixed variances only: a learned variance needs Nichol & Dhariwal's hybrid loss (L_vlb).
VARIANCE_TYPES = FIXED_VARIANCE_TYPES
# The keys of gandiff.training.losses.GAN_LOSSES, restated without torch (tests/test_training_config.py checks).
GAN_LOSS_NAMES = ("minimax", "non_saturating", "wasserstein", "hinge", "least_squares")
REGULARIZERS = ("none", "clip", "gp", "r1")
OPTIMIZERS = ("adam", "rmsprop")

# regularizer -> the paper's optimizer settings (see gandiff.training.gan's docstring)
_PAPER_DEFAULTS = {
    "clip": {"optimizer": "rmsprop", "learning_rate": 5e-5, "adam_betas": None, "d_steps": 5},
    "gp": {"optimizer": "adam", "learning_rate": 1e-4, "adam_betas": (0.0, 0.9), "d_steps": 5},
    "none": {"optimizer": "adam", "learning_rate": 2e-4, "adam_betas": (0.5, 0.999), "d_steps": 1},
    "r1": {"optimizer": "adam", "learning_rate": 2e-4, "adam_betas": (0.5, 0.999), "d_steps": 1},
}


def _setting(default: Any, group: str, help: str, choices: tuple | None = None) -> Any:
    """A dataclass field with the metadata a command line builds its flag from."""
    metadata = {"group": group, "help": help} | ({"choices": choices} if choices is not None else {})
    return dataclasses.field(default=default, metadata=metadata)


def _new_default(cls: type, name: str, default: Any) -> Any:
    """The field `name` of `cls` with another default (a subclass's), its metadata kept."""
    return dataclasses.field(default=default, metadata=cls.__dataclass_fields__[name].metadata)


_DATA, _OPTIMIZATION, _RUN = "data", "model and optimization", "run"


@dataclass
class TrainingConfig:
    """Settings every trainer takes; saved with the run as ``training_config.json``.

    Trainers subclass this with their own settings (model, schedule, loss). Fields are plain
    JSON values, so a config round-trips through `to_json` and `from_dict(json.loads(...))`.
    The settings below come in three groups: the data (`dataset` .. `num_workers`), the model and
    its optimization (`model_size` .. `seed`), and the run (`output_dir` .. `hub_model_id`).

    Attributes:
        dataset: a built-in name (``ring8``, ``grid25``, ``digits``, ``mnist5k``, ...), an image
            folder, or ``hf:<name>``; see `gandiff.data.load_dataset`.
        resolution: image height and width (images are resized); None keeps the data's.
        center_crop, random_flip: image augmentation, see `gandiff.data.load_dataset`.
        num_samples: how many points to draw from a 2-D set (or a subset of images).
        class_conditional: condition the model on the data's labels.
        num_workers: DataLoader worker processes (0: load in the training process).
        model_size: ``"tiny"``, ``"small"`` or ``"base"`` (see each trainer's presets).
        batch_size: samples per process per micro-batch.
        max_steps: optimizer steps of the run.
        learning_rate: None for the trainer's default.
        lr_warmup_steps: linear warm-up of the learning rate from ~0 over this many steps.
        lr_schedule: after the warm-up, ``"constant"`` (Ho et al.) or ``"cosine"``: a half cosine
            from the learning rate down to 0 at ``max_steps`` (Loshchilov & Hutter 2017), which
            lets small models settle on sharp data such as the 2-D mixtures. Under ``"cosine"``,
            resuming with another ``max_steps`` stretches the rest of the decay to the new end.
        gradient_accumulation_steps: micro-batches per optimizer step.
        max_grad_norm: clip the gradients' global norm to this (None: no clipping).
        mixed_precision: ``"no"``, ``"bf16"`` (CPU or GPU) or ``"fp16"`` (GPU); losses stay fp32.
        ema_decay: decay of the exponential moving average of the weights, which is what
            samples and the saved pipeline use; None trains and saves without one. The decay
            warms up as in diffusers' ``EMAModel``: min(ema_decay, (1 + t) / (10 + t)) after t
            updates (`gandiff.training.ema`).
        seed: seeds the model initialization, the data order and every random draw.
        output_dir: where checkpoints, logs, samples and the pipeline go.
        checkpoint_every: save a checkpoint every this many steps (and always at the end).
        checkpoints_total_limit: keep only this many most recent checkpoints (None: all).
        resume_from_checkpoint: ``"latest"`` or the path of a checkpoint folder.
        log_every: log (JSONL, trackers, progress bar) every this many steps.
        sample_every: save a sample grid every this many steps (0: only at the end).
        num_sample_images: samples per grid (points: per scatter plot).
        report_to: also log to ``"tensorboard"`` or ``"wandb"`` (installed separately).
        push_to_hub: upload the pipeline to the Hub repo `hub_model_id` at the end.
        hub_model_id: ``"namespace/name"`` of that repo.

    Raises:
        ValueError: for an invalid setting, naming the valid values.
    """

    dataset: str = _setting(
        "ring8",
        _DATA,
        "ring8, grid25, swissroll, moons, circle, line, digits, mnist5k, an image folder, or hf:NAME",
    )
    resolution: int | None = _setting(None, _DATA, "resize images to this size (None: the data's)")
    center_crop: bool = _setting(False, _DATA, "crop images to a centred square")
    random_flip: bool = _setting(False, _DATA, "flip images left-right at random")
    num_samples: int | None = _setting(None, _DATA, "points to draw from a 2-D set (or an image subset)")
    class_conditional: bool = _setting(False, _DATA, "condition on the labels")
    num_workers: int = _setting(0, _DATA, "DataLoader worker processes")

    model_size: str = _setting("small", _OPTIMIZATION, "network size preset", MODEL_SIZES)
    batch_size: int = _setting(64, _OPTIMIZATION, "samples per process per step")
    max_steps: int = _setting(1000, _OPTIMIZATION, "optimizer steps")
    learning_rate: float | None = _setting(None, _OPTIMIZATION, "None: the method's paper's")
    lr_warmup_steps: int = _setting(0, _OPTIMIZATION, "linear learning-rate warm-up")
    lr_schedule: str = _setting(
        "constant", _OPTIMIZATION, "after the warm-up: constant, or cosine decay to 0 at max_steps", LR_SCHEDULES
    )
    gradient_accumulation_steps: int = _setting(1, _OPTIMIZATION, "micro-batches per step")
    max_grad_norm: float | None = _setting(None, _OPTIMIZATION, "gradient clipping (None: none)")
    mixed_precision: str = _setting("no", _OPTIMIZATION, "bf16 works on CPUs", MIXED_PRECISION)
    ema_decay: float | None = _setting(0.999, _OPTIMIZATION, "EMA of the weights (None: none)")
    seed: int = _setting(0, _OPTIMIZATION, "seeds everything")

    output_dir: str = _setting("out/run", _RUN, "checkpoints, logs, samples and the pipeline")
    checkpoint_every: int = _setting(500, _RUN, "steps between checkpoints")
    checkpoints_total_limit: int | None = _setting(3, _RUN, "keep this many checkpoints (None: all)")
    resume_from_checkpoint: str | None = _setting(None, _RUN, "'latest' or a checkpoint folder")
    log_every: int = _setting(10, _RUN, "steps between log lines")
    sample_every: int = _setting(500, _RUN, "steps between sample grids, 0: only at the end")
    num_sample_images: int = _setting(64, _RUN, "images per sample grid")
    report_to: str | None = _setting(None, _RUN, "also log to TensorBoard or W&B", REPORT_TO)
    push_to_hub: bool = _setting(False, _RUN, "upload the pipeline at the end")
    hub_model_id: str | None = _setting(None, _RUN, "the Hub repo to upload to, namespace/name")

    # Settings that may change between a run and its resumption without changing the result.
    RESUMABLE_CHANGES = frozenset(
        {
            "max_steps",
            "output_dir",
            "checkpoint_every",
            "checkpoints_total_limit",
            "resume_from_checkpoint",
            "log_every",
            "sample_every",
            "num_sample_images",
            "report_to",
            "push_to_hub",
            "hub_model_id",
            "num_workers",
        }
    )
    # Settings a resumed run cannot take a new value of: they fix the networks' shapes, or what
    # the saved state means (the random streams continue the saved seed's). A resume with a new
    # value is refused, naming the saved one; every other change applies from the resumed step.
    RESUME_REFUSED = frozenset({"model_size", "class_conditional", "seed"})

    def __post_init__(self) -> None:
        check_choice("model_size", self.model_size, MODEL_SIZES)
        check_choice("mixed_precision", self.mixed_precision, MIXED_PRECISION)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_choice("report_to", self.report_to, (None, *REPORT_TO))
        for name in (
            "batch_size",
            "max_steps",
            "gradient_accumulation_steps",
            "checkpoint_every",
            "log_every",
            "num_sample_images",
        ):
            check_int(name, getattr(self, name), minimum=1)
        for name in ("lr_warmup_steps", "sample_every", "num_workers", "seed"):
            check_int(name, getattr(self, name), minimum=0)
        for name in ("center_crop", "random_flip", "class_conditional", "push_to_hub"):
            check_bool(name, getattr(self, name))
        _check_optional(check_int, "resolution", self.resolution, "None keeps the data's size", minimum=1)
        _check_optional(check_int, "num_samples", self.num_samples, "None: all of them", minimum=1)
        _check_optional(
            check_int, "checkpoints_total_limit", self.checkpoints_total_limit, "None: keep all", minimum=1
        )
        _check_optional(check_number, "ema_decay", self.ema_decay, "None: no EMA", above=0, below=1)
        _check_optional(check_number, "learning_rate", self.learning_rate, "None: the paper's", above=0)
        _check_optional(check_number, "max_grad_norm", self.max_grad_norm, "None: no clipping", above=0)
        if self.push_to_hub and not self.hub_model_id:
            raise ValueError("push_to_hub needs hub_model_id, the 'namespace/name' of the repo to upload to")
        if self.hub_model_id is not None and not (
            isinstance(self.hub_model_id, str) and _REPO_ID.fullmatch(self.hub_model_id)
        ):
            raise ValueError(
                f"hub_model_id must be a Hub repo id, 'namespace/name' or 'name' (letters, digits, '-', '_', '.'), "
                f"got {self.hub_model_id!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a dict, with ``_class_name`` first.

        Returns:
            A JSON-serializable dict.
        """
        return {"_class_name": type(self).__name__, **dataclasses.asdict(self)}

    def to_json(self) -> str:
        """The settings as indented JSON, as ``training_config.json`` holds them.

        Returns:
            The JSON text, ending with a newline.
        """
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        """Build a config from `to_dict`'s output (or the parsed ``training_config.json``).

        Args:
            data: settings by name; metadata keys (starting with ``_``) are ignored, lists
                become tuples.

        Returns:
            The config.

        Raises:
            ValueError: for a setting this class does not have, or an invalid value.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(k for k in data if k not in names and not k.startswith("_"))
        if unknown:
            raise ValueError(f"{cls.__name__} has no setting(s) {unknown}; settings: {sorted(names)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
        return cls(**values)

    def changes_from(self, saved: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """Settings that differ from a saved run's and would change its results.

        Args:
            saved: the saved run's ``training_config.json``, parsed.

        Returns:
            ``{name: (saved value, current value)}``, leaving out `RESUMABLE_CHANGES`.
        """
        now = json.loads(self.to_json())
        return {
            k: (saved.get(k), v)
            for k, v in now.items()
            if k not in self.RESUMABLE_CHANGES and not k.startswith("_") and saved.get(k) != v
        }


def _check_optional(check, name: str, value: Any, none_means: str, **bounds: Any) -> None:
    """`check` a setting that may also be None, saying in the error what None does."""
    if value is None:
        return
    try:
        check(name, value, **bounds)
    except ValueError as error:
        raise ValueError(f"{error} ({none_means})") from None


# huggingface_hub's rule for repo ids (validate_repo_id), restated without importing it.
_REPO_ID = re.compile(r"(?:[\w.-]{1,96}/)?(?!.*(?:--|\.\.))(?![-.])[\w.-]{1,96}(?<![-.])")


_DIFFUSION = "diffusion"


@dataclass
class DiffusionTrainingConfig(TrainingConfig):
    """Settings of a diffusion run: `TrainingConfig`'s, the noise schedule, and the objective.

    Beyond `TrainingConfig`'s settings, and its defaults that this class changes:

    Attributes:
        num_train_timesteps: T.
        beta_schedule: ``"linear"`` (Ho et al.), ``"squaredcos_cap_v2"`` / ``"cosine"``
            (Nichol & Dhariwal 2021), ``"scaled_linear"`` or ``"sigmoid"``.
        variance_type: σ_t² of the reverse process: ``"fixed_small"`` (β̃_t) or ``"fixed_large"`` (β_t).
        prediction_type: what the network learns to predict: ``"epsilon"``, ``"sample"`` or ``"v_prediction"``.
        snr_gamma: γ of min-SNR weighting (Hang et al. 2023 use 5); None for the plain loss.
        num_inference_steps: DDIM steps for the sample grids and final metrics.
        learning_rate: Adam's learning rate (2e-4, Ho et al.).
        max_grad_norm: gradient clipping (1.0, Ho et al.'s code).

    Raises:
        ValueError: for an invalid setting, naming the valid values.

    Example:
        >>> from gandiff.training import DiffusionTrainingConfig
        >>> config = DiffusionTrainingConfig(dataset="digits", resolution=16, max_steps=2000)
        >>> config.learning_rate, config.beta_schedule, config.prediction_type, config.num_inference_steps
        (0.0002, 'linear', 'epsilon', 50)
        >>> DiffusionTrainingConfig.from_dict(config.to_dict()) == config
        True
    """

    learning_rate: float | None = _new_default(TrainingConfig, "learning_rate", 2e-4)
    max_grad_norm: float | None = _new_default(TrainingConfig, "max_grad_norm", 1.0)
    num_train_timesteps: int = _setting(1000, _DIFFUSION, "T")
    beta_schedule: str = _setting("linear", _DIFFUSION, "the β schedule", BETA_SCHEDULES)
    variance_type: str = _setting("fixed_small", _DIFFUSION, "σ² of sampling", VARIANCE_TYPES)
    prediction_type: str = _setting("epsilon", _DIFFUSION, "what the network predicts", PREDICTION_TYPES)
    snr_gamma: float | None = _setting(None, _DIFFUSION, "min-SNR-γ loss weighting (Hang et al.: 5)")
    num_inference_steps: int = _setting(50, _DIFFUSION, "DDIM steps for sample grids")

    # T and the network's target: a network trained for others cannot continue as if it were not.
    RESUME_REFUSED = TrainingConfig.RESUME_REFUSED | {"num_train_timesteps", "prediction_type"}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.learning_rate is None:
            self.learning_rate = 2e-4
        check_choice("beta_schedule", self.beta_schedule, BETA_SCHEDULES)
        check_choice("variance_type", self.variance_type, VARIANCE_TYPES)
        check_choice("prediction_type", self.prediction_type, PREDICTION_TYPES)
        check_int("num_train_timesteps", self.num_train_timesteps, minimum=1)
        check_int("num_inference_steps", self.num_inference_steps, minimum=1)
        _check_optional(check_number, "snr_gamma", self.snr_gamma, "Hang et al. use 5; None: no weighting", above=0)
        if not 0 < self.num_inference_steps <= self.num_train_timesteps:
            raise ValueError(
                f"num_inference_steps must lie in [1, {self.num_train_timesteps}], got {self.num_inference_steps}"
            )


_GAN = "GAN"


@dataclass
class GANTrainingConfig(TrainingConfig):
    """Settings of a GAN run: `TrainingConfig`'s, the loss, the regularizer and the game's rhythm.

    Settings left None take the defaults of the loss's paper (`gandiff.training.gan`'s
    docstring), and the saved config holds the values used.

    Beyond `TrainingConfig`'s settings:

    Attributes:
        loss: a name of `GAN_LOSSES`.
        regularizer: ``"none"``, ``"clip"``, ``"gp"`` or ``"r1"``; None: ``"gp"`` for the
            Wasserstein loss (a critic needs a Lipschitz constraint), ``"none"`` otherwise.
        d_steps: discriminator updates per generator update (k of Algorithm 1).
        optimizer: ``"adam"`` or ``"rmsprop"``, for both networks.
        adam_betas: Adam's (β1, β2).
        gp_lambda: λ of the gradient penalty (10).
        r1_gamma: γ of R1 (10).
        clip_value: c of weight clipping (0.01).
        latent_dim: size of z; None: 100 for images (DCGAN), 2 for points (PacGAN).
        ema_decay: EMA of the generator's weights (the discriminator is not averaged).

    Raises:
        ValueError: for an invalid setting, naming the valid values.

    Example:
        >>> from gandiff.training import GANTrainingConfig
        >>> config = GANTrainingConfig(loss="wasserstein")
        >>> config.regularizer, config.gp_lambda  # a critic needs a Lipschitz constraint: WGAN-GP
        ('gp', 10.0)
    """

    loss: str = _setting("non_saturating", _GAN, "the GAN loss", GAN_LOSS_NAMES)
    regularizer: str | None = _setting(None, _GAN, "None: gp for wasserstein, else none", REGULARIZERS)
    d_steps: int | None = _setting(None, _GAN, "discriminator steps per generator step (None: the paper's)")
    optimizer: str | None = _setting(None, _GAN, "None: the loss's paper's", OPTIMIZERS)
    adam_betas: tuple[float, float] | None = _setting(None, _GAN, "Adam's (β1, β2) (None: the paper's)")
    gp_lambda: float = _setting(10.0, _GAN, "gradient-penalty λ")
    r1_gamma: float = _setting(10.0, _GAN, "R1 γ")
    clip_value: float = _setting(0.01, _GAN, "weight-clipping c")
    latent_dim: int | None = _setting(None, _GAN, "size of z (None: 100 for images, 2 for points)")

    # z's size is the generator's input layer; Adam's moments do not become RMSProp's state.
    RESUME_REFUSED = TrainingConfig.RESUME_REFUSED | {"latent_dim", "optimizer"}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("loss", self.loss, GAN_LOSS_NAMES)
        if self.regularizer is None:
            self.regularizer = "gp" if self.loss == "wasserstein" else "none"
        check_choice("regularizer", self.regularizer, REGULARIZERS)
        defaults = _PAPER_DEFAULTS[self.regularizer]
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.optimizer == "adam" and self.adam_betas is None:
            self.adam_betas = (0.5, 0.999)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_int("d_steps", self.d_steps, minimum=1)
        if self.adam_betas is not None:
            if len(self.adam_betas) != 2:
                raise ValueError(f"adam_betas must be two numbers (β1, β2), got {self.adam_betas!r}")
            for beta in self.adam_betas:
                check_number("adam_betas", beta, at_least=0, below=1)
            self.adam_betas = tuple(float(b) for b in self.adam_betas)
        for name in ("gp_lambda", "r1_gamma", "clip_value"):
            check_number(name, getattr(self, name), above=0)
        _check_optional(check_int, "latent_dim", self.latent_dim, "None: 100 for images, 2 for points", minimum=1)
