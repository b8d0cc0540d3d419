"""At-sensor radiance of an imaging spectrometer: sun, a simple atmosphere, CH4, sensor noise.

The model, band by band (``λ`` the band centre, band-averaged optical depths):

``L = E_sun(λ) · cos(SZA) / π · ρ(λ) · exp(-A · (τ_R + τ_H2O + τ_CO2 + τ_O2 + k·(C_bg + α)))``

* ``E_sun``: top-of-atmosphere solar irradiance approximated by a 5,778 K black
  body at 1 AU (no Fraunhofer lines), W m⁻² nm⁻¹.
* ``A``: the two-way air-mass factor ``1/cos(SZA) + 1/cos(VZA)``.
* ``τ_R``: Rayleigh optical depth ``0.0088 · λ_µm^-4.05``.
* ``τ_H2O``, ``τ_CO2``, ``τ_O2``: Gaussian envelopes of the main absorption bands
  (:data:`GAS_BANDS`; water vapour for ~1.5 cm of precipitable water). They are
  rounded, approximate shapes, enough to make the 1.4 and 1.9 µm windows opaque and to
  give the CH4 window its neighbouring water and CO2 structure; no line-by-line model.
* ``k``: the CH4 unit absorption spectrum (:mod:`eoforge.methane.absorption`),
  ``C_bg``: the background CH4 column (1.9 ppm over an 8 km scale height),
  ``α``: the plume enhancement, ppm·m.
* Omitted: path radiance, adjacency, aerosols, spectral smile.

Sensor: each detector column has its own gain per band (push-broom non-uniformity,
0.5 % standard deviation) and the noise is shot plus read noise, ``σ = sqrt(L ·
L_ref) / SNR`` with ``L_ref`` the radiance of a 25 % reflector. Radiance is written in
µW cm⁻² sr⁻¹ nm⁻¹ (the unit of EMIT and AVIRIS-NG L1B products).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from eoforge.methane.absorption import AbsorptionBand, unit_absorption

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

BACKGROUND_CH4_PPM_M = 1.9 * 8000.0
"""Background CH4 column: 1.9 ppm over an 8 km scale height, ppm·m."""

COLUMN_GAIN_SD = 0.005
"""Standard deviation of a detector column's relative gain per band."""

_H2O: tuple[AbsorptionBand, ...] = (
    AbsorptionBand(720.0, 0.04, 20.0, "H2O"),
    AbsorptionBand(820.0, 0.06, 25.0, "H2O"),
    AbsorptionBand(940.0, 0.45, 50.0, "H2O"),
    AbsorptionBand(1135.0, 0.70, 60.0, "H2O"),
    AbsorptionBand(1380.0, 5.00, 90.0, "H2O"),
    AbsorptionBand(1870.0, 5.00, 110.0, "H2O"),
    AbsorptionBand(2700.0, 3.00, 150.0, "H2O"),
)
_CO2: tuple[AbsorptionBand, ...] = (
    AbsorptionBand(1575.0, 0.02, 15.0, "CO2"),
    AbsorptionBand(1605.0, 0.03, 15.0, "CO2"),
    AbsorptionBand(2010.0, 0.30, 15.0, "CO2"),
    AbsorptionBand(2060.0, 0.25, 15.0, "CO2"),
)
_O2: tuple[AbsorptionBand, ...] = (AbsorptionBand(762.0, 0.8, 6.0, "O2 A"),)

GAS_BANDS = _H2O + _CO2 + _O2
"""Approximate vertical optical depths (strength = peak optical depth) of H2O, CO2 and O2."""

_SUN_K = 5778.0
_SUN_DILUTION = (6.957e8 / 1.496e11) ** 2  # (solar radius / 1 AU)^2
_W_M2_TO_UW_CM2 = 100.0


def solar_irradiance(centers_nm: F64) -> F64:
    """Top-of-atmosphere solar irradiance (5,778 K black body at 1 AU), W m⁻² nm⁻¹, ``(B,)``."""
    lam = centers_nm * 1e-9
    h, c, kb = 6.62607015e-34, 2.99792458e8, 1.380649e-23
    radiance = 2 * h * c**2 / lam**5 / np.expm1(h * c / (lam * kb * _SUN_K))  # W m-2 sr-1 m-1
    out: F64 = math.pi * radiance * _SUN_DILUTION * 1e-9
    return out


def gas_optical_depth(centers_nm: F64, fwhm_nm: F64) -> F64:
    """Vertical optical depth of Rayleigh scattering, H2O, CO2, O2 and background CH4, ``(B,)``."""
    rayleigh = 0.0088 * (centers_nm / 1000.0) ** -4.05
    gases = unit_absorption(centers_nm, fwhm_nm, table=GAS_BANDS, peak=1.0)
    ch4 = unit_absorption(centers_nm, fwhm_nm) * BACKGROUND_CH4_PPM_M
    out: F64 = rayleigh + gases + ch4
    return out


def radiance_factor(centers_nm: F64, fwhm_nm: F64, sun_zenith: float, air_mass: float) -> F64:
    """Radiance of a unit reflector through the atmosphere, µW cm⁻² sr⁻¹ nm⁻¹, ``(B,)``."""
    top = solar_irradiance(centers_nm) * math.cos(math.radians(sun_zenith)) / math.pi
    out: F64 = _W_M2_TO_UW_CM2 * top * np.exp(-air_mass * gas_optical_depth(centers_nm, fwhm_nm))
    return out


def at_sensor(
    reflectance: F32,
    enhancement: F32,
    factor: F64,
    absorption: F64,
    air_mass: float,
) -> F32:
    """Noise-free radiance ``[B, h, w]`` of reflectance ``[B, h, w]`` under plumes ``[h, w]``.

    Args:
        reflectance: Surface reflectance, 0-1.
        enhancement: CH4 enhancement over the background, ppm·m.
        factor: :func:`radiance_factor` of the bands.
        absorption: CH4 unit absorption of the bands, per ppm·m.
        air_mass: Two-way air-mass factor.
    """
    plume = np.exp(
        -air_mass * absorption.astype(np.float32)[:, None, None] * enhancement[None, :, :]
    )
    out: F32 = reflectance * factor.astype(np.float32)[:, None, None] * plume
    return out


def sensor_response(
    radiance: F32,
    gains: F32,
    reference: F64,
    snr: float,
    rng: np.random.Generator,
) -> F32:
    """Radiance as measured: per-column gains ``[B, w]`` and shot + read noise.

    Args:
        radiance: True radiance ``[B, h, w]``.
        gains: Relative gain of each band and detector column, ``[B, w]``.
        reference: Radiance of a 25 % reflector per band, ``(B,)``.
        snr: Signal-to-noise ratio at ``reference``.
        rng: Noise source.
    """
    measured = radiance * gains[:, None, :]
    sigma = np.sqrt(np.maximum(measured, 0.0) * reference.astype(np.float32)[:, None, None])
    sigma /= np.float32(snr)
    noise = rng.standard_normal(measured.shape, dtype=np.float32)
    out: F32 = measured + noise * sigma
    return out
