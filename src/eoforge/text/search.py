"""Search window embeddings with words: the text side of an image-text bundle queries its index.

The index must hold vectors that ``eoforge embed`` made with the same bundle's
image tower: its model fingerprint is compared with the bundle's
(:func:`~eoforge.predict.identity.same_model`), and vectors of another bundle
are refused with both named. Results can be limited to windows intersecting
a bounding box and to windows whose time lies in an interval; windows of
unknown time never match a time filter.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from eoforge.embeddings.index import EmbeddingIndex, open_index
from eoforge.errors import ConfigError
from eoforge.models.image_text_bundle import TextSide, load_text_side
from eoforge.predict.identity import bundle_identity, same_model
from eoforge.text.sentence import check_texts

PathLike = str | os.PathLike[str]


def bundle_of(index: EmbeddingIndex, bundle: PathLike | None) -> str:
    """The bundle to embed queries with: the given one, else the one the index was made with.

    Raises:
        ConfigError: None given and the index names none.
    """
    if bundle is not None:
        return os.fspath(bundle)
    if index.model is None or not index.model.bundles:
        raise ConfigError(
            "the index does not say which bundle made its vectors.",
            fix="give the image-text bundle (--bundle).",
        )
    return index.model.bundles[0]


def _time(text: str, key: str) -> pd.Timestamp:
    try:  # ISO 8601 only: pandas alone would read "June" as June 1st of this year
        value = pd.Timestamp(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise ConfigError(
            f"{key} {text!r} is not a date.", fix="give ISO dates, e.g. 2024-06-01/2024-09-30."
        ) from None
    return value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")


def time_range(text: str) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``START/END`` (either may be empty or ``..``) as UTC timestamps; a date alone is its day.

    Raises:
        ConfigError: Not an interval of ISO dates, or START after END.
    """
    parts = text.split("/")
    if len(parts) == 1:
        day = _time(parts[0], "--time")
        return day, day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    if len(parts) != 2:
        raise ConfigError(f"--time {text!r} is not START/END.", fix="e.g. 2024-06-01/2024-09-30.")
    start = None if parts[0] in ("", "..") else _time(parts[0], "START")
    end = None if parts[1] in ("", "..") else _time(parts[1], "END")
    if start is not None and end is not None and start > end:
        raise ConfigError(f"--time {text!r} ends before it starts.", fix="swap START and END.")
    return start, end


def search_text(
    queries: Sequence[str],
    index: PathLike | Sequence[PathLike] | EmbeddingIndex,
    *,
    bundle: PathLike | None = None,
    k: int = 10,
    bbox: tuple[float, float, float, float] | None = None,
    crs: str | None = None,
    time: tuple[datetime | pd.Timestamp | None, datetime | pd.Timestamp | None] | None = None,
    text: TextSide | None = None,
) -> gpd.GeoDataFrame:
    """The ``k`` windows most similar to each text query.

    Args:
        queries: Sentences (none empty).
        index: An index folder, embedding tables, or an open index.
        bundle: The image-text bundle (default: the one the index names).
        k: Windows per query.
        bbox: ``(minx, miny, maxx, maxy)``: keep windows intersecting it.
        crs: CRS of ``bbox`` (default: the index's).
        time: ``(start, end)``, either None for open: keep windows whose time lies within.
        text: The bundle's text side, already loaded (else loaded here).

    Returns:
        The index's search columns (``query``, ``rank``, ``id``, ``score``, window,
        ``geometry`` in the index's CRS) plus ``text``, best first per query.

    Raises:
        ConfigError: An empty query, k < 1, or an index of another bundle's vectors.
        MissingFileError: The bundle has no text side.
    """
    items = check_texts(queries, "query")
    if not items or k < 1:
        raise ConfigError(f"{len(items)} queries and k {k}.", fix="give a query and k >= 1.")
    opened = index if isinstance(index, EmbeddingIndex) else open_index(index)
    folder = bundle_of(opened, bundle)
    identity = bundle_identity([folder])
    same_model(
        opened.model,
        identity,
        what="the embedding index",
        fix=f"embed the scenes with {folder} (eoforge embed), index those tables, and search "
        "that index; or give the bundle the index was made with (--bundle).",
        joint=True,  # another tower of the index's joint space has the same text side
    )
    side = text if text is not None else load_text_side(folder)
    vectors = side.encode(items)
    keep = _kept(opened, bbox, crs, time)
    found = opened.search(vectors, min(k, len(opened)), model=identity, keep=keep)
    found.insert(1, "text", [items[q] for q in found["query"]])
    return gpd.GeoDataFrame(
        found.reset_index(drop=True), geometry="geometry", crs=opened.windows.crs
    )


def _kept(
    index: EmbeddingIndex,
    bbox: tuple[float, float, float, float] | None,
    crs: str | None,
    time: tuple[datetime | pd.Timestamp | None, datetime | pd.Timestamp | None] | None,
) -> np.ndarray | None:
    """Per window id, whether it passes the filters (None: no filter)."""
    if bbox is None and time is None:
        return None
    windows = index.windows
    keep = np.ones(len(windows), bool)
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        if not (minx < maxx and miny < maxy):
            raise ConfigError(
                f"--bbox {bbox} is empty.", fix="give minx,miny,maxx,maxy with min < max."
            )
        area = gpd.GeoSeries([shapely.box(*bbox)], crs=CRS.from_user_input(crs or windows.crs))
        if windows.crs is not None:
            area = area.to_crs(windows.crs)
        keep &= windows.geometry.intersects(area.iloc[0]).to_numpy()
    if time is not None:
        start, end = (None if t is None else pd.Timestamp(t) for t in time)
        when = pd.to_datetime(windows["time"], utc=True)
        ok = np.array(when.notna(), dtype=bool)
        if start is not None:
            start = start.tz_localize("UTC") if start.tzinfo is None else start
            ok &= (when >= start).fillna(False).to_numpy()
        if end is not None:
            end = end.tz_localize("UTC") if end.tzinfo is None else end
            ok &= (when <= end).fillna(False).to_numpy()
        keep &= ok
    return keep
