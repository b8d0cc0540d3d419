"""A float raster's COG built tile by tile, each tile encoded as soon as its pixels are final.

On a grid ``scale`` times finer than the plan (super-resolution), the output is
``scale²`` times the input's pixels, and GDAL's COG driver, copying the finished
raster after the prediction, was the largest cost after the network, all of it
serial. Here the writer thread, beside the model, cuts each piece of finished
pixels (:mod:`.raster`: a block's core, its edge bands) into the COG's 512-px
tiles and encodes every tile the piece covers whole (:mod:`.tiff`: the
floating-point predictor, then ZSTD level 1). A tile that two pieces share waits
as raw fragments until its last fragment arrives, and is encoded then. The same
happens on the overview levels that are exact averages of a piece (the
factors dividing the scale: :mod:`.overviews`), and on the deeper ones: each
tile of the coarsest exact level, once encoded, is averaged into a quarter of
the next level's tile, and so on. Publishing only writes the directories and
copies the encoded tiles into the file.

Work files (under the product's folder in the work folder): ``L<k>/<row>_<col>.tile``
(level ``k``'s tile: ``bands`` little-endian uint64 lengths, then each band's
bytes) and ``frag/L<k>/<row>_<col>/<r0>_<c0>_<r1>_<c1>.npy`` (a fragment, tile
pixels). Every file is written under a temporary name and renamed, so a killed
run leaves no torn file, and a block computed again writes the same bytes. Two
processes (Dask) finishing fragments of one tile at once both encode it, with
the same result; a tile is renamed into place before its fragments are deleted.
"""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
from odc.geo.geobox import GeoBox

from eoforge.errors import MissingFileError
from eoforge.geo.grid import crs_of
from eoforge.predict.cog import COG_BLOCK
from eoforge.predict.overviews import averages, halve
from eoforge.predict.plan import Rect, intersect
from eoforge.predict.tiff import (
    COMPRESSION,
    Chunk,
    Codec,
    Image,
    encode_tile,
    gdal_tags,
    nodata_tag,
    write_tiled_tiff,
)

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TiledCog:
    """The tiles of one float32 COG, stored as their pixels become final (picklable).

    Attributes:
        folder: The product's work files.
        height: Full-resolution rows (pixels).
        width: Full-resolution columns (pixels).
        bands: Band count.
        factors: Overview factors of the COG (``[2, 4, ...]``, halving each time).
        exact: How many leading ``factors`` are averaged piece by piece (the pieces
            start and end on multiples of them); deeper ones are averaged tile by tile.
        codec: ``ZSTD`` or ``DEFLATE``.
        level: Compression level.
        tile: Tile side (pixels).
    """

    folder: Path
    height: int
    width: int
    bands: int
    factors: tuple[int, ...]
    exact: int
    codec: Codec
    level: int = 1
    tile: int = COG_BLOCK

    def shape(self, k: int) -> tuple[int, int]:
        """``(rows, cols)`` of level ``k`` (0: full resolution; ``k``: ``factors[k - 1]``)."""
        f = 1 if k == 0 else self.factors[k - 1]
        return -(-self.height // f), -(-self.width // f)

    def tiles(self, k: int) -> tuple[int, int]:
        """Tile rows and columns of level ``k``."""
        h, w = self.shape(k)
        return -(-h // self.tile), -(-w // self.tile)

    # -- pieces ---------------------------------------------------------------

    def add(self, rect: Rect, values: FloatArray) -> None:
        """Store finished pixels: ``values`` ``[bands, h, w]`` at ``rect`` (full resolution).

        Encodes the tiles they complete, on the full resolution and on the exact
        overview levels (``rect`` must start and end on multiples of those factors).
        """
        levels = [values, *averages(values, self.exact)] if self.exact else [values]
        tasks: list[Callable[[], None]] = []
        for k, level in enumerate(levels):
            f = 1 if k == 0 else self.factors[k - 1]
            tasks += self._tasks(k, (rect[0] // f, rect[1] // f, rect[2] // f, rect[3] // f), level)
        pool = _ENCODING.pool
        submitted: list[Future[None]] = []
        if pool is not None:  # the model is done: its cores encode the last blocks' tiles
            with suppress(RuntimeError):  # the pool closed meanwhile: the rest runs here
                for task in tasks:
                    submitted.append(pool.submit(task))
        for done in submitted:
            done.result()
        for task in tasks[len(submitted) :]:
            task()

    def _put(self, k: int, rect: Rect, values: FloatArray) -> None:
        """Store ``values`` at ``rect`` of level ``k`` (level pixels), in this thread."""
        for task in self._tasks(k, rect, values):
            task()

    def _tasks(self, k: int, rect: Rect, values: FloatArray) -> list[Callable[[], None]]:
        """One task per tile of level ``k`` that ``values`` (at ``rect``) touch."""
        tasks: list[Callable[[], None]] = []
        t = self.tile
        for i in range(rect[0] // t, -(-rect[2] // t)):
            for j in range(rect[1] // t, -(-rect[3] // t)):
                whole = self._tile_rect(k, i, j)
                common = intersect(rect, whole)
                if common is None:
                    continue
                part = values[
                    :,
                    common[0] - rect[0] : common[2] - rect[0],
                    common[1] - rect[1] : common[3] - rect[1],
                ]
                if common == whole:
                    tasks.append(partial(self._save, k, i, j, part))
                else:
                    r, c = i * t, j * t
                    local = (common[0] - r, common[1] - c, common[2] - r, common[3] - c)
                    tasks.append(partial(self._fragment, k, i, j, local, part))
        return tasks

    def _tile_rect(self, k: int, i: int, j: int) -> Rect:
        """Tile ``(i, j)`` of level ``k`` clipped to the level (level pixels)."""
        h, w = self.shape(k)
        t = self.tile
        return (i * t, j * t, min((i + 1) * t, h), min((j + 1) * t, w))

    def path(self, k: int, i: int, j: int) -> Path:
        """File of level ``k``'s encoded tile ``(i, j)``."""
        return self.folder / f"L{k}" / f"{i}_{j}.tile"

    def _save(self, k: int, i: int, j: int, values: FloatArray) -> None:
        """Encode ``values`` ``[bands, h, w]`` (the clipped tile) into the tile's file.

        From the coarsest exact level on, the tile's 2x average is also a quarter of a
        tile of the next level, which is encoded in turn once its four quarters are in.
        """
        t = self.tile
        _, h, w = values.shape
        whole = values
        if (h, w) != (t, t):  # an edge tile: padded with nodata, as GDAL pads
            whole = np.full((self.bands, t, t), np.nan, np.float32)
            whole[:, :h, :w] = values
        encoded = [encode_tile(band, self.codec, self.level) for band in whole]
        head = struct.pack(f"<{len(encoded)}Q", *(len(e) for e in encoded))
        _write_atomic(self.path(k, i, j), [head, *encoded])
        if self.exact <= k < len(self.factors):
            r, c = i * t // 2, j * t // 2  # even: tiles start on even rows and columns
            coarser = halve(values)
            self._put(k + 1, (r, c, r + coarser.shape[1], c + coarser.shape[2]), coarser)

    def _fragment(self, k: int, i: int, j: int, local: Rect, values: FloatArray) -> None:
        """Keep part of tile ``(i, j)``; encode the tile once its fragments cover it."""
        folder = self.folder / "frag" / f"L{k}" / f"{i}_{j}"
        folder.mkdir(parents=True, exist_ok=True)
        name = "_".join(str(x) for x in local) + ".npy"
        tmp = folder / f".{name}.{os.getpid()}.{id(values)}.partial"
        with tmp.open("wb") as f:
            np.save(f, np.ascontiguousarray(values, np.float32), allow_pickle=False)
        os.replace(tmp, folder / name)
        whole = self._tile_rect(k, i, j)
        area = (whole[2] - whole[0]) * (whole[3] - whole[1])
        parts = [p for p in folder.iterdir() if p.suffix == ".npy" and not p.name.startswith(".")]
        rects = [tuple(int(x) for x in p.stem.split("_")) for p in parts]
        if sum((r[2] - r[0]) * (r[3] - r[1]) for r in rects) < area:
            return
        tile = np.full((self.bands, whole[2] - whole[0], whole[3] - whole[1]), np.nan, np.float32)
        for part, r in zip(parts, rects, strict=True):
            try:
                tile[:, r[0] : r[2], r[1] : r[3]] = np.load(part, allow_pickle=False)
            except FileNotFoundError:  # another process completed the tile meanwhile
                if self.path(k, i, j).exists():
                    return
                raise
        self._save(k, i, j, tile)
        shutil.rmtree(folder, ignore_errors=True)

    # -- publishing -------------------------------------------------------------

    def publish(self, out: Path, grid: GeoBox, nodata: float, names: tuple[str, ...]) -> Path:
        """Write the COG at ``out`` (temporary name first) around the encoded tiles.

        Args:
            out: Final path.
            grid: The full-resolution grid (georeferencing).
            nodata: Nodata value (NaN).
            names: Band descriptions.

        Returns:
            ``out``.

        Raises:
            MissingFileError: A tile is missing (the work folder was changed by hand).
        """
        images = []
        for k in range(len(self.factors) + 1):
            rows, cols = self.tiles(k)
            paths = [self.path(k, i, j) for i in range(rows) for j in range(cols)]
            lengths = [self._lengths(p) for p in paths]
            chunks = []
            for b in range(self.bands):
                for p, sizes in zip(paths, lengths, strict=True):
                    start = 8 * self.bands + sum(sizes[:b])
                    chunks.append(Chunk(p, start, sizes[b]))
            h, w = self.shape(k)
            tags = [nodata_tag(nodata)]
            if k == 0:
                crs = crs_of(grid).to_wkt()
                tags = list(gdal_tags(crs, grid.affine, self.bands, nodata, names))
            images.append(Image(h, w, self.bands, tuple(chunks), k > 0, tuple(tags)))
        staged = out.with_name(f".{out.name}.{os.getpid()}.cog.tif")
        try:
            write_tiled_tiff(staged, images, tile=self.tile, compression=COMPRESSION[self.codec])
            staged.replace(out)
        finally:
            staged.unlink(missing_ok=True)
        return out

    def _lengths(self, path: Path) -> tuple[int, ...]:
        try:
            with path.open("rb") as f:
                head = f.read(8 * self.bands)
        except FileNotFoundError:
            raise MissingFileError(
                "this tile of the prediction is missing: its work folder is incomplete.",
                path=path,
                fix=f"delete {self.folder.parent} and predict again.",
            ) from None
        return struct.unpack(f"<{self.bands}Q", head)


class _Encoding:
    """Where tiles are encoded: in the calling thread, or on a pool (:func:`parallel_encoding`)."""

    pool: ThreadPoolExecutor | None = None


_ENCODING = _Encoding()


@contextmanager
def parallel_encoding(threads: int) -> Iterator[None]:
    """Encode the tiles of each :meth:`TiledCog.add` on ``threads`` threads meanwhile.

    For the blocks still being stored once the model has finished: the cores it
    used are free, and the writer alone would use one. Encoding (NumPy, ZSTD, zlib)
    releases the GIL. Tiles a tile's encoding completes on coarser levels are
    encoded in the thread that completed them.
    """
    if threads < 2:
        yield
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="eoforge-encode") as pool:
        _ENCODING.pool = pool
        try:
            yield
        finally:
            _ENCODING.pool = None


def _write_atomic(path: Path, parts: list[bytes]) -> None:
    """Write ``parts`` to ``path`` under a temporary name, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(parts)}.partial")
    with tmp.open("wb") as f:
        for part in parts:
            f.write(part)
    os.replace(tmp, path)
