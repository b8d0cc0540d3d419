"""The errors layer: prediction against reference on the prediction's grid, written once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rio_cogeo.cogeo import cog_validate
from tests.serve.serve_fixtures import (
    CLASS_NODATA,
    GSD,
    ORIGIN,
    SIZE,
    class_map,
    write_band,
    write_class_map,
)

from eoforge.serve.errors_map import CORRECT, WRONG, errors_cog


def test_errors_against_a_coarser_reference(tmp_path: Path) -> None:
    prediction = class_map(1)
    pred = write_class_map(tmp_path / "pred_classes.tif", prediction)
    coarse = class_map(2)[::2, ::2].copy()  # 20 m pixels over the same square
    ref = write_band(
        tmp_path / "ref.tif",
        coarse,
        nodata=CLASS_NODATA,
        transform=Affine(2 * GSD, 0, ORIGIN[0], 0, -2 * GSD, ORIGIN[1]),
    )
    cache = tmp_path / "cache"
    out = errors_cog(pred, ref, cache)
    assert cog_validate(str(out), quiet=True)[0]
    with rasterio.open(out) as ds:
        errors = ds.read(1)
        assert ds.nodata == 0 and ds.shape == (SIZE, SIZE)
    truth = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)  # nearest on the 10 m grid
    valid = (prediction != CLASS_NODATA) & (truth != CLASS_NODATA)
    expected = np.where(prediction == truth, CORRECT, WRONG)
    expected[~valid] = 0
    np.testing.assert_array_equal(errors, expected)
    # computed once: the same inputs give the same file, untouched
    stamp = out.stat().st_mtime_ns
    assert errors_cog(pred, ref, cache) == out and out.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in cache.iterdir()) == [out.name]  # no temporary left behind
