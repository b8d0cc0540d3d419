"""The catalog's public functions take ``str``, :class:`pathlib.Path` or any ``os.PathLike``."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pystac
import pytest
from tests.helpers import coord_image, write_tif

from eoforge.catalog import Catalog
from eoforge.catalog.pattern import compile_pattern, match_name
from eoforge.catalog.rows import vector_row
from eoforge.catalog.stac import item_source
from eoforge.catalog.storage import catalog_rows, is_catalog_file

T31 = (10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0)


class FsPath:
    """A path-like object that is not a ``pathlib.Path``: only ``os.fspath`` gives its path."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = os.fspath(path)

    def __fspath__(self) -> str:
        return self._path


@pytest.mark.parametrize("kind", [str, Path, FsPath], ids=["str", "Path", "PathLike"])
def test_catalog_index_save_load_take_any_path(
    tmp_path: Path, kind: Callable[[Path], str | os.PathLike[str]]
) -> None:
    folder = tmp_path / "scenes"
    folder.mkdir()
    write_tif(folder / "first.tif", coord_image(16, 16, 1)[0], T31, "EPSG:32631")
    write_tif(folder / "second.tif", coord_image(16, 16, 2), T31, "EPSG:32631")
    catalog = Catalog.from_paths(kind(folder), progress=False)  # one path, not a list
    assert sorted(catalog.frame["id"]) == ["first", "second"]
    target = tmp_path / "out" / "catalog.parquet"
    assert catalog.save(kind(target)) == target
    assert is_catalog_file(kind(target))
    assert len(Catalog.load(kind(target))) == 2
    assert len(catalog_rows(kind(target))) == 2
    assert sorted(Catalog.from_paths([kind(target)], progress=False).frame["id"]) == sorted(
        catalog.frame["id"]
    )


def test_vector_row_takes_any_path(tmp_path: Path) -> None:
    path = tmp_path / "labels.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},'
        ' "geometry": {"type": "Point", "coordinates": [3.0, 45.0]}}]}'
    )
    row = vector_row(FsPath(path))
    assert row["id"] == "labels" and row["path"] == str(path) and row["kind"] == "label_vector"


@pytest.mark.parametrize("kind", [str, Path, FsPath], ids=["str", "Path", "PathLike"])
def test_name_patterns_and_stac_items_take_any_path(
    tmp_path: Path, kind: Callable[[Path], str | os.PathLike[str]]
) -> None:
    regex = compile_pattern(r"(?P<sensor>S2[AB])_(?P<date>\d{8})_(?P<band>B\d\w)")
    found = match_name(regex, kind(tmp_path / "S2A_20200105_B04.tif"))
    assert found is not None and found.band == "B04" and found.sensor == "S2A"
    assert found.scene_key == str(tmp_path / "S2A_20200105_{band}.tif")
    write_tif(tmp_path / "red.tif", coord_image(16, 16, 1)[0], T31, "EPSG:32631")
    item = pystac.Item(
        id="scene",
        geometry=None,
        bbox=None,
        datetime=datetime(2020, 1, 5, tzinfo=UTC),
        properties={},
    )
    item.add_asset("red", pystac.Asset("./red.tif", media_type=pystac.MediaType.COG))
    source = item_source(item, kind(tmp_path / "item.json"))  # hrefs resolve beside the file
    assert source.paths == [str(tmp_path / "red.tif")]
