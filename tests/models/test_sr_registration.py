"""Explicit sub-pixel registration of revisits: known shifts recovered, frames moved onto their
mean position, masks respected, locality (a crop registers as the whole image away from its
edge), and sr_multiframe with registration on."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from eoforge.models.sr_multiframe import MultiFrameSR
from eoforge.models.sr_registration import estimate_shifts, register, warp


def _texture(size: int = 64, bands: int = 3, seed: int = 0) -> np.ndarray:
    """A smooth random texture ``[C, size, size]`` (Gaussian-filtered noise, unit std)."""
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(rng.normal(size=(bands, size, size)), (0, 1.5, 1.5))
    return image / image.std()


def _shifted(image: np.ndarray, shifts: list[tuple[float, float]]) -> torch.Tensor:
    """``[1, T, C, h, w]``: ``image`` moved by each ``(dy, dx)`` (content moves by +shift)."""
    frames = [
        np.stack([ndimage.shift(b, s, order=3, mode="mirror") for b in image]) for s in shifts
    ]
    return torch.from_numpy(np.stack(frames)).float()[None]


def test_warp_samples_at_the_shifted_position() -> None:
    image = torch.arange(16.0).reshape(1, 1, 4, 4)
    one_right = torch.zeros(1, 2, 4, 4)
    one_right[:, 1] = 1.0
    out = warp(image, one_right, "bilinear")
    torch.testing.assert_close(out[0, 0, :, :3], image[0, 0, :, 1:])  # out(x) = image(x + 1)
    torch.testing.assert_close(warp(image, torch.zeros(1, 2, 4, 4)), image)


def test_known_shifts_are_recovered() -> None:
    image = _texture()
    truth = [(0.3, -0.2), (-0.25, 0.1), (0.0, 0.35)]
    frames = _shifted(image, truth)
    reference = torch.from_numpy(image).float()[None]
    shifts = estimate_shifts(frames, torch.ones(1, 3, 64, 64), reference)
    inner = shifts[0, :, :, 8:-8, 8:-8].flatten(2).median(dim=-1).values
    # frame(x + u) = reference(x) for content moved by +s: u = s
    np.testing.assert_allclose(inner.numpy(), np.array(truth), atol=0.04)


def test_frames_are_moved_onto_their_mean_position() -> None:
    image = _texture(seed=1)
    truth = [(0.3, -0.2), (-0.3, 0.2), (0.1, 0.3), (-0.1, -0.3)]  # mean 0: the image itself
    frames = _shifted(image, truth)
    mask = torch.ones(1, 4, 64, 64)
    median = frames.median(dim=1).values
    registered, registered_mask, centred = register(frames, mask, median)
    target = torch.from_numpy(image).float()
    before = (frames[0, :, :, 8:-8, 8:-8] - target[:, 8:-8, 8:-8]).abs().mean()
    after = (registered[0, :, :, 8:-8, 8:-8] - target[:, 8:-8, 8:-8]).abs().mean()
    assert after < 0.25 * before, (float(after), float(before))
    assert registered_mask[0, :, 8:-8, 8:-8].min() == 1
    inner = centred[0, :, :, 8:-8, 8:-8].flatten(2).median(dim=-1).values
    np.testing.assert_allclose(inner.numpy(), np.array(truth), atol=0.05)


def test_cloudy_pixels_take_no_shift_and_stay_masked() -> None:
    image = _texture(seed=2)
    frames = _shifted(image, [(0.3, 0.0), (-0.3, 0.0)])
    mask = torch.ones(1, 2, 64, 64)
    mask[0, 1, :20] = 0  # frame 1 cloudy over the first 20 rows
    frames[0, 1, :, :20] = 0.0
    reference = torch.from_numpy(image).float()[None]
    registered, registered_mask, centred = register(frames, mask, reference)
    assert centred[0, 1, :, :20].abs().max() == 0
    assert registered_mask[0, 1, :19].max() == 0 and registered_mask[0, 1, 22:].min() == 1
    # where only frame 0 is clear, it is the mean position itself: not moved
    assert centred[0, 0, :, :19].abs().max() == 0
    assert torch.isfinite(registered).all()


def test_a_crop_registers_as_the_whole_image_away_from_its_edge() -> None:
    image = _texture(seed=3)
    frames = _shifted(image, [(0.2, -0.1), (-0.2, 0.1), (0.1, 0.2)])
    mask = torch.ones(1, 3, 64, 64)
    median = frames.median(dim=1).values
    whole, _, whole_shifts = register(frames, mask, median, radius=4)
    crop = (slice(None), slice(None), slice(None), slice(16, 48), slice(16, 48))
    part, _, part_shifts = register(
        frames[crop], mask[..., 16:48, 16:48], median[..., 16:48, 16:48], radius=4
    )
    margin = 4 + 3  # the window and the bicubic support
    inner = (..., slice(margin, 32 - margin), slice(margin, 32 - margin))
    torch.testing.assert_close(part_shifts[inner], whole_shifts[crop][inner], atol=1e-5, rtol=0)
    torch.testing.assert_close(part[inner], whole[crop][inner], atol=1e-5, rtol=0)


@pytest.fixture
def registering() -> MultiFrameSR:
    torch.manual_seed(0)
    model = MultiFrameSR(
        3, 4, frames=4, features=8, encoder_blocks=1, decoder_blocks=1, registration=True,
        registration_radius=4,
    )  # fmt: skip
    torch.nn.init.normal_(model.tail.weight, std=0.1)
    return model.eval()


def test_sr_multiframe_registers_symmetrically_and_ignores_padding(
    registering: MultiFrameSR,
) -> None:
    assert registering.encoder[0].in_channels == 2 * 3 + 2 + 2  # + the shift channels
    x = _shifted(_texture(24, seed=4), [(0.3, 0.0), (0.0, -0.3), (-0.2, 0.2)])
    x[0, 1, :, :6] = float("nan")  # frame 1 cloudy in its top rows
    padded = torch.cat([x, torch.full((1, 1, 3, 24, 24), float("nan"))], dim=1)
    with torch.no_grad():
        out = registering(x)
        torch.testing.assert_close(registering(padded), out)
        torch.testing.assert_close(registering(x[:, [2, 0, 1]]), out, atol=1e-5, rtol=1e-5)
    assert out.shape == (1, 3, 96, 96) and torch.isfinite(out).all()
    registering.train()
    registering(x).abs().mean().backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in registering.parameters())
