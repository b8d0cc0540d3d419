"""The super-resolution sensor model: PSF from the MTF, area downsampling, shifts, noise, clouds;
pairs written from a synthetic scene on aligned grids."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from scipy.ndimage import gaussian_filter1d

from eoforge.errors import ConfigError
from eoforge.synth import generate_scene
from eoforge.synth.degrade import SensorModel, area_downsample, degrade
from eoforge.synth.sr_pairs import write_sr_pair


def test_psf_sigma_gives_the_mtf_at_nyquist() -> None:
    model = SensorModel(scale=4, mtf=0.3)
    assert model.sigma == pytest.approx(1.9757, abs=1e-4)
    # a sinusoid at the low-resolution Nyquist frequency keeps mtf of its amplitude
    f = 1 / (2 * model.scale)
    cols = np.arange(512)
    wave = np.cos(2 * math.pi * f * cols)[None, None, :].repeat(8, axis=1)
    blurred = gaussian_filter1d(wave[0, 0], model.sigma, mode="wrap")
    assert np.abs(blurred[64:-64]).max() == pytest.approx(0.3, abs=0.01)


def test_area_downsampling_keeps_block_means_and_the_noise_free_model_is_exact() -> None:
    rng = np.random.default_rng(0)
    hr = rng.random((2, 16, 24))
    lr = area_downsample(hr, 4)
    assert lr.shape == (2, 4, 6)
    assert lr[1, 2, 3] == pytest.approx(hr[1, 8:12, 12:16].mean(), rel=1e-6)
    flat = np.full((3, 32, 32), 0.25)
    view = degrade(flat, SensorModel(scale=4, noise_std=0.0), seed=1)
    np.testing.assert_allclose(view.image, 0.25, atol=1e-6)  # PSF and area mean keep a flat field
    assert view.clear.all() and view.shift == (0.0, 0.0)


def test_shift_noise_and_clouds_follow_the_model() -> None:
    rng = np.random.default_rng(2)
    hr = np.stack([np.add.outer(np.arange(64.0), np.zeros(64)) / 64] * 2)  # a ramp down the rows
    shifted = degrade(hr, SensorModel(scale=4, max_shift=1.5, noise_std=0.0), seed=3)
    dy, _ = shifted.shift
    still = degrade(hr, SensorModel(scale=4, noise_std=0.0), seed=3)
    # a ramp shifted by dy rows reads dy/64 lower, away from the mirrored edges
    diff = (shifted.image - still.image)[:, 3:-3, 3:-3]
    assert abs(dy) <= 1.5 and np.mean(diff) == pytest.approx(-dy / 64, abs=2e-3)
    noisy = degrade(hr, SensorModel(scale=4, noise_std=0.01), seed=3)
    assert float(np.std(noisy.image - still.image)) == pytest.approx(0.01, rel=0.15)
    poisson = degrade(np.full((1, 64, 64), 0.5), SensorModel(scale=4, noise_std=0, photons=1e4), 4)
    assert float(np.var(poisson.image)) == pytest.approx(0.5 / 1e4, rel=0.4)
    cloudy = degrade(rng.random((2, 128, 128)) * 0.1, SensorModel(scale=4, clouds=0.3), seed=5)
    assert 0.55 < cloudy.clear.mean() < 0.8
    assert cloudy.image[:, ~cloudy.clear].mean() > cloudy.image[:, cloudy.clear].mean() + 0.1
    again = degrade(rng.random((2, 8, 8)), SensorModel(scale=4), seed=5)
    assert again.image.shape == (2, 2, 2)


def test_a_given_shift_replaces_the_draw_and_keeps_the_noise() -> None:
    hr = np.stack([np.add.outer(np.arange(64.0), np.zeros(64)) / 64] * 2)  # a ramp down the rows
    model = SensorModel(scale=4, max_shift=1.5, noise_std=0.01)
    drawn = degrade(hr, model, seed=3)
    again = degrade(hr, model, seed=3, shift=drawn.shift)
    np.testing.assert_array_equal(again.image, drawn.image)  # same shift, same noise draw
    moved = degrade(hr, model, seed=3, shift=(2.0, 0.0))
    assert moved.shift == (2.0, 0.0)
    # two rows further down the ramp read 2/64 lower; the noise is the same draw, so it cancels
    diff = (moved.image - again.image)[:, 3:-3, 3:-3]
    assert np.mean(diff) == pytest.approx(-(2.0 - drawn.shift[0]) / 64, abs=1e-3)
    assert float(np.std(diff)) < 1e-3


def test_bad_models_and_images_are_refused() -> None:
    with pytest.raises(ConfigError, match="mtf"):
        SensorModel(mtf=1.2)
    with pytest.raises(ConfigError, match="multiples"):
        degrade(np.zeros((1, 10, 12)), SensorModel(scale=4))
    with pytest.raises(ConfigError, match="NaN"):
        degrade(np.full((1, 8, 8), np.nan), SensorModel(scale=4))


def test_pair_from_a_synthetic_scene_lies_on_aligned_grids(tmp_path: Path) -> None:
    scene = tmp_path / "scene"
    generate_scene(
        scene, size=130, sensors=("s2",), dates=1, clouds=0.0, gsd=2.5,
        s2_native=False, vectors=False, seed=1,
    )  # fmt: skip
    model = SensorModel(scale=4, max_shift=0.5, clouds=0.2)
    files = write_sr_pair(scene, tmp_path / "pair", model, revisits=2, seed=7)
    with rasterio.open(files.hr) as hr, rasterio.open(files.lr[1]) as lr:
        assert hr.shape == (128, 128) and lr.shape == (32, 32)
        assert hr.descriptions == ("S2.B02", "S2.B03", "S2.B04", "S2.B08")
        assert lr.descriptions == hr.descriptions and lr.crs == hr.crs
        assert lr.transform == hr.transform @ Affine.scale(4)
        high, low = hr.read(), lr.read()
    assert 0.0 < float(high.mean()) < 0.6  # reflectance, not DN
    with rasterio.open(files.clear[1]) as src:
        clear = src.read(1).astype(bool)
    # on clear pixels the view is the blurred block mean: close to the block mean of the target
    blocks = area_downsample(high, 4)
    assert float(np.abs(low - blocks)[:, clear].mean()) < 0.02
    meta = json.loads((tmp_path / "pair" / "sensor.json").read_text())
    assert meta["sensor"]["psf_sigma_hr_px"] == pytest.approx(1.9757, abs=1e-4)
    assert len(meta["shifts_hr_px"]) == 2
