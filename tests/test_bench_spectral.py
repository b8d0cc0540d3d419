"""bench_spectral's contenders compute the same filters as eoforge (matched filter, Lee)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from benchmarks import bench_spectral
from benchmarks.bench_spectral import (
    CHANNELS,
    FILTERS,
    eoforge_filter,
    numpy_batched_filter,
    numpy_filter,
)


@pytest.mark.parametrize("name", ["classic", "adaptive"])
def test_contenders_agree_on_a_small_cube(name: str) -> None:
    rng = np.random.default_rng(0)
    centers = np.linspace(400.0, 2500.0, CHANNELS)
    fwhm = np.full(CHANNELS, 10.0)
    base = np.linspace(1.0, 0.5, CHANNELS)[:, None, None]
    albedo = rng.uniform(0.5, 1.5, (1, 120, 6))
    tilt = rng.normal(0.0, 0.05, (1, 120, 6)) * np.linspace(-1, 1, CHANNELS)[:, None, None]
    cube = (albedo * (base + tilt) + rng.normal(0, 0.002, (CHANNELS, 120, 6))).astype(np.float32)
    options = FILTERS[name]
    textbook = numpy_filter(cube, centers, fwhm, options)
    batched = numpy_batched_filter(cube, centers, fwhm, options)
    ours = eoforge_filter(cube, centers, fwhm, options)
    np.testing.assert_allclose(batched, textbook, atol=1e-3)
    assert np.median(np.abs(ours - textbook)) < 0.01 * textbook.std()


def test_the_speckle_section_agrees_with_scipy_and_runs_the_engine(tmp_path: Path) -> None:
    part = bench_spectral.bench_speckle(160, 1, tmp_path)
    assert part["lee_vs_scipy_max_relative_difference"] < 1e-4  # the same filter
    assert set(part["mpix_per_s"]) == {"boxcar", "lee", "refined_lee", "gamma_map", "scipy_lee"}
    assert part["engine_refined_lee_mpix_per_s"] > 0
