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
from typing import Literal

import numpy as np
import numpy.typing as npt
import rasterio
import torch
from odc.geo.geobox import GeoBox
from rasterio.windows import Window
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

from eoforge.geo.grid import crs_of
from eoforge.io.reader import SourceLike, as_sources, read
from eoforge.predict.blend import RowBlender, tile_weights
from eoforge.predict.tiling import plan_tiles

OverviewResampling = Literal["nearest", "average", "mode", "bilinear"]

Predictor = Callable[[torch.Tensor], torch.Tensor]
"""Maps a batch ``[B, C, h, w]`` float32 to per-pixel outputs ``[B, K, h, w]``."""


@dataclass(frozen=True)
class TilingOptions:
    """How a scene is cut for the model.

    Attributes:
        tile: Largest tile height and width in pixels (tiles are spread evenly and
            may be smaller; large tiles recompute less of the scene in the overlaps).
        overlap: Pixels shared by neighbouring tiles (blended).
        batch: Tiles per forward pass.
    """

    tile: int = 1024
    overlap: int = 64
    batch: int = 2


def _run_batch(
    predictor: Predictor, images: list[npt.NDArray[np.float32]]
) -> npt.NDArray[np.float32]:
    with torch.inference_mode():
        out = predictor(torch.from_numpy(np.stack(images)))
    return out.float().numpy()


Progress = Callable[[int, int], None]
"""Receives ``(pixels predicted so far, pixels to predict)``, overlaps counted."""

RowWriter = Callable[[int, npt.NDArray[np.float32], npt.NDArray[np.bool_]], None]
"""Receives ``(first_row, blended [K, rows, W], invalid [rows, W])`` as rows complete."""


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
        predictor: The model as a function of a batch (see :data:`Predictor`);
            invalid input pixels arrive as NaN.
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
    profile = _profile(grid, channels, "float32", nodata)

    def fill(dst: rasterio.io.DatasetWriter) -> None:
        def write(first: int, values: npt.NDArray[np.float32], bad: npt.NDArray[np.bool_]) -> None:
            values[:, bad] = nodata
            dst.write(values, window=Window(0, first, values.shape[2], values.shape[1]))

        stream_scene(predictor, sources, grid, bands, channels, options or TilingOptions(), write)

    return write_cog(Path(out), profile, fill)


def classify_scene(
    predictor: Predictor,
    sources: SourceLike | Sequence[SourceLike],
    grid: GeoBox,
    bands: Sequence[str],
    out: str | Path,
    *,
    classes: Sequence[tuple[int, str, str]],
    options: TilingOptions | None = None,
    progress: Progress | None = None,
) -> Path:
    """Predict ``grid`` and write the class map (argmax of blended scores) as a uint8 COG.

    Args:
        predictor: Returns per-class scores ``[B, K, h, w]`` (probabilities blend best).
        sources: Image sources or paths holding ``bands``.
        grid: Output grid.
        bands: Band names the predictor expects.
        out: Final path of the COG.
        classes: ``(id, name, "#rrggbb")`` per output channel, in channel order.
        options: Tile size, overlap and batch size.
        progress: Optional ``(done, total)`` pixel counter for progress bars.

    Returns:
        The path written. Pixels with invalid input hold :data:`CLASS_NODATA`;
        the band carries a colour table and its class names as tags.
    """
    ids = np.array([c[0] for c in classes], np.uint8)
    profile = _profile(grid, 1, "uint8", CLASS_NODATA)

    def fill(dst: rasterio.io.DatasetWriter) -> None:
        dst.write_colormap(1, {c[0]: _rgb(c[2]) for c in classes})
        dst.update_tags(1, **{f"CLASS_{c[0]}": c[1] for c in classes})
        dst.set_band_description(1, "class")

        def write(first: int, values: npt.NDArray[np.float32], bad: npt.NDArray[np.bool_]) -> None:
            labels = ids[np.nan_to_num(values, nan=-np.inf).argmax(axis=0)]
            labels[bad] = CLASS_NODATA
            dst.write(labels[None], window=Window(0, first, labels.shape[1], labels.shape[0]))

        stream_scene(
            predictor, sources, grid, bands, len(classes), options or TilingOptions(), write
        )

    return write_cog(Path(out), profile, fill, resampling="nearest")


CLASS_NODATA = 255
"""Class map value of pixels whose inputs are invalid."""


def _rgb(color: str) -> tuple[int, int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255


def _profile(grid: GeoBox, count: int, dtype: str, nodata: float) -> dict[str, object]:
    return {
        "driver": "GTiff",
        "height": grid.shape.y,
        "width": grid.shape.x,
        "count": count,
        "dtype": dtype,
        "crs": crs_of(grid).to_wkt(),
        "transform": grid.affine,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }


def write_cog(
    out: Path,
    profile: dict[str, object],
    fill: Callable[[rasterio.io.DatasetWriter], None],
    resampling: OverviewResampling = "average",
) -> Path:
    """Create a GeoTIFF under a temporary name, let ``fill`` write it, then publish a COG.

    Nothing appears under ``out`` unless every step succeeded.
    """
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial.tif")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            fill(dst)
        _to_cog(tmp, out, resampling)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def stream_scene(
    predictor: Predictor,
    sources: SourceLike | Sequence[SourceLike],
    grid: GeoBox,
    bands: Sequence[str],
    channels: int,
    opts: TilingOptions,
    write: RowWriter,
    progress: Progress | None = None,
) -> None:
    """Run the tiles of ``grid`` through ``predictor`` and hand blended rows to ``write``.

    ``progress(done_pixels, total_pixels)`` is called after each batch of tiles.
    """
    src_list = as_sources(sources)
    tiles = plan_tiles(grid, opts.tile, opts.overlap)
    capacity = 2 * max(t.window[2] for t in tiles)
    blender = RowBlender(channels, grid.shape.x, grid.shape.y, capacity)
    invalid = RowBlender(1, grid.shape.x, grid.shape.y, capacity)
    pending: list[tuple[tuple[int, int, int, int], npt.NDArray[np.float32]]] = []
    starts = [*sorted({t.window[0] for t in tiles}), grid.shape.y]

    def flush() -> None:
        if not pending:
            return
        outputs = _run_batch(predictor, [img for _, img in pending])
        for (window, _), values in zip(pending, outputs, strict=True):
            weights = tile_weights(window[2], window[3], opts.overlap)
            blender.add(values, window, weights)
        if progress is not None:
            done_px[0] += sum(w[2] * w[3] for w, _ in pending)
            progress(done_px[0], total_px)
        pending.clear()

    total_px = sum(t.window[2] * t.window[3] for t in tiles)
    done_px = [0]
    for index, tile in enumerate(tiles):
        image, valid = read(src_list, tile.grid, bands, fill=float("nan"))
        pending.append((tile.window, image))
        invalid.add(
            (~valid)[None].astype(np.float32), tile.window, np.ones(valid.shape, np.float32)
        )
        last_in_row = index + 1 == len(tiles) or tiles[index + 1].window[0] != tile.window[0]
        if len(pending) == opts.batch or last_in_row:
            flush()
        if last_in_row:
            next_start = starts[starts.index(tile.window[0]) + 1]
            masks = dict(invalid.release(next_start))
            for first, values in blender.release(next_start):
                write(first, values, masks[first][0] > 0)


def _to_cog(tmp: Path, out: Path, resampling: OverviewResampling = "average") -> None:
    staged = out.with_name(f".{out.name}.{os.getpid()}.cog.tif")
    try:
        profile = dict(cog_profiles["deflate"])
        cog_translate(
            str(tmp),
            str(staged),
            profile,
            quiet=True,
            overview_resampling=resampling,
            forward_band_tags=True,
        )
        staged.replace(out)
    finally:
        staged.unlink(missing_ok=True)
