"""sr_multiframe_fit: global shifts recovered from sensor-model revisits, the per-pixel phase
fit exact on linear data (clouds and one clear frame included), the bicubic-of-the-mean start,
symmetry in frame order and padding, and the registry entry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model
from eoforge.models.sr_shift_fit import ShiftFitSR, fit_phases, global_shifts
from eoforge.synth.degrade import SensorModel, degrade

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def _scene(size: int = 256, seed: int = 0) -> np.ndarray:
    """A fine ``[3, size, size]`` texture: smoothed noise and sharp blocks (aliased at x4)."""
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.normal(size=(3, size, size)), (0, 3, 3))
    blocks = np.kron(rng.uniform(size=(3, size // 8, size // 8)), np.ones((1, 8, 8)))
    return 0.2 + 0.05 * smooth / smooth.std() + 0.1 * blocks


def test_global_shifts_of_sensor_model_revisits_are_recovered() -> None:
    sensor = SensorModel(scale=4, mtf=0.3, max_shift=0.0, noise_std=0.002)
    truth = [(1.6, -0.8), (-1.2, 0.4), (0.4, 1.2), (-0.8, -0.8)]  # fine pixels
    hr = _scene()
    frames = torch.stack(
        [torch.from_numpy(degrade(hr, sensor, n, shift=s).image) for n, s in enumerate(truth)]
    ).double()[None]
    frames = (frames - frames.mean()) / frames.std()  # standardised, as the network reads them
    shifts = global_shifts(frames, torch.ones(1, 4, 64, 64, dtype=torch.float64))
    # content moved by +s fine pixels is sampled at x - s / 4: frame(x + u) = mean(x) for
    # u = s / 4 - mean(s / 4), input pixels
    expected = np.array(truth) / 4
    expected -= expected.mean(axis=0)
    np.testing.assert_allclose(shifts[0].numpy(), expected, atol=0.03)
    # the error is far below the spread of the shifts (0.25 input pixels)
    assert np.abs(shifts[0].numpy() - expected).max() < 0.1 * np.abs(expected).max()


def test_the_phase_fit_is_exact_on_linear_data_and_ignores_clouds() -> None:
    torch.manual_seed(0)
    level, gy, gx = torch.randn(3, 1, 2, 6, 7, dtype=torch.float64)
    shifts = torch.tensor([[[0.1, -0.2], [-0.15, 0.05], [0.2, 0.1], [0.0, 0.12]]]).double()
    frames = level[:, None] + shifts[..., 0, None, None, None] * gy[:, None]
    frames = frames + shifts[..., 1, None, None, None] * gx[:, None]
    mask = torch.ones(1, 4, 6, 7, dtype=torch.float64)
    mean, gradient, count = fit_phases(frames, mask, shifts, ridge=0.0)
    torch.testing.assert_close(gradient, torch.cat([gy, gx], dim=1))
    centre = shifts.mean(dim=1)[0]
    torch.testing.assert_close(mean, level + centre[0] * gy + centre[1] * gx)
    torch.testing.assert_close(count, torch.full((1, 1, 6, 7), 4.0, dtype=torch.float64))
    # a cloudy frame (any value under its mask) changes nothing where three frames stay clear
    cloudy = frames.clone()
    cloudy[:, 3, :, :3] = 7.0
    mask[:, 3, :3] = 0
    _, again, count = fit_phases(cloudy, mask, shifts, ridge=0.0)
    torch.testing.assert_close(again, gradient)
    assert count[0, 0, 0, 0] == 3 and count[0, 0, 5, 6] == 4
    # one clear frame: its value, no derivative (the ridge keeps the fit defined)
    mask[:, 1:, :1] = 0
    mean, gradient, _ = fit_phases(frames, mask, shifts)
    torch.testing.assert_close(mean[..., :1, :], frames[:, 0, :, :1])
    assert gradient[..., :1, :].abs().max() == 0


def test_registered_with_its_options_and_a_fresh_network_is_bicubic_of_the_clear_mean() -> None:
    spec = ModelSpec(
        task="super_resolution",
        arch="sr_multiframe_fit",
        in_bands=BANDS,
        num_classes=4,
        options={"scale": 2, "frames": 5, "features": 8, "blocks": 1},
    )
    model = build_model(spec)
    assert isinstance(model, ShiftFitSR) and model.frames == 5 and model.scale == 2
    x = torch.randn(2, 5, 4, 12, 12)
    x[:, 1, :, :6] = float("nan")  # frame 1 cloudy in the top half
    with torch.no_grad():
        out = model.eval()(x)
    mean = torch.nanmean(x, dim=1)
    expected = F.interpolate(mean, scale_factor=2, mode="bicubic", align_corners=False)
    torch.testing.assert_close(out, expected)
    bad = ModelSpec(
        task="super_resolution", arch="sr_multiframe_fit", in_bands=BANDS, num_classes=4,
        options={"encoder_blocks": 2},
    )  # fmt: skip
    with pytest.raises(ConfigError, match="sr_multiframe_fit takes no such option"):
        build_model(bad)
    with pytest.raises(ConfigError, match="reads \\[B, T, C, h, w\\] revisits"):
        model(torch.zeros(2, 4))


def test_frame_order_and_padding_change_nothing() -> None:
    torch.manual_seed(0)
    model = ShiftFitSR(4, 4, frames=8, features=8, blocks=1)
    torch.nn.init.normal_(model.tail.weight, std=0.1)  # a fresh one is bicubic of the mean
    model.eval()
    x = torch.randn(1, 3, 4, 16, 16)
    padded = torch.cat([x, torch.full((1, 2, 4, 16, 16), float("nan"))], dim=1)
    with torch.no_grad():
        base = model(x)
        torch.testing.assert_close(model(padded), base)
        torch.testing.assert_close(model(x[:, [2, 0, 1]]), base, atol=1e-5, rtol=1e-5)
        hole = x.clone()
        hole[:, :, :, 3, 3] = float("nan")  # no frame sees a pixel: still finite
        assert torch.isfinite(model(hole)).all()
    loss = model(padded).square().mean()
    loss.backward()
    assert model.head.weight.grad is not None and torch.isfinite(model.head.weight.grad).all()
