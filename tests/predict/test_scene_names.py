"""Scene names and grouping of the inputs of ``eoforge predict`` / ``embed``.

Folders of band files (synth's layout ``s2/<date>/S2.B02.tif``) are scenes named
after their folder, undated date folders are not merged into one scene, and
names never repeat.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from eoforge.io.source import RasterSource
from eoforge.predict import find_sources, group_scenes


def _write(path: Path, bands: int = 1, value: int = 1, name: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "width": 8, "height": 8, "count": bands, "dtype": "uint16",
               "crs": "EPSG:32631", "transform": from_origin(600000, 5000000, 10, 10)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.full((bands, 8, 8), value, dtype=np.uint16))
        if name is not None:
            ds.set_band_description(1, name)
    return path


def _band_folder(folder: Path, bands: list[str], value: int) -> None:
    for band in bands:
        _write(folder / f"{band}.tif", value=value, name=band)


def _files(scene_dates: tuple[tuple[RasterSource, ...], ...]) -> set[Path]:
    return {
        Path(asset.path).absolute().relative_to(Path.cwd())
        for sources in scene_dates
        for source in sources
        for asset in source.assets.values()
    }


def test_a_folder_of_band_files_is_named_after_the_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _band_folder(tmp_path / "site/s2/20240301", ["S2.B02", "S2.B03"], 1)
    (scene,) = group_scenes(find_sources("site/s2/20240301"), ["S2.B02", "S2.B03"])
    assert scene.name == "s2-20240301"  # a date-only folder takes the sensor folder in front
    _band_folder(tmp_path / "field_a", ["S2.B02", "S2.B03"], 1)
    (scene,) = group_scenes(find_sources("field_a"), ["S2.B02", "S2.B03"])
    assert scene.name == "field_a"


def test_undated_date_folders_stay_separate_scenes_and_pair_in_order(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _band_folder(tmp_path / "site/s2/20241031", ["S2.B02", "S2.B03"], 2)
    _band_folder(tmp_path / "site/s2/20240301", ["S2.B02", "S2.B03"], 1)
    _band_folder(tmp_path / "site/s1/20240301", ["S1.VV", "S1.VH"], 3)
    _band_folder(tmp_path / "site/s1/20241031", ["S1.VV", "S1.VH"], 4)
    sources = find_sources("site")
    scenes = group_scenes(sources, ["S2.B02", "S2.B03"])
    assert [s.name for s in scenes] == ["s2-20240301", "s2-20241031"]
    for scene in scenes:  # each scene reads only its own date's files
        date = scene.name.split("-")[1]
        assert {p.parent for p in _files(scene.dates)} == {Path("site/s2") / date}
    # two sensors of one date folder name: one scene per date, named after the date
    both = group_scenes(sources, ["S2.B02", "S1.VV"])
    assert [s.name for s in both] == ["20240301", "20241031"]
    assert {p.parent.name for p in _files(both[0].dates)} == {"20240301"}
    (change,) = group_scenes(sources, ["S2.B02"], dates=2)
    assert change.name == "s2-20240301_to_s2-20241031"
    assert {p.parent.name for p in _files(change.dates[:1])} == {"20240301"}


def test_names_never_repeat(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "north/scene.tif", bands=2)
    _write(tmp_path / "south/scene.tif", bands=2)
    _band_folder(tmp_path / "a/s2/20240301", ["S2.B02"], 1)
    _band_folder(tmp_path / "b/s2/20240301", ["S2.B02"], 1)
    scenes = group_scenes(find_sources(["north", "south"]), ["band1", "band2"])
    assert [s.name for s in scenes] == ["north-scene", "south-scene"]
    scenes = group_scenes(find_sources(["a/s2/20240301", "b/s2/20240301"]), ["S2.B02"])
    assert [s.name for s in scenes] == ["a-s2-20240301", "b-s2-20240301"]
