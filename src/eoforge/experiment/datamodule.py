"""The LightningDataModule of an experiment: loaders over :class:`ExperimentData`.

Samplers are built in :meth:`ExperimentDataModule.setup`, which Lightning
calls inside each process once the process group exists, so eoforge's
samplers pick up their DDP rank; Lightning must therefore not swap in its
own distributed sampler (``use_distributed_sampler=False``). Each loader
draws its worker seeds from its own generator, never from the global one, so
creating a loader (e.g. when resuming) leaves the training random stream alone.
When training fails, the loaders' worker processes are stopped at once
(:meth:`ExperimentDataModule.stop_workers`) rather than when the garbage
collector finds them, which takes seconds per worker.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Sampler
from torch.utils.data.dataloader import _MultiProcessingDataLoaderIter

from eoforge.experiment.chip_options import Collate
from eoforge.experiment.data import ExperimentData
from eoforge.experiment.sampling import SkippingSampler


class ExperimentDataModule(L.LightningDataModule):
    """Training and validation loaders.

    Args:
        data: Datasets and sampler factories.
        batch_size: Samples per batch.
        num_workers: Loader worker processes.
        seed: Seed of the loaders' worker-seed generators.
        persistent_workers: Keep worker processes between epochs (with workers only).
        prefetch_factor: Batches each worker reads ahead (None: PyTorch's default).
        pin_memory: Page-locked batches (for GPU training).
        eval_batch_size: Samples per validation batch (None: ``batch_size``).
    """

    def __init__(
        self,
        data: ExperimentData,
        batch_size: int,
        num_workers: int,
        seed: int,
        *,
        persistent_workers: bool = True,
        prefetch_factor: int | None = None,
        pin_memory: bool = False,
        eval_batch_size: int | None = None,
    ) -> None:
        super().__init__()
        self.data = data
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.persistent_workers = persistent_workers and num_workers > 0
        self.prefetch_factor = prefetch_factor if num_workers > 0 else None
        self.pin_memory = pin_memory
        self.eval_batch_size = eval_batch_size or batch_size
        self.train_sampler: SkippingSampler | None = None
        self.val_sampler: Sampler[Any] | None = None
        self.loaders: list[DataLoader[Any]] = []

    def setup(self, stage: str) -> None:
        """Build the samplers (inside each process: they read its DDP rank)."""
        if self.train_sampler is None:
            self.train_sampler = SkippingSampler(self.data.train_sampler())
            self.val_sampler = self.data.val_sampler()

    def skipper(self) -> SkippingSampler:
        """The training sampler (after :meth:`setup`)."""
        self.setup("fit")
        assert self.train_sampler is not None
        return self.train_sampler

    def stop_workers(self) -> None:
        """Stop the worker processes of every loader made so far (they restart on next use)."""
        for loader in self.loaders:
            # Persistent workers live in the loader's cached iterator (a private attribute;
            # Lightning stops them the same way when a loop ends).
            iterator = getattr(loader, "_iterator", None)
            if isinstance(iterator, _MultiProcessingDataLoaderIter):
                iterator._shutdown_workers()
                loader._iterator = None

    def on_exception(self, exception: BaseException) -> None:
        """Lightning hook: training failed, stop the workers now."""
        self.stop_workers()

    def _loader(
        self,
        dataset: Any,
        sampler: Sampler[Any],
        offset: int,
        collate_fn: Collate,
        drop_last: bool = False,
        batch_size: int | None = None,
    ) -> DataLoader[Any]:
        loader = DataLoader(
            dataset,
            batch_size=batch_size or self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=collate_fn,
            drop_last=drop_last,
            persistent_workers=self.persistent_workers,
            prefetch_factor=self.prefetch_factor,
            pin_memory=self.pin_memory,
            generator=torch.Generator().manual_seed(self.seed + offset),
        )
        self.loaders.append(loader)
        return loader

    def train_dataloader(self) -> DataLoader[Any]:
        """Loader of training batches; a last partial batch is dropped (batch norm needs > 1)."""
        sampler = self.skipper()
        return self._loader(
            self.data.train,
            sampler,
            0,
            self.data.train_collate,
            drop_last=len(sampler) > self.batch_size,
        )

    def val_dataloader(self) -> DataLoader[Any]:
        """Loader of validation batches."""
        self.setup("validate")
        assert self.val_sampler is not None
        return self._loader(
            self.data.val,
            self.val_sampler,
            1,
            self.data.val_collate,
            batch_size=self.eval_batch_size,
        )
