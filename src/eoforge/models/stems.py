"""Input stem adaptation: reuse first-layer filters across band sets.

A pretrained first convolution ``[O, Cs, k, k]`` learned on source bands (say
RGB) becomes ``[O, Ct, k, k]`` for target bands (say S2 B02, B03, B04, B08):

1. **Matching.** A target band takes the filter of the source band with the
   same canonical name, else of a source band sharing a common alias
   (``red``, ``nir``, ...), else of the source band whose centre wavelength is
   nearest, if within ``tolerance_nm`` (30 nm by default: RGB.blue 465 nm
   matches S2.B02 492 nm; RGB.red 640 nm matches S2.B04 665 nm).
2. **Unmatched bands** (NIR, SWIR, SAR, ...) get the mean filter over all
   source bands.
3. **Magnitude.** For zero-mean bands that are independent with unit
   variance, output channel ``o`` has activation variance
   ``sum_c ||w[o, c]||**2`` (bias aside). Each adapted filter bank ``o`` is
   multiplied by ``sqrt(sum_s ||w[o, s]||**2 / sum_t ||w'[o, t]||**2)`` so
   that this variance, hence the activation magnitude the next layers (and
   their batch-norm statistics) expect, is the same as for the source bands.
   Matched filters are therefore copies *up to that common per-output
   factor*; pass ``preserve_magnitude=False`` for exact copies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch

from eoforge.errors import ConfigError
from eoforge.sensors import Band, get_band

DEFAULT_TOLERANCE_NM = 30.0

# Ids like B04 or B8A mean different things on different sensors; never match on them.
_NUMBERED_ID = re.compile(r"B\d+[A-Z]?", re.IGNORECASE)


def _common_names(band: Band) -> set[str]:
    """Aliases of a band plus its id when the id is a word (``red``, not ``B04``)."""
    names = {alias.lower() for alias in band.aliases}
    if not _NUMBERED_ID.fullmatch(band.id):
        names.add(band.id.lower())
    return names


def _match_one(target: Band, sources: list[Band], tolerance_nm: float) -> int | None:
    for index, source in enumerate(sources):
        if source.name == target.name:
            return index
    for index, source in enumerate(sources):
        if _common_names(source) & _common_names(target):
            return index
    if target.center_wavelength_nm is None:
        return None
    distances = [
        (abs(source.center_wavelength_nm - target.center_wavelength_nm), index)
        for index, source in enumerate(sources)
        if source.center_wavelength_nm is not None
    ]
    best = min(distances, default=None)
    return best[1] if best is not None and best[0] <= tolerance_nm else None


def match_bands(
    source_bands: Sequence[str],
    target_bands: Sequence[str],
    tolerance_nm: float = DEFAULT_TOLERANCE_NM,
) -> list[int | None]:
    """For each target band, the index of its matching source band, or None.

    Args:
        source_bands: Band names the pretrained filters were learned on.
        target_bands: Band names of the new input.
        tolerance_nm: Largest centre-wavelength difference for a match.

    Returns:
        One entry per target band.
    """
    sources = [get_band(name) for name in source_bands]
    return [_match_one(get_band(name), sources, tolerance_nm) for name in target_bands]


def adapt_stem(
    weight: torch.Tensor,
    source_bands: Sequence[str],
    target_bands: Sequence[str],
    *,
    tolerance_nm: float = DEFAULT_TOLERANCE_NM,
    preserve_magnitude: bool = True,
) -> torch.Tensor:
    """Adapt first-layer filters ``[O, Cs, k, k]`` to ``[O, Ct, k, k]``.

    Args:
        weight: Source filters, ``Cs == len(source_bands)``.
        source_bands: Band names of the source input channels.
        target_bands: Band names of the target input channels.
        tolerance_nm: Largest centre-wavelength difference for a match.
        preserve_magnitude: Rescale each output filter bank so that its
            activation variance for independent unit-variance bands is
            unchanged (see the module docstring).

    Returns:
        Adapted filters ``[O, len(target_bands), k, k]``, dtype of ``weight``.

    Raises:
        ConfigError: When ``weight`` is not ``[O, len(source_bands), ...]``.
    """
    if weight.dim() < 3 or weight.shape[1] != len(source_bands):
        raise ConfigError(
            f"stem weight of shape {tuple(weight.shape)} does not have one input channel per "
            f"source band ({len(source_bands)}: {', '.join(source_bands)}).",
            fix="set model.pretrained_bands to the bands the pretrained weights were trained on.",
        )
    source = weight.detach().to(torch.float64)
    mean_filter = source.mean(dim=1)
    columns = [
        mean_filter if index is None else source[:, index]
        for index in match_bands(source_bands, target_bands, tolerance_nm)
    ]
    adapted = torch.stack(columns, dim=1)
    if preserve_magnitude:
        adapted = adapted * _variance_scale(source, adapted)
    return adapted.to(weight.dtype)


def _variance_scale(source: torch.Tensor, adapted: torch.Tensor) -> torch.Tensor:
    """Per-output factor ``[O, 1, 1, ...]`` equalising ``sum ||w||**2`` over inputs."""
    source_energy = source.pow(2).flatten(1).sum(dim=1)
    adapted_energy = adapted.pow(2).flatten(1).sum(dim=1)
    scale = torch.where(
        adapted_energy > 0, (source_energy / adapted_energy.clamp_min(1e-300)).sqrt(), 1.0
    )
    return scale.reshape(-1, *([1] * (adapted.dim() - 1)))
