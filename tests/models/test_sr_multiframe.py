"""sr_multiframe: shapes and units, the bicubic-of-median start, robustness to missing frames,
frame-order invariance, keeping the clearest frames, and the registry entry."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model
from eoforge.models.sr_multiframe import MultiFrameSR, clearest

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def _trained_like(frames: int = 8) -> MultiFrameSR:
    """A small network with a non-zero tail (a fresh one is exactly bicubic of the median)."""
    torch.manual_seed(0)
    model = MultiFrameSR(4, 4, frames=frames, features=8, encoder_blocks=1, decoder_blocks=1)
    torch.nn.init.normal_(model.tail.weight, std=0.1)
    return model.eval()


def test_registered_with_its_options_and_physical_outputs() -> None:
    spec = ModelSpec(
        task="super_resolution",
        arch="sr_multiframe",
        in_bands=BANDS,
        num_classes=4,
        options={"scale": 2, "frames": 3, "features": 8, "encoder_blocks": 1},
    )
    model = build_model(spec)
    assert isinstance(model, MultiFrameSR) and model.frames == 3 and model.scale == 2
    model.set_output_units(torch.full((4,), 0.2), torch.full((4,), 0.05))
    with torch.no_grad():
        out = model(torch.zeros(2, 3, 4, 10, 12))
    assert out.shape == (2, 4, 20, 24)
    torch.testing.assert_close(out, torch.full_like(out, 0.2))  # zero residual: the mean
    bad = ModelSpec(
        task="super_resolution", arch="sr_multiframe", in_bands=BANDS, num_classes=4,
        options={"blocks": 2},
    )  # fmt: skip
    with pytest.raises(ConfigError, match="sr_multiframe takes no such option"):
        build_model(bad)


def test_a_fresh_network_is_bicubic_of_the_clear_median() -> None:
    model = MultiFrameSR(4, 4, frames=8, features=8, encoder_blocks=1, decoder_blocks=1).eval()
    x = torch.randn(2, 5, 4, 12, 12)
    x[:, 1, :, :6] = float("nan")  # frame 1 cloudy in the top half
    with torch.no_grad():
        out = model(x)
    median = torch.nan_to_num(x.nanmedian(dim=1).values)
    expected = F.interpolate(median, scale_factor=4, mode="bicubic", align_corners=False)
    torch.testing.assert_close(out, expected)


def test_padded_and_cloudy_frames_change_nothing() -> None:
    model = _trained_like()
    x = torch.randn(1, 3, 4, 12, 12)
    padded = torch.cat([x, torch.full((1, 2, 4, 12, 12), float("nan"))], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(model(padded), model(x))
        # frame order does not matter: median and attention pooling are symmetric
        torch.testing.assert_close(model(x[:, [2, 0, 1]]), model(x), atol=1e-5, rtol=1e-5)
        # a pixel no frame sees gets a finite value (the engine writes nodata there)
        hole = x.clone()
        hole[:, :, :, 3, 3] = float("nan")
        assert torch.isfinite(model(hole)).all()


def test_more_frames_than_the_model_takes_keep_the_clearest() -> None:
    model = _trained_like(frames=2)
    x = torch.randn(1, 4, 4, 8, 8)
    x[:, 0, :, :5] = float("nan")  # frame 0 mostly cloudy
    x[:, 2, :, :1] = float("nan")  # frame 2 a little cloudy
    mask = torch.isfinite(x).all(dim=2).float()
    kept, kept_mask = clearest(x, mask, 2)
    torch.testing.assert_close(kept, x[:, [1, 3]], equal_nan=True)
    assert kept_mask.sum() == 2 * 64
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x[:, [1, 3]]))


def test_wrong_input_ranks_are_refused_and_one_frame_is_accepted() -> None:
    model = _trained_like()
    with torch.no_grad():
        assert model(torch.randn(2, 4, 8, 8)).shape == (2, 4, 32, 32)
    with pytest.raises(ConfigError, match=r"reads \[B, T, C, h, w\] revisits"):
        model(torch.randn(4, 8, 8))


def test_gradients_are_finite_with_cloudy_frames() -> None:
    model = _trained_like().train()
    x = torch.randn(2, 4, 4, 8, 8)
    x[0, 1:] = float("nan")
    x[1, :, :, 2:4] = float("nan")
    model(x).abs().mean().backward()
    for p in model.parameters():
        assert p.grad is None or torch.isfinite(p.grad).all()
