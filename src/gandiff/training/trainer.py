"""The `Trainer` base: the phases every training run shares, written once.

A trainer (`gandiff.training.diffusion`, `gandiff.training.gan`) reads top to bottom as its
algorithm; this base is the set-up and bookkeeping around it, as nanoGPT's ``train.py`` and EDM's
training loop keep it:

    __init__      1. the accelerator
                  2. the data, checked against the batch size
                  (3. networks and 4. optimizers: the algorithm's own ``__init__``)
    start()       5. the output folder: locked (`gandiff.training.lock`), where the run starts
                     decided (`gandiff.training.output.plan_run`), changed settings applied or
                     refused; this process's random draws; resume the checkpoint, or start anew
    batches(), run_logger()          what the loop reads from and logs to
    end_of_step() / finish()         sample pictures, checkpoints; the saved pipeline and model card
    save_checkpoint(), _resume()     exact resumption (`gandiff.training.checkpoints`)

Names of the networks follow nanoGPT: ``raw_model`` is the network as built (its weights are the
ones saved, averaged and sampled); ``model`` is what `accelerate.Accelerator.prepare` returned
(on several processes a `DistributedDataParallel` wrapper that averages the gradients), which the
loop calls. The GAN trainer names its two players ``G`` / ``raw_G`` and ``D`` / ``raw_D``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from ..pil_utils import image_grid, loss_curve, scatter_plot
from .accelerator import make_accelerator
from .batches import check_batch_size, load_training_data, make_batches, num_classes_for
from .checkpoints import (
    CheckpointMismatchError,
    check_checkpoint,
    load_checkpoint,
    save_checkpoint,
    set_aside_checkpoints,
)
from .config import TrainingConfig
from .lock import OutputDirLock
from .logger import RunLogger, read_log
from .output import check_output_path, mode_coverage_metrics, plan_run, samples_path, save_run_output, start_run
from .seeding import seed_everything

logger = logging.getLogger(__name__)

__all__ = ["Trainer", "ResumableTrainer", "resume_settings", "warn_changed_settings"]


class Trainer:
    """The shared phases of a training run; a subclass adds its networks, loop and objective.

    A subclass's ``__init__`` calls ``super().__init__(config, dataset)`` (phases 1 and 2), builds
    its networks, EMA and optimizers (3 and 4), then calls `start` (5). It defines ``train``,
    ``pipeline``, ``sample`` and ``_state`` (what a checkpoint holds), and sets ``LOSS_PANELS``.

    Args:
        config: the run's settings.
        dataset: a data set to use instead of loading ``config.dataset`` (items
            ``{"sample", "label"}``, attributes ``kind``, ``sample_shape``, ``num_classes``).
    """

    # Rows of the loss-curve picture saved at the end: each a list of logged keys drawn together.
    LOSS_PANELS: list[list[str]] = []

    def __init__(self, config: TrainingConfig, dataset=None):
        self.config = config
        # 1. Accelerator. Nothing is written before `start`, once every input is checked.
        self.accelerator = make_accelerator(config)
        check_output_path(config.output_dir)

        # 2. Data, and one batch of it per process at least.
        self.dataset = dataset if dataset is not None else self._load_data()
        self.is_points = self.dataset.kind == "points"
        self.num_classes = num_classes_for(config, self.dataset)
        check_batch_size(len(self.dataset), config.batch_size, self.accelerator.num_processes)
        self._lock: OutputDirLock | None = None
        self.resumed: list[dict[str, Any]] = []  # settings changed at each resume, for the model card

    def _load_data(self):
        """The run's data set (a subclass may adapt it, e.g. to the resolutions its networks take)."""
        return load_training_data(self.config)

    def start(self) -> None:
        """Phase 5: the output folder, this process's random draws, and where the run stands.

        The main process locks the output folder (one run writes it at a time) and decides
        where the run starts; every process then loads the checkpoint, and only then does the
        main process write: checkpoints of an abandoned continuation moved aside, the settings
        of a new run, the log.
        """
        config, accelerator = self.config, self.accelerator
        resume_from = self._claim_output_dir()
        # Dropout (torch's global generator) differs per process. The algorithm's own draws (t, ε,
        # z, ...) come from a generator of their own, which checkpoints save and restore, and which
        # differs per process too (each process draws for its own slice of the batch).
        seed_everything(config.seed + accelerator.process_index)
        self.rng = torch.Generator(accelerator.device).manual_seed(config.seed + accelerator.process_index)
        self.step, self.batches_taken, self.last_checkpoint = 0, 0, None
        if resume_from is not None:
            self._resume(resume_from)
        if accelerator.is_main_process:
            set_aside_checkpoints(config.output_dir, resume_from)
        if resume_from is None or Path(config.output_dir).resolve() not in resume_from.resolve().parents:
            start_run(accelerator, config)
        accelerator.wait_for_everyone()

    def _claim_output_dir(self) -> Path | None:
        """Lock the output folder and decide where the run starts (main process); every process
        gets the same answer, or raises the same error."""
        error, checkpoint = None, None
        if self.accelerator.is_main_process:
            try:
                self._lock = OutputDirLock(self.config.output_dir)
                self._lock.acquire()
                checkpoint = plan_run(self.config)
                if checkpoint is not None:  # refuse changed settings before anything is written
                    resume_settings(self.config, check_checkpoint(checkpoint).get("config", {}), checkpoint)
            except Exception as err:
                if self._lock is not None:
                    self._lock.release()
                error = err
        if self.accelerator.num_processes > 1:
            from accelerate.utils import broadcast_object_list

            shared = [(type(error), str(error)) if error is not None else None, checkpoint and str(checkpoint)]
            broadcast_object_list(shared)
            if error is None and shared[0] is not None:
                error = shared[0][0](shared[0][1])  # the main process's refusal, raised here too
            checkpoint = Path(shared[1]) if shared[1] else None
        if error is not None:
            raise error
        return checkpoint

    # -- what the loop reads from and logs to --------------------------------------------------

    def batches(self) -> Iterator[dict[str, torch.Tensor]]:
        """This process's batches, endless, from where the run stands (`make_batches`).

        Returns:
            An iterator of ``{"sample": ..., "label": ...}`` batches on the accelerator's device.
        """
        return make_batches(self.dataset, self.config, self.accelerator, start=self.batches_taken)

    def run_logger(self, samples_per_step: int) -> RunLogger:
        """The progress bar, JSONL log and trackers of the run, from the current step.

        Args:
            samples_per_step: data samples one optimizer step takes, over all processes.

        Returns:
            The `RunLogger`; close it at the end.
        """
        config = self.config
        unit = "pts" if self.is_points else "img"
        return RunLogger(
            self.accelerator, config.output_dir, config.to_dict(), self.step, config.max_steps, samples_per_step, unit
        )

    def end_of_step(self) -> None:
        """After optimizer step ``self.step``: a sample picture every ``sample_every`` steps, a
        checkpoint every ``checkpoint_every`` steps and at the last one."""
        config = self.config
        if config.sample_every and self.step % config.sample_every == 0 and self.accelerator.is_main_process:
            self.sample_picture().save(samples_path(config, self.step))
        if self.step % config.checkpoint_every == 0 or self.step == config.max_steps:
            self.save_checkpoint()

    def finish(self, log: RunLogger):
        """After the last step: save the pipeline with its model card and pictures, close the log.

        Args:
            log: the run's logger.

        Returns:
            The trained pipeline.
        """
        pipeline = self.pipeline()
        try:
            if self.accelerator.is_main_process:
                self._save_output(pipeline)
        finally:
            log.close()
            if self._lock is not None:  # the run writes nothing more, even when the upload failed
                self._lock.release()
        return pipeline

    # -- results -------------------------------------------------------------------------------

    def _sampling_network(self, raw_model: torch.nn.Module) -> torch.nn.Module:
        """The weights samples come from: the EMA of `raw_model` when the run keeps one."""
        return self.ema.module if self.ema is not None else raw_model

    def sample_picture(self):
        """A grid of samples (images) or a scatter plot of samples over the data (points).

        Returns:
            A PIL image.
        """
        if self.is_points:
            data = torch.stack([self.dataset[i]["sample"] for i in range(min(len(self.dataset), 2000))])
            return scatter_plot(self.sample(1000), data, title=f"step {self.step}")
        return image_grid(self.sample(self.config.num_sample_images))

    def _final_losses(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """The last logged losses, for the model card."""
        raise NotImplementedError

    def _save_output(self, pipeline) -> None:
        config = self.config
        records = read_log(config.output_dir)
        metrics = {"steps": self.step, **self._final_losses(records)}
        if self.is_points and getattr(self.dataset, "mixture", None) is not None:
            metrics |= mode_coverage_metrics(self.sample(2500, seed=1), self.dataset.mixture)
        loss_curve(records, self.LOSS_PANELS).save(Path(config.output_dir) / "loss_curve.png")
        folder = save_run_output(pipeline, config, metrics, self.sample_picture(), self.resumed)
        if config.push_to_hub:
            pipeline.push_to_hub(config.hub_model_id, metrics=metrics, sample_grid=folder / "samples.png")

    # -- checkpoints -----------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        """What a checkpoint holds besides the step, the data position and the config: ``modules``,
        ``optimizers``, ``lr_schedulers`` (each ``{name: object}``) and ``rng``."""
        raise NotImplementedError

    def save_checkpoint(self) -> Path:
        """Write a checkpoint of the current step (weights, EMA, optimizers, RNG, data position).

        Returns:
            The checkpoint folder.
        """
        self.last_checkpoint = save_checkpoint(
            self.accelerator,
            self.config.output_dir,
            self.step,
            **self._state(),
            total_limit=self.config.checkpoints_total_limit,
            trainer_state={
                "batches_taken": self.batches_taken,
                "num_processes": self.accelerator.num_processes,
                "config": self.config.to_dict(),
                "resumed": self.resumed,
            },
        )
        return self.last_checkpoint

    def _resume(self, path: Path) -> None:
        saved = check_checkpoint(path).get("config", {})
        try:
            state = load_checkpoint(
                path,
                **self._state(),
                process_index=self.accelerator.process_index,
                num_processes=self.accelerator.num_processes,
            )
        except CheckpointMismatchError as err:
            changed = self.config.changes_from(saved)
            cause = ", ".join(f"{k}={old!r} (now {new!r})" for k, (old, new) in changed.items())
            raise CheckpointMismatchError(
                f"cannot resume {path}: {err}"
                + (f"; the saved run used {cause}: resume with those" if cause else "")
                + ", or start a new run in another output_dir"
            ) from None
        self.step, self.batches_taken, self.last_checkpoint = state["step"], state["batches_taken"], path
        changed = resume_settings(self.config, saved, path, log=self.accelerator.is_main_process)
        self.resumed = state.get("resumed", []) + ([{"step": self.step, "changed": changed}] if changed else [])
        logger.info("resumed from %s at step %d", path, self.step)


def resume_settings(
    config: TrainingConfig, saved: dict[str, Any], checkpoint: Path, log: bool = False
) -> dict[str, tuple[Any, Any]]:
    """The settings a resumed run changes: refused when they cannot apply, else applied from the resumed step.

    Refused (`TrainingConfig.RESUME_REFUSED`): the settings that fix the networks' shapes or what
    the saved state means, and an EMA asked for when the saved run kept none. Applied: everything
    else, e.g. a new learning rate or schedule (`load_checkpoint` keeps the optimizers' settings
    from the run's config). `TrainingConfig.RESUMABLE_CHANGES` (``max_steps``, logging, ...) are
    not reported.

    Args:
        config: the settings now.
        saved: the saved run's config (a checkpoint's ``config``), parsed.
        checkpoint: the checkpoint being resumed, named in the messages.
        log: say in one line which changes apply.

    Returns:
        ``{name: (saved value, value now)}`` of the applied changes.

    Raises:
        ValueError: for a refused change, naming the setting, the saved value and the fix.
    """
    changes = config.changes_from(saved)
    refused = {k: v for k, v in changes.items() if k in config.RESUME_REFUSED}
    if "ema_decay" in changes and changes["ema_decay"][0] is None:
        refused["ema_decay"] = changes["ema_decay"]  # no EMA saved to continue
    if refused:
        shown = ", ".join(f"{k}={old!r} (now {new!r})" for k, (old, new) in refused.items())
        fix = ", ".join(f"{k}={old!r}" for k, (old, _) in refused.items())
        raise ValueError(
            f"cannot resume {checkpoint} with changed settings: the saved run used {shown}, which "
            f"{'fix' if len(refused) > 1 else 'fixes'} its networks or its saved state; resume with {fix}, or start a "
            "new run in another output_dir"
        )
    if changes and log:
        shown = ", ".join(f"{k} {json.dumps(old)} -> {json.dumps(new)}" for k, (old, new) in changes.items())
        logger.warning("resuming %s with changed settings, applied from the next step: %s", checkpoint, shown)
    return changes


def warn_changed_settings(config: TrainingConfig, saved: dict[str, Any], checkpoint: Path) -> None:
    """Say which changed settings a resumed run applies; refuse those it cannot (`resume_settings`).

    Args:
        config: the settings now.
        saved: the saved run's ``training_config.json``, parsed.
        checkpoint: the checkpoint being resumed, named in the message.
    """
    resume_settings(config, saved, checkpoint, log=True)


# The name of the base when it held only checkpointing and resumption.
ResumableTrainer = Trainer
