"""Every public I/O function takes ``str``, :class:`pathlib.Path` or any ``os.PathLike``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from tests.helpers import coord_image, write_tif

from eoforge.errors import MissingFileError
from eoforge.geo import make_grid
from eoforge.io import (
    HANDLES,
    file_info,
    file_stamp,
    open_sources,
    rasterize_labels,
    read,
    read_vector,
    source_from_file,
    write_vector,
)
from eoforge.io.handles import check_path, open_dataset
from eoforge.io.products import sources_from_band_files

UTM31 = "EPSG:32631"
T31 = Affine(10, 0, 500000, 0, -10, 5600000)


class FsPath:
    """A path-like object that is not a ``pathlib.Path``: only ``os.fspath`` gives its path."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = os.fspath(path)

    def __fspath__(self) -> str:
        return self._path

    def __repr__(self) -> str:
        return f"FsPath({self._path!r})"


PATH_KINDS: list[Callable[[Path], str | os.PathLike[str]]] = [str, Path, FsPath]


@pytest.fixture()
def stack(tmp_path: Path) -> Path:
    (tmp_path / "scene").mkdir()
    return write_tif(
        tmp_path / "scene" / "stack.tif",
        coord_image(32, 40, 3),
        T31,
        UTM31,
        descriptions=["S2.B02", "S2.B03", "S2.B04"],
    )


@pytest.mark.parametrize("kind", PATH_KINDS, ids=["str", "Path", "PathLike"])
def test_raster_functions_take_any_path(
    stack: Path, kind: Callable[[Path], str | os.PathLike[str]]
) -> None:
    text = str(stack)
    path = kind(stack)
    assert check_path(path) == text
    with open_dataset(path) as ds:
        assert ds.count == 3
    assert file_info(path).path == text
    assert file_stamp(path) == file_stamp(text) is not None
    assert HANDLES.get(path) is HANDLES.get(text)  # one cache entry whatever the path type
    assert HANDLES.grid(path) == HANDLES.grid(text)
    source = source_from_file(path)
    assert source.paths == [text] and source.bands == ["S2.B02", "S2.B03", "S2.B04"]
    (opened,) = open_sources(path)
    assert opened.paths == [text]
    (in_folder,) = open_sources(kind(stack.parent))
    assert in_folder.paths == [text]
    sources, unknown = sources_from_band_files([path])
    assert sources == [] and unknown == [stack]
    grid = make_grid((8, 8), T31, UTM31)
    values, valid = read(path, grid, ["S2.B04"])
    expected, _ = read(source, grid, ["S2.B04"])
    np.testing.assert_array_equal(values, expected)
    assert valid.all() and values[0, 0, 0] == 20000  # band 3, row 0, column 0


@pytest.mark.parametrize("kind", PATH_KINDS, ids=["str", "Path", "PathLike"])
def test_vector_functions_take_any_path(
    tmp_path: Path, kind: Callable[[Path], str | os.PathLike[str]]
) -> None:
    labels = gpd.GeoDataFrame(
        {"cls": [3]}, geometry=[shapely.box(500000, 5599900, 500050, 5600000)], crs=UTM31
    )
    path = kind(tmp_path / "labels.gpkg")
    assert write_vector(labels, path) == tmp_path / "labels.gpkg"
    back = read_vector(path)
    assert back["cls"].tolist() == [3] and back.attrs["source"] == str(tmp_path / "labels.gpkg")
    mask = rasterize_labels(path, make_grid((20, 20), T31, UTM31), "cls")
    assert int((mask == 3).sum()) == 50  # 5 columns x 10 rows of 10 m pixels


def test_errors_name_the_path_itself(tmp_path: Path) -> None:
    missing = FsPath(tmp_path / "nowhere.tif")
    with pytest.raises(MissingFileError) as caught:
        source_from_file(missing)
    assert caught.value.path == str(tmp_path / "nowhere.tif")
    assert str(caught.value).startswith(f"{tmp_path / 'nowhere.tif'}: ")
    assert "FsPath" not in str(caught.value)
