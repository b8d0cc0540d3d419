"""Text search filters: time intervals as typed on the command line, boxes and dates of windows."""

from __future__ import annotations

import faiss
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from eoforge.embeddings.index import EmbeddingIndex
from eoforge.errors import ConfigError
from eoforge.text.search import _kept, time_range


def test_time_ranges() -> None:
    start, end = time_range("2024-06-01/2024-09-30")
    assert start == pd.Timestamp("2024-06-01", tz="UTC") and end == pd.Timestamp(
        "2024-09-30", tz="UTC"
    )
    assert time_range("../2024-01-01")[0] is None and time_range("2024-01-01/")[1] is None
    day = time_range("2024-03-05")
    assert day[0] == pd.Timestamp("2024-03-05", tz="UTC")
    assert day[1] == pd.Timestamp("2024-03-05 23:59:59.999999", tz="UTC")
    with pytest.raises(ConfigError, match="ends before"):
        time_range("2024-02-01/2024-01-01")
    with pytest.raises(ConfigError, match="not a date"):
        time_range("yesterday/2024-01-01")
    with pytest.raises(ConfigError, match="not a date"):
        time_range("June/2024-09-30")  # pandas alone reads a month name as a date


def test_box_and_time_filters() -> None:
    boxes = [shapely.box(i * 10, 0, i * 10 + 10, 10) for i in range(4)]
    times = pd.to_datetime(["2024-01-05", "2024-06-01", None, "2024-06-20"], utc=True)
    windows = gpd.GeoDataFrame(
        {"scene": "s", "row": 0, "col": range(4), "height": 1, "width": 1, "valid": 1.0,
         "time": times},
        geometry=boxes, crs="EPSG:32631",
    )  # fmt: skip
    index = EmbeddingIndex(faiss.IndexFlatIP(2), windows, None, [])
    assert _kept(index, None, None, None) is None
    assert _kept(index, (12, 2, 25, 8), None, None).tolist() == [False, True, True, False]
    june = time_range("2024-06-01/2024-06-30")
    assert _kept(index, None, None, june).tolist() == [False, True, False, True]
    both = _kept(index, (12, 2, 25, 8), None, june)
    assert both.tolist() == [False, True, False, False]
    lonlat = gpd.GeoSeries([shapely.box(0, 0, 25, 10)], crs="EPSG:32631").to_crs(4326).total_bounds
    moved = _kept(index, tuple(lonlat), "EPSG:4326", None)
    assert moved[:3].tolist() == [True, True, True] and not moved[3]
    with pytest.raises(ConfigError, match="empty"):
        _kept(index, (5, 5, 5, 8), None, None)
    assert np.asarray(_kept(index, None, None, (None, None))).tolist() == [True, True, False, True]
