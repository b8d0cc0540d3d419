"""The CH4 unit absorption spectrum: shape, convolution to sensor bands, air mass."""

from __future__ import annotations

import numpy as np
import pytest

from eoforge.errors import ConfigError
from eoforge.methane.absorption import (
    CH4_BANDS,
    PEAK_OPTICAL_DEPTH,
    air_mass_factor,
    unit_absorption,
)


def _fine_spectrum(grid: np.ndarray) -> np.ndarray:
    """The envelope sum on a fine grid (no sensor), per ppm·m."""
    out = np.zeros_like(grid)
    for band in CH4_BANDS:
        sigma = band.fwhm_nm / (2 * np.sqrt(2 * np.log(2)))
        out += (
            PEAK_OPTICAL_DEPTH
            * band.strength
            * np.exp(-0.5 * ((grid - band.center_nm) / sigma) ** 2)
        )
    return out


def test_band_average_equals_a_numerical_gaussian_response() -> None:
    fine = np.arange(1000.0, 3000.0, 0.05)
    spectrum = _fine_spectrum(fine)
    centers = np.array([1666.0, 2000.0, 2305.0, 2371.5, 2420.0])
    for fwhm in (5.0, 8.5, 12.4):
        sigma = fwhm / (2 * np.sqrt(2 * np.log(2)))
        numeric = []
        for c in centers:
            srf = np.exp(-0.5 * ((fine - c) / sigma) ** 2)
            numeric.append(float((srf * spectrum).sum() / srf.sum()))
        analytic = unit_absorption(centers, np.full(centers.size, fwhm))
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-12)


def test_strongest_near_2_3_um_weaker_at_1_65_and_none_in_the_visible() -> None:
    centers = np.arange(400.0, 2500.0, 8.0)
    k = unit_absorption(centers, np.full(centers.size, 8.5))
    assert 2300.0 <= centers[np.argmax(k)] <= 2380.0
    peak_165 = k[(centers > 1600) & (centers < 1720)].max()
    assert 0.15 * k.max() < peak_165 < 0.6 * k.max()
    assert k[centers < 1400].max() < 1e-12
    # the sensor's resolution lowers the band-averaged peak
    coarse = unit_absorption(centers, np.full(centers.size, 20.0))
    assert coarse.max() < k.max()


def test_air_mass_and_bad_input() -> None:
    assert air_mass_factor(0.0, 0.0) == pytest.approx(2.0)
    assert air_mass_factor(60.0, 0.0) == pytest.approx(3.0)
    with pytest.raises(ConfigError, match="zenith"):
        air_mass_factor(90.0)
    with pytest.raises(ConfigError, match="FWHM"):
        unit_absorption([2300.0], [0.0])
    with pytest.raises(ConfigError, match="one centre"):
        unit_absorption([2300.0, 2310.0], [8.0])
