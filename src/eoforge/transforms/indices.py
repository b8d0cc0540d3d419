"""Spectral indices computed from bands found by name.

:class:`AppendIndices` finds the bands an index needs (``nir``, ``red``...)
among the image's channels through the sensor registry's aliases, so the same
transform works for Sentinel-2, Landsat or any product whose bands are named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from eoforge.errors import BandNotFoundError, ConfigError, available_list
from eoforge.sensors import get_band

Bands = Mapping[str, Tensor]


def normalized_difference(a: Tensor, b: Tensor) -> Tensor:
    """The normalised difference ``(a - b) / (a + b)`` of two bands, pixel by pixel.

    The one implementation in eoforge: :class:`AppendIndices` and the pixel
    features of the classical baselines (:mod:`eoforge.models.spectral`) use it.

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


def _savi(x: Bands) -> Tensor:
    return 1.5 * (x["nir"] - x["red"]) / (x["nir"] + x["red"] + 0.5)


def _evi(x: Bands) -> Tensor:
    den = x["nir"] + 6.0 * x["red"] - 7.5 * x["blue"] + 1.0
    return 2.5 * (x["nir"] - x["red"]) / torch.where(den != 0, den, 1.0)


def _nd(a: str, b: str) -> tuple[tuple[str, ...], Callable[[Bands], Tensor]]:
    return (a, b), lambda x: normalized_difference(x[a], x[b])


INDICES: dict[str, tuple[tuple[str, ...], Callable[[Bands], Tensor]]] = {
    "ndvi": _nd("nir", "red"),
    "ndwi": _nd("green", "nir"),
    "mndwi": _nd("green", "swir16"),
    "ndbi": _nd("swir16", "nir"),
    "nbr": _nd("nir", "swir22"),
    "ndmi": _nd("nir", "swir16"),
    "ndsi": _nd("green", "swir16"),
    "savi": (("nir", "red"), _savi),
    "evi": (("nir", "red", "blue"), _evi),
}
"""Index name to (band aliases it needs, formula on reflectance)."""


def _names_of(channel: str) -> set[str]:
    """Lower-case names a channel answers to: itself, its registry id and aliases."""
    names = {channel.lower()}
    try:
        band = get_band(channel)
    except BandNotFoundError:
        return names
    return names | {band.name.lower(), band.id.lower(), *(a.lower() for a in band.aliases)}


def channel_lookup(bands: Sequence[str]) -> dict[str, int]:
    """Map every name and alias of ``bands`` to its channel (first channel wins)."""
    lookup: dict[str, int] = {}
    for position, channel in enumerate(bands):
        for name in _names_of(channel):
            lookup.setdefault(name, position)
    return lookup


class AppendIndices:
    """Append spectral index channels to an image.

    Args:
        bands: Names of the image channels, in order (canonical names such as
            ``"S2.B08"`` or aliases such as ``"nir"``).
        indices: Index names from :data:`INDICES` (e.g. ``["ndvi", "ndwi"]``).

    Raises:
        ConfigError: An unknown index, or a band an index needs is missing.
    """

    def __init__(self, bands: Sequence[str], indices: Sequence[str]) -> None:
        self.bands = list(bands)
        self.indices = [name.lower() for name in indices]
        lookup = channel_lookup(self.bands)
        self._channels: dict[str, int] = {}
        for name in self.indices:
            if name not in INDICES:
                raise ConfigError(
                    f"unknown spectral index {name!r}.",
                    fix=f"use one of {available_list(INDICES)}.",
                )
            for alias in INDICES[name][0]:
                if alias not in lookup:
                    raise ConfigError(
                        f"index {name!r} needs a {alias!r} band; the image has {self.bands}.",
                        fix=f"read a band named or aliased {alias!r}.",
                    )
                self._channels[alias] = lookup[alias]

    @property
    def out_bands(self) -> list[str]:
        """Channel names after appending: the input bands, then the index names."""
        return self.bands + self.indices

    def append(self, image: Tensor) -> Tensor:
        """Image ``[..., C, H, W]`` to ``[..., C + len(indices), H, W]`` (float32)."""
        named = {alias: image[..., c, :, :].float() for alias, c in self._channels.items()}
        extra = [INDICES[name][1](named) for name in self.indices]
        return torch.cat([image, torch.stack(extra, dim=-3).to(image.dtype)], dim=-3)

    def __call__(self, sample: Mapping[str, Any]) -> dict[str, Any]:
        """Return a copy of a sample (or batch) dict with indices appended to ``image``."""
        out = dict(sample)
        out["image"] = self.append(sample["image"])
        return out
