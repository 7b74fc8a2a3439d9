"""The data of a run: the data set, and this process's batches in an order a resume replays.

The order depends only on the seed and the number of batches taken, never on how often the run
was interrupted, so a resumed run sees the same batches as one that never stopped.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from .config import TrainingConfig

__all__ = ["load_training_data", "num_classes_for", "check_batch_size", "EpochBatchSampler", "make_batches"]


def load_training_data(config: TrainingConfig):
    """The run's data set, from `gandiff.data.load_dataset` with the config's data settings.

    Args:
        config: the run's settings.

    Returns:
        The data set.
    """
    from ..data import load_dataset

    return load_dataset(
        config.dataset,
        resolution=config.resolution,
        center_crop=config.center_crop,
        random_flip=config.random_flip,
        num_samples=config.num_samples,
        seed=config.seed,
    )


def num_classes_for(config: TrainingConfig, dataset) -> int | None:
    """The number of classes to condition on: the data's when ``class_conditional``, else None.

    Args:
        config: the run's settings.
        dataset: the run's data set.

    Returns:
        The number of classes, or None.

    Raises:
        ValueError: when ``class_conditional`` is set and the data set has no labels.
    """
    if not config.class_conditional:
        return None
    if not dataset.num_classes:
        raise ValueError(f"class_conditional=True, but the data set {config.dataset!r} has no labels")
    return dataset.num_classes


def check_batch_size(num_items: int, batch_size: int, num_processes: int) -> None:
    """Refuse a data set smaller than one batch on every process (a run could take no batch).

    Args:
        num_items: the size of the data set.
        batch_size: samples per process per batch.
        num_processes: the number of processes.

    Raises:
        ValueError: naming the sizes and the fix.
    """
    if num_items < batch_size * num_processes:
        raise ValueError(
            f"the data set has {num_items} samples, fewer than one batch of {batch_size} × {num_processes} "
            "process(es); lower batch_size or add data"
        )


class EpochBatchSampler(torch.utils.data.Sampler):
    """Batches of keys for one process, epoch after epoch, from any position: exact resume.

    Epoch e is the permutation of the data drawn from a generator seeded with ``seed + e``,
    cut into global batches of ``batch_size × num_processes`` (an incomplete last one is
    dropped); process r takes the r-th slice of ``batch_size`` of each. So every sample of an
    epoch is seen once across processes, and the order depends only on the seed, never on how
    often the run was interrupted. `start` is the number of batches this process already took.

    With ``epoch_keys`` the keys are ``(epoch, index)`` pairs, which gandiff's data sets take:
    an item's augmentation (flip, crop) is then seeded by its epoch and index alone, whichever
    DataLoader worker loads it and however far ahead workers prefetch. Otherwise keys are
    plain indices, for any map-style data set.

    Args:
        num_items: the size of the data set.
        batch_size: samples per process per batch.
        seed: epoch e is shuffled with ``seed + e``.
        process_index: this process's rank r.
        num_processes: the number of processes.
        start: batches this process already took (to resume).
        epoch_keys: yield ``(epoch, index)`` keys instead of indices.

    Raises:
        ValueError: when the data set holds less than one global batch.
    """

    def __init__(
        self,
        num_items: int,
        batch_size: int,
        seed: int,
        process_index: int = 0,
        num_processes: int = 1,
        start: int = 0,
        epoch_keys: bool = False,
    ):
        self.num_items, self.batch_size, self.seed = num_items, batch_size, seed
        self.process_index, self.num_processes, self.start = process_index, num_processes, start
        self.epoch_keys = epoch_keys
        check_batch_size(num_items, batch_size, num_processes)
        self.batches_per_epoch = num_items // (batch_size * num_processes)

    def __iter__(self) -> Iterator[list]:
        epoch, position = divmod(self.start, self.batches_per_epoch)
        global_batch = self.batch_size * self.num_processes
        while True:
            order = torch.randperm(self.num_items, generator=torch.Generator().manual_seed(self.seed + epoch))
            for b in range(position, self.batches_per_epoch):
                first = b * global_batch + self.process_index * self.batch_size
                indices = order[first : first + self.batch_size].tolist()
                yield [(epoch, i) for i in indices] if self.epoch_keys else indices
            epoch, position = epoch + 1, 0

    def __len__(self) -> int:  # endless; DataLoader only needs this for its own len()
        return 2**62


def make_batches(dataset, config: TrainingConfig, accelerator, start: int) -> Iterator[dict[str, torch.Tensor]]:
    """An endless iterator of this process's batches (dicts of tensors on the accelerator's
    device), resuming after `start` batches.

    Args:
        dataset: the run's data set.
        config: the run's settings (``batch_size``, ``seed``, ``num_workers``).
        accelerator: the run's accelerator (device, process index and count).
        start: batches this process already took.

    Yields:
        ``{"sample": ..., "label": ...}`` batches on the accelerator's device.
    """
    sampler = EpochBatchSampler(
        len(dataset),
        config.batch_size,
        config.seed,
        accelerator.process_index,
        accelerator.num_processes,
        start,
        # gandiff's data sets (they have set_epoch) take (epoch, index) keys; see the sampler
        epoch_keys=hasattr(dataset, "set_epoch"),
    )
    if hasattr(dataset, "get_batch") and config.num_workers == 0:
        # In-memory sets (2-D points) stack a whole batch in one indexing operation; same batches.
        for keys in sampler:
            yield {k: v.to(accelerator.device) for k, v in dataset.get_batch(keys).items()}
        return
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=config.num_workers,
        # The loader draws its workers' base seed when an iterator starts; its own generator
        # keeps that draw out of torch's global stream, which a resumed run must replay exactly.
        generator=torch.Generator().manual_seed(config.seed),
        pin_memory=accelerator.device.type == "cuda",
    )
    for batch in loader:
        yield {k: v.to(accelerator.device, non_blocking=True) for k, v in batch.items()}
