"""Spherical harmonics: orthonormal on the sphere, continuous across ±180°, regular at the poles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from eoforge.errors import ConfigError
from eoforge.location.harmonics import SphericalHarmonics, spherical_harmonics


def _quadrature(degree: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gauss-Legendre nodes in sin(lat) times uniform longitudes: exact for these harmonics."""
    x, w = np.polynomial.legendre.leggauss(degree + 1)
    count = 2 * degree + 1
    lon = torch.arange(count, dtype=torch.float64) * 360.0 / count - 180.0
    lat = torch.rad2deg(torch.asin(torch.from_numpy(x)))
    grid_lat, grid_lon = torch.meshgrid(lat, lon, indexing="ij")
    weights = torch.from_numpy(w)[:, None].expand(-1, count) * (2 * math.pi / count)
    return grid_lon.reshape(-1), grid_lat.reshape(-1), weights.reshape(-1)


@pytest.mark.parametrize("degree", [1, 4, 20])
def test_harmonics_are_orthonormal_on_the_sphere(degree: int) -> None:
    lon, lat, weights = _quadrature(degree)
    y = spherical_harmonics(lon, lat, degree)
    assert y.shape == (lon.numel(), degree * degree) and y.dtype == torch.float64
    gram = (y * weights[:, None]).T @ y
    assert torch.allclose(gram, torch.eye(degree * degree, dtype=torch.float64), atol=1e-10)


def test_low_degrees_are_the_textbook_functions() -> None:
    lon = torch.tensor([10.0, -75.0, 140.0], dtype=torch.float64)
    lat = torch.tensor([30.0, -12.0, 61.0], dtype=torch.float64)
    y = spherical_harmonics(lon, lat, 2)
    phi, latitude = torch.deg2rad(lon), torch.deg2rad(lat)
    c = math.sqrt(3 / (4 * math.pi))
    assert torch.allclose(y[:, 0], torch.full_like(lon, 0.5 / math.sqrt(math.pi)))
    assert torch.allclose(y[:, 1], c * torch.cos(latitude) * torch.sin(phi))  # ~ y
    assert torch.allclose(y[:, 2], c * torch.sin(latitude))  # ~ z
    assert torch.allclose(y[:, 3], c * torch.cos(latitude) * torch.cos(phi))  # ~ x


def test_no_seam_at_the_antimeridian() -> None:
    degree = 10
    lat = torch.linspace(-89.0, 89.0, 179, dtype=torch.float64)
    at = lambda lon: spherical_harmonics(torch.full_like(lat, lon), lat, degree)  # noqa: E731
    assert torch.equal(at(180.0), at(-180.0))  # one place, one encoding
    assert torch.equal(at(540.0), at(-180.0))
    # 2e-5 degrees apart across the antimeridian: the same features within 1e-5
    assert float((at(179.99999) - at(-179.99999)).abs().max()) < 1e-5
    # 0.002 degrees apart: across ±180 the features change as much as across 0°, no more
    across_seam = (at(179.999) - at(-179.999)).abs().max()
    across_zero = (at(0.001) - at(-0.001)).abs().max()
    assert float(across_seam) < 1.01 * float(across_zero) + 1e-12


@pytest.mark.parametrize("pole", [90.0, -90.0])
def test_poles_have_one_encoding_whatever_the_longitude(pole: float) -> None:
    lon = torch.linspace(-180.0, 180.0, 361, dtype=torch.float64)
    y = spherical_harmonics(lon, torch.full_like(lon, pole), 12)
    assert float((y - y[0]).abs().max()) < 1e-12
    assert torch.isfinite(y).all()


def test_gradients_are_finite_everywhere_including_the_poles() -> None:
    points = torch.tensor(
        [[0.0, 90.0], [123.0, -90.0], [180.0, 0.0], [-180.0, 45.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    SphericalHarmonics(8)(points).sum().backward()
    assert points.grad is not None and torch.isfinite(points.grad).all()


def test_batched_shapes_and_bad_degrees() -> None:
    module = SphericalHarmonics(3)
    assert module.features == 9
    assert module(torch.zeros(5, 2)).shape == (5, 9)
    for bad in (0, 101, 2.5, True):
        with pytest.raises(ConfigError, match="degree"):
            SphericalHarmonics(bad)  # type: ignore[arg-type]
