"""Radiometry.valid: nodata compared in the stored type; values it cannot hold match nothing."""

from __future__ import annotations

import numpy as np

from eoforge.sensors.radiometry import Radiometry


def test_nodata_marks_exactly_its_pixels_whatever_the_stored_type() -> None:
    dn = np.array([[0, 1, 65535], [7, 0, 3]], np.uint16)
    rad = Radiometry(scale=1e-4, offset=0.0, nodata=0.0, unit="reflectance")
    assert rad.valid(dn, rad.apply(dn)).tolist() == [[False, True, True], [True, False, True]]
    high = Radiometry(nodata=65535.0)
    assert high.valid(dn, high.apply(dn)).tolist() == [[True, True, False], [True, True, True]]
    for impossible in (-9999.0, 0.5, 70000.0):  # no uint16 DN equals these
        rad = Radiometry(nodata=impossible)
        assert rad.valid(dn, rad.apply(dn)).all()
    floats = np.array([[np.nan, -9999.0, 2.5]], np.float32)
    rad = Radiometry(nodata=-9999.0)
    assert rad.valid(floats, rad.apply(floats)).tolist() == [[False, False, True]]
