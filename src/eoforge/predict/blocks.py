"""One block of a scene prediction: read its tiles, run the model, hand outputs to the kind.

These functions are what an executor runs, in-process or on a Dask worker.
What the outputs become (blended rasters, merged detections, window rows) is
the job's output kind's business (:mod:`.kinds`); reading tiles by band name
and batching them through the model is the same for every kind.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from odc.geo.geobox import GeoBox

from eoforge.geo.grid import Tile, sub_grid
from eoforge.io.reader import read
from eoforge.io.source import RasterSource
from eoforge.predict.kinds import OutputKind
from eoforge.predict.plan import Block, BlockPlan
from eoforge.predict.types import Predictor, TileInput
from eoforge.predict.work import WorkStore


@dataclass(frozen=True)
class SceneJob:
    """Everything needed to predict one block, picklable for Dask workers.

    Attributes:
        inputs: Sources per date (one entry, or two for change detection).
        bands: Band names the predictor expects, in channel order.
        grid: The grid the model reads (input pixels).
        plan: Tiles and blocks, in plan pixels (see :class:`~.plan.Scaling`).
        kind: What the outputs are and become.
        batch: Tiles per forward pass.
        work: The work folder (Zarr store and journal).
    """

    inputs: tuple[tuple[RasterSource, ...], ...]
    bands: tuple[str, ...]
    grid: GeoBox
    plan: BlockPlan
    kind: OutputKind[Any]
    batch: int
    work: WorkStore

    def read_grid(self, tile: Tile) -> GeoBox:
        """The input grid of ``tile`` (its plan window in input pixels)."""
        down = self.kind.scaling.down
        if down == 1:
            return tile.grid
        row, col, h, w = tile.window
        return sub_grid(self.grid, row * down, col * down, h * down, w * down)


def read_tile(job: SceneJob, tile: Tile) -> TileInput:
    """Read a tile's bands by name for every date; NaN where invalid."""
    grid = job.read_grid(tile)
    images, invalid = [], np.zeros((grid.shape.y, grid.shape.x), bool)
    for sources in job.inputs:
        image, valid = read(list(sources), grid, list(job.bands), fill=float("nan"))
        images.append(image)
        invalid |= ~valid
    image = images[0] if len(images) == 1 else np.stack(images)
    return TileInput(tile, image, invalid)


def read_tiles(job: SceneJob, tiles: Sequence[Tile], ahead: int = 2) -> Generator[TileInput]:
    """Yield tile inputs in order, reading up to ``ahead`` tiles in a background thread.

    GDAL decodes without holding the GIL, so reading overlaps the forward passes.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="eoforge-read") as pool:
        queue = deque(pool.submit(read_tile, job, t) for t in tiles[:ahead])
        following = iter(tiles[ahead:])
        while queue:
            item = queue.popleft().result()
            nxt = next(following, None)
            if nxt is not None:
                queue.append(pool.submit(read_tile, job, nxt))
            yield item


def compute_block(
    job: SceneJob,
    predictor: Predictor,
    block: Block,
    inputs: Iterable[TileInput],
    on_batch: Callable[[int], None] | None = None,
) -> object:
    """Run the model over ``block``'s tiles in batches; the kind gathers the outputs.

    Args:
        job: The scene job.
        predictor: The model.
        block: The block.
        inputs: The block's tile inputs, in the block's tile order.
        on_batch: Called with the input pixels of each predicted batch.

    Returns:
        The kind's result for the block, ready for :meth:`OutputKind.store`.
    """
    state = job.kind.begin(job.plan, block)
    batch: list[TileInput] = []

    def flush() -> None:
        with torch.inference_mode():
            output = predictor(torch.from_numpy(np.stack([b.image for b in batch])))
        job.kind.add(job.plan, state, batch, output)
        if on_batch is not None:
            on_batch(sum(b.image.shape[-1] * b.image.shape[-2] for b in batch))
        batch.clear()

    for item in inputs:
        batch.append(item)
        if len(batch) == job.batch:
            flush()
    if batch:
        flush()
    return state


def input_pixels(job: SceneJob, blocks: Iterable[Block]) -> int:
    """Input pixels the model sees for ``blocks`` (tile overlaps counted)."""
    down = job.kind.scaling.down
    return sum(t.window[2] * t.window[3] for b in blocks for t in b.tiles) * down * down
