"""A documented sensor model: the low-resolution image a coarser sensor makes of a fine one.

For a high-resolution image ``hr`` ``[C, H, W]`` (reflectance) and a scale
``s``, :func:`degrade` applies, in this order:

1. a sub-pixel shift ``(dy, dx)`` (high-resolution pixels, drawn uniformly in
   ``[-max_shift, max_shift]``; cubic-spline interpolation, edges mirrored):
   the revisit's misregistration;
2. a Gaussian point-spread function whose standard deviation follows from the
   modulation transfer function at the low-resolution Nyquist frequency
   ``f_N = 1 / (2 s)`` cycles per high-resolution pixel: a Gaussian PSF has
   ``MTF(f) = exp(-2 pi^2 sigma^2 f^2)``, so
   ``sigma = (s / pi) * sqrt(-2 ln MTF(f_N))`` high-resolution pixels
   (``mtf = 0.3``, ``s = 4``: sigma = 1.98 px);
3. area downsampling: each low-resolution pixel is the mean of its ``s x s``
   high-resolution pixels, so the low-resolution grid has pixels ``s`` times
   larger with the same origin (pixel ``(i, j)`` covers rows ``i s .. i s + s - 1``);
4. optional clouds: a fractal opacity field covering about ``clouds`` of the
   image blends every band towards ``cloud_reflectance``; pixels with
   opacity above 1 % are not clear;
5. noise: Poisson shot noise with ``photons`` photo-electrons per unit
   reflectance (None: none) and additive Gaussian noise of ``noise_std``
   reflectance.

Every draw comes from ``numpy.random.default_rng(seed)``: the same seed gives
the same image.

Where the parameters of the super-resolution benchmarks come from (Sentinel-2
10 m bands seen from a 2.5 m scene, ``scale = 4``; the dataclass defaults are
neutral, each benchmark states its model):

* ``mtf = 0.3``: Sentinel-2 MSI's requirement for the MTF of the 10 m bands at
  Nyquist is 0.15-0.3; 0.3 is its sharp end.
* ``noise_std = 0.002``: the 10 m bands' SNR requirement at their reference
  radiances (about 140-175 at roughly 0.2-0.35 reflectance) gives about
  0.0015-0.002 reflectance.
* ``max_shift``: per-revisit misregistration. ESA's data quality reports give
  Sentinel-2's multi-temporal registration since the Global Reference Image
  refinement (April 2021) as better than 5 m at 95.5 % between products of
  different orbits and 3 m within one orbit (the mission requirement is
  0.3 px, 3 m, at 2 sigma; before 2021, 12 m). A 95.5 % circular error ``r``
  between two products is a per-axis sigma of ``r / (2.49 sqrt 2)`` for each
  product: 0.85 m (one orbit) and 1.42 m (several), i.e. a uniform
  ``[-max_shift, max_shift]`` (sigma ``max_shift / sqrt 3``) with
  ``max_shift`` = 0.59 and 0.98 target pixels. The benchmarks keep ``0.5``
  (revisits of one orbit) as their default and report ``1.2`` (sigma 1.7 m:
  revisits mixing orbits, with a margin) beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from eoforge.errors import ConfigError
from eoforge.synth.world.noise import fbm, salt_of

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SensorModel:
    """How a coarser sensor sees a fine image (see the module docstring for the order).

    Attributes:
        scale: High-resolution pixels per low-resolution pixel, per axis (2, 3, 4...).
        mtf: Modulation transfer function at the low-resolution Nyquist
            frequency, in (0, 1) (Sentinel-2 specifies about 0.15-0.3).
        max_shift: Largest sub-pixel shift, high-resolution pixels.
        noise_std: Standard deviation of the additive Gaussian noise, reflectance.
        photons: Photo-electrons per unit reflectance for Poisson noise (None: none).
        clouds: Share of the image under cloud, 0-0.9.
        cloud_reflectance: Reflectance of an opaque cloud, every band.
    """

    scale: int = 4
    mtf: float = 0.3
    max_shift: float = 0.0
    noise_std: float = 0.002
    photons: float | None = None
    clouds: float = 0.0
    cloud_reflectance: float = 0.6

    def __post_init__(self) -> None:
        if self.scale < 1:
            raise ConfigError(f"scale {self.scale} < 1.", fix="use 2, 3, 4 or more.")
        if not 0 < self.mtf < 1:
            raise ConfigError(f"mtf {self.mtf} is not in (0, 1).", fix="use e.g. 0.3.")
        if not 0 <= self.clouds <= 0.9:
            raise ConfigError(f"clouds {self.clouds} is not in [0, 0.9].", fix="use e.g. 0.2.")
        if self.noise_std < 0 or self.max_shift < 0 or (self.photons or 1) <= 0:
            raise ConfigError(
                "noise_std and max_shift must be >= 0 and photons > 0.",
                fix="give non-negative noise and shifts.",
            )

    @property
    def sigma(self) -> float:
        """Standard deviation of the Gaussian PSF, high-resolution pixels."""
        return self.scale / math.pi * math.sqrt(-2 * math.log(self.mtf))

    def describe(self) -> dict[str, object]:
        """The model's parameters, JSON-ready (with the PSF sigma it implies)."""
        return {
            "scale": self.scale,
            "mtf": self.mtf,
            "psf_sigma_hr_px": round(self.sigma, 4),
            "max_shift": self.max_shift,
            "noise_std": self.noise_std,
            "photons": self.photons,
            "clouds": self.clouds,
            "cloud_reflectance": self.cloud_reflectance,
        }


@dataclass(frozen=True)
class Degraded:
    """One low-resolution view of a fine image.

    Attributes:
        image: ``[C, H / s, W / s]`` float32 reflectance.
        clear: ``[H / s, W / s]`` pixels free of cloud.
        shift: The ``(dy, dx)`` applied, high-resolution pixels.
    """

    image: F32
    clear: npt.NDArray[np.bool_]
    shift: tuple[float, float]


def area_downsample(image: npt.NDArray[np.floating], scale: int) -> F32:
    """Mean of every ``scale x scale`` block of ``image`` ``[C, H, W]`` (H, W multiples of it)."""
    c, h, w = image.shape
    blocks = image.reshape(c, h // scale, scale, w // scale, scale)
    out: F32 = blocks.mean(axis=(2, 4), dtype=np.float64).astype(np.float32)
    return out


def degrade(
    hr: npt.NDArray[np.floating],
    model: SensorModel,
    seed: int = 0,
    shift: tuple[float, float] | None = None,
) -> Degraded:
    """The low-resolution image ``model`` makes of ``hr``.

    Args:
        hr: ``[C, H, W]`` reflectance; ``H`` and ``W`` multiples of ``model.scale``.
        model: The sensor model.
        seed: Seed of the shift, clouds and noise.
        shift: ``(dy, dx)`` to apply instead of the drawn one, high-resolution
            pixels (the draw still happens, so clouds and noise of a seed do not
            change); None: the drawn shift.

    Returns:
        The degraded image, its clear mask and the shift applied.

    Raises:
        ConfigError: A side is not a multiple of the scale, or the image holds NaN.
    """
    s = model.scale
    if hr.ndim != 3 or hr.shape[1] % s or hr.shape[2] % s:
        raise ConfigError(
            f"a {tuple(hr.shape)} image cannot be downsampled by {s}: sides must be multiples.",
            fix=f"crop the image to multiples of {s} first.",
        )
    if not np.isfinite(hr).all():
        raise ConfigError("the image holds NaN or inf.", fix="fill or crop invalid pixels first.")
    rng = np.random.default_rng(seed)
    dy, dx = (float(v) for v in rng.uniform(-model.max_shift, model.max_shift, 2))
    if shift is not None:
        dy, dx = (float(v) for v in shift)
    x = hr.astype(np.float64)
    if dy or dx:
        x = np.stack([ndimage.shift(b, (dy, dx), order=3, mode="mirror") for b in x])
    x = np.stack([ndimage.gaussian_filter(b, model.sigma, mode="mirror") for b in x])
    lr = area_downsample(x, s).astype(np.float64)
    clear = np.ones(lr.shape[1:], bool)
    if model.clouds > 0:
        opacity = _cloud_opacity(lr.shape[1:], model.clouds, int(rng.integers(2**31)))
        lr = lr * (1 - opacity) + model.cloud_reflectance * opacity
        clear = opacity < 0.01
    if model.photons is not None:
        lr = rng.poisson(np.clip(lr, 0, None) * model.photons) / model.photons
    if model.noise_std:
        lr = lr + rng.normal(0.0, model.noise_std, lr.shape)
    return Degraded(lr.astype(np.float32), clear, (dy, dx))


def _cloud_opacity(shape: tuple[int, ...], cover: float, seed: int) -> npt.NDArray[np.float64]:
    """A fractal opacity field in [0, 1] covering about ``cover`` of ``shape``."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    n = fbm(cols, rows, max(shape) / 2, salt_of(seed, "sr-clouds"))
    threshold = float(np.quantile(n, 1 - cover))
    result: npt.NDArray[np.float64] = np.clip((n - threshold) / 0.1, 0, 1)
    return result
