"""PSNR/SSIM against scikit-image and kornia; cPSNR/cSSIM on hand-made shifts and offsets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from kornia.metrics import ssim as kornia_ssim
from scipy.ndimage import gaussian_filter
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from eoforge.errors import ConfigError
from eoforge.evaluate.sr_metrics import cpsnr, cssim, psnr, ssim


def _texture(seed: int, bands: int = 3, size: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([gaussian_filter(rng.random((size, size)), 1.5) for _ in range(bands)]).astype(
        np.float64
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_psnr_and_ssim_match_scikit_image_per_band(seed: int) -> None:
    target = _texture(seed)
    pred = target + np.random.default_rng(seed + 10).normal(0, 0.05, target.shape)
    p, s = psnr(pred, target), ssim(pred, target)
    for b in range(3):
        assert p.bands[b] == pytest.approx(
            peak_signal_noise_ratio(target[b], pred[b], data_range=1.0), rel=1e-9
        )
        reference = structural_similarity(
            target[b], pred[b], data_range=1.0, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, win_size=11,
        )  # fmt: skip
        # scikit-image averages over the map without the 5-px border; so does ssim
        assert s.bands[b] == pytest.approx(reference, abs=1e-6)
    assert p.mean == pytest.approx(np.mean(p.bands))
    k = kornia_ssim(
        torch.from_numpy(pred)[None], torch.from_numpy(target)[None], 11, 1.0, padding="valid"
    )
    assert s.mean == pytest.approx(float(k.mean()), abs=1e-6)


def test_identical_images_give_inf_and_one() -> None:
    image = _texture(3)
    assert psnr(image, image).bands == (math.inf,) * 3
    assert ssim(image, image).mean == pytest.approx(1.0)
    assert cpsnr(image, image).mean == math.inf
    assert cpsnr(image, image).shift == (0, 0)
    assert cssim(image, image).mean == pytest.approx(1.0)


@pytest.mark.parametrize("shift", [(2, -1), (-3, 3), (0, 2)])
def test_cpsnr_forgives_a_known_shift_and_offset(shift: tuple[int, int]) -> None:
    big = _texture(4, size=60)
    noise = np.random.default_rng(5).normal(0, 0.02, (3, 48, 48))
    target = big[:, 6:54, 6:54]
    dy, dx = shift
    # the prediction is the target moved by (-dy, -dx), brighter by 0.1/0.2/0.3, plus noise
    pred = (
        big[:, 6 - dy : 54 - dy, 6 - dx : 54 - dx]
        + noise
        + np.array([0.1, 0.2, 0.3])[:, None, None]
    )
    corrected = cpsnr(pred, target, border=3)
    assert corrected.shift == (-dy, -dx)
    # expected: the PSNR of the unshifted, unbiased pair over the cropped centre
    crop = (slice(None), slice(3, 45), slice(3, 45))
    residual = noise[crop] - noise[crop].mean(axis=(1, 2), keepdims=True)
    expected = [10 * math.log10(1 / float(np.mean(r**2))) for r in residual]
    assert corrected.bands == pytest.approx(expected, abs=1e-9)
    assert corrected.mean > psnr(pred, target).mean + 10
    c = cssim(pred, target, border=3)
    assert c.shift == (-dy, -dx)
    assert c.mean > ssim(pred, target).mean + 0.2


def test_clear_mask_keeps_clouds_out_of_cpsnr() -> None:
    target = _texture(6)
    pred = target + np.random.default_rng(7).normal(0, 0.01, target.shape)
    clouded = target.copy()
    clouded[:, 10:20, 10:30] = 1.0  # a bright cloud on the target
    clear = np.ones((48, 48), bool)
    clear[10:20, 10:30] = False
    with_mask = cpsnr(pred, clouded, mask=clear).mean
    assert with_mask > cpsnr(pred, clouded).mean + 10
    assert with_mask == pytest.approx(cpsnr(pred, target, mask=clear).mean)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ConfigError, match="differ in shape"):
        psnr(np.zeros((3, 8, 8)), np.zeros((3, 9, 8)))
    with pytest.raises(ConfigError, match="smaller than the 11-px"):
        ssim(np.zeros((1, 8, 8)), np.zeros((1, 8, 8)))
    with pytest.raises(ConfigError, match="keeps no pixel"):
        cpsnr(np.zeros((1, 16, 16)), np.zeros((1, 16, 16)), mask=np.zeros((16, 16), bool))
