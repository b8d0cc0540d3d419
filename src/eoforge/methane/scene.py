"""Map the CH4 enhancement of a whole granule: background passes, then the prediction engine.

The background of a push-broom granule is a property of whole columns, so the
work has two parts:

1. **Background passes** (:func:`~eoforge.methane.filter.estimate_background`): the
   window bands are read strip by strip (``strip_rows`` full-width rows through
   eoforge's reader, nodata applied) and summed into per-column moments; each
   adaptive iteration is one more pass that leaves out the pixels the previous
   background finds enhanced. Memory: one strip plus ``columns × C²`` float64 sums.
2. **Enhancement** through :func:`~eoforge.predict.engine.predict_scene`: the
   filter is a per-pixel predictor (:class:`~eoforge.predict.places.GriddedPredictor`:
   it locates each tile's columns from the tile's grid) writing one float32 band of
   ppm·m with the engine's blocks, work store and atomic COG publishing; tiles do not
   overlap (the filter has no spatial context). Memory: a tile of window bands.

Outputs: ``<out>/<cube stem>_ch4.tif`` (COG, ppm·m, NaN where the input is invalid) and
``<out>/<cube stem>_ch4.json`` (what was done: window bands, air mass, iterations,
background pixels per column).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from odc.geo.geobox import GeoBox

from eoforge.errors import ConfigError
from eoforge.io.reader import read
from eoforge.methane.absorption import METHANE_WINDOW_NM, air_mass_factor, unit_absorption
from eoforge.methane.cube import Quantity, SpectralCube, open_cube
from eoforge.methane.filter import F32, Background, FilterOptions, estimate_background
from eoforge.predict.engine import TilingOptions, predict_scene
from eoforge.predict.places import GriddedPredictor
from eoforge.predict.raster import OutputSpec
from eoforge.predict.types import Progress

PRODUCT = "ch4"
"""Suffix of the published enhancement COG: ``<stem>_ch4.tif``."""


@dataclass(frozen=True)
class MethaneOptions:
    """What :func:`map_methane` does besides the filter's own options.

    Attributes:
        window_nm: Spectral window of the filter, nm.
        quantity: What the cube holds when its tags do not say (``"reflectance"``
            accepts reflectance).
        air_mass: Two-way air-mass factor (None: from the cube's ``sun_zenith`` and
            ``view_zenith`` tags, else 2, sun and view at nadir).
        strip_rows: Rows per strip of the background passes.
        tile: Tile side of the enhancement pass, pixels.
        block: Block side of the enhancement pass, pixels.
    """

    window_nm: tuple[float, float] = METHANE_WINDOW_NM
    quantity: Quantity | None = None
    air_mass: float | None = None
    strip_rows: int = 64
    tile: int = 256
    block: int = 1024


@dataclass(frozen=True)
class MethaneResult:
    """What :func:`map_methane` wrote and how long it took.

    Attributes:
        enhancement: The COG (ppm·m).
        summary: The JSON summary.
        seconds_background: Time of the background passes.
        seconds_filter: Time of the enhancement pass (engine, publishing included).
    """

    enhancement: Path
    summary: Path
    seconds_background: float
    seconds_filter: float


def map_methane(
    cube_path: str | Path,
    out: str | Path,
    *,
    filter_options: FilterOptions | None = None,
    options: MethaneOptions | None = None,
    progress: Progress | None = None,
) -> MethaneResult:
    """Matched-filter CH4 enhancement of a radiance cube, written as a COG.

    Args:
        cube_path: The cube (see :mod:`eoforge.methane.cube` for the metadata it needs).
        out: Output folder.
        filter_options: Background estimation (default: adaptive, per column, albedo).
        options: Window, quantity, air mass, strip and tile sizes.
        progress: ``(done, total)`` pixels of the enhancement pass.

    Returns:
        The files written and the time of each part.

    Raises:
        EoforgeError: Bad input (see :func:`~eoforge.methane.cube.open_cube` and
            :meth:`~eoforge.methane.cube.SpectralCube.window_bands`).
    """
    fopts, opts = filter_options or FilterOptions(), options or MethaneOptions()
    cube = open_cube(cube_path, opts.quantity)
    if cube.grid.crs is None or not cube.grid.axis_aligned:
        raise ConfigError(
            "the cube has no CRS or a rotated grid; columns cannot be told from the grid.",
            path=cube.path,
            fix="give the granule in its sensor geometry with a north-up placeholder "
            "transform and CRS (gdal_edit.py -a_srs EPSG:32631 -a_ullr ...).",
        )
    indices = cube.window_bands(opts.window_nm)
    bands = [f"band{i + 1}" for i in indices]
    absorption = unit_absorption(cube.centers_nm[indices], cube.fwhm_nm[indices])
    air_mass = opts.air_mass or air_mass_factor(cube.sun_zenith or 0.0, cube.view_zenith or 0.0)
    height, width = cube.grid.shape.y, cube.grid.shape.x

    def read_strip(row0: int, row1: int) -> F32:
        values, valid = read(cube.source, cube.grid[row0:row1, :], bands)
        values[:, ~valid] = np.nan
        return values

    start = time.perf_counter()
    background = estimate_background(
        read_strip, height, width, absorption, air_mass, fopts, opts.strip_rows
    )
    middle = time.perf_counter()
    folder = Path(out)
    stem = folder / cube.path.stem
    paths = predict_scene(
        GriddedPredictor(_tile_filter(background, cube.grid)),
        cube.source,
        cube.grid,
        bands,
        stem,
        spec=OutputSpec("values", names=("ch4_enhancement_ppm_m",)),
        options=TilingOptions(tile=opts.tile, overlap=0, batch=1, block=opts.block, multiple=1),
        progress=progress,
    )
    published = stem.with_name(f"{stem.name}_{PRODUCT}.tif")
    paths["values"].replace(published)
    end = time.perf_counter()
    summary = stem.with_name(f"{stem.name}_{PRODUCT}.json")
    summary.write_text(
        json.dumps(_summary(cube, indices, absorption, air_mass, fopts, opts, background), indent=2)
    )
    return MethaneResult(published, summary, middle - start, end - middle)


def _tile_filter(
    background: Background, scene: GeoBox
) -> Callable[[torch.Tensor, Sequence[GeoBox]], torch.Tensor]:
    """The per-tile filter: ``[B, C, h, w]`` radiance → ``[B, 1, h, w]`` ppm·m."""
    x0, step = scene.affine.c, scene.affine.a

    def predict(images: torch.Tensor, grids: Sequence[GeoBox]) -> torch.Tensor:
        out = torch.empty((images.shape[0], 1, *images.shape[-2:]), dtype=torch.float32)
        for i, grid in enumerate(grids):
            first = round((grid.affine.c - x0) / step)
            alpha, _ = background.enhancement(images[i].numpy(), first)
            out[i, 0] = torch.from_numpy(alpha)
        return out

    return predict


def _summary(
    cube: SpectralCube,
    indices: list[int],
    absorption: np.ndarray,
    air_mass: float,
    fopts: FilterOptions,
    opts: MethaneOptions,
    background: Background,
) -> dict[str, object]:
    pixels = background.pixels
    return {
        "cube": str(cube.path),
        "quantity": cube.quantity,
        "units": "ppm m",
        "window_nm": list(opts.window_nm),
        "bands": [i + 1 for i in indices],
        "centers_nm": [round(float(c), 3) for c in cube.centers_nm[indices]],
        "unit_absorption_per_ppm_m": [float(k) for k in absorption],
        "air_mass_factor": air_mass,
        "filter": asdict(fopts),
        "background_groups": int(pixels.size),
        "background_pixels_per_group": {
            "min": int(pixels.min()),
            "median": float(np.median(pixels)),
            "max": int(pixels.max()),
        },
        "filter_std_ppm_m_median": float(np.median(1.0 / background.sensitivity)),
    }
