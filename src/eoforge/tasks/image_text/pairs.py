"""Image-caption pairs: rows of a caption table read as windows of named bands.

A caption table (GeoParquet, written by :mod:`eoforge.captions`) holds one
row per (window, caption): the window's footprint polygon in the scene's CRS
(``geometry``), ``window_id`` (shared by the captions of one window) and
``caption``. :func:`read_caption_table` checks and reads it;
:class:`CaptionPairs` reads each row's footprint as a ``size`` x ``size``
window (the footprint's bounds, so the pixel size is ``side / size``) from
the image sources by band name, as a sample ``{"image" [C, H, W], "valid"
[H, W], "caption", "window" (a key unique across tables), "crs",
"transform"}``. The captions of one window share one read: up to ``cache``
windows are kept in memory once read (per DataLoader worker), so later
captions and epochs of a cached window read nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyarrow.parquet as pq
import torch
from affine import Affine
from torch.utils.data import Dataset

from eoforge.errors import UnreadableFileError
from eoforge.geo.grid import make_grid
from eoforge.io.reader import read
from eoforge.io.source import RasterSource

CAPTIONS_META = b"eoforge:captions"
"""File-level metadata key of caption tables."""
REQUIRED = ("geometry", "window_id", "caption")


@dataclass
class CaptionTable:
    """A caption table read back.

    Attributes:
        path: The file.
        rows: One row per (window, caption), with ``geometry`` in ``crs``.
        crs: The windows' CRS (WKT).
        meta: The ``eoforge:captions`` metadata (``window_px``, ``gsd``, ``classes``...;
            empty when absent).
    """

    path: Path
    rows: gpd.GeoDataFrame
    crs: str
    meta: dict[str, Any]

    @property
    def window_px(self) -> int | None:
        """Window side in pixels the captions were made at, if recorded."""
        value = self.meta.get("window_px")
        return int(value) if isinstance(value, int | float) else None


def read_caption_table(path: str | Path) -> CaptionTable:
    """Read and check a caption GeoParquet file.

    Raises:
        UnreadableFileError: Not GeoParquet, no CRS, missing columns, or an empty caption.
    """
    file = Path(path)
    fix = "give a caption table written by eoforge.captions (geometry, window_id, caption)."
    try:
        rows = gpd.read_parquet(file)
        raw = (pq.read_schema(file).metadata or {}).get(CAPTIONS_META)
    except Exception as error:  # pyarrow and geopandas raise several unrelated types
        raise UnreadableFileError(
            f"not a GeoParquet table ({error}).", path=file, fix=fix
        ) from None
    missing = [c for c in REQUIRED if c not in rows.columns]
    if missing or rows.crs is None:
        raise UnreadableFileError(
            f"caption table lacks {missing or ['a CRS']}.", path=file, fix=fix
        )
    blank = rows["caption"].isna() | (rows["caption"].astype(str).str.strip() == "")
    if blank.any():
        raise UnreadableFileError(
            f"{int(blank.sum())} empty caption(s), first at row {int(blank.to_numpy().argmax())}.",
            path=file,
            fix="drop rows without a caption.",
        )
    meta = json.loads(raw) if raw else {}
    return CaptionTable(file, rows.reset_index(drop=True), rows.crs.to_wkt(), meta)


class CaptionPairs(Dataset[dict[str, Any]]):
    """Windows of caption tables, read from their images, paired with their captions.

    Args:
        tables: Caption tables, each with the image sources its windows lie in.
        bands: Bands to read, channel order.
        size: Window side, pixels.
        rows: Per table, the row positions to keep (None: all).
        cache: Windows kept in memory once read (0: none).
    """

    def __init__(
        self,
        tables: Sequence[tuple[CaptionTable, list[RasterSource]]],
        bands: Sequence[str],
        size: int,
        rows: Sequence[Sequence[int]] | None = None,
        cache: int = 4096,
    ) -> None:
        self.bands = list(bands)
        self.cache = cache
        self._read: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}
        self.size = size
        self.sources = [sources for _, sources in tables]
        self.items: list[tuple[int, tuple[float, float, float, float], str, int]] = []
        self.crs = [table.crs for table, _ in tables]
        for t, (table, _) in enumerate(tables):
            keep = range(len(table.rows)) if rows is None else rows[t]
            frame = table.rows
            bounds = frame.geometry.bounds.to_numpy()
            ids = frame["window_id"].to_numpy()
            captions = frame["caption"].astype(str).to_numpy()
            for i in keep:
                box = (
                    float(bounds[i, 0]),
                    float(bounds[i, 1]),
                    float(bounds[i, 2]),
                    float(bounds[i, 3]),
                )
                self.items.append((t, box, str(captions[i]), int(ids[i])))

    def __len__(self) -> int:
        return len(self.items)

    def window_key(self, index: int) -> tuple[int, int]:
        """``(table, window_id)`` of item ``index``: equal for captions of one window."""
        table, _, _, window = self.items[index]
        return table, window

    def caption(self, index: int) -> str:
        """The caption of item ``index``."""
        return self.items[index][2]

    def __getitem__(self, index: int) -> dict[str, Any]:
        table, (minx, miny, maxx, maxy), caption, window = self.items[index]
        transform = Affine((maxx - minx) / self.size, 0, minx, 0, -(maxy - miny) / self.size, maxy)
        key = (table, window)
        if key in self._read:
            image, valid = self._read[key]
        else:
            grid = make_grid((self.size, self.size), transform, self.crs[table])
            array, mask = read(self.sources[table], grid, self.bands)
            image, valid = torch.from_numpy(array), torch.from_numpy(mask)
            if len(self._read) < self.cache:
                self._read[key] = (image, valid)
        return {
            "image": image.clone(),
            "valid": valid.clone(),
            "caption": caption,
            "window": torch.tensor(table * (1 << 40) + window, dtype=torch.int64),
            "crs": self.crs[table],
            "transform": tuple(transform)[:6],
        }
