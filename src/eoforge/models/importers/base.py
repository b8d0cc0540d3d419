"""What every checkpoint importer shares: the converted checkpoint and its stem.

An importer (one per published family, see :mod:`eoforge.models.importers`)
recognises a published key layout and converts its tensors into the key names
of an eoforge model: a :class:`Converted` says which eoforge architecture and
backbone to build (a :class:`~eoforge.models.spec.ModelSpec` without bands),
holds the tensors under that model's key names, and names the checkpoint's
input channels as eoforge bands.

:func:`stem_for_bands` turns the checkpoint's per-band input weight
``[O, C_ckpt, ...]`` into one for the user's bands: when every requested band
is one of the checkpoint's, the columns are selected and reordered exactly;
otherwise the weight goes through :func:`~eoforge.models.stems.adapt_stem`
(name, alias or nearest-wavelength matching, mean filter for the rest).

:func:`statistics_as_read` converts published statistics from the stored
values they were computed on (digital numbers, mostly) into the units eoforge
reads each band in (the sensor registry's scale and offset: Sentinel-2 and
Landsat as reflectance), so that a bundle normalises what ``eoforge embed``
actually feeds it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from eoforge.models.stems import adapt_stem
from eoforge.sensors import Radiometry, default_radiometry

StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class PublishedNormalization:
    """Per-band ``x' = (x - mean) / std`` of the checkpoint's training data.

    Attributes:
        mean: One value per checkpoint band, in the units eoforge reads the
            band in (reflectance for Sentinel-2 and Landsat, dB for
            Sentinel-1 backscatter); None where the published statistic has
            no affine equivalent in those units (Landsat thermal bands, read
            as brightness temperature).
        std: One value per checkpoint band, same units (None as for ``mean``).
        note: Where the values come from, the conversion applied and what
            they leave out.
    """

    mean: tuple[float | None, ...]
    std: tuple[float | None, ...]
    note: str


def read_as(bands: Sequence[str], level: str) -> list[Radiometry]:
    """How eoforge reads each of ``bands`` by default at product ``level`` (registry values)."""
    return [default_radiometry(band, level) for band in bands]


def statistics_as_read(
    mean: Sequence[float], std: Sequence[float], radiometry: Sequence[Radiometry]
) -> tuple[tuple[float | None, ...], tuple[float | None, ...]]:
    """Statistics on stored values ``x`` as statistics on the values eoforge reads.

    eoforge reads ``v = x scale + offset`` (the band's :class:`Radiometry`), so
    ``(x - m) / s == (v - (m scale + offset)) / (s scale)``: the same
    normalised input. A thermal radiometry (``k1``/``k2``: brightness
    temperature) is not affine in ``x``; its band gets None.

    Args:
        mean: Published per-band means, in stored units (e.g. digital numbers).
        std: Published per-band standard deviations, same units.
        radiometry: Per band, the stored-to-read conversion.

    Returns:
        ``(mean, std)`` in read units, one value (or None) per band.
    """
    means: list[float | None] = []
    stds: list[float | None] = []
    for m, s, rad in zip(mean, std, radiometry, strict=True):
        affine = rad.k1 is None and rad.k2 is None
        means.append(m * rad.scale + rad.offset if affine else None)
        stds.append(s * abs(rad.scale) if affine else None)
    return tuple(means), tuple(stds)


@dataclass
class Converted:
    """A checkpoint converted to an eoforge model's key names.

    Attributes:
        importer: Name of the importer that converted it.
        arch: eoforge architecture to build (``timm_encoder``, ``dofa_vit``).
        backbone: Backbone name of the spec (a timm model name, or ``dofa``).
        options: Architecture options of the spec (depth, image size, ...).
        state: Tensors under the built model's key names.
        bands: The checkpoint's input bands in channel order (eoforge names);
            empty for a model that generates its input kernels from any
            band's wavelength (DOFA).
        stem_key: Key of the per-band input weight (channels on dim 1), or None.
        normalization: Published per-band statistics, or None.
        input_size: Image side the checkpoint was trained on, pixels.
        optional_keys: Model keys the checkpoint may leave at their initial
            values (a norm the published encoder does not have).
        dropped: Source keys not used (projection heads, MAE decoders,
            momentum encoders), each with the reason.
        notes: What the conversion changed or assumed.
    """

    importer: str
    arch: str
    backbone: str
    options: dict[str, Any]
    state: StateDict
    bands: list[str]
    stem_key: str | None
    normalization: PublishedNormalization | None
    input_size: int
    optional_keys: frozenset[str] = frozenset()
    dropped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class CheckpointImporter(abc.ABC):
    """One published checkpoint family.

    Attributes:
        name: Registry name (``--importer NAME``).
        description: One line: the family and the layout recognised.
        licence: Licence of the published weights, as found.
    """

    name: str = ""
    description: str = ""
    licence: str = ""

    @abc.abstractmethod
    def _prefix(self, state: Mapping[str, torch.Tensor]) -> str | None:
        """The key prefix of this family's tensors in ``state`` (maybe ``""``), or None."""

    def matches(self, state: Mapping[str, torch.Tensor]) -> bool:
        """Whether ``state`` has this family's key names and shapes (see ``_prefix``)."""
        return self._prefix(state) is not None

    def _matched_prefix(self, state: Mapping[str, torch.Tensor]) -> str:
        """``_prefix(state)`` of a state dict that :meth:`matches` (checked)."""
        prefix = self._prefix(state)
        assert prefix is not None, "convert() called on a state dict that does not match"
        return prefix

    @abc.abstractmethod
    def convert(self, state: Mapping[str, torch.Tensor]) -> Converted:
        """``state`` in the key names of the eoforge model it maps to.

        Raises:
            ConfigError: When ``state`` is of the family but not convertible.
        """


def stem_for_bands(
    weight: torch.Tensor, source_bands: Sequence[str], target_bands: Sequence[str]
) -> torch.Tensor:
    """The input weight ``[O, C, ...]`` for ``target_bands`` (channels on dim 1).

    Args:
        weight: Checkpoint input weight, ``C == len(source_bands)``.
        source_bands: Canonical names of the checkpoint's channels.
        target_bands: Canonical names of the wanted channels.

    Returns:
        ``weight[:, index]`` for each target band when all of them are
        checkpoint bands (exact copies, any order or subset), else
        :func:`~eoforge.models.stems.adapt_stem`'s adapted weight.
    """
    sources = list(source_bands)
    if all(band in sources for band in target_bands):
        index = torch.tensor([sources.index(band) for band in target_bands])
        return weight.index_select(1, index).clone()
    return adapt_stem(weight, sources, list(target_bands))


def with_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> StateDict:
    """Entries of ``state`` whose key starts with ``prefix``, the prefix removed."""
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def find_prefix(
    state: Mapping[str, torch.Tensor], suffix: str, prefixes: Sequence[str]
) -> str | None:
    """The first of ``prefixes`` for which ``prefix + suffix`` is a key, or None."""
    return next((p for p in prefixes if p + suffix in state), None)
