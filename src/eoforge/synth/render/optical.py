"""Optical rendering (Sentinel-2, Landsat 8/9): reflectance, terrain light, clouds, PSF."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter

from eoforge.synth.render.acquisition import Acquisition
from eoforge.synth.render.clouds import opacity, shadow
from eoforge.synth.render.reflectance import illumination, surface
from eoforge.synth.render.spectra import THERMAL, spectrum
from eoforge.synth.world import legend
from eoforge.synth.world.phenology import air_temperature
from eoforge.synth.world.sampling import Samples

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

#: Gaussian PSF sigma in output pixels (MTF near 0.3 at Nyquist).
PSF_SIGMA = 0.45
#: Sentinel-1 PSF sigma in output pixels (kept here so one halo serves both).
SAR_PSF_SIGMA = 0.5
#: Residual darkening inside a cloud shadow (diffuse light remains).
SHADOW_DEPTH = 0.7
LAPSE_RATE = 0.0065


@dataclass(frozen=True)
class OpticalBlock:
    """Rendered optical block before noise and encoding.

    Attributes:
        reflectance: Top-of-canopy reflectance incl. clouds, float32 (B, H, W).
        cloud: Cloud opacity averaged over each pixel, (H, W).
        shadow: Shadow strength averaged over each pixel, (H, W).
        temperature: Brightness temperature in K if asked for, else None, (H, W).
    """

    reflectance: F32
    cloud: F32
    shadow: F32
    temperature: F32 | None


def halo_for(factor: int) -> int:
    """Samples of halo needed by the widest blur (S1 PSF, truncated at 4 sigma) and slopes."""
    widest = max(PSF_SIGMA, SAR_PSF_SIGMA) * factor
    return int(4.0 * widest + 0.5) + 2


def _blur(values: F32, sigma: float) -> F32:
    out: F32 = gaussian_filter(values, sigma=(0, sigma, sigma), mode="nearest")
    return out


def render(samples: Samples, centers: F64, acq: Acquisition, thermal: bool = False) -> OpticalBlock:
    """Render reflectance (and optionally temperature) for a block.

    Args:
        samples: Ground on the block's sub-pixel grid (halo from :func:`halo_for`).
        centers: Band centres, micrometres, shape (B,).
        acq: Acquisition geometry and clouds.
        thermal: Whether to also compute brightness temperature.

    Returns:
        The :class:`OpticalBlock`.
    """
    g = samples.ground
    refl = surface(g, centers, acq.doy, samples.x, samples.y, acq.seed)
    refl *= illumination(g.terrain, samples.spacing, acq.zenith, acq.azimuth)
    cloud = opacity(acq.deck, samples.x, samples.y)
    shade = shadow(acq.deck, samples.x, samples.y) * (1.0 - cloud)
    refl *= (1.0 - SHADOW_DEPTH * shade).astype(np.float32)
    cloud32 = cloud.astype(np.float32)
    refl = refl * (1.0 - cloud32) + spectrum("cloud", centers)[:, None, None] * cloud32
    refl = _blur(refl, PSF_SIGMA * samples.factor)
    temperature = None
    if thermal:
        temp = _temperature(samples, acq, cloud)
        temperature = samples.reduce(_blur(temp[None], PSF_SIGMA * samples.factor))[0]
    return OpticalBlock(
        reflectance=samples.reduce(refl),
        cloud=samples.reduce(cloud32),
        shadow=samples.reduce(shade.astype(np.float32)),
        temperature=temperature,
    )


def _temperature(samples: Samples, acq: Acquisition, cloud: F64) -> F32:
    """Brightness temperature (K) of the surface mixed with cold cloud tops."""
    g = samples.ground
    offset = np.zeros(256, dtype=np.float64)
    emissivity = np.ones(256, dtype=np.float64)
    for value, (delta, eps) in THERMAL.items():
        offset[value], emissivity[value] = delta, eps
    air = air_temperature(acq.doy)
    surface_t = air + offset[g.cls] - LAPSE_RATE * (g.terrain - 200.0)
    surface_t = surface_t + 2.0 * (g.patch - 0.5) * (g.cls != legend.WATER)
    brightness = surface_t * emissivity[g.cls] ** 0.25
    cloud_top = air - LAPSE_RATE * (acq.deck.height + 1500.0) - 5.0
    out: F32 = (brightness * (1.0 - cloud) + cloud_top * cloud).astype(np.float32)
    return out


def cloud_codes(block: OpticalBlock) -> U8:
    """Cloud-mask codes of a rendered block from its cloud and shadow fractions.

    Args:
        block: The rendered block (fractions (H, W), 0-1).

    Returns:
        uint8 codes (H, W): cloud where opacity > 0.5, else shadow where its
        strength > 0.35, else clear (:data:`~eoforge.synth.world.legend.CLOUD_MASK`).
    """
    mask = np.full(block.cloud.shape, legend.CLOUD_CLEAR, dtype=np.uint8)
    mask[block.shadow > 0.35] = legend.CLOUD_SHADOW
    mask[block.cloud > 0.5] = legend.CLOUD
    return mask
