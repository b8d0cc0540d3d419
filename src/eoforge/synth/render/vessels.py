"""Vessels in the Sentinel-1 images: bright point-like targets added to the sea clutter.

A vessel of length ``L`` has the radar cross-section (VV)

    sigma_VV(L) = 100 m^2 * (L / 15 m) ** 2.3

(20 dBsm at 15 m, 35 dBsm at 67 m, 50 dBsm at 300 m), and VH is
:data:`VH_BELOW_VV_DB` (8 dB) weaker. The cross-section is spread evenly
over the footprint (length x width), so the footprint's own sigma0 is
``sigma / (L * W)``: +4.3 dB VV at 15 m rising to +8.2 dB at 300 m, 26 to
30 dB above open water (-22 dB VV). Each pixel receives the share of the
footprint it covers (sampled 8 x 8 per pixel, rescaled so the shares sum to
the footprint's area), blurred by the same Gaussian PSF as the ground
(sigma 0.5 px), and that power is added to the ground's mean linear sigma0
before speckle. A 20 m vessel at 10 m pixels therefore lights 2-3 pixels;
speckle then multiplies vessel and sea alike.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter

from eoforge.synth.render.optical import SAR_PSF_SIGMA
from eoforge.synth.world.sampling import Window
from eoforge.synth.world.vessels import Vessel

F64 = npt.NDArray[np.float64]

#: Cross-section of a 15 m vessel in VV, m^2, and its growth exponent with length.
RCS_15M_M2 = 100.0
RCS_EXPONENT = 2.3
#: VH cross-section below VV, dB.
VH_BELOW_VV_DB = 8.0
#: Footprint samples per pixel along each axis.
SUPERSAMPLE = 8
#: Truncation of the PSF, in standard deviations, and the pixels it reaches.
PSF_TRUNCATE = 4.0
PSF_HALO = math.ceil(PSF_TRUNCATE * SAR_PSF_SIGMA) + 1


def rcs_m2(length: float) -> tuple[float, float]:
    """Radar cross-section of a vessel, VV and VH.

    Args:
        length: Length overall, metres.

    Returns:
        (VV, VH) cross-sections in m^2.
    """
    vv = RCS_15M_M2 * (length / 15.0) ** RCS_EXPONENT
    return vv, vv * 10 ** (-VH_BELOW_VV_DB / 10)


def footprint_sigma0(vessel: Vessel) -> tuple[float, float]:
    """Linear sigma0 over a vessel's footprint, VV and VH (cross-section / footprint area)."""
    area = vessel.length * vessel.width
    vv, vh = rcs_m2(vessel.length)
    return vv / area, vh / area


def _patch(vessel: Vessel, gsd: float) -> tuple[int, int, F64]:
    """A vessel's blurred footprint share per pixel around it.

    Returns:
        (row0, col0, shares): the patch's first row and column on the grid, and a
        float64 (h, w) array of footprint area per pixel area, summing to
        ``length * width / gsd**2``.
    """
    rect = vessel.rect
    reach = rect.radius() / gsd
    c0 = math.floor(rect.cx / gsd - reach) - PSF_HALO
    c1 = math.ceil(rect.cx / gsd + reach) + PSF_HALO
    r0 = math.floor(rect.cy / gsd - reach) - PSF_HALO
    r1 = math.ceil(rect.cy / gsd + reach) + PSF_HALO
    step = gsd / SUPERSAMPLE
    x: F64 = (c0 * SUPERSAMPLE + np.arange((c1 - c0) * SUPERSAMPLE, dtype=np.float64) + 0.5) * step
    y: F64 = (r0 * SUPERSAMPLE + np.arange((r1 - r0) * SUPERSAMPLE, dtype=np.float64) + 0.5) * step
    inside = rect.contains(x[None, :], y[:, None]).astype(np.float64)
    cover = inside.reshape(r1 - r0, SUPERSAMPLE, c1 - c0, SUPERSAMPLE).mean(axis=(1, 3))
    total = cover.sum()
    area = rect.length * rect.width / gsd**2
    if total > 0:
        cover *= area / total
    else:  # thinner than the samples: all of it in the centre pixel
        cover[math.floor(rect.cy / gsd) - r0, math.floor(rect.cx / gsd) - c0] = area
    blurred: F64 = gaussian_filter(cover, SAR_PSF_SIGMA, mode="constant", truncate=PSF_TRUNCATE)
    return r0, c0, blurred


def vessel_sigma0(window: Window, vessels: tuple[Vessel, ...]) -> F64:
    """Linear sigma0 the vessels add to each pixel of a window, VV and VH.

    Each vessel's patch is computed on the whole grid independently of the
    window, so a pixel gets the same value whichever block asks for it.

    Args:
        window: Output window on the S1 grid (pixel size ``window.gsd``).
        vessels: The date's vessels.

    Returns:
        float64 array (2, H, W), linear power to add before speckle.
    """
    out = np.zeros((2, window.height, window.width), dtype=np.float64)
    for vessel in vessels:
        reach = vessel.rect.radius() / window.gsd + PSF_HALO + 1
        col, row = vessel.rect.cx / window.gsd, vessel.rect.cy / window.gsd
        if (
            col + reach < window.col0
            or col - reach > window.col0 + window.width
            or row + reach < window.row0
            or row - reach > window.row0 + window.height
        ):
            continue
        r0, c0, share = _patch(vessel, window.gsd)
        top, left = max(r0, window.row0), max(c0, window.col0)
        bottom = min(r0 + share.shape[0], window.row0 + window.height)
        right = min(c0 + share.shape[1], window.col0 + window.width)
        if top >= bottom or left >= right:
            continue
        part = share[top - r0 : bottom - r0, left - c0 : right - c0]
        rows = slice(top - window.row0, bottom - window.row0)
        cols = slice(left - window.col0, right - window.col0)
        for pol, sigma0 in enumerate(footprint_sigma0(vessel)):
            out[pol, rows, cols] += sigma0 * part
    return out
