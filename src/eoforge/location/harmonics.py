"""Real spherical harmonics of places on the sphere: ``(lon, lat)`` degrees -> ``[N, L²]``.

The positional encoding of SatCLIP's location encoder: every real orthonormal
spherical harmonic ``Y_l^m`` of degree ``l < L`` evaluated at the point,
ordered by degree then order (``l = 0, m = 0``; ``l = 1, m = -1, 0, 1``; ...).
With the colatitude ``θ = 90° - lat`` and ``φ = lon``:

* ``Y_l^0 = P̄_l^0(cos θ)``
* ``Y_l^m = √2 P̄_l^m(cos θ) cos(mφ)`` and ``Y_l^{-m} = √2 P̄_l^m(cos θ) sin(mφ)`` for ``m > 0``

where ``P̄_l^m`` are the associated Legendre functions normalised so that each
``Y_l^m`` has unit norm on the unit sphere (``∫ Y² dΩ = 1``, no Condon-Shortley
phase). They come from the standard three-term recurrences on the normalised
functions (no factorials, no overflow at high degree); ``sin θ`` is
``cos(lat)`` (never ``√(1 - cos² θ)``, whose gradient is infinite at the poles).

Why these features have no seam and no pole distortion: longitude only enters
through ``cos(mφ)`` and ``sin(mφ)``, which are periodic, and longitudes are
first wrapped to ``[-180, 180)`` so ``-180°`` and ``180°`` are the same input;
every order ``m > 0`` carries the factor ``sin^m θ``, which vanishes at the
poles, so a pole has one encoding whatever its longitude.

Everything is computed with torch (differentiable, batched) in float64, and
nothing is cached between calls.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from eoforge.errors import ConfigError

MAX_DEGREE = 100
"""Largest ``L`` accepted (``L² = 10,000`` features)."""


def feature_count(degree: int) -> int:
    """Number of harmonics of degree below ``degree``: ``degree²``."""
    return degree * degree


def check_degree(degree: int) -> int:
    """``degree`` if it is an int in ``[1, MAX_DEGREE]``.

    Raises:
        ConfigError: Otherwise.
    """
    if isinstance(degree, bool) or not isinstance(degree, int) or not 1 <= degree <= MAX_DEGREE:
        raise ConfigError(
            f"spherical harmonics degree {degree!r} is not an integer in [1, {MAX_DEGREE}].",
            fix="use e.g. 10 (100 features) or 20 (400).",
        )
    return degree


def wrap_longitude(lon: Tensor) -> Tensor:
    """Longitudes in degrees wrapped to ``[-180, 180)`` (``180`` becomes ``-180``)."""
    return torch.remainder(lon + 180.0, 360.0) - 180.0


def legendre(degree: int, cos_theta: Tensor, sin_theta: Tensor) -> dict[tuple[int, int], Tensor]:
    """Normalised associated Legendre functions ``P̄_l^m`` for ``0 <= m <= l < degree``.

    Args:
        degree: ``L``; degrees ``0 .. L-1``.
        cos_theta: ``cos θ`` (``sin(lat)``), any shape.
        sin_theta: ``sin θ`` (``cos(lat)``, ``>= 0``), same shape.

    Returns:
        ``{(l, m): P̄_l^m}``, each shaped like the inputs, normalised so that
        ``2π ∫ P̄_l^m(x)² dx = 1`` over ``x ∈ [-1, 1]`` (times 2 for ``m > 0``
        once combined with ``√2 cos/sin``, see the module docstring).
    """
    p: dict[tuple[int, int], Tensor] = {
        (0, 0): torch.full_like(cos_theta, 0.5 / math.sqrt(math.pi))
    }
    for m in range(degree):
        if m > 0:  # the diagonal: P̄_m^m from P̄_{m-1}^{m-1}
            p[(m, m)] = math.sqrt((2 * m + 1) / (2 * m)) * sin_theta * p[(m - 1, m - 1)]
        if m + 1 < degree:
            p[(m + 1, m)] = math.sqrt(2 * m + 3) * cos_theta * p[(m, m)]
        for ell in range(m + 2, degree):
            a = math.sqrt((4 * ell * ell - 1) / (ell * ell - m * m))
            b = math.sqrt(((ell - 1) ** 2 - m * m) / (4 * (ell - 1) ** 2 - 1))
            p[(ell, m)] = a * (cos_theta * p[(ell - 1, m)] - b * p[(ell - 2, m)])
    return p


def spherical_harmonics(lon: Tensor, lat: Tensor, degree: int) -> Tensor:
    """Real orthonormal spherical harmonics of degree below ``degree`` at ``(lon, lat)``.

    Args:
        lon: Longitudes, degrees, shape ``[N]`` (any real value; wrapped).
        lat: Latitudes, degrees, shape ``[N]``, in ``[-90, 90]``.
        degree: ``L``; the result has ``L²`` features.

    Returns:
        ``[N, L²]`` float64, ordered by degree ``l`` then order ``m = -l .. l``.

    Raises:
        ConfigError: ``degree`` outside ``[1, MAX_DEGREE]``.
    """
    check_degree(degree)
    phi = torch.deg2rad(wrap_longitude(lon.to(torch.float64)))
    latitude = torch.deg2rad(lat.to(torch.float64))
    p = legendre(degree, torch.sin(latitude), torch.cos(latitude).clamp_min(0.0))
    cos_m = [torch.cos(m * phi) for m in range(degree)]
    sin_m = [torch.sin(m * phi) for m in range(degree)]
    root2 = math.sqrt(2.0)
    columns: list[Tensor] = []
    for ell in range(degree):
        columns += [root2 * p[(ell, m)] * sin_m[m] for m in range(ell, 0, -1)]
        columns.append(p[(ell, 0)])
        columns += [root2 * p[(ell, m)] * cos_m[m] for m in range(1, ell + 1)]
    return torch.stack(columns, dim=-1)


class SphericalHarmonics(nn.Module):
    """``(lon, lat)`` degrees ``[N, 2]`` -> real spherical harmonics ``[N, L²]`` (float64).

    Args:
        degree: ``L`` (degrees ``0 .. L-1``).

    Raises:
        ConfigError: ``degree`` outside ``[1, MAX_DEGREE]``.
    """

    def __init__(self, degree: int) -> None:
        super().__init__()
        self.degree = check_degree(degree)

    @property
    def features(self) -> int:
        """Output width ``L²``."""
        return feature_count(self.degree)

    def forward(self, lonlat: Tensor) -> Tensor:
        """Harmonics of the points ``lonlat`` ``[N, 2]`` (longitude, latitude; degrees)."""
        return spherical_harmonics(lonlat[..., 0], lonlat[..., 1], self.degree)
