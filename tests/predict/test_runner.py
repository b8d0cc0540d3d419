"""``eoforge.predict.run``: bundles or predictors and scenes in, files per scene out."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.env
import torch
from tests.helpers import write_tif
from tests.predict.test_classify import BANDS, T, _bundle

from eoforge.errors import ConfigError
from eoforge.io.gdal_env import MIB
from eoforge.predict import OutputSpec, Products, TilingOptions, run


def _scenes(folder: Path) -> list[np.ndarray]:
    folder.mkdir()
    rng = np.random.default_rng(4)
    arrays = []
    for name, offset in (("north", 0), ("south", -2000)):
        data = rng.random((2, 120, 160), dtype=np.float32)
        transform = T @ T.translation(0, -offset / 10) if offset else T
        write_tif(folder / f"{name}.tif", data, transform, "EPSG:32631", descriptions=BANDS)
        arrays.append(data)
    return arrays


def test_a_function_predicts_every_scene_of_a_folder(tmp_path: Path) -> None:
    arrays = _scenes(tmp_path / "scenes")

    def ratio(x: torch.Tensor) -> torch.Tensor:  # [B, 2, h, w] -> [B, 1, h, w]
        return x[:, 1:] / (x[:, :1] + 1)

    results = run(
        ratio,
        str(tmp_path / "scenes"),  # a str is a path too
        str(tmp_path / "out"),
        spec=OutputSpec("values", names=("ratio",)),
        bands=BANDS,
        tiling=TilingOptions(tile=64, overlap=16, multiple=16),
    )
    assert sorted(r.name for r in results) == ["north", "south"]
    for result in results:
        data = arrays[0] if result.name == "north" else arrays[1]
        assert result.paths == {"values": tmp_path / "out" / f"{result.name}_values.tif"}
        assert result.megapixels == pytest.approx(120 * 160 / 1e6) and result.seconds > 0
        with rasterio.open(result.paths["values"]) as ds:
            np.testing.assert_allclose(ds.read(1), data[1] / (data[0] + 1), rtol=1e-5)


def test_a_function_needs_its_spec_and_bands(tmp_path: Path) -> None:
    _scenes(tmp_path / "scenes")
    with pytest.raises(ConfigError, match="needs the output spec and the band names"):
        run(lambda x: x, tmp_path / "scenes", tmp_path / "out")


def test_a_bundle_folder_gives_class_maps_and_polygons(tmp_path: Path) -> None:
    _scenes(tmp_path / "scenes")
    progress: list[tuple[str, int, int]] = []
    results = run(
        _bundle(tmp_path),
        [tmp_path / "scenes" / "north.tif"],
        tmp_path / "out",
        products=Products(vectors=True),
        tiling=TilingOptions(tile=64, overlap=16, multiple=16),
        progress=lambda *args: progress.append(args),
    )
    (result,) = results
    assert set(result.paths) == {"classes", "confidence", "polygons", "polygons_geojson"}
    assert result.vectors is not None and result.vectors.total > 0
    assert len(gpd.read_parquet(result.paths["polygons"])) == result.vectors.total
    assert progress[-1][0] == "north" and progress[-1][1] == progress[-1][2] > 0


def test_the_scene_streams_with_a_bounded_gdal_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GDAL's 5 %-of-RAM block cache would grow with the scene; run() bounds it meanwhile."""
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    _scenes(tmp_path / "scenes")
    seen: list[object] = []

    def identity(x: torch.Tensor) -> torch.Tensor:
        seen.append(rasterio.env.get_gdal_config("GDAL_CACHEMAX"))
        return x[:, :1]

    default = rasterio.env.get_gdal_config("GDAL_CACHEMAX")
    run(
        identity,
        tmp_path / "scenes",
        tmp_path / "out",
        spec=OutputSpec("values", names=("first",)),
        bands=BANDS,
        tiling=TilingOptions(tile=64, overlap=16, multiple=16),
    )
    assert seen and set(seen) == {16 * MIB}  # a row of blocks of a small scene: the floor
    assert rasterio.env.get_gdal_config("GDAL_CACHEMAX") == default
