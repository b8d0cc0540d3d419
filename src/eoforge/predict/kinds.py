"""The output-kind protocol: what every task head's outputs implement to run through the engine.

The engine owns tiling, blocks, the journal, executors and publishing under
final names; an output kind says what a batch of model outputs adds to a
block, what a block stores, which blocks a block must wait for before it is
final, how it is finalised, and how the finished blocks become files. Four
kinds exist: rasters on the input grid or on a finer/coarser one
(:class:`~eoforge.predict.raster.OutputSpec`), vector features merged across
tile borders (:class:`~eoforge.predict.detections.DetectionSpec`), and one row
per window (:class:`~eoforge.predict.embeddings.EmbeddingSpec`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Generic, TypeVar

from odc.geo.geobox import GeoBox

from eoforge.predict.plan import Block, BlockPlan, Scaling
from eoforge.predict.types import PredictorOutput, TileInput
from eoforge.predict.work import WorkStore

State = TypeVar("State")


class OutputKind(ABC, Generic[State]):
    """What a task's outputs add to a block, store, wait for, finalise and publish.

    Implementations are frozen dataclasses (picklable, part of the resume
    fingerprint through :meth:`describe`). Every method but :meth:`publish` may
    run on a Dask worker.
    """

    @property
    def scaling(self) -> Scaling:
        """Output pixels per input pixel (identity unless the output grid differs)."""
        return Scaling()

    def output_grid(self, grid: GeoBox) -> GeoBox:
        """The grid the outputs lie on, for the input ``grid``."""
        return self.scaling.output_grid(grid)

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """JSON-ready description (part of the resume fingerprint)."""

    @abstractmethod
    def products(self) -> list[str]:
        """Names of the files published, e.g. ``["classes", "confidence"]``."""

    @abstractmethod
    def begin(self, plan: BlockPlan, block: Block) -> State:
        """An empty result for ``block``."""

    @abstractmethod
    def add(
        self, plan: BlockPlan, state: State, items: Sequence[TileInput], output: PredictorOutput
    ) -> None:
        """Add the model's ``output`` for the batch ``items`` to ``state``.

        Raises:
            ValueError: ``output`` does not have the shape this kind expects.
        """

    @abstractmethod
    def store(self, work: WorkStore, plan: BlockPlan, block: Block, state: State) -> None:
        """Write ``block``'s result into the work store (and whatever is final already)."""

    def dependencies(self, plan: BlockPlan, block: Block) -> list[Block]:
        """Blocks that must be stored before ``block`` can be finalised, row-major."""
        return [block]

    @abstractmethod
    def finalize(self, work: WorkStore, plan: BlockPlan, block: Block) -> None:
        """Combine the dependencies' stored results into ``block``'s final result."""

    def release(self, work: WorkStore, block: Block) -> None:
        """Drop what ``block`` stored for others, once every block depending on it is final."""
        return None

    @abstractmethod
    def publish(self, work: WorkStore, plan: BlockPlan, stem: Path) -> dict[str, Path]:
        """Write the products of every (final) block to ``<stem>_<product>.<ext>``.

        Each file is written under a temporary name and renamed when complete.

        Returns:
            Product name → path written.
        """
