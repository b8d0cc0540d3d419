"""Spectral indices of the Awesome Spectral Indices catalogue, by band name, for any sensor.

The catalogue (Montero et al. 2023, shipped by the ``spyndex`` package: about 280
indices with their formulas, the standard bands they use and default constants)
names bands by letters (``N`` near infrared, ``R`` red, ``S1`` SWIR 1.6 µm,
``RE1`` red edge 0.71 µm, ``VV``/``VH`` SAR polarisations...). :func:`index_plan`
resolves those letters to an image's channels through the sensor registry:

1. a channel whose name or alias is the letter's STAC common name (``nir``,
   ``swir16``, ``rededge071``...) or, for SAR, the polarisation (``vv``);
2. else the channel whose centre wavelength lies in the letter's range, closest to
   the range's middle (e.g. Sentinel-2 ``B05`` at 704 nm for ``RE1``, 695-715 nm);
3. else an error naming the index, the band it needs and the image's bands.

Constants take the catalogue's defaults (``L = 1`` for EVI), except where eoforge
keeps the original author's value for an index (:data:`OVERRIDES`: SAVI's ``L = 0.5``,
Huete 1988); wavelength parameters (``lambdaN``...) take the resolved band's centre
wavelength in nm. Formulas are arithmetic expressions evaluated on tensors; a result
that is not finite where every input is finite (a zero denominator, such as
``(a - b) / (a + b)`` where both bands are 0) is 0, the value of "no signal".
Kernel indices (``kNN``...) and those needing a value with no default (``PAR``) are
refused with a message.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
from torch import Tensor

from eoforge.errors import BandNotFoundError, ConfigError
from eoforge.sensors import get_band

POLARISATIONS = ("HH", "HV", "VH", "VV")
"""SAR letters of the catalogue: matched to channels named or aliased so."""

OVERRIDES: dict[str, dict[str, float]] = {"SAVI": {"L": 0.5}}
"""Constants eoforge sets per index where the catalogue's shared default differs from
the index's own paper (SAVI: ``L = 0.5``, Huete 1988; the catalogue's ``L = 1`` is EVI's)."""

_ALLOWED = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.USub,
    ast.UAdd,
)


@dataclass(frozen=True)
class CatalogueIndex:
    """One index of the catalogue.

    Attributes:
        name: Catalogue short name (``NDVI``).
        long_name: Its full name.
        formula: Arithmetic expression over band letters and constants.
        bands: Band letters and constant names the formula uses.
        domain: Application domain (vegetation, water, burn, urban, soil, radar...).
        reference: Where it was published.
    """

    name: str
    long_name: str
    formula: str
    bands: tuple[str, ...]
    domain: str
    reference: str


@cache
def catalogue() -> dict[str, CatalogueIndex]:
    """Every index of the catalogue, by short name."""
    # spyndex loads only when a catalogue index is asked for: it imports requests (0.5 s)
    import spyndex

    return {
        name: CatalogueIndex(
            name,
            str(entry.long_name),
            str(entry.formula),
            tuple(str(b) for b in entry.bands),
            str(entry.application_domain),
            str(entry.reference),
        )
        for name, entry in spyndex.indices.items()
    }


@cache
def _letters() -> dict[str, tuple[str, float, float]]:
    """Band letter → (common name, min and max wavelength in nm)."""
    import spyndex  # (start-up time, as in catalogue())

    return {
        k: (str(b.common_name), float(b.min_wavelength), float(b.max_wavelength))
        for k, b in spyndex.bands.items()
    }


@cache
def _constants() -> dict[str, float | None]:
    import spyndex  # (start-up time, as in catalogue())

    table = spyndex.constants.items()
    return {k: (None if c.default is None else float(c.default)) for k, c in table}


def find_index(name: str) -> CatalogueIndex:
    """The catalogue index called ``name`` (any case).

    Raises:
        ConfigError: No such index, with close names.
    """
    table = catalogue()
    by_lower = {k.lower(): k for k in table}
    key = by_lower.get(name.lower())
    if key is None:
        close = difflib.get_close_matches(name.upper(), list(table), n=5, cutoff=0.6)
        hint = f" (close: {', '.join(close)})" if close else ""
        raise ConfigError(
            f"unknown spectral index {name!r}{hint}.",
            fix="use a short name of the Awesome Spectral Indices catalogue, e.g. NDVI, EVI, "
            'NDWI, NBR, VHVVR (`python -c "import spyndex; print(list(spyndex.indices))"`).',
        )
    return table[key]


def _names(channel: str) -> set[str]:
    names = {channel.lower()}
    try:
        band = get_band(channel)
    except BandNotFoundError:
        return names
    return names | {band.name.lower(), band.id.lower(), *(a.lower() for a in band.aliases)}


def _wavelength(channel: str) -> float | None:
    try:
        return get_band(channel).center_wavelength_nm
    except BandNotFoundError:
        return None


def resolve_letter(letter: str, bands: Sequence[str]) -> int | None:
    """The channel of ``bands`` that serves the catalogue's band ``letter``, or None."""
    if letter in POLARISATIONS:
        return next((i for i, b in enumerate(bands) if letter.lower() in _names(b)), None)
    common, low, high = _letters()[letter]
    for i, channel in enumerate(bands):
        if common in _names(channel):
            return i
    middle = (low + high) / 2
    inside = [
        (abs(w - middle), i)
        for i, channel in enumerate(bands)
        if (w := _wavelength(channel)) is not None and low <= w <= high
    ]
    return min(inside)[1] if inside else None


@dataclass(frozen=True)
class IndexPlan:
    """An index ready to compute on images with given channels.

    Attributes:
        index: The catalogue entry.
        channels: Band letter → channel position in the image.
        constants: Constant name → value.
    """

    index: CatalogueIndex
    channels: dict[str, int]
    constants: dict[str, float]

    def compute(self, image: Tensor) -> Tensor:
        """The index of ``image`` ``[..., C, H, W]`` as ``[..., H, W]`` float32 (NaN stays NaN)."""
        values: dict[str, Any] = {k: image[..., c, :, :].float() for k, c in self.channels.items()}
        values.update(self.constants)
        result = _evaluate(self.index.formula, values)
        if not isinstance(result, Tensor):
            result = torch.full(image.shape[:-3] + image.shape[-2:], float(result))
        finite_inputs = torch.ones_like(result, dtype=torch.bool)
        for c in set(self.channels.values()):
            finite_inputs &= torch.isfinite(image[..., c, :, :])
        return torch.where(torch.isfinite(result) | ~finite_inputs, result, 0.0)


def index_plan(name: str, bands: Sequence[str]) -> IndexPlan:
    """Resolve an index's bands and constants for images whose channels are ``bands``.

    Raises:
        ConfigError: An unknown index, a band no channel serves, a kernel index or a
            constant without a default.
    """
    index = find_index(name)
    letters = _letters()
    constants = _constants()
    channels: dict[str, int] = {}
    values: dict[str, float] = {}
    for symbol in index.bands:
        if symbol in letters or symbol in POLARISATIONS:
            found = resolve_letter(symbol, bands)
            if found is None:
                raise ConfigError(
                    f"index {index.name} needs {_describe(symbol)}; the image has {list(bands)}.",
                    fix="read a band of that range (named by its canonical name or alias), or "
                    "choose another index.",
                )
            channels[symbol] = found
        elif symbol.startswith("lambda"):
            channel = resolve_letter(symbol.removeprefix("lambda"), bands)
            wavelength = None if channel is None else _wavelength(bands[channel])
            if wavelength is None:
                raise ConfigError(
                    f"index {index.name} needs the wavelength of {symbol.removeprefix('lambda')}, "
                    f"which no band of {list(bands)} records.",
                    fix="use canonical band names the sensor registry knows.",
                )
            values[symbol] = wavelength
        elif symbol.startswith("k") and symbol[1:].isupper():
            raise ConfigError(
                f"index {index.name} is a kernel index ({symbol}): it needs kernel values "
                "computed from the bands, which eoforge does not provide.",
                fix="use the index's non-kernel counterpart (e.g. NDVI for kNDVI).",
            )
        else:
            value = OVERRIDES.get(index.name, {}).get(symbol, constants.get(symbol))
            if value is None:
                raise ConfigError(
                    f"index {index.name} needs the constant {symbol}, which has no default.",
                    fix="choose another index.",
                )
            values[symbol] = value
    return IndexPlan(index, channels, values)


def _describe(letter: str) -> str:
    if letter in POLARISATIONS:
        return f"the {letter} polarisation"
    common, low, high = _letters()[letter]
    return f"band {letter} ({common}, {low:g}-{high:g} nm)"


@cache
def _compiled(formula: str) -> Any:
    tree = ast.parse(formula, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ConfigError(
                f"the index formula {formula!r} uses {type(node).__name__}, not plain arithmetic.",
                fix="choose another index.",
            )
    return compile(tree, "<index>", "eval")


def _evaluate(formula: str, values: Mapping[str, Any]) -> Any:
    """Evaluate a checked arithmetic formula (no names but ``values``, no builtins)."""
    return eval(_compiled(formula), {"__builtins__": {}}, dict(values))
