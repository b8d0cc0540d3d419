"""Band -> conditioning vector: what a spectral encoder knows about each input band.

Every band named to an encoder is first sorted into a *kind* from its registry
record (:func:`describe_band`):

* ``spectral``: optical, near/shortwave infrared, thermal and hyperspectral
  bands, i.e. a centre wavelength below 1 mm. Their vector is generated from
  Fourier features of the **log** centre wavelength and **log** bandwidth, so
  one smooth code covers 380 nm to 12.5 µm and a band sits near its spectral
  neighbours. A band without a bandwidth (generic RGB cameras) is taken as
  :data:`DEFAULT_BANDWIDTH_NM` wide.
* ``radar``: a "wavelength" of 1 mm or more (SAR; the registry stores the
  radar wavelength, centimetres). Radar bands get one learned vector per
  polarisation (``VV``, ``VH``, ``HH``, ``HV``); the radar frequency is not
  encoded (the registry holds C-band only).
* ``elevation``: bands of the ``DEM`` sensor (``dsm``, ``dtm``, ``ndsm``), one
  learned vector each.

Anything else (quality-flag bands such as ``L8.QA_PIXEL``, unknown names, a
radar band without a known polarisation) raises
:class:`~eoforge.errors.ConfigError` naming the band and what to do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import torch
from torch import nn

from eoforge.errors import ConfigError, EoforgeError
from eoforge.sensors import Band, get_band

BandKind = Literal["spectral", "radar", "elevation"]
"""How a band is embedded (see the module docstring)."""

RADAR_MIN_WAVELENGTH_NM = 1e6
"""Centre wavelengths from 1 mm up are microwaves: the band is radar."""

DEFAULT_BANDWIDTH_NM = 100.0
"""Bandwidth assumed for spectral bands the registry gives none (RGB cameras)."""

WAVELENGTH_RANGE_NM = (300.0, 15000.0)
"""Log-wavelength interval mapped onto ``[0, 1]`` before the Fourier features."""

BANDWIDTH_RANGE_NM = (1.0, 3000.0)
"""Log-bandwidth interval mapped onto ``[0, 1]``."""

POLARISATIONS = ("VV", "VH", "HH", "HV")
ELEVATION_IDS = ("dsm", "dtm", "ndsm")
ELEVATION_SENSOR = "DEM"

LEARNED_KEYS: tuple[str, ...] = (
    *(f"radar_{p.lower()}" for p in POLARISATIONS),
    *(f"elevation_{e}" for e in ELEVATION_IDS),
)
"""Names of the learned vectors (state-dict keys ``learned.<key>``)."""


@dataclass(frozen=True)
class BandDescriptor:
    """What the encoder uses of one band.

    Attributes:
        name: Canonical band name, e.g. ``"S2.B05"``.
        kind: ``"spectral"``, ``"radar"`` or ``"elevation"``.
        wavelength_nm: Centre wavelength (spectral bands), else None.
        bandwidth_nm: Full width of the pass band (spectral bands; the default
            when the registry has none), else None.
        learned_key: Key of the learned vector (radar and elevation), else None.
    """

    name: str
    kind: BandKind
    wavelength_nm: float | None = None
    bandwidth_nm: float | None = None
    learned_key: str | None = None


def _cannot_embed(band: Band, why: str) -> ConfigError:
    return ConfigError(
        f"the spectral encoder cannot embed band {band.name}: {why}.",
        fix="drop it from the encoder's bands (or from model.in_bands); the encoder embeds "
        "optical/thermal/hyperspectral bands with a wavelength, SAR polarisations "
        f"{'/'.join(POLARISATIONS)} and DEM bands {'/'.join(ELEVATION_IDS)}.",
    )


@lru_cache(maxsize=4096)
def _describe(band: Band) -> BandDescriptor:
    wavelength = band.center_wavelength_nm
    if band.sensor.upper() == ELEVATION_SENSOR:
        if band.id.lower() not in ELEVATION_IDS:
            raise _cannot_embed(band, "an elevation band without a learned embedding")
        return BandDescriptor(band.name, "elevation", learned_key=f"elevation_{band.id.lower()}")
    if wavelength is None:
        raise _cannot_embed(
            band, "it has no wavelength (a quality or flag band, not a measurement)"
        )
    if wavelength >= RADAR_MIN_WAVELENGTH_NM:
        polarisation = band.id.upper()
        if polarisation not in POLARISATIONS:
            raise _cannot_embed(band, f"radar band of unknown polarisation {band.id!r}")
        return BandDescriptor(band.name, "radar", learned_key=f"radar_{polarisation.lower()}")
    if wavelength <= 0:
        raise _cannot_embed(band, f"its centre wavelength {wavelength:g} nm is not positive")
    bandwidth = band.bandwidth_nm if band.bandwidth_nm else DEFAULT_BANDWIDTH_NM
    return BandDescriptor(band.name, "spectral", wavelength, bandwidth)


def describe_band(band: str | Band) -> BandDescriptor:
    """Kind and embedding inputs of ``band``.

    Args:
        band: Canonical name or alias resolvable without a sensor (``"S2.B05"``,
            ``"L8.nir"``), or a :class:`~eoforge.sensors.Band` record (e.g. one
            built from a hyperspectral product's own wavelength table).

    Returns:
        The descriptor.

    Raises:
        ConfigError: Unknown or ambiguous name, or a band the encoder cannot
            embed (no wavelength and not elevation; radar of unknown
            polarisation).
    """
    try:
        record = get_band(band)
    except EoforgeError as error:
        raise ConfigError(
            f"the spectral encoder cannot embed band {band!r}: {error.reason}",
            fix=error.fix or "name bands as the sensor registry does, e.g. S2.B04 or L8.B5.",
        ) from None
    return _describe(record)


def _unit_log(values: torch.Tensor, bounds: tuple[float, float]) -> torch.Tensor:
    low, high = math.log(bounds[0]), math.log(bounds[1])
    return (values.log() - low) / (high - low)


def fourier_features(position: torch.Tensor, frequencies: torch.Tensor) -> torch.Tensor:
    """``sin`` and ``cos`` of ``2 pi f x`` for every position and frequency.

    Args:
        position: ``[C]`` positions (unitless, about ``[0, 1]``).
        frequencies: ``[F]`` frequencies in cycles per unit.

    Returns:
        ``[C, 2F]``: the sines, then the cosines.
    """
    angles = 2 * math.pi * position[:, None] * frequencies[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class BandEmbedding(nn.Module):
    """Conditioning vectors ``[C, dim]`` for a list of band names.

    Spectral bands: Fourier features of the log centre wavelength
    (``num_frequencies`` frequencies, geometric from 0.25 to
    ``max_frequency`` cycles over 300 nm - 15 µm) and of the log bandwidth
    (4 frequencies, 0.25 to 2 cycles over 1 - 3000 nm), projected linearly to
    ``dim``. The frequencies are capped so that neighbouring bands get
    correlated features (at ``max_frequency`` 8 one cycle spans a factor
    1.6 in wavelength); the networks reading the vectors can still sharpen
    them. Radar and elevation bands: learned vectors (:data:`LEARNED_KEYS`),
    initialised with about the spread of the spectral ones.

    Args:
        dim: Length of each band's vector.
        num_frequencies: Wavelength frequencies.
        max_frequency: Highest wavelength frequency, cycles per unit of log
            wavelength over :data:`WAVELENGTH_RANGE_NM`.
    """

    wavelength_frequencies: torch.Tensor
    bandwidth_frequencies: torch.Tensor

    def __init__(
        self, dim: int = 128, num_frequencies: int = 16, max_frequency: float = 8.0
    ) -> None:
        super().__init__()
        if dim < 1 or num_frequencies < 1 or max_frequency <= 0:
            raise ConfigError(
                f"band embedding: dim {dim}, num_frequencies {num_frequencies} and "
                f"max_frequency {max_frequency} must be positive.",
                fix="pass positive sizes.",
            )
        self.dim = dim
        wavelength_freqs = torch.logspace(
            math.log10(0.25), math.log10(max_frequency), num_frequencies
        )
        self.register_buffer("wavelength_frequencies", wavelength_freqs, persistent=False)
        self.register_buffer(
            "bandwidth_frequencies", torch.tensor([0.25, 0.5, 1.0, 2.0]), persistent=False
        )
        self.project = nn.Linear(2 * num_frequencies + 8, dim)
        # std 0.4: about the spread of the projected spectral features at initialisation.
        self.learned = nn.ParameterDict(
            {key: nn.Parameter(0.4 * torch.randn(dim)) for key in LEARNED_KEYS}
        )

    def spectral(self, wavelength_nm: torch.Tensor, bandwidth_nm: torch.Tensor) -> torch.Tensor:
        """Vectors ``[C, dim]`` of spectral bands from ``[C]`` wavelengths and bandwidths (nm)."""
        wavelength = fourier_features(
            _unit_log(wavelength_nm, WAVELENGTH_RANGE_NM), self.wavelength_frequencies
        )
        bandwidth = fourier_features(
            _unit_log(bandwidth_nm, BANDWIDTH_RANGE_NM), self.bandwidth_frequencies
        )
        projected: torch.Tensor = self.project(torch.cat([wavelength, bandwidth], dim=1))
        return projected

    def forward(self, bands: Sequence[str | Band]) -> torch.Tensor:
        """Conditioning vectors of ``bands``.

        Args:
            bands: Band names (or records), in input channel order.

        Returns:
            ``[C, dim]`` on the module's device and dtype.

        Raises:
            ConfigError: No bands, or a band that cannot be embedded
                (:func:`describe_band`).
        """
        if not bands:
            raise ConfigError(
                "the spectral encoder got no bands.", fix="name at least one input band."
            )
        described = [describe_band(band) for band in bands]
        weight = self.project.weight
        spectral = [d for d in described if d.kind == "spectral"]
        rows: list[torch.Tensor] = []
        if spectral:
            numbers = torch.tensor(
                [[d.wavelength_nm, d.bandwidth_nm] for d in spectral],
                device=weight.device,
                dtype=weight.dtype,
            )
            rows = list(self.spectral(numbers[:, 0], numbers[:, 1]).unbind(0))
        spectral_rows = iter(rows)
        vectors = torch.stack(
            [
                self.learned[d.learned_key] if d.learned_key is not None else next(spectral_rows)
                for d in described
            ]
        )
        if self.training:
            # Every parameter joins the graph, with a zero gradient where its bands are absent
            # (the radar vectors on a Sentinel-2 batch): DDP's reducer expects a gradient for
            # each parameter on every rank and would stop otherwise.
            unused = sum(v.sum() for v in self.learned.values()) + self.project.bias.sum()
            vectors = vectors + 0.0 * (unused + weight.sum())
        return vectors
