from __future__ import annotations

import pytest
import timm
import torch
import torch.nn.functional as F

from eoforge.errors import ConfigError
from eoforge.models import adapt_stem, match_bands

RGB = ["RGB.red", "RGB.green", "RGB.blue"]
TARGET = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


@pytest.fixture(scope="module")
def rgb_stem() -> torch.Tensor:
    """A ResNet-18 stem ``[64, 3, 7, 7]`` whose R, G and B filters are correlated.

    Pretrained RGB stems look alike across the three bands (natural images
    are strongly correlated between them); mimic that with a shared filter
    plus a band-specific part.
    """
    torch.manual_seed(1)
    weight = timm.create_model("resnet18", pretrained=False).conv1.weight.detach()
    return weight[:, :1] + 0.4 * weight


def test_bands_match_by_wavelength_alias_or_not_at_all() -> None:
    # B02 492 nm ~ blue 465 nm, B03 ~ green, B04 665 nm ~ red 640 nm, B08 (NIR) unmatched
    assert match_bands(RGB, TARGET) == [2, 1, 0, None]
    # L8.B4 is red by alias; S1.VV is radar and matches nothing; B05 704 nm is too far from red
    assert match_bands(RGB, ["L8.B4", "S1.VV", "S2.B05"]) == [0, None, None]
    assert match_bands(RGB, ["S2.B05"], tolerance_nm=70) == [0]


def test_visible_bands_copy_filters_and_nir_gets_the_mean(rgb_stem: torch.Tensor) -> None:
    raw = adapt_stem(rgb_stem, RGB, TARGET, preserve_magnitude=False)
    assert raw.shape == (64, 4, 7, 7)
    assert torch.equal(raw[:, 0], rgb_stem[:, 2])  # blue
    assert torch.equal(raw[:, 1], rgb_stem[:, 1])  # green
    assert torch.equal(raw[:, 2], rgb_stem[:, 0])  # red
    assert torch.allclose(raw[:, 3], rgb_stem.mean(dim=1), atol=1e-7)

    scaled = adapt_stem(rgb_stem, RGB, TARGET)
    factor = scaled[:, :1, :1, :1] / raw[:, :1, :1, :1]  # one factor per output filter
    assert torch.allclose(scaled, raw * factor, rtol=1e-5, atol=1e-8)
    assert ((factor > 0.5) & (factor < 1.0)).all()  # a 4th band adds energy: shrink


def test_activation_magnitude_is_preserved(rgb_stem: torch.Tensor) -> None:
    gen = torch.Generator().manual_seed(2)
    before = F.conv2d(torch.randn(4, 3, 96, 96, generator=gen), rgb_stem, stride=2, padding=3)
    adapted = adapt_stem(rgb_stem, RGB, TARGET)
    after = F.conv2d(torch.randn(4, 4, 96, 96, generator=gen), adapted, stride=2, padding=3)
    unscaled = adapt_stem(rgb_stem, RGB, TARGET, preserve_magnitude=False)
    naive = F.conv2d(torch.randn(4, 4, 96, 96, generator=gen), unscaled, stride=2, padding=3)
    ratio = float(after.std() / before.std())
    assert abs(ratio - 1.0) < 0.10, ratio
    # per output channel too, which is what the next batch norm sees
    per_channel = after.std(dim=(0, 2, 3)) / before.std(dim=(0, 2, 3))
    assert (per_channel - 1).abs().max() < 0.10
    assert float(naive.std() / before.std()) > 1.10  # without scaling the 4th band inflates it


def test_thirteen_band_stem(rgb_stem: torch.Tensor) -> None:
    s2 = [
        f"S2.B{b}"
        for b in ("01", "02", "03", "04", "05", "06", "07", "08", "8A", "09", "10", "11", "12")
    ]
    adapted = adapt_stem(rgb_stem, RGB, s2)
    assert adapted.shape == (64, 13, 7, 7)
    gen = torch.Generator().manual_seed(3)
    before = F.conv2d(torch.randn(2, 3, 64, 64, generator=gen), rgb_stem)
    after = F.conv2d(torch.randn(2, 13, 64, 64, generator=gen), adapted)
    assert abs(float(after.std() / before.std()) - 1.0) < 0.10


def test_stem_with_wrong_source_band_count_is_a_config_error(rgb_stem: torch.Tensor) -> None:
    with pytest.raises(ConfigError, match="pretrained_bands"):
        adapt_stem(rgb_stem, ["RGB.red", "RGB.green"], TARGET)
