"""Per-pixel features of the classical baselines: bands, then normalised differences."""

from __future__ import annotations

import torch

from eoforge.models import spectral
from eoforge.transforms import normalized_difference


def test_one_normalized_difference_for_transforms_and_models() -> None:
    assert spectral.normalized_difference is normalized_difference


def test_pixel_features_append_indices_with_zero_and_nan_handled() -> None:
    bands = ["S2.B03", "S2.B04", "S2.B08"]
    indices = spectral.index_channels(bands)
    assert indices == {"NDVI": (2, 1), "NDWI": (0, 2)}
    green = torch.tensor([[0.1, 0.0], [0.2, float("nan")]])
    red = torch.tensor([[0.05, 0.0], [1e-8, 0.1]])
    nir = torch.tensor([[0.4, 0.0], [0.0, 0.3]])
    x = torch.stack([green, red, nir])[None]  # [B=1, C=3, H=2, W=2]
    features = spectral.pixel_features(x, indices)
    assert features.shape == (1, 5, 2, 2) and features.dtype == torch.float32
    ndvi, ndwi = features[0, 3], features[0, 4]
    torch.testing.assert_close(ndvi, torch.tensor([[0.35 / 0.45, 0.0], [-1.0, 0.5]]))
    # NDWI: NaN green gives NaN, which pixel_features turns into 0; 0/0 gives 0.
    torch.testing.assert_close(ndwi, torch.tensor([[-0.6, 0.0], [1.0, 0.0]]))
    torch.testing.assert_close(features[0, 0], torch.nan_to_num(green, nan=0.0))
