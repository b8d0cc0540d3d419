"""bench_i2i_synth's linear baseline: least squares on every input band and a constant."""

from __future__ import annotations

import numpy as np
from benchmarks.bench_i2i_synth import apply_linear, fit_linear


def test_the_linear_baseline_recovers_a_linear_map_and_skips_empty_pixels() -> None:
    rng = np.random.default_rng(0)
    image = rng.normal(size=(3, 20, 20)).astype(np.float32)
    weights = np.array([[0.1, -0.2], [0.0, 0.3], [0.05, 0.0], [0.2, 0.1]])  # last row: constant
    truth = apply_linear(weights, image)
    assert truth.shape == (2, 20, 20)
    np.testing.assert_allclose(truth[1], 0.3 * image[1] + 0.1 - 0.2 * image[0], atol=1e-5)
    image[:, 0, 0] = np.nan  # empty input pixels and targets do not enter the fit
    truth[:, 1, 1] = np.nan
    np.testing.assert_allclose(fit_linear(image, truth), weights, atol=1e-5)
