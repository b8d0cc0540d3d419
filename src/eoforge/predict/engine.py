"""Stream a whole scene through a model, tile by tile, into a georeferenced raster.

Tiles overlap and are blended with raised-cosine weights (:mod:`.blend`);
rows are written as soon as no later tile can touch them, so memory depends
on tile size, batch size and scene width, never on scene height. The output
goes to a temporary name and becomes a COG under its final name only when
complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
import torch
from odc.geo.geobox import GeoBox
from rasterio.windows import Window
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

from eoforge.geo.grid import crs_of, tile_grid
from eoforge.io.reader import SourceLike, as_sources, read
from eoforge.io.source import RasterSource
from eoforge.predict.blend import RowBlender, tile_weights

Predictor = Callable[[torch.Tensor], torch.Tensor]
"""Maps a batch ``[B, C, h, w]`` float32 to per-pixel outputs ``[B, K, h, w]``."""


@dataclass(frozen=True)
class TilingOptions:
    """How a scene is cut for the model.

    Attributes:
        tile: Tile height and width in pixels.
        overlap: Pixels shared by neighbouring tiles (blended).
        batch: Tiles per forward pass.
    """

    tile: int = 512
    overlap: int = 64
    batch: int = 8


def _run_batch(
    predictor: Predictor, images: list[npt.NDArray[np.float32]]
) -> npt.NDArray[np.float32]:
    with torch.inference_mode():
        out = predictor(torch.from_numpy(np.stack(images)))
    return out.float().numpy()


def predict_scene(
    predictor: Predictor,
    sources: SourceLike | Sequence[SourceLike],
    grid: GeoBox,
    bands: Sequence[str],
    out: str | Path,
    *,
    channels: int,
    options: TilingOptions | None = None,
    nodata: float = float("nan"),
) -> Path:
    """Predict ``grid`` from ``sources`` and write the blended outputs as a float32 COG.

    Args:
        predictor: The model as a function of a normalised batch (see :data:`Predictor`).
        sources: Image sources or paths holding ``bands``.
        grid: Output grid (the tiles are its pixel-aligned sub-windows).
        bands: Band names the predictor expects, in channel order.
        out: Final path of the COG.
        channels: ``K``, outputs per pixel.
        options: Tile size, overlap and batch size.
        nodata: Value written where any input band is invalid.

    Returns:
        The path written.
    """
    opts = options or TilingOptions()
    src_list = as_sources(sources)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial.tif")
    profile = {
        "driver": "GTiff",
        "height": grid.shape.y,
        "width": grid.shape.x,
        "count": channels,
        "dtype": "float32",
        "crs": crs_of(grid).to_wkt(),
        "transform": grid.affine,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            _stream(predictor, src_list, grid, bands, opts, channels, nodata, dst)
        _to_cog(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _stream(
    predictor: Predictor,
    sources: list[RasterSource],
    grid: GeoBox,
    bands: Sequence[str],
    opts: TilingOptions,
    channels: int,
    nodata: float,
    dst: rasterio.io.DatasetWriter,
) -> None:
    tiles = tile_grid(grid, opts.tile, opts.overlap)
    blender = RowBlender(channels, grid.shape.x, grid.shape.y)
    invalid = RowBlender(1, grid.shape.x, grid.shape.y)
    pending: list[tuple[tuple[int, int, int, int], npt.NDArray[np.float32]]] = []
    starts = [*sorted({t.window[0] for t in tiles}), grid.shape.y]

    def flush() -> None:
        if not pending:
            return
        outputs = _run_batch(predictor, [img for _, img in pending])
        for (window, _), values in zip(pending, outputs, strict=True):
            weights = tile_weights(window[2], window[3], opts.overlap)
            blender.add(values, window, weights)
        pending.clear()

    for index, tile in enumerate(tiles):
        image, valid = read(sources, tile.grid, bands)
        pending.append((tile.window, image))
        invalid.add(
            (~valid)[None].astype(np.float32), tile.window, np.ones(valid.shape, np.float32)
        )
        last_in_row = index + 1 == len(tiles) or tiles[index + 1].window[0] != tile.window[0]
        if len(pending) == opts.batch or last_in_row:
            flush()
        if last_in_row:
            next_start = starts[starts.index(tile.window[0]) + 1]
            _write_rows(blender, invalid, next_start, nodata, dst)


def _write_rows(
    blender: RowBlender,
    invalid: RowBlender,
    until: int,
    nodata: float,
    dst: rasterio.io.DatasetWriter,
) -> None:
    masks = dict(invalid.release(until))
    for first, values in blender.release(until):
        bad = masks[first][0] > 0
        values[:, bad] = nodata
        rows = values.shape[1]
        dst.write(values, window=Window(0, first, values.shape[2], rows))


def _to_cog(tmp: Path, out: Path) -> None:
    staged = out.with_name(f".{out.name}.{os.getpid()}.cog.tif")
    try:
        profile = dict(cog_profiles["deflate"])
        cog_translate(str(tmp), str(staged), profile, quiet=True, overview_resampling="average")
        staged.replace(out)
    finally:
        staged.unlink(missing_ok=True)
