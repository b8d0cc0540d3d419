"""field_utae and field_unet_stack: three maps in [0, 1], unusable dates change nothing, the
stacked channels, and specs they refuse."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model
from eoforge.models.field_series import DOY_SCALE, DatesAsChannels, series_length

BANDS = ["S2.B04", "S2.B08", "S2.B11"]
OPTIONS = {
    "field_utae": {"widths": [8, 16, 16], "d_model": 16, "heads": 2, "head_channels": 8},
    "field_unet_stack": {"encoder_depth": 3, "decoder_channels": [16, 8, 8], "head_channels": 8},
}


def spec(arch: str, num_classes: int = 3, **group: Any) -> ModelSpec:
    inputs = {"s2": {"bands": BANDS, "gsd": 10.0, "dates": 4, "composite": None, **group}}
    return ModelSpec(
        arch=arch,
        task="field_boundaries",
        backbone="tu-resnet10t",
        in_bands=BANDS,
        num_classes=num_classes,
        options={"inputs": inputs, "reference": "s2", **OPTIONS[arch]},
    )


def batch(seed: int = 0) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Two samples, 4 slots: sample 1's last slot is padding, date 2 of sample 0 all cloudy."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 4, 3, 22, 26, generator=gen)
    valid = torch.rand(2, 4, 22, 26, generator=gen) > 0.2
    valid[0, 2] = False
    valid[1, 3] = False
    doy = torch.tensor([[61.0, 142.0, 224.0, 305.0], [70.0, 150.0, 230.0, 0.0]])
    present = {"s2": torch.tensor([True, True])}
    return {"s2": x}, present, {"s2": {"doy": doy, "valid": valid}}


@pytest.mark.parametrize("arch", ["field_utae", "field_unet_stack"])
def test_three_maps_on_the_input_grid_and_unusable_dates_change_nothing(arch: str) -> None:
    torch.manual_seed(0)
    model = build_model(spec(arch)).eval()
    images, present, series = batch()
    with torch.no_grad():
        out = model(images, present, series)
        assert out.shape == (2, 3, 22, 26)
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
        changed = {"s2": images["s2"].clone()}
        changed["s2"][0, 2] += 5.0  # the all-cloudy date
        changed["s2"][1, 3] -= 3.0  # padding
        assert torch.allclose(model(changed, present, series), out, atol=1e-5)
        # a usable date's values matter
        seen = {"s2": images["s2"].clone()}
        seen["s2"][0, 1] += 2.0
        assert not torch.allclose(model(seen, present, series), out, atol=1e-4)


def test_dates_stacked_as_bands_usable_and_day_planes() -> None:
    net = torch.nn.Identity()
    images, present, series = batch()
    stacked = DatesAsChannels("s2", net).eval().stack(images, present, series)
    assert stacked.shape == (2, 4 * (3 + 2), 22, 26)
    per_date = stacked.view(2, 4, 5, 22, 26)
    valid = series["s2"]["valid"]
    # bands where usable, 0 elsewhere
    expected = images["s2"] * valid[:, :, None]
    assert torch.equal(per_date[:, :, :3], expected)
    assert torch.equal(per_date[:, :, 3], valid.float())
    # day of year scaled on real dates, 0 on padding (sample 1's last slot)
    assert float(per_date[0, 1, 4, 5, 7]) == pytest.approx(142.0 / DOY_SCALE - 1.0)
    assert float(per_date[1, 3, 4].abs().max()) == 0.0
    # an absent group: every date unusable, nothing but the day planes
    absent = {"s2": torch.tensor([True, False])}
    off = DatesAsChannels("s2", net).eval().stack(images, absent, series).view(2, 4, 5, 22, 26)
    assert float(off[1, :, :4].abs().max()) == 0.0


def test_series_length_from_a_count_or_listed_days() -> None:
    assert series_length(spec("field_unet_stack")) == 4
    listed = spec("field_unet_stack", dates=["2024-03-01", "2024-07-01"])
    assert series_length(listed) == 2
    model = build_model(listed)
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == 2 * (3 + 2)


@pytest.mark.parametrize("arch", ["field_utae", "field_unet_stack"])
def test_refused_specs(arch: str) -> None:
    with pytest.raises(ConfigError, match="predicts 3 maps"):
        build_model(spec(arch, num_classes=2))
    with pytest.raises(ConfigError, match=r"reads a time series, but data\.inputs\.s2 is one date"):
        build_model(spec(arch, dates=None))
    with pytest.raises(ConfigError, match="is a composite"):
        build_model(spec(arch, composite="median"))
