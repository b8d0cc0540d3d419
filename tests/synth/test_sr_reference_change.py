"""The reference date's change model: the share changed, the seasonal gains, recent vs old."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from eoforge.errors import ConfigError
from eoforge.synth.sr_reference import CHANGES, ChangeModel, change_reference, write_reference


def _image(size: int = 128) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.05 + 0.3 * rng.random((3, size, size))).astype(np.float32)


def test_the_changed_share_and_the_seasonal_gains_follow_the_model() -> None:
    hr = _image()
    ref, changed = change_reference(hr, ChangeModel(changed=0.2, season=0.0), seed=3)
    assert changed.mean() == pytest.approx(0.2, abs=0.01)
    np.testing.assert_array_equal(ref[:, ~changed], hr[:, ~changed])  # no season: untouched
    assert (ref[:, changed] != hr[:, changed]).mean() > 0.9  # other land cover there
    ref, changed = change_reference(hr, ChangeModel(changed=0.0, season=0.1), seed=3)
    assert not changed.any()
    ratio = ref / hr
    assert ratio.min() >= 0.9 * 0.95 - 1e-6 and ratio.max() <= 1.1 * 1.05 + 1e-6
    assert np.ptp(ratio.mean(axis=(1, 2))) > 0.005  # each band its own gain
    again, _ = change_reference(hr, ChangeModel(changed=0.0, season=0.1), seed=3)
    np.testing.assert_array_equal(ref, again)


def test_an_old_reference_differs_more_than_a_recent_one() -> None:
    hr = _image()
    recent, _ = change_reference(hr, CHANGES["recent"], seed=1)
    old, _ = change_reference(hr, CHANGES["old"], seed=1)
    assert np.abs(old - hr).mean() > 3 * np.abs(recent - hr).mean()
    with pytest.raises(ConfigError, match="out of range"):
        ChangeModel(changed=0.95, season=0.0)


def test_the_reference_is_written_on_the_target_grid(tmp_path: Path) -> None:
    hr = _image(64)
    profile = {
        "driver": "GTiff", "height": 64, "width": 64, "count": 3, "dtype": "float32",
        "crs": "EPSG:32631", "transform": Affine(2.5, 0, 600000, 0, -2.5, 5000000),
    }  # fmt: skip
    path = tmp_path / "hr.tif"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(hr)
        dst.descriptions = ("S2.B03", "S2.B04", "S2.B08")
    out = write_reference(path, tmp_path / "ref.tif", CHANGES["old"], seed=5)
    with rasterio.open(out) as src:
        assert src.transform == profile["transform"] and src.crs == "EPSG:32631"
        assert src.descriptions == ("S2.B03", "S2.B04", "S2.B08")
        np.testing.assert_array_equal(src.read(), change_reference(hr, CHANGES["old"], 5)[0])
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["changed"] == 0.3 and meta["changed_share"] == pytest.approx(0.3, abs=0.02)
