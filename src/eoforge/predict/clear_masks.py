"""Clear masks of revisits at prediction: which pixels of a date the model may use.

A clear mask is a single-band raster (1 = clear, 0 = cloud or shadow), as
:func:`~eoforge.synth.sr_pairs.write_sr_pair` writes beside each revisit and
as training reads (``masks:`` of a multi-frame item). At prediction each
revisit may come with one: its pixels where the mask is 0 become NaN, the
missing value multi-frame models skip (as in training), and a pixel that no
revisit sees clear is nodata in the output.

Masks are read onto each tile's grid by nearest neighbour, so a mask may
be on the revisit's own grid or any other; pixels beyond the mask are not
clear.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from eoforge.errors import ConfigError
from eoforge.io.source import RasterSource

PathLike = str | os.PathLike[str]


def read_clear(path: str, grid: GeoBox) -> npt.NDArray[np.bool_]:
    """``[H, W]`` True where the mask at ``path`` is clear (> 0) on ``grid``."""
    with rasterio.open(path) as src:
        if src.crs is None:
            raise ConfigError(
                "the clear mask is not georeferenced.",
                path=path,
                fix="write the mask with its revisit's CRS and transform.",
            )
        with WarpedVRT(
            src,
            crs=grid.crs.to_wkt() if grid.crs is not None else src.crs,
            transform=grid.affine,
            width=grid.shape.x,
            height=grid.shape.y,
            resampling=Resampling.nearest,
            src_nodata=None,
            nodata=0,
        ) as vrt:
            clear: npt.NDArray[np.bool_] = vrt.read(1) > 0
    return clear


def match_masks(
    dates: Sequence[tuple[RasterSource, ...]],
    inputs: Sequence[PathLike],
    masks: Sequence[PathLike],
) -> tuple[str, ...]:
    """Each date's mask path, matched through the input file it was read from.

    Args:
        dates: A scene's dates (sources per date).
        inputs: The input files, as given.
        masks: One clear mask per input file, in the same order.

    Returns:
        One mask path per date.

    Raises:
        ConfigError: Counts differ, or a date does not come from exactly one given file.
    """
    if len(masks) != len(inputs):
        raise ConfigError(
            f"{len(masks)} clear masks for {len(inputs)} inputs.",
            fix="give one mask per revisit file, in the same order.",
        )
    by_file = {os.path.realpath(p): os.fspath(m) for p, m in zip(inputs, masks, strict=True)}
    out = []
    for date in dates:
        files = {os.path.realpath(f) for s in date for f in s.paths}
        found = [by_file[f] for f in files if f in by_file]
        if len(found) != 1 or len(files) != 1:
            raise ConfigError(
                "clear masks go with revisits given as single raster files.",
                path=Path(sorted(files)[0]) if files else None,
                fix="pass the revisits as files (one per date), each with its mask.",
            )
        out.append(found[0])
    return tuple(out)
