"""Overviews of finer-grid outputs averaged piece by piece: GDAL's levels, exact averages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
import torch
from affine import Affine
from rio_cogeo.cogeo import cog_validate
from tests.helpers import write_tif

from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.predict import OutputSpec, RunOptions, TilingOptions, predict_scene
from eoforge.predict.overviews import averages, cog_overview_factors, exact_factors

T = Affine(10, 0, 600000, 0, -10, 5700000)


@pytest.mark.parametrize("shape", [(384, 640), (512, 512), (513, 100), (64, 2400), (3000, 700)])
def test_overview_factors_are_the_ones_gdal_cog_driver_makes(shape: tuple[int, int]) -> None:
    src, dst = "/vsimem/ovf_src.tif", "/vsimem/ovf_dst.tif"
    profile = {"driver": "GTiff", "height": shape[0], "width": shape[1], "count": 1}
    with rasterio.open(src, "w", dtype="uint8", sparse_ok=True, **profile):
        pass
    rasterio.shutil.copy(src, dst, driver="COG", BLOCKSIZE=512)
    with rasterio.open(dst) as ds:
        expected = ds.overviews(1)
    rasterio.shutil.delete(src)
    rasterio.shutil.delete(dst)
    assert cog_overview_factors(*shape) == expected


def test_exact_factors_are_those_dividing_the_scale() -> None:
    assert exact_factors([2, 4, 8, 16], 4) == [2, 4]
    assert exact_factors([2, 4], 8) == [2, 4]
    assert exact_factors([2, 4], 3) == []


def test_averages_are_means_of_the_valid_pixels() -> None:
    rng = np.random.default_rng(0)
    values = rng.random((2, 8, 12), dtype=np.float32)
    values[0, :4, :4] = np.nan  # a whole 4x4 square: NaN at 2x and 4x
    values[1, 0, :3] = np.nan  # part of squares: the mean of what is left
    halves, quarters = averages(values, 2)
    for got, f in ((halves, 2), (quarters, 4)):
        blocks = values.reshape(2, 8 // f, f, 12 // f, f)
        with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
            expected = np.nanmean(blocks, axis=(2, 4))
        assert got.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-6)  # NaN where expected is
    assert np.isnan(quarters[0, 0, 0]) and not np.isnan(quarters[1, 0, 0])
    clean = values[:, 4:, 4:8]  # no NaN: the mean of means is the mean
    np.testing.assert_allclose(
        averages(np.ascontiguousarray(clean), 2)[1][:, 0, 0], clean.mean(axis=(1, 2)), rtol=1e-6
    )


def _bilinear_x4(images: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.interpolate(images, scale_factor=4, mode="bilinear")


def test_x4_cog_overviews_average_its_pixels_and_no_fragment_is_left(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    data = rng.random((1, 16, 600), dtype=np.float32)
    data[0, 2:6, 100:130] = -9999  # nodata: NaN on output pixels
    scene = write_tif(
        tmp_path / "scene.tif", data, T, "EPSG:32631", nodata=-9999, descriptions=["b1"]
    )
    out = predict_scene(
        _bilinear_x4,
        source_from_file(scene),
        make_grid((16, 600), T, "EPSG:32631"),
        ["b1"],
        tmp_path / "out" / "s",
        spec=OutputSpec("values", names=("b1",), scale=4),
        options=TilingOptions(tile=128, overlap=16, batch=2, block=256, multiple=8),
        run=RunOptions(keep_work=True),
    )["values"]
    assert cog_validate(str(out), quiet=True)[0]
    with rasterio.open(out) as ds:
        assert ds.shape == (64, 2400)
        assert ds.overviews(1) == [2, 4, 8]  # 2 and 4 from the pieces, 8 from 4 tile by tile
        full = ds.read(1)
        levels = {f: ds.read(1, out_shape=(64 // f, 2400 // f)) for f in (2, 4, 8)}
    assert np.isnan(full[8:24, 400:520]).all()
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        for f in (2, 4):  # the mean of the valid output pixels under each overview pixel
            expected = np.nanmean(full.reshape(64 // f, f, 2400 // f, f), axis=(1, 3))
            np.testing.assert_allclose(levels[f], expected, rtol=1e-5)
        deeper = np.nanmean(levels[4].reshape(8, 2, 300, 2), axis=(1, 3))
    np.testing.assert_allclose(levels[8], deeper, rtol=1e-5)
    assert np.isnan(levels[4][2:6, 100:130]).all()
    work = tmp_path / "out" / ".s.work"  # kept: the encoded tiles stay, no scratch is left
    assert sorted(p.name for p in work.iterdir()) == [
        "blocks.zarr",
        "cog",
        "job.json",
        "journal.txt",
    ]
    tiles = work / "cog" / "values"
    assert sorted(p.name for p in tiles.iterdir() if p.name.startswith("L")) == [
        "L0",
        "L1",
        "L2",
        "L3",
    ]
    assert not list(tiles.rglob("*.npy")) and not list(work.rglob(".*partial*"))
