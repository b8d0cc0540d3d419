"""Compute, store and finalise one block of a scene prediction.

These functions are what an executor runs, in-process or on a Dask worker.
A block's tiles are predicted and blended into a partial sum over its extent
(``[K + 2, h, w]``: weighted scores, weights, invalid count). Its core, the
part no other block touches, is finalised at once; the bands along its top
and left edges and its spills past its own region are kept in the work store
(one Zarr group per block) until its neighbours are computed. Finalising
adds the contributors' partials in row-major order, so any executor produces
the same bits.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import zarr

from eoforge.geo.grid import Tile
from eoforge.io.reader import read
from eoforge.io.source import RasterSource
from eoforge.predict.blend import tile_weights
from eoforge.predict.outputs import OutputSpec, finalize
from eoforge.predict.plan import Block, BlockPlan, Rect, intersect
from eoforge.predict.types import Predictor

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SceneJob:
    """Everything needed to predict one block, picklable for Dask workers.

    Attributes:
        inputs: Sources per date (one entry, or two for change detection).
        bands: Band names the predictor expects, in channel order.
        plan: Tiles and blocks of the output grid.
        spec: Products to compute.
        batch: Tiles per forward pass.
        work: The work folder (Zarr store and journal).
    """

    inputs: tuple[tuple[RasterSource, ...], ...]
    bands: tuple[str, ...]
    plan: BlockPlan
    spec: OutputSpec
    batch: int
    work: Path

    @property
    def store(self) -> Path:
        """The Zarr store of block partials and outputs."""
        return self.work / "blocks.zarr"


@dataclass
class TileInput:
    """A tile's input ``[C, h, w]`` (``[T, C, h, w]`` for several dates) and invalid mask."""

    tile: Tile
    image: FloatArray
    invalid: npt.NDArray[np.bool_]


def read_tile(job: SceneJob, tile: Tile) -> TileInput:
    """Read a tile's bands by name for every date; NaN where invalid."""
    images, invalid = [], np.zeros((tile.window[2], tile.window[3]), bool)
    for sources in job.inputs:
        image, valid = read(list(sources), tile.grid, list(job.bands), fill=float("nan"))
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


def accumulate(
    job: SceneJob,
    predictor: Predictor,
    block: Block,
    inputs: Iterable[TileInput],
    on_batch: Callable[[int], None] | None = None,
) -> FloatArray:
    """Predict ``block``'s tiles and blend them into ``[K + 2, h, w]`` over its extent.

    Args:
        job: The scene job.
        predictor: The model.
        block: The block.
        inputs: The block's tile inputs, in the block's tile order.
        on_batch: Called with the pixels of each predicted batch.
    """
    k = job.spec.channels
    r0, c0, r1, c1 = block.extent
    acc = np.zeros((k + 2, r1 - r0, c1 - c0), np.float32)
    batch: list[TileInput] = []

    def flush() -> None:
        with torch.inference_mode():
            out = predictor(torch.from_numpy(np.stack([b.image for b in batch])))
        values = out.float().numpy()
        if values.shape[1] != k:
            raise ValueError(f"the model returned {values.shape[1]} channels, expected {k}")
        for item, v in zip(batch, values, strict=True):
            row, col, h, w = item.tile.window
            weights = tile_weights(h, w, job.plan.overlap)
            region = acc[:, row - r0 : row - r0 + h, col - c0 : col - c0 + w]
            region[:k] += v * weights
            region[k] += weights
            region[k + 1] += item.invalid
        if on_batch is not None:
            on_batch(sum(b.image.shape[-1] * b.image.shape[-2] for b in batch))
        batch.clear()

    for item in inputs:
        batch.append(item)
        if len(batch) == job.batch:
            flush()
    if batch:
        flush()
    return acc


def edges(plan: BlockPlan, block: Block) -> tuple[int, int]:
    """``(row, col)`` where ``block``'s core starts: above/left of it other blocks reach in."""
    o = block.own
    others = [b for b in plan.contributors(block) if b.index != block.index]
    i, j = block.index
    top = max((min(b.extent[2], o[2]) for b in others if b.index[0] < i), default=o[0])
    left = max((min(b.extent[3], o[3]) for b in others if b.index[1] < j), default=o[1])
    return top, left


def bands_of(plan: BlockPlan, block: Block) -> list[Rect]:
    """Parts of ``block``'s own region that other blocks also reach (top band, left band)."""
    o = block.own
    top, left = edges(plan, block)
    parts = [(o[0], o[1], top, o[3]), (top, o[1], o[2], left)]
    return [p for p in parts if p[0] < p[2] and p[1] < p[3]]


def _slice(acc: FloatArray, origin: Rect, rect: Rect) -> FloatArray:
    rows = slice(rect[0] - origin[0], rect[2] - origin[0])
    return acc[:, rows, rect[1] - origin[1] : rect[3] - origin[1]]


def store_block(job: SceneJob, block: Block, acc: FloatArray) -> None:
    """Write ``block``'s core outputs, edge bands and spills into the work store."""
    group = zarr.open_group(str(job.store / block.name), mode="w")
    own = block.own
    oh, ow = own[2] - own[0], own[3] - own[1]
    for product in job.spec.products():
        n, dtype = job.spec.bands(product), job.spec.dtype(product)
        group.create_array(
            product,
            shape=(n, oh, ow),
            chunks=(n, min(oh, 512), min(ow, 512)),
            dtype=dtype,
            fill_value=job.spec.nodata(product),
        )
    bands = bands_of(job.plan, block)
    core = (*edges(job.plan, block), own[2], own[3])
    if core[0] < core[2] and core[1] < core[3]:
        _write_products(group, job.spec, own, core, _slice(acc, block.extent, core))
    parts = {"band": bands, "spill": block.spills()}
    for kind, rects in parts.items():
        for i, rect in enumerate(rects):
            data = _slice(acc, block.extent, rect)
            group.create_array(f"{kind}{i}", data=data, chunks=data.shape)
    group.attrs["parts"] = {k: [list(r) for r in v] for k, v in parts.items()}


def _write_products(
    group: zarr.Group, spec: OutputSpec, own: Rect, rect: Rect, partial: FloatArray
) -> None:
    products = finalize(partial, spec)
    rows = slice(rect[0] - own[0], rect[2] - own[0])
    cols = slice(rect[1] - own[1], rect[3] - own[1])
    for name, values in products.items():
        array = group[name]
        assert isinstance(array, zarr.Array)
        array[:, rows, cols] = values if values.ndim == 3 else values[None]


def _parts(job: SceneJob, block: Block, kind: str) -> list[tuple[Rect, zarr.Array[Any]]]:
    group = zarr.open_group(str(job.store / block.name), mode="r")
    rects: dict[str, list[list[int]]] = group.attrs["parts"]  # type: ignore[assignment]
    out = []
    for i, rect in enumerate(rects[kind]):
        array = group[f"{kind}{i}"]
        assert isinstance(array, zarr.Array)
        out.append(((rect[0], rect[1], rect[2], rect[3]), array))
    return out


def finalize_block(job: SceneJob, block: Block) -> None:
    """Add the contributors' partials on ``block``'s edge bands and write the outputs there."""
    bands = bands_of(job.plan, block)
    if not bands:
        return
    k = job.spec.channels
    contributors = job.plan.contributors(block)
    parts = {
        b.index: _parts(job, b, "band" if b.index == block.index else "spill") for b in contributors
    }
    group = zarr.open_group(str(job.store / block.name), mode="r+")
    for band in bands:
        acc = np.zeros((k + 2, band[2] - band[0], band[3] - band[1]), np.float32)
        for b in contributors:
            for rect, array in parts[b.index]:
                common = intersect(rect, band)
                if common is None:
                    continue
                src = np.asarray(
                    array[
                        :,
                        common[0] - rect[0] : common[2] - rect[0],
                        common[1] - rect[1] : common[3] - rect[1],
                    ]
                )
                _slice(acc, band, common)[...] += src
        _write_products(group, job.spec, block.own, band, acc)


def read_products(job: SceneJob, block: Block) -> dict[str, npt.NDArray[np.generic]]:
    """The finished outputs of ``block``'s own region, ``[bands, h, w]`` per product."""
    group = zarr.open_group(str(job.store / block.name), mode="r")
    out = {}
    for product in job.spec.products():
        array = group[product]
        assert isinstance(array, zarr.Array)
        out[product] = np.asarray(array[...])
    return out


def drop_partials(job: SceneJob, block: Block) -> None:
    """Delete ``block``'s bands and spills once no block needs them."""
    group = zarr.open_group(str(job.store / block.name), mode="r")
    rects: dict[str, list[list[int]]] = group.attrs["parts"]  # type: ignore[assignment]
    for kind, items in rects.items():
        for i in range(len(items)):
            shutil.rmtree(job.store / block.name / f"{kind}{i}", ignore_errors=True)


class Journal:
    """Append-only record of finished steps (``computed <block>``, ``final <block>``).

    Each line is flushed and synced before the call returns, so a killed run never
    records a step whose data is not on disk.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def done(self) -> set[str]:
        """Steps recorded so far (a torn last line is ignored)."""
        if not self.path.exists():
            return set()
        return set(self.path.read_text().split("\n")[:-1])

    def add(self, step: str) -> None:
        """Record ``step``."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{step}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def prepare_work(job: SceneJob, fingerprint: dict[str, object], resume: bool) -> Journal:
    """Create (or, with ``resume``, reuse if it describes the same job) the work folder."""
    path = job.work / "job.json"
    text = json.dumps(fingerprint, sort_keys=True)
    same = path.exists() and path.read_text() == text
    if not (resume and same):
        shutil.rmtree(job.work, ignore_errors=True)
        job.work.mkdir(parents=True)
        path.write_text(text)
    return Journal(job.work / "journal.txt")
