"""Per-pixel features for classical baselines: band values + spectral indices.

Indices are found by band *name*: NDVI needs a red and a NIR band, NDWI
(McFeeters) green and NIR, NDBI SWIR-1.6 and NIR. An index whose bands are
absent from the input is left out. Indices are meaningful on physical values
(reflectance); on standardised inputs they are still deterministic features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from eoforge.sensors import get_band
from eoforge.transforms.indices import normalized_difference

ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "green": ("green",),
    "red": ("red",),
    "nir": ("nir", "nir08"),
    "swir16": ("swir16", "swir1"),
}

INDICES: dict[str, tuple[str, str]] = {
    "NDVI": ("nir", "red"),
    "NDWI": ("green", "nir"),
    "NDBI": ("swir16", "nir"),
}


def _role_index(bands: Sequence[str], aliases: tuple[str, ...]) -> int | None:
    names = [{get_band(b).id.lower(), *(a.lower() for a in get_band(b).aliases)} for b in bands]
    for alias in aliases:
        for index, band_names in enumerate(names):
            if alias in band_names:
                return index
    return None


def index_channels(bands: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Normalised-difference indices computable from ``bands``.

    Args:
        bands: Band names in channel order.

    Returns:
        Index name -> ``(a, b)`` channel positions; the index is
        ``(x[a] - x[b]) / (x[a] + x[b])``.
    """
    roles = {role: _role_index(bands, aliases) for role, aliases in ROLE_ALIASES.items()}
    found: dict[str, tuple[int, int]] = {}
    for name, (first, second) in INDICES.items():
        a, b = roles[first], roles[second]
        if a is not None and b is not None:
            found[name] = (a, b)
    return found


def pixel_features(x: torch.Tensor, indices: dict[str, tuple[int, int]]) -> torch.Tensor:
    """Band values followed by spectral indices.

    Args:
        x: Images ``[B, C, H, W]``.
        indices: From :func:`index_channels`.

    Returns:
        ``[B, C + len(indices), H, W]`` float32: the bands, then one channel per
        index (:func:`eoforge.transforms.indices.normalized_difference`: 0 where
        both bands sum to 0); NaN and infinities are replaced by 0.
    """
    x = x.to(torch.float32)
    extra = [normalized_difference(x[:, a], x[:, b]) for a, b in indices.values()]
    features = torch.cat([x, *(e.unsqueeze(1) for e in extra)], dim=1)
    return torch.nan_to_num(features, nan=0.0, posinf=0.0, neginf=0.0)
