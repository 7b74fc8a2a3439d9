"""Where a run reports: a tqdm bar, a JSONL file of every logged value, accelerate's trackers.

``<output_dir>/log.jsonl`` holds one JSON object per logged step (``{"step": 100, "loss":
0.031, ...}``), appended as the run goes, so a killed run keeps its history. A resumed run
first drops the lines after the step it resumes from, so the file reads as one run.
Only the main process writes or shows anything.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["RunLogger", "read_log", "LOG_NAME"]

LOG_NAME = "log.jsonl"


def read_log(output_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of ``log.jsonl`` (an empty list when there is none).

    Args:
        output_dir: the run's folder.

    Returns:
        One dict per logged step, in order; a last line cut short by a killed run is dropped.
    """
    path = Path(output_dir) / LOG_NAME
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:  # the last line of a killed run may be cut short
            break
    return records


class RunLogger:
    """Progress bar, JSONL log and trackers of one run.

    Args:
        accelerator: the run's `accelerate.Accelerator` (trackers, main-process check).
        output_dir: the run's folder.
        config: the run's settings, given to the trackers.
        start_step: the step the run starts (or resumes) from.
        max_steps: the step it ends at.
        samples_per_step: samples consumed per optimizer step, over all processes (for samples/s).
        unit: what a sample is, for the bar: ``"img"`` or ``"pts"``.
    """

    def __init__(
        self,
        accelerator,
        output_dir,
        config: dict[str, Any],
        start_step: int,
        max_steps: int,
        samples_per_step: int,
        unit: str = "img",
    ):
        from tqdm.auto import tqdm

        self.accelerator = accelerator
        self.is_main = accelerator.is_main_process
        self.samples_per_step, self.unit = samples_per_step, unit
        self.path = Path(output_dir) / LOG_NAME
        self._file = None
        if self.is_main:
            kept = [r for r in read_log(output_dir) if r.get("step", 0) <= start_step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
            self._file = self.path.open("a", encoding="utf-8")
        if config.get("report_to"):
            accelerator.init_trackers(Path(output_dir).name or "gandiff", config=_flat(config))
        self.bar = tqdm(
            total=max_steps, initial=start_step, disable=not self.is_main, dynamic_ncols=True, desc="train"
        )
        self._last_time, self._last_step = time.perf_counter(), start_step

    def update(self) -> None:
        """One optimizer step done."""
        self.bar.update(1)

    def log(self, step: int, values: dict[str, float]) -> dict[str, float]:
        """Write `values` for `step` to every destination.

        Args:
            step: the optimizer step the values belong to.
            values: the numbers to log, e.g. ``{"loss": 0.12}``.

        Returns:
            The record written: ``step``, the values as floats, and ``samples_per_s``.
        """
        now = time.perf_counter()
        elapsed = max(now - self._last_time, 1e-9)
        record = {"step": step, **{k: float(v) for k, v in values.items()}}
        record["samples_per_s"] = (step - self._last_step) * self.samples_per_step / elapsed
        self._last_time, self._last_step = now, step
        if self.is_main:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
            shown = {k: f"{v:.4g}" for k, v in values.items() if k in ("loss", "d_loss", "g_loss")}
            self.bar.set_postfix(shown | {f"{self.unit}/s": f"{record['samples_per_s']:.0f}"}, refresh=False)
        self.accelerator.log({k: v for k, v in record.items() if k != "step" and math.isfinite(v)}, step=step)
        return record

    def note(self, message: str) -> None:
        """A line of text above the bar (main process only).

        Args:
            message: the text.
        """
        if self.is_main:
            self.bar.write(message)

    def close(self) -> None:
        """Close the bar, the log file and the trackers."""
        self.bar.close()
        if self._file is not None:
            self._file.close()
        # Not accelerator.end_training(): it also destroys the process group, which a second
        # run in the same processes (or the caller) may still need.
        for tracker in self.accelerator.trackers:
            tracker.finish()


def _flat(config: dict[str, Any]) -> dict[str, Any]:
    """Trackers take numbers, strings and booleans; everything else is shown as text."""
    return {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in config.items()}
