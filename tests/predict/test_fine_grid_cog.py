"""The COG of a super-resolution output: its codec, predictor, overviews and exact values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rio_cogeo.cogeo import cog_validate
from tests.helpers import write_tif
from tests.predict.heads import PixelShuffleUp

from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.predict import OutputSpec, TilingOptions, predict_scene
from eoforge.predict.cog import has_zstd

T = Affine(10, 0, 600000, 0, -10, 5700000)
SHAPE = (96, 160)  # x4: 384 x 640 output pixels (one overview level)


def _predict(tmp_path: Path, data: np.ndarray, scale: int) -> Path:
    scene = write_tif(
        tmp_path / "scene.tif", data, T, "EPSG:32631", nodata=-9999, descriptions=["b1", "b2"]
    )
    return predict_scene(
        PixelShuffleUp(2, scale),
        source_from_file(scene),
        make_grid(SHAPE, T, "EPSG:32631"),
        ["b1", "b2"],
        tmp_path / "out" / "s",
        spec=OutputSpec("values", names=("b1", "b2"), scale=scale),
        options=TilingOptions(tile=64, overlap=16, batch=2, block=128, multiple=16),
    )["values"]


def test_x4_output_is_a_zstd_cog_with_the_float_predictor_and_exact_values(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(0.2, 0.05, (2, *SHAPE)).astype(np.float32)
    data[:, 10:30, 40:70] = -9999
    out = _predict(tmp_path, data, 4)
    assert cog_validate(str(out), quiet=True)[0]
    with rasterio.open(out) as ds:
        structure = ds.tags(ns="IMAGE_STRUCTURE")
        # ZSTD level 1 + floating-point predictor: half DEFLATE level 1's CPU, as small
        assert structure["COMPRESSION"] == ("ZSTD" if has_zstd() else "DEFLATE")
        assert structure["PREDICTOR"] == "3"
        assert ds.overviews(1) == [2]  # 640 px wide: halved once to fit a 512-px block
        assert ds.transform == Affine(2.5, 0, 600000, 0, -2.5, 5700000)
        got = ds.read()
    expected = np.repeat(np.repeat(data, 4, axis=1), 4, axis=2)  # nearest-neighbour x4
    invalid = expected[0] == -9999
    assert np.isnan(got[:, invalid]).all()
    # overlapping tiles of a nearest-neighbour head blend back to their own values (up to
    # float32 rounding of the weighted mean); a lossy codec would be off by far more
    np.testing.assert_allclose(got[:, ~invalid], expected[:, ~invalid], rtol=1e-6, atol=0)
    assert sorted(p.name for p in out.parent.iterdir()) == ["s_values.tif"]  # no scratch left
