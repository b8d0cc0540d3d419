"""The CH4 unit absorption spectrum: optical depth per ppm·m, on a sensor's bands.

**Source and approximation.** eoforge ships no HITRAN line list and downloads
nothing, so the spectrum is a documented Beer–Lambert approximation, not a
line-by-line calculation. The absorption of methane between 1.6 and 2.5 µm
is described by the envelopes of its main vibrational bands at roughly 10 nm
resolution, each a Gaussian in wavelength (:data:`CH4_BANDS`):

* the 2ν3 overtone near 1.66 µm (Q branch at ~1,666 nm, P and R wings);
* the ν2+ν3 combination near 2.20 µm;
* the ν3+ν4 (Q branch at ~2,320 nm) and ν1+ν4 (Q branch at ~2,370 nm)
  combinations that make the strong 2.3 µm window used by the AVIRIS-NG,
  EMIT, PRISMA and EnMAP matched filters.

The band positions follow from methane's fundamentals (ν1 2,917, ν2 1,534,
ν3 3,019, ν4 1,306 cm⁻¹). The relative strengths and widths are rounded
readings of the shape of published CH4 transmittance spectra at imaging-
spectrometer resolution (strongest absorption at 2.30–2.38 µm, the 1.65 µm
band about a third as strong); they are approximate. The absolute scale
(:data:`PEAK_OPTICAL_DEPTH`) is an order-of-magnitude estimate: one ppm·m of
methane is ~2.5e19 molecules m⁻² at sea-level air density, times a
band-averaged peak cross-section of ~1.6e-25 m² at ~10 nm resolution, i.e.
~4e-6 of vertical optical depth per ppm·m near 2,370 nm. Retrievals from real
data that need absolute ppm·m should use a HITRAN-derived spectrum (e.g. the
unit absorption spectra that the EMIT and mag1c projects publish) through
:func:`unit_absorption` 's ``table`` argument.

Convolution to a sensor: each band has a Gaussian spectral response of its
FWHM; a Gaussian envelope of FWHM ``w`` seen through it is again a Gaussian,
of FWHM ``sqrt(w² + fwhm²)`` and peak scaled by ``w / sqrt(w² + fwhm²)``, so
the band-averaged optical depth is exact for this model. Beer–Lambert is then
applied at the band level (``exp(-air_mass · k · enhancement)``), which ignores
the saturation of individual lines inside a band: another approximation,
stated in ``docs/methane.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eoforge.errors import ConfigError

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AbsorptionBand:
    """One Gaussian envelope of the CH4 absorption.

    Attributes:
        center_nm: Centre wavelength, nm.
        strength: Peak relative to the strongest envelope (0–1).
        fwhm_nm: Full width at half maximum of the envelope, nm.
        name: The vibrational band it stands for.
    """

    center_nm: float
    strength: float
    fwhm_nm: float
    name: str


CH4_BANDS: tuple[AbsorptionBand, ...] = (
    AbsorptionBand(1645.0, 0.10, 22.0, "2v3 R branch"),
    AbsorptionBand(1666.0, 0.33, 8.0, "2v3 Q branch"),
    AbsorptionBand(1685.0, 0.10, 20.0, "2v3 P branch"),
    AbsorptionBand(2200.0, 0.12, 35.0, "v2+v3"),
    AbsorptionBand(2290.0, 0.45, 30.0, "v3+v4 R branch"),
    AbsorptionBand(2320.0, 0.75, 10.0, "v3+v4 Q branch"),
    AbsorptionBand(2350.0, 0.55, 25.0, "v3+v4 P / v1+v4 R"),
    AbsorptionBand(2370.0, 1.00, 10.0, "v1+v4 Q branch"),
    AbsorptionBand(2400.0, 0.45, 30.0, "v1+v4 P branch"),
    AbsorptionBand(2440.0, 0.20, 40.0, "v2+v4 / v1+v4 wing"),
)
"""Approximate CH4 absorption envelopes at ~10 nm resolution (see the module text)."""

PEAK_OPTICAL_DEPTH = 4.0e-6
"""Vertical optical depth per ppm·m at the strongest envelope's peak (order of magnitude)."""

METHANE_WINDOW_NM = (2100.0, 2450.0)
"""The spectral window the matched filter uses by default (the 2.3 µm bands), nm."""


def unit_absorption(
    centers_nm: Sequence[float] | F64,
    fwhm_nm: Sequence[float] | F64,
    *,
    table: Sequence[AbsorptionBand] = CH4_BANDS,
    peak: float = PEAK_OPTICAL_DEPTH,
) -> F64:
    """Band-averaged CH4 optical depth per ppm·m (vertical path, one way).

    Args:
        centers_nm: Band centres, nm, shape ``(B,)``.
        fwhm_nm: Band FWHMs, nm, shape ``(B,)`` (each band a Gaussian response).
        table: Absorption envelopes (default: :data:`CH4_BANDS`).
        peak: Optical depth per ppm·m at a strength of 1.

    Returns:
        float64 ``(B,)``, ≥ 0: multiply by the air-mass factor and the enhancement in
        ppm·m for the band's slant optical depth.

    Raises:
        ConfigError: The arrays differ in length or a FWHM is not positive.
    """
    centers = np.asarray(centers_nm, dtype=np.float64)
    fwhm = np.asarray(fwhm_nm, dtype=np.float64)
    if centers.shape != fwhm.shape or centers.ndim != 1:
        raise ConfigError(
            f"{centers.size} band centres for {fwhm.size} FWHMs.",
            fix="give one centre and one FWHM per band.",
        )
    if np.any(~np.isfinite(fwhm) | (fwhm <= 0)):
        raise ConfigError(
            "a band FWHM is not a positive number.", fix="give each band's FWHM in nm (> 0)."
        )
    out = np.zeros_like(centers)
    for band in table:
        width = np.sqrt(band.fwhm_nm**2 + fwhm**2)
        sigma = width / (2.0 * np.sqrt(2.0 * np.log(2.0)))
        out += (
            peak
            * band.strength
            * (band.fwhm_nm / width)
            * np.exp(-0.5 * ((centers - band.center_nm) / sigma) ** 2)
        )
    return out


def air_mass_factor(sun_zenith_deg: float, view_zenith_deg: float = 0.0) -> float:
    """Two-way path length relative to the vertical: ``1/cos(SZA) + 1/cos(VZA)``.

    Raises:
        ConfigError: An angle is outside [0, 85) degrees.
    """
    for label, angle in (("sun", sun_zenith_deg), ("view", view_zenith_deg)):
        if not 0.0 <= angle < 85.0:
            raise ConfigError(
                f"a {label} zenith of {angle:g} degrees is outside [0, 85).",
                fix="give zenith angles in degrees from the vertical.",
            )
    return float(
        1.0 / np.cos(np.radians(sun_zenith_deg)) + 1.0 / np.cos(np.radians(view_zenith_deg))
    )
