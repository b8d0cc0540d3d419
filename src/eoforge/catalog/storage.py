"""Save and load catalogs as GeoParquet.

A catalog file is GeoParquet (readable by GDAL, QGIS, geopandas) whose
pandas metadata carries an ``eoforge_catalog`` marker with the format version
and the skipped-file list, so that other parquet files are told apart with a
clear message. Saving writes a temporary file beside the target and renames
it, so a failed save never leaves a half-written catalog under the final name.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
from pyarrow import ArrowException

from eoforge.catalog.rows import COLUMNS, normalise_frame
from eoforge.errors import CatalogError
from eoforge.io.handles import check_path

MARKER = "eoforge_catalog"
"""Key of the catalog marker in the frame's attrs (stored in the pandas metadata)."""

FORMAT_VERSION = 1


def _json(metadata: dict[bytes, bytes], key: bytes) -> dict[str, Any]:
    try:
        value = json.loads(metadata.get(key, b"{}"))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _marker(path: Path) -> dict[str, Any] | None:
    """The catalog marker of a parquet file, or None (not parquet, or not a catalog)."""
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (ArrowException, OSError):
        return None
    # pandas >= 3 keeps attrs under their own key; pandas 2 inside the pandas metadata.
    attrs = _json(metadata, b"PANDAS_ATTRS") or _json(metadata, b"pandas").get("attributes") or {}
    marker = attrs.get(MARKER)
    return marker if isinstance(marker, dict) else None


def is_catalog_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a catalog written by :func:`save_frame`."""
    return _marker(Path(path)) is not None


def save_frame(
    frame: gpd.GeoDataFrame, skipped: list[tuple[str, str]], path: str | os.PathLike[str]
) -> Path:
    """Write a catalog frame to GeoParquet atomically.

    Args:
        frame: Catalog frame with the catalog columns.
        skipped: ``(path, reason)`` pairs to keep with the catalog.
        path: Target file, conventionally ``*.parquet``.

    Returns:
        The written path.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    out.attrs = {MARKER: {"version": FORMAT_VERSION, "skipped": [list(s) for s in skipped]}}
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        out.to_parquet(temporary, index=False)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def load_frame(path: str | os.PathLike[str]) -> tuple[gpd.GeoDataFrame, list[tuple[str, str]]]:
    """Read a catalog file.

    Returns:
        The catalog frame and the skipped ``(path, reason)`` pairs.

    Raises:
        MissingFileError, EmptyFileError: The file is missing or empty.
        CatalogError: The file is not parquet, or parquet but not an eoforge
            catalog, or from a newer catalog format.
    """
    text = check_path(path)
    marker = _marker(Path(text))
    if marker is None:
        raise CatalogError(
            "is not an eoforge catalog (no eoforge_catalog marker in its parquet metadata).",
            path=text,
            fix="build a catalog with `eoforge index FOLDER --out catalog.parquet`; read other "
            "GeoParquet label files with eoforge.io.vector.read_vector.",
        )
    if int(marker.get("version", 0)) > FORMAT_VERSION:
        raise CatalogError(
            f"catalog format version {marker.get('version')} is newer than this eoforge "
            f"supports ({FORMAT_VERSION}).",
            path=text,
            fix="upgrade eoforge, or rebuild the catalog with this version.",
        )
    frame = gpd.read_parquet(text)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise CatalogError(
            f"catalog lacks the columns {', '.join(missing)}.",
            path=text,
            fix="rebuild it with `eoforge index`.",
        )
    skipped = [(str(p), str(r)) for p, r in marker.get("skipped", [])]
    return normalise_frame(frame), skipped


def catalog_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a saved catalog as dictionaries (to merge it into a new one)."""
    frame, _ = load_frame(path)
    return [
        {c: (None if c == "datetime" and _is_nat(row[c]) else row[c]) for c in COLUMNS}
        for _, row in frame.iterrows()
    ]


def _is_nat(value: Any) -> bool:
    return bool(pd.isna(value))
