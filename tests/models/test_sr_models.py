"""Super-resolution networks: shapes at x2/x3/x4 for any band count, bicubic start, physical
units from the output buffers, options checked, and each learns one image better than bicubic."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model, list_models
from eoforge.models.sr_common import SRNetwork

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08", "S2.B11"]
SMALL = {
    "sr_edsr": {"features": 16, "blocks": 2},
    "sr_swin": {"dim": 16, "stages": 1, "depth": 2, "heads": 2, "window": 4},
}


def _model(arch: str, scale: int, bands: list[str] = BANDS, **extra: object) -> SRNetwork:
    options = {"scale": scale, **SMALL[arch], **extra}
    spec = ModelSpec(
        task="super_resolution", arch=arch, in_bands=bands, num_classes=len(bands), options=options
    )
    model = build_model(spec)
    assert isinstance(model, SRNetwork)
    return model


def test_both_architectures_are_listed_for_super_resolution() -> None:
    tasks = {m.name: m.tasks for m in list_models()}
    assert tasks["sr_edsr"] == ("super_resolution",) and tasks["sr_swin"] == ("super_resolution",)


@pytest.mark.parametrize("arch", ["sr_edsr", "sr_swin"])
@pytest.mark.parametrize("scale", [2, 3, 4, 7, 8])
def test_shapes_and_a_bicubic_start(arch: str, scale: int) -> None:
    torch.manual_seed(0)
    model = _model(arch, scale).eval()
    x = torch.randn(2, 5, 13, 18)  # not a multiple of the window
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, 5, 13 * scale, 18 * scale)
    bicubic = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    torch.testing.assert_close(out, bicubic)  # the zero-initialised tail adds nothing yet
    mean, std = torch.arange(5.0), torch.full((5,), 0.1)
    model.set_output_units(mean, std)
    with torch.no_grad():
        physical = model(x)
    torch.testing.assert_close(physical, bicubic * 0.1 + mean[:, None, None])


def test_channel_attention_option_and_bad_options() -> None:
    with_attention = _model("sr_edsr", 2, attention=True, reduction=4)
    plain = _model("sr_edsr", 2)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(with_attention) > count(plain)
    with pytest.raises(ConfigError, match="scale"):
        _model("sr_edsr", 9)
    with pytest.raises(ConfigError, match=r"model\.options\.depth: sr_edsr takes no such option"):
        _model("sr_edsr", 2, depth=3)
    with pytest.raises(ConfigError, match="multiple of heads"):
        _model("sr_swin", 2, dim=15, heads=2)


@pytest.mark.parametrize("arch", ["sr_edsr", "sr_swin"])
def test_a_few_steps_beat_bicubic_on_a_textured_image(arch: str) -> None:
    torch.manual_seed(1)
    rows, cols = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    hr = torch.stack([torch.sin(rows / 2.1 + cols / 3.3), torch.cos(cols / 1.9 - rows / 4.0)])[None]
    lr = F.avg_pool2d(hr, 2)
    model = _model(arch, 2, bands=BANDS[:2])
    bicubic = F.l1_loss(F.interpolate(lr, scale_factor=2, mode="bicubic"), hr).item()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        optimiser.zero_grad()
        loss = F.l1_loss(model(lr), hr)
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.7 * bicubic
