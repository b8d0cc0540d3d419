"""The caption table on disk: GeoParquet, one row per (window, caption), with its metadata.

Columns: ``geometry`` (window footprint in the scene CRS), ``window_id``
(int64, shared by the captions of one window), ``scene`` (string), ``time``
(timestamp[us, UTC], the labels' date, nullable), ``caption`` and ``facts``
(JSON of :class:`~eoforge.captions.facts.WindowFacts`). The file-level
metadata key ``eoforge:captions`` holds ``{"version": 1, "seed", "window_px",
"gsd", "classes": [{"id", "name", "colour"}], "labels"}``. Files are written
under a temporary name and renamed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyarrow as pa
import pyarrow.parquet as pq

from eoforge.captions.facts import WindowFacts
from eoforge.classes import ClassInfo
from eoforge.errors import MissingFileError, UnreadableFileError

META_KEY = b"eoforge:captions"
"""File-level metadata key of a caption table."""

VERSION = 1
"""Version of the caption table format."""

COLUMNS = ("window_id", "scene", "time", "caption", "facts", "geometry")
"""Columns of a caption table, in file order."""


@dataclass(frozen=True)
class CaptionMeta:
    """What a caption table records about how it was made.

    Attributes:
        seed: Seed of the sentence draws.
        window_px: Window side, pixels.
        gsd: Pixel size of the windows, CRS units (m).
        classes: The legend the captions speak.
        labels: Where the facts came from (label files and vector layers).
        version: Table format version.
    """

    seed: int
    window_px: int
    gsd: float
    classes: tuple[ClassInfo, ...]
    labels: str
    version: int = VERSION

    def to_json(self) -> str:
        """The metadata value (``colour`` as ``#rrggbb``)."""
        return json.dumps(
            {
                "version": self.version,
                "seed": self.seed,
                "window_px": self.window_px,
                "gsd": self.gsd,
                "classes": [{"id": c.id, "name": c.name, "colour": c.color} for c in self.classes],
                "labels": self.labels,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> CaptionMeta:
        """Metadata back from :meth:`to_json`."""
        data: dict[str, Any] = json.loads(text)
        return cls(
            seed=int(data["seed"]),
            window_px=int(data["window_px"]),
            gsd=float(data["gsd"]),
            classes=tuple(
                ClassInfo(id=int(c["id"]), name=str(c["name"]), color=c["colour"])
                for c in data["classes"]
            ),
            labels=str(data["labels"]),
            version=int(data["version"]),
        )


@dataclass
class CaptionTable:
    """Captions read back.

    Attributes:
        frame: One row per caption (:data:`COLUMNS`), index ``0..N-1``.
        meta: How they were made.
    """

    frame: gpd.GeoDataFrame
    meta: CaptionMeta

    def __len__(self) -> int:
        return len(self.frame)

    def facts(self, row: int) -> WindowFacts:
        """The facts behind the ``row``-th caption."""
        return WindowFacts.from_json(str(self.frame["facts"].iloc[row]))


def write_captions(frame: gpd.GeoDataFrame, meta: CaptionMeta, path: str | Path) -> Path:
    """Write a caption table (temporary name, then rename).

    Args:
        frame: Rows with :data:`COLUMNS`.
        meta: Its metadata.
        path: Target ``.parquet`` file.

    Returns:
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        frame[list(COLUMNS)].to_parquet(partial, index=False, schema_version="1.0.0")
        table = pq.read_table(partial)
        metadata = {**(table.schema.metadata or {}), META_KEY: meta.to_json().encode()}
        pq.write_table(table.replace_schema_metadata(metadata), partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def read_captions(path: str | Path) -> CaptionTable:
    """Read a caption table written by :func:`write_captions` (``eoforge captions``).

    Raises:
        MissingFileError: The file does not exist.
        UnreadableFileError: It is not Parquet, or not a caption table (no
            ``eoforge:captions`` metadata, or missing columns).
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError(
            "caption table not found.",
            path=file,
            fix="check the path (eoforge captions writes it).",
        )
    try:
        schema = pq.read_schema(file)
    except (pa.ArrowInvalid, OSError) as error:
        raise UnreadableFileError(
            f"not a Parquet file ({error}).",
            path=file,
            fix="give a file written by eoforge captions.",
        ) from None
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise UnreadableFileError(
            "not a caption table: its metadata has no 'eoforge:captions' entry.",
            path=file,
            fix="write it with eoforge captions (or eoforge.captions.write_captions).",
        )
    missing = [c for c in COLUMNS if c not in schema.names]
    if missing:
        raise UnreadableFileError(
            f"the caption table lacks the columns {', '.join(missing)}.",
            path=file,
            fix="write it again with eoforge captions.",
        )
    try:
        meta = CaptionMeta.from_json(raw)
    except (KeyError, TypeError, ValueError) as error:
        raise UnreadableFileError(
            f"the 'eoforge:captions' metadata is malformed ({error}).",
            path=file,
            fix="write it again with eoforge captions.",
        ) from None
    return CaptionTable(gpd.read_parquet(file), meta)
