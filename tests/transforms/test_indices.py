from __future__ import annotations

import pytest
import torch

from eoforge.errors import ConfigError
from eoforge.transforms import AppendIndices, normalized_difference


def test_indices_found_by_canonical_band_names() -> None:
    bands = ["S2.B03", "S2.B04", "S2.B08", "S2.B11", "S2.B12"]
    green, red, nir, swir16, swir22 = 0.1, 0.05, 0.4, 0.2, 0.1
    image = torch.tensor([green, red, nir, swir16, swir22])[:, None, None].expand(5, 2, 2)
    t = AppendIndices(bands, ["ndvi", "ndwi", "ndbi", "nbr"])
    out = t({"image": image, "mask": torch.zeros(2, 2)})["image"]
    assert out.shape == (9, 2, 2)
    expected = [
        (nir - red) / (nir + red),
        (green - nir) / (green + nir),
        (swir16 - nir) / (swir16 + nir),
        (nir - swir22) / (nir + swir22),
    ]
    torch.testing.assert_close(out[5:, 0, 0], torch.tensor(expected))
    assert t.out_bands[-4:] == ["ndvi", "ndwi", "ndbi", "nbr"]


def test_indices_work_on_landsat_batches_and_zero_denominators() -> None:
    t = AppendIndices(["L8.B4", "L8.B5"], ["ndvi"])
    batch = torch.zeros(3, 2, 4, 4)
    out = t.append(batch)
    assert out.shape == (3, 3, 4, 4)
    assert torch.equal(out[:, 2], torch.zeros(3, 4, 4))


def test_missing_band_or_unknown_index_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"needs band S2 \(swir22"):
        AppendIndices(["S2.B04", "S2.B08"], ["nbr"])
    with pytest.raises(ConfigError, match="unknown spectral index"):
        AppendIndices(["S2.B04", "S2.B08"], ["foo"])


def test_normalized_difference_zero_sums_nan_and_tiny_sums() -> None:
    nan = float("nan")
    a = torch.tensor([0.0, 0.3, 1e-30, 0.0, nan, 0.2, 1e-7])
    b = torch.tensor([0.0, 0.1, 0.0, 0.5, 0.1, -0.2, 0.0])
    out = normalized_difference(a, b)
    # 0/0 is 0 ("no difference"), exact ratios elsewhere however small the sum, NaN stays NaN.
    torch.testing.assert_close(
        out, torch.tensor([0.0, 0.5, 1.0, -1.0, nan, 0.0, 1.0]), equal_nan=True
    )
    assert out.dtype == torch.float32


def test_normalized_difference_of_integers_and_broadcast_shapes() -> None:
    dn = normalized_difference(
        torch.tensor([3000, 0, 0], dtype=torch.int16),
        torch.tensor([1000, 0, 500], dtype=torch.int16),
    )
    assert dn.is_floating_point()
    torch.testing.assert_close(dn, torch.tensor([0.5, 0.0, -1.0]))
    a = torch.rand(2, 4, 5, dtype=torch.float64)  # [B, H, W]
    b = torch.rand(4, 5, dtype=torch.float64)  # [H, W]
    out = normalized_difference(a, b)
    assert out.shape == (2, 4, 5) and out.dtype == torch.float64
    torch.testing.assert_close(out, (a - b) / (a + b))
    assert bool(((out >= -1) & (out <= 1)).all())  # non-negative inputs stay in [-1, 1]
