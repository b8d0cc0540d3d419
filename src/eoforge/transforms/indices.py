"""Spectral indices computed from bands found by name.

:class:`AppendIndices` appends any index of the Awesome Spectral Indices catalogue
(:mod:`eoforge.transforms.asi`), its bands found among the image's channels through
the sensor registry (aliases, then wavelengths), so the same transform works for
Sentinel-2, Landsat or any product whose bands are named.
:func:`normalized_difference` is the one normalised difference of the classical
baselines' pixel features (:mod:`eoforge.models.spectral`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from eoforge.transforms.asi import index_plan


def normalized_difference(a: Tensor, b: Tensor) -> Tensor:
    """The normalised difference ``(a - b) / (a + b)`` of two bands, pixel by pixel.

    The pixel features of the classical baselines (:mod:`eoforge.models.spectral`)
    use it; the catalogue's normalised differences (:mod:`eoforge.transforms.asi`)
    give the same values, zero sums included.

    * Where ``a + b == 0`` the result is 0, the value of "no difference",
      instead of the NaN or infinity of a division by zero. For reflectance
      (non-negative) this is where both bands are 0: no signal, such as
      nodata filled with 0.
    * No tolerance is applied to the denominator: every other pixel gets the
      exact ratio, which for non-negative inputs stays in ``[-1, 1]`` however
      small the sum (a tolerance would only replace correct values by 0).
    * NaN in either band gives NaN, so invalid pixels stay recognisable;
      callers that need finite features replace them (as
      :func:`eoforge.models.spectral.pixel_features` does, with 0).

    Args:
        a: First band, any shape (e.g. ``[B, H, W]``), in physical units
            (reflectance); integer tensors are divided as floats.
        b: Second band, same shape as ``a`` (or broadcastable to it).

    Returns:
        Floating tensor of the broadcast shape of ``a`` and ``b``: the index,
        dimensionless, in ``[-1, 1]`` for non-negative inputs.
    """
    total = a + b
    nonzero = total != 0
    return torch.where(nonzero, (a - b) / torch.where(nonzero, total, 1), 0.0)


class IndexStack:
    """Index channels of an image: ``[..., C, H, W]`` bands to ``[..., K, H, W]`` indices.

    A predictor for the prediction engine as it is (``eoforge indices``), and what
    :class:`AppendIndices` appends.

    Args:
        bands: Names of the input channels, in order.
        indices: Catalogue short names (any case), one output channel each.

    Raises:
        ConfigError: An unknown index, or a band an index needs is missing.
    """

    def __init__(self, bands: Sequence[str], indices: Sequence[str]) -> None:
        self.bands = list(bands)
        self.indices = list(indices)
        self.plans = [index_plan(name, self.bands) for name in self.indices]

    @property
    def needed(self) -> list[str]:
        """The input bands some index uses, in input order."""
        used = {c for plan in self.plans for c in plan.channels.values()}
        return [b for i, b in enumerate(self.bands) if i in used]

    def __call__(self, image: Tensor) -> Tensor:
        """The indices ``[..., K, H, W]`` (float32; NaN where an input band is NaN)."""
        return torch.stack([plan.compute(image) for plan in self.plans], dim=-3)


class AppendIndices:
    """Append spectral index channels to an image.

    Any index of the Awesome Spectral Indices catalogue (:mod:`eoforge.transforms.asi`:
    about 280, e.g. NDVI, EVI, SAVI, NDWI, MNDWI, NBR, NDMI, NDSI, NDBI, and SAR ratios
    such as VHVVR), its bands found among the image's channels by name, alias or
    wavelength, so the same transform works for Sentinel-2, Landsat, or any product
    whose bands are named.

    Args:
        bands: Names of the image channels, in order (canonical names such as
            ``"S2.B08"`` or aliases such as ``"nir"``).
        indices: Index short names, any case (e.g. ``["ndvi", "EVI"]``); the
            appended channels keep the names as given.

    Raises:
        ConfigError: An unknown index, or a band an index needs is missing.
    """

    def __init__(self, bands: Sequence[str], indices: Sequence[str]) -> None:
        self.stack = IndexStack(bands, indices)
        self.bands = self.stack.bands
        self.indices = self.stack.indices

    @property
    def out_bands(self) -> list[str]:
        """Channel names after appending: the input bands, then the index names."""
        return self.bands + self.indices

    def append(self, image: Tensor) -> Tensor:
        """Image ``[..., C, H, W]`` to ``[..., C + len(indices), H, W]`` (float32)."""
        return torch.cat([image, self.stack(image).to(image.dtype)], dim=-3)

    def __call__(self, sample: Mapping[str, Any]) -> dict[str, Any]:
        """Return a copy of a sample (or batch) dict with indices appended to ``image``."""
        out = dict(sample)
        out["image"] = self.append(sample["image"])
        return out
