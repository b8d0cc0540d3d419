"""bench_spectral's contenders compute the same filter as eoforge."""

from __future__ import annotations

import numpy as np
import pytest
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
