"""Per-band image-to-image scores: known MAE/RMSE/PSNR, SAM angles, the cloudy/clear split."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eoforge.errors import ConfigError
from eoforge.evaluate.i2i_metrics import image_to_image_scores, spectral_angle

BANDS = ["S2.B04", "S2.B08"]


def test_per_band_errors_have_known_values() -> None:
    rng = np.random.default_rng(0)
    target = rng.uniform(0.05, 0.4, (2, 32, 32))
    prediction = target.copy()
    prediction[0] += 0.01  # red off by 0.01 everywhere
    prediction[1, :16] -= 0.04  # NIR off by 0.04 on half the pixels
    scores = image_to_image_scores(prediction, target, BANDS)["all"]
    assert scores["mae"]["bands"] == pytest.approx({"S2.B04": 0.01, "S2.B08": 0.02})
    assert scores["rmse"]["bands"] == pytest.approx({"S2.B04": 0.01, "S2.B08": math.sqrt(0.0008)})
    assert scores["psnr"]["bands"]["S2.B04"] == pytest.approx(40.0)
    assert scores["psnr"]["mean"] == pytest.approx((40.0 + 10 * math.log10(1 / 0.0008)) / 2)
    assert scores["ssim"]["bands"]["S2.B04"] > scores["ssim"]["bands"]["S2.B08"]
    assert scores["pixels"] == 32 * 32


def test_spectral_angle_is_in_degrees_and_scale_free() -> None:
    target = np.ones((2, 4, 4))
    assert spectral_angle(3.0 * target, target) == pytest.approx(0.0, abs=1e-4)
    turned = np.stack([np.ones((4, 4)), np.zeros((4, 4))])
    assert spectral_angle(turned, target) == pytest.approx(45.0)
    mask = np.zeros((4, 4), bool)
    mask[0, 0] = True
    mixed = target.copy()
    mixed[:, 1:] = turned[:, 1:]
    assert spectral_angle(mixed, target, mask) == pytest.approx(0.0, abs=1e-4)


def test_cloudy_and_clear_pixels_are_scored_apart() -> None:
    target = np.full((2, 16, 16), 0.2)
    prediction = target.copy()
    cloud = np.zeros((16, 16), bool)
    cloud[:4] = True
    prediction[:, cloud] += 0.1
    prediction[0, -1, -1] = np.nan  # not scored anywhere
    out = image_to_image_scores(prediction, target, BANDS, cloud=cloud)
    assert out["cloudy"]["pixels"] == 64 and out["clear"]["pixels"] == 16 * 16 - 64 - 1
    assert out["cloudy"]["mae"]["mean"] == pytest.approx(0.1)
    assert out["clear"]["mae"]["mean"] == pytest.approx(0.0)
    assert out["all"]["mae"]["mean"] == pytest.approx(0.1 * 64 / 255)


def test_mismatched_images_are_refused() -> None:
    with pytest.raises(ConfigError, match="one band name per K"):
        image_to_image_scores(np.zeros((2, 8, 8)), np.zeros((3, 8, 8)), BANDS)
    with pytest.raises(ConfigError, match="no pixel to score"):
        image_to_image_scores(np.full((2, 8, 8), np.nan), np.zeros((2, 8, 8)), BANDS)
