"""Multi-frame grouping of ``eoforge predict`` inputs: every date of a footprint in one scene, in
date order (undated: by name), named by what the members' names share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from eoforge.predict import find_sources, group_scenes

BANDS = ["S2.B02", "S2.B03"]


def _write(path: Path, x0: float, value: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "width": 8, "height": 8, "count": 2, "dtype": "uint16",
               "crs": "EPSG:32631", "transform": from_origin(x0, 5000000, 10, 10)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.full((2, 8, 8), value, dtype=np.uint16))
        ds.descriptions = tuple(BANDS)
    return path


def _values(scene_dates: tuple) -> list[int]:
    out = []
    for sources in scene_dates:
        (asset,) = {a.path for s in sources for a in s.assets.values()}
        with rasterio.open(asset) as src:
            out.append(int(src.read(1)[0, 0]))
    return out


def test_each_footprint_becomes_one_stack_in_order(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for n in (2, 0, 11, 1):  # written out of order; lr_11 sorts after lr_2 by name
        _write(tmp_path / "east" / f"lr_{n}.tif", 600000, n)
    for day in ("20241031", "20240301"):
        _write(tmp_path / "west" / f"s2-{day}.tif", 500000, int(day[4:6]))
    scenes = group_scenes(find_sources(["east", "west"]), BANDS, stack=True)
    assert [s.name for s in scenes] == ["lr", "s2"]
    east, west = scenes
    assert _values(east.dates) == [0, 1, 11, 2]  # undated: by name
    assert _values(west.dates) == [3, 10]
    # one file alone keeps its own name; the default still gives one scene per file
    (alone,) = group_scenes(find_sources("west/s2-20240301.tif"), BANDS, stack=True)
    assert alone.name == "s2-20240301" and len(alone.dates) == 1
    assert len(group_scenes(find_sources(["east", "west"]), BANDS)) == 6
