"""GeoParquet written block by block: feature and window tables of any length in bounded memory.

Rows arrive in batches (one per block) and are written as Parquet row groups;
the file carries GeoParquet 1.1 metadata (WKB geometry, CRS as PROJJSON), so
GeoPandas, GDAL and QGIS read it as a layer. It is written under a temporary
name and renamed into place by :meth:`GeoParquetWriter.publish`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import CRS

GEOPARQUET_VERSION = "1.1.0"


class StagedFile:
    """A file written under a temporary name beside ``path``, renamed there when complete.

    Subclasses open their handle on ``tmp`` and close it in :meth:`close`. Use as a
    context manager: :meth:`publish` closes and renames; leaving without publishing
    (an error) closes and deletes the temporary file, so nothing incomplete appears
    under ``path``.

    Args:
        path: Final path.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")

    def close(self, complete: bool) -> None:
        """Close the handle (``complete``: the content is whole, finish the format)."""
        raise NotImplementedError

    def publish(self) -> Path:
        """Close the file and rename it to its final name."""
        self.close(complete=True)
        os.replace(self.tmp, self.path)
        return self.path

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(complete=False)
        self.tmp.unlink(missing_ok=True)


class GeoParquetWriter(StagedFile):
    """Writes a GeoParquet file in batches, published under ``path`` only when complete.

    Use as a context manager; call :meth:`publish` before leaving it, or nothing
    appears under ``path``.

    Args:
        path: Final path (``.parquet``).
        crs: CRS of the geometries (WKT or any string pyproj reads).
        fields: The non-geometry columns, in order.
        geometry_types: GeoParquet geometry types (e.g. ``["Polygon"]``).
        metadata: Extra key → JSON-ready value stored in the file's metadata.
    """

    def __init__(
        self,
        path: Path,
        crs: str,
        fields: Sequence[pa.Field],
        geometry_types: Sequence[str],
        metadata: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(path)
        geo = {
            "version": GEOPARQUET_VERSION,
            "primary_column": "geometry",
            "columns": {
                "geometry": {
                    "encoding": "WKB",
                    "geometry_types": list(geometry_types),
                    "crs": CRS.from_user_input(crs).to_json_dict(),
                }
            },
        }
        meta = {b"geo": json.dumps(geo).encode()}
        for key, value in (metadata or {}).items():
            meta[key.encode()] = json.dumps(value).encode()
        self.schema = pa.schema([*fields, pa.field("geometry", pa.binary())], metadata=meta)
        self.rows = 0
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            self.tmp, self.schema, compression="zstd", use_dictionary=_repeating(fields)
        )

    def write(self, columns: Mapping[str, object], geometries: npt.NDArray[np.object_]) -> None:
        """Append rows: one value per row in each column, and their shapely geometries."""
        if self._writer is None:
            raise RuntimeError(f"{self.path}: the writer is closed")
        if len(geometries) == 0:
            return
        arrays = [
            pa.array(columns[f.name], type=f.type) for f in self.schema if f.name != "geometry"
        ]
        wkb = pa.array(shapely.to_wkb(geometries), type=pa.binary())
        self._writer.write_table(pa.Table.from_arrays([*arrays, wkb], schema=self.schema))
        self.rows += len(geometries)

    def close(self, complete: bool) -> None:
        """Close the Parquet writer (its footer makes the file whole either way)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _repeating(fields: Sequence[pa.Field]) -> list[str]:
    """Columns worth dictionary pages: all but floats, lists of floats and the geometries.

    Those rarely repeat a value: a dictionary of them grows until Parquet gives up
    on it (for a table of 512-float embeddings, 3x the time of writing the pages
    plainly, and a larger file).
    """
    out = []
    for f in fields:
        kind = f.type
        if (
            pa.types.is_list(kind)
            or pa.types.is_fixed_size_list(kind)
            or pa.types.is_large_list(kind)
        ):
            kind = kind.value_type
        if not pa.types.is_floating(kind):
            out.append(f.name)
    return out
