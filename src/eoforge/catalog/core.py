"""The :class:`Catalog`: scenes and label layers in a spatio-temporal index.

A catalog is a GeoDataFrame with one row per scene (``kind="image"``) or
label layer (``"label_raster"``, ``"label_vector"``): footprint in EPSG:4326,
native CRS, resolution, acquisition time, sensor, level, band names, and the
scene's band-to-file map. It is built from files and folders or from STAC,
queried by place, time, sensor and bands, and saved as GeoParquet.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely.geometry

from eoforge.catalog.build import SkippedFile, build_rows
from eoforge.catalog.query import TimeLike, query_frame
from eoforge.catalog.rows import frame_from_rows, text_or_none
from eoforge.catalog.stac import stac_rows
from eoforge.catalog.storage import load_frame, save_frame
from eoforge.errors import CatalogError, available_list
from eoforge.io.source import RasterSource


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog row as a typed record.

    Attributes:
        id: Unique row id (scene or layer name).
        kind: ``"image"``, ``"label_raster"`` or ``"label_vector"``.
        path: The file, or the folder of a band-per-file product, or the STAC item.
        crs: Native CRS as WKT.
        epsg: EPSG code of the native CRS, or None (custom CRS).
        resolution: Finest pixel size in native CRS units (NaN for vectors).
        datetime: Acquisition time (UTC) or None.
        sensor: Sensor name or None.
        level: Processing level or None.
        bands: Band names in product order (empty for vectors).
        footprint: Footprint polygon in EPSG:4326 (degrees).
        source_json: The source's JSON text (None for vectors).
    """

    id: str
    kind: str
    path: str
    crs: str
    epsg: int | None
    resolution: float
    datetime: datetime | None
    sensor: str | None
    level: str | None
    bands: tuple[str, ...]
    footprint: shapely.geometry.base.BaseGeometry
    source_json: str | None

    @property
    def source(self) -> RasterSource | None:
        """The readable raster source, or None for a vector label layer."""
        if self.source_json is None:
            return None
        return RasterSource.from_dict(json.loads(self.source_json))


def _entry(row: Any) -> CatalogEntry:
    when = row["datetime"]
    epsg = row["epsg"]
    return CatalogEntry(
        id=str(row["id"]),
        kind=str(row["kind"]),
        path=str(row["path"]),
        crs=str(row["crs"]),
        epsg=None if pd.isna(epsg) else int(epsg),
        resolution=float(row["resolution"]),
        datetime=None if pd.isna(when) else pd.Timestamp(when).to_pydatetime(),
        sensor=text_or_none(row["sensor"]),
        level=text_or_none(row["level"]),
        bands=tuple(row["bands"]),
        footprint=row["geometry"],
        source_json=text_or_none(row["source"]),
    )


class Catalog:
    """Scenes and label layers with their footprints, times, sensors and bands.

    Build one with :meth:`from_paths` or :meth:`from_stac`, narrow it with
    :meth:`query`, read from it with :meth:`sources`, and keep it with
    :meth:`save` / :meth:`load`.

    Args:
        frame: Catalog frame (see :data:`eoforge.catalog.rows.COLUMNS`).
        skipped: Files that could not be indexed, with the reason.
    """

    def __init__(self, frame: gpd.GeoDataFrame, skipped: Sequence[SkippedFile] = ()) -> None:
        self._frame = frame
        self.skipped: list[SkippedFile] = list(skipped)

    @classmethod
    def from_paths(
        cls,
        paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
        *,
        pattern: str | None = None,
        sensor: str | None = None,
        strict: bool | None = None,
        progress: bool = True,
    ) -> Catalog:
        r"""Index raster files, product folders, vector labels and folders of them.

        Args:
            paths: Files and folders (folders are walked recursively). Landsat
                ``*_MTL.txt`` / Sentinel-2 ``*MTD*.xml`` files index the product
                they describe; STAC JSON files and saved catalogs are merged in.
            pattern: File-name regex with named groups ``date``, ``sensor`` and
                ``band``, e.g. ``r"(?P<sensor>S2[AB])_(?P<date>\\d{8})_(?P<band>B\\d\\w)"``:
                files differing only in the band group form one scene.
            sensor: Sensor of files that do not reveal theirs (``"S2"``, ``"L8"``...).
            strict: True raises on any file that cannot be indexed, False skips
                all of them; None (default) raises for files named explicitly
                and skips those found in folders (listed in :attr:`skipped`).
            progress: Show a progress bar on stderr for large folders.

        Returns:
            The catalog.

        Raises:
            MissingFileError: A path does not exist.
            NotGeoreferencedError, UnreadableFileError, CatalogError: Per ``strict``.
        """
        result = build_rows(paths, pattern=pattern, sensor=sensor, strict=strict, progress=progress)
        return cls(frame_from_rows(result.rows), result.skipped)

    @classmethod
    def from_stac(cls, path: str | os.PathLike[str]) -> Catalog:
        """Index a static STAC catalog / collection, an Item, or an ItemCollection file.

        Args:
            path: ``catalog.json``, ``collection.json``, an item JSON, or an
                ItemCollection (``FeatureCollection``) JSON on disk.

        Returns:
            One image row per item.

        Raises:
            MetadataError, CatalogError: Malformed STAC or items without raster assets.
        """
        return cls(frame_from_rows(stac_rows(path)))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Catalog:
        """Load a catalog saved with :meth:`save`.

        Raises:
            CatalogError: The file is not an eoforge catalog (e.g. another parquet file).
        """
        frame, skipped = load_frame(path)
        return cls(frame, [SkippedFile(p, r) for p, r in skipped])

    @classmethod
    def concat(cls, catalogs: Sequence[Catalog]) -> Catalog:
        """One catalog holding the rows (ids made unique) and skipped files of several."""
        rows = [row for c in catalogs for row in c.frame.to_dict("records")]
        return cls(frame_from_rows(rows), [s for c in catalogs for s in c.skipped])

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the catalog as GeoParquet (temporary file, then rename).

        Returns:
            The written path.
        """
        return save_frame(self._frame, [(s.path, s.reason) for s in self.skipped], path)

    @property
    def frame(self) -> gpd.GeoDataFrame:
        """The catalog as a GeoDataFrame (footprints in EPSG:4326)."""
        return self._frame

    def query(
        self,
        bbox: Sequence[float] | None = None,
        bbox_crs: Any = "EPSG:4326",
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        sensor: str | Sequence[str] | None = None,
        bands: Sequence[str] | None = None,
        kind: str | Sequence[str] | None = None,
    ) -> Catalog:
        """Rows matching every given condition (see :func:`eoforge.catalog.query.query_frame`).

        Args:
            bbox: ``(minx, miny, maxx, maxy)`` in ``bbox_crs`` units.
            bbox_crs: CRS of ``bbox``; edges are densified when reprojected.
            start: Earliest time, inclusive (a bare date: from its first instant).
            end: Latest time, inclusive (a bare date: up to its last instant).
            sensor: Sensor name(s).
            bands: Band names or aliases every row must provide.
            kind: Row kind(s).

        Returns:
            A new catalog (same skipped list).
        """
        frame = query_frame(
            self._frame,
            bbox=bbox,
            bbox_crs=bbox_crs,
            start=start,
            end=end,
            sensor=sensor,
            bands=bands,
            kind=kind,
        )
        return Catalog(frame, self.skipped)

    def sources(self, kind: str | Sequence[str] | None = None) -> list[RasterSource]:
        """Readable sources of the raster rows (vector rows have none), in row order.

        Args:
            kind: Restrict to ``"image"`` or ``"label_raster"`` rows.
        """
        frame = self._frame if kind is None else query_frame(self._frame, kind=kind)
        return [
            RasterSource.from_dict(json.loads(text))
            for text in frame["source"]
            if isinstance(text, str)
        ]

    def __len__(self) -> int:
        return len(self._frame)

    def __iter__(self) -> Iterator[CatalogEntry]:
        for _, row in self._frame.iterrows():
            yield _entry(row)

    def __getitem__(self, row_id: str) -> CatalogEntry:
        """The entry with this id."""
        hits = self._frame[self._frame["id"] == row_id]
        if hits.empty:
            raise CatalogError(
                f"no row with id {row_id!r}; ids: {available_list(self._frame['id'])}.",
                fix="use one of the listed ids.",
            )
        return _entry(hits.iloc[0])

    def __repr__(self) -> str:
        kinds = self._frame["kind"].value_counts().to_dict() if len(self) else {}
        summary = ", ".join(f"{n} {k}" for k, n in kinds.items()) or "empty"
        return f"Catalog({summary}; {len(self.skipped)} skipped)"
