"""One block of a scene prediction: read its tiles, run the model, hand outputs to the kind.

These functions are what an executor runs, in-process or on a Dask worker.
What the outputs become (blended rasters, merged detections, window rows) is
the job's output kind's business (:mod:`.kinds`); reading tiles by band name
and batching them through the model is the same for every kind.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from odc.geo.geobox import GeoBox

from eoforge.geo.grid import Tile, sub_grid
from eoforge.io.reader import read
from eoforge.io.source import RasterSource
from eoforge.predict.clear_masks import read_clear
from eoforge.predict.cores import CoreShare
from eoforge.predict.groups import GroupRead, pack_groups
from eoforge.predict.kinds import OutputKind
from eoforge.predict.places import predict_tiles
from eoforge.predict.plan import Block, BlockPlan
from eoforge.predict.references import reference_channels
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
        any_date: A pixel is valid where any date is (multi-frame models fuse the
            valid revisits); otherwise only where every date is.
        reference: Sources of a high-resolution reference read on each tile's
            output grid (reference-guided models, :mod:`.references`); empty: none.
        masks: Clear-mask file per date (:mod:`.clear_masks`; None: that date has
            none); empty: no masks.
        groups: Input groups of a multi-input bundle, each read on its own grid per
            tile and packed as the tile's channels (:mod:`.groups`); empty: ``inputs``
            are read with ``bands`` as one stack.
    """

    inputs: tuple[tuple[RasterSource, ...], ...]
    bands: tuple[str, ...]
    grid: GeoBox
    plan: BlockPlan
    kind: OutputKind[Any]
    batch: int
    work: WorkStore
    any_date: bool = False
    reference: tuple[RasterSource, ...] = ()
    masks: tuple[str | None, ...] = ()
    groups: tuple[GroupRead, ...] = ()

    def read_grid(self, tile: Tile) -> GeoBox:
        """The input grid of ``tile`` (its plan window in input pixels)."""
        down = self.kind.scaling.down
        if down == 1:
            return tile.grid
        row, col, h, w = tile.window
        return sub_grid(self.grid, row * down, col * down, h * down, w * down)


STRIP = 512
"""Window outputs: input pixels of a strip of window rows read at once (at least one row).

Reading a window at a time decodes each tile of a compressed file once per row of
windows crossing it (GDAL keeps only the last tile of a pixel-interleaved file);
strips this tall decode most file tiles once, in memory bounded by the block's
width, not the scene.
"""


def read_tile(job: SceneJob, tile: Tile) -> TileInput:
    """Read a tile's bands by name for every date; NaN where invalid.

    With a reference, its pixels on the tile's output grid follow the bands as
    pixel-unshuffled channels (:func:`.references.reference_channels`).
    """
    if job.groups:
        image, invalid = pack_groups(job.groups, job.read_grid(tile))
        return TileInput(tile, image, invalid)
    image, invalid = _read_grid(job, job.read_grid(tile))
    if job.reference:
        up = job.kind.scaling.up
        out = job.kind.scaling.output_grid(tile.grid)
        ref = reference_channels(job.reference, out, job.bands, up)
        image = np.concatenate([image, ref])
    return TileInput(tile, image, invalid)


def _read_grid(
    job: SceneJob, grid: GeoBox
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """``grid``'s bands of every date (``[C, h, w]`` or ``[T, C, h, w]``) and where invalid."""
    images, invalid = [], np.zeros((grid.shape.y, grid.shape.x), bool)
    for n, sources in enumerate(job.inputs):
        image, valid = read(list(sources), grid, list(job.bands), fill=float("nan"))
        mask = job.masks[n] if n < len(job.masks) else None
        if mask is not None:  # cloudy pixels are missing, as in training
            valid &= read_clear(mask, grid)
            image[:, ~valid] = np.nan
        images.append(image)
        invalid = (invalid & ~valid) if (job.any_date and n) else (invalid | ~valid)
    return (images[0] if len(images) == 1 else np.stack(images)), invalid


def read_groups(job: SceneJob, block: Block) -> list[tuple[Tile, ...]]:
    """``block``'s tiles in the groups that are read at once, in the block's tile order.

    Window outputs (a lattice plan: many small tiles) read strips of whole rows of
    windows about :data:`STRIP` input pixels tall; other plans read tile by tile.
    """
    if job.plan.stride is None:
        return [(t,) for t in block.tiles]
    rows: dict[int, list[Tile]] = {}
    for t in block.tiles:
        rows.setdefault(t.window[0], []).append(t)
    down = job.kind.scaling.down
    per_strip = max(1, STRIP // (job.plan.stride * down))
    starts = sorted(rows)
    return [
        tuple(t for r in starts[i : i + per_strip] for t in rows[r])
        for i in range(0, len(starts), per_strip)
    ]


def read_group(job: SceneJob, tiles: Sequence[Tile]) -> list[TileInput]:
    """Read ``tiles`` (one group of :func:`read_groups`) with one read of their union.

    Reads are pixel-aligned sub-windows of the job's grid, so every tile holds the
    values a read of its own window would.
    """
    if len(tiles) == 1 or job.reference or job.groups:
        return [read_tile(job, t) for t in tiles]
    r0 = min(t.window[0] for t in tiles)
    c0 = min(t.window[1] for t in tiles)
    r1 = max(t.window[0] + t.window[2] for t in tiles)
    c1 = max(t.window[1] + t.window[3] for t in tiles)
    down = job.kind.scaling.down
    grid = sub_grid(job.grid, r0 * down, c0 * down, (r1 - r0) * down, (c1 - c0) * down)
    image, invalid = _read_grid(job, grid)
    out = []
    for t in tiles:
        row, col, h, w = t.window
        rows = slice((row - r0) * down, (row - r0 + h) * down)
        cols = slice((col - c0) * down, (col - c0 + w) * down)
        out.append(TileInput(t, image[..., rows, cols], invalid[rows, cols]))
    return out


def block_inputs(job: SceneJob, block: Block) -> Generator[TileInput]:
    """``block``'s tile inputs in order, read group by group in this thread."""
    for group in read_groups(job, block):
        yield from read_group(job, group)


def read_tiles(
    job: SceneJob, blocks: Sequence[Block], ahead: int = 2, cores: CoreShare | None = None
) -> Generator[TileInput]:
    """Yield the tile inputs of ``blocks`` in order, reading up to ``ahead`` groups ahead.

    A background thread reads the groups (:func:`read_groups`); GDAL decodes
    without holding the GIL, so reading overlaps the forward passes. With
    ``cores``, each read counts on it from submission to completion, and the model's
    threads are paced as it is submitted (one fewer while reads run).
    """
    groups = [g for b in blocks for g in read_groups(job, b)]
    with ThreadPoolExecutor(1, thread_name_prefix="eoforge-read") as pool:

        def submit(group: tuple[Tile, ...]) -> Future[list[TileInput]]:
            future = pool.submit(read_group, job, group)
            if cores is not None:
                cores.track(future)
                cores.pace()  # the next batch starts now, beside this read
            return future

        queue = deque(submit(g) for g in groups[:ahead])
        following = iter(groups[ahead:])
        while queue:
            items = queue.popleft().result()
            nxt = next(following, None)
            if nxt is not None:
                queue.append(submit(nxt))
            yield from items


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
        images = torch.from_numpy(np.stack([b.image for b in batch]))
        with torch.inference_mode():  # a placed predictor also gets the tiles' centres
            output = predict_tiles(
                predictor, images, lambda: [job.read_grid(b.tile) for b in batch]
            )
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
