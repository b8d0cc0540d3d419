"""The matched filter on cubes with a known background model and injected plumes."""

from __future__ import annotations

import numpy as np
import pytest

from eoforge.errors import ConfigError
from eoforge.methane.filter import FilterOptions, matched_filter

BANDS = 30
AIR_MASS = 2.2


def _cube(
    height: int, width: int, plume: np.ndarray, seed: int = 0, column_gain: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Radiance [C, H, W]: smooth random spectra of varying albedo, noise, Beer-Lambert plume."""
    rng = np.random.default_rng(seed)
    wl = np.linspace(2100.0, 2450.0, BANDS)
    k = 3e-6 * np.exp(-0.5 * ((wl - 2330.0) / 25.0) ** 2) + 2e-6 * np.exp(
        -0.5 * ((wl - 2375.0) / 8.0) ** 2
    )
    base = 1.0 - 0.3 * (wl - 2100.0) / 350.0
    slope = rng.normal(0.0, 0.1, (height, width))
    albedo = rng.uniform(0.5, 1.5, (height, width))
    spectra = albedo[None] * (
        base[:, None, None] + slope[None] * ((wl - 2275.0) / 175.0)[:, None, None]
    )
    gains = 1.0 + column_gain * rng.standard_normal((BANDS, 1, width))
    clean = spectra * gains * np.exp(-AIR_MASS * k[:, None, None] * plume[None])
    noisy = clean + rng.normal(0.0, 0.002, clean.shape) * np.sqrt(clean)
    return noisy.astype(np.float32), k


def _blob(height: int, width: int, peak: float, sigma: float, row: float, col: float) -> np.ndarray:
    r = np.arange(height)[:, None] + 0.5
    c = np.arange(width)[None, :] + 0.5
    return (peak * np.exp(-((r - row) ** 2 + (c - col) ** 2) / (2 * sigma**2))).astype(np.float32)


def test_recovers_a_plume_in_ppm_m() -> None:
    plume = _blob(200, 40, 3000.0, 5.0, 100.0, 20.0)
    cube, k = _cube(200, 40, plume)
    est = matched_filter(cube, k, AIR_MASS, FilterOptions(column_group=0))
    inside = plume > 200
    # the plume's own pixels: slope ~1, high correlation; the background ~0
    slope = np.polyfit(plume[inside], est[inside], 1)[0]
    assert 0.85 < slope < 1.15
    assert np.corrcoef(plume[inside], est[inside])[0, 1] > 0.95
    assert abs(float(est[plume < 1].mean())) < 60.0
    assert float(est[plume < 1].std()) < 250.0


def test_adaptive_background_removes_the_plume_bias_of_the_classic_filter() -> None:
    # a wide plume lowers the classic background mean by its own mean enhancement along the
    # target, so every pixel is biased low by that mean; re-estimating without the enhanced
    # pixels removes most of it
    plume = _blob(120, 40, 4000.0, 12.0, 60.0, 20.0)
    cube, k = _cube(120, 40, plume, seed=1)
    mean_plume = float(plume.mean())  # 682 ppm·m
    classic = matched_filter(
        cube, k, AIR_MASS, FilterOptions(iterations=1, albedo=False, column_group=0)
    )
    adaptive = matched_filter(cube, k, AIR_MASS, FilterOptions(iterations=4, column_group=0))
    bias_classic = float((classic - plume).mean())
    bias_adaptive = float((adaptive - plume).mean())
    assert bias_classic == pytest.approx(-mean_plume, rel=0.1)
    assert abs(bias_adaptive) < 0.45 * mean_plume
    inside = plume > 500
    assert np.polyfit(plume[inside], adaptive[inside], 1)[0] == pytest.approx(1.0, abs=0.05)


def test_per_column_background_absorbs_detector_gains() -> None:
    plume = _blob(400, 16, 2500.0, 4.0, 200.0, 8.0)
    cube, k = _cube(400, 16, plume, seed=2, column_gain=0.01)
    per_column = matched_filter(cube, k, AIR_MASS, FilterOptions(column_group=1))
    whole = matched_filter(cube, k, AIR_MASS, FilterOptions(column_group=0))
    background = plume < 1
    assert per_column[background].std() < 0.7 * whole[background].std()


def test_invalid_pixels_stay_invalid_and_options_are_checked() -> None:
    plume = np.zeros((64, 8), dtype=np.float32)
    cube, k = _cube(64, 8, plume)
    cube[:, 3, 2] = np.nan
    est = matched_filter(cube, k, AIR_MASS, FilterOptions(column_group=0))
    assert np.isnan(est[3, 2]) and np.isfinite(np.delete(est.ravel(), 3 * 8 + 2)).all()
    with pytest.raises(ConfigError, match="iterations"):
        FilterOptions(iterations=0)
    with pytest.raises(ConfigError, match="too few"):
        matched_filter(cube[:, :1], k, AIR_MASS, FilterOptions(column_group=1))
