"""Field polygons numbered one integer per field, so each can be rasterised on its own.

Burning field polygons as one class (their union) merges fields that share an
edge; burning each field's own number keeps them apart, and field-boundary
targets (:mod:`eoforge.transforms.field_targets`) find the edge between them.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from odc.geo.geobox import GeoBox

from eoforge.errors import ConfigError, available_list
from eoforge.io.vector.placement import as_frame
from eoforge.io.vector.rasterize import rasterize_labels
from eoforge.io.vector.reading import IN_MEMORY, PathLike, source_of

FIELD_NUMBER = "eoforge_field_number"
"""Column :func:`number_fields` adds: 1..n, one number per field."""


def number_fields(
    fields: PathLike | gpd.GeoDataFrame, attribute: str | None = None
) -> gpd.GeoDataFrame:
    """A copy of the field layer with :data:`FIELD_NUMBER` (int32, 1..n) per field.

    Args:
        fields: Field polygons (a vector file or a GeoDataFrame with a CRS).
        attribute: Column naming each field (e.g. ``field_id``): features with the
            same value are one field (a field in several parts). None: every
            feature is its own field.

    Returns:
        The numbered copy (numbers follow the first appearance of each field).

    Raises:
        ConfigError: ``attribute`` is not a column, or holds missing values.
    """
    frame = as_frame(fields).copy()
    source = source_of(frame) or IN_MEMORY
    if attribute is None:
        numbers: npt.NDArray[np.int64] = np.arange(1, len(frame) + 1, dtype=np.int64)
    else:
        if attribute not in frame.columns:
            raise ConfigError(
                f"has no field column {attribute!r}; its columns are "
                f"{available_list(str(c) for c in frame.columns if c != frame.geometry.name)}.",
                path=source,
                fix="name the column that identifies each field (e.g. field_id), or none.",
            )
        if bool(frame[attribute].isna().any()):
            raise ConfigError(
                f"field column {attribute!r} has {int(frame[attribute].isna().sum())} missing "
                "values.",
                path=source,
                fix="give every field an identifier, or drop the unnamed features.",
            )
        codes, _ = pd.factorize(frame[attribute])
        numbers = codes.astype(np.int64) + 1
    if len(numbers) and numbers.max() > np.iinfo(np.int32).max:
        raise ConfigError(
            f"{numbers.max()} fields do not fit 32-bit field numbers.",
            path=source,
            fix="split the layer.",
        )
    frame[FIELD_NUMBER] = numbers.astype(np.int32)
    frame.attrs["source"] = source
    return frame


def rasterize_fields(numbered: gpd.GeoDataFrame, grid: GeoBox) -> npt.NDArray[np.int32]:
    """Field numbers ``[H, W]`` (int32, 0: no field) of a :func:`number_fields` layer on a grid.

    Pixels whose centre lies in a field get its number; where fields overlap the
    smaller one wins (see :func:`~eoforge.io.vector.rasterize_labels`).
    """
    mask: npt.NDArray[np.int32] = rasterize_labels(
        numbered, grid, FIELD_NUMBER, fill=0, dtype="int32", allow_empty=True
    )
    return mask
