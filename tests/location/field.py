"""A known smooth field on the sphere, places drawn on it, and small fitting loops.

The field is a synthetic "temperature": ``30 cos²(lat) - 10`` plus four
Gaussian anomalies in great-circle distance, one centred on the antimeridian
(180°E, 10°N), two over the polar caps (85°N and 80°S) and one elsewhere, so
a fit must be right across ±180° and at the poles.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

ANOMALIES = [  # (lon, lat, amplitude, width in degrees)
    (180.0, 10.0, 8.0, 25.0),
    (-100.0, -30.0, -6.0, 25.0),
    (0.0, 85.0, 5.0, 25.0),
    (60.0, -80.0, -7.0, 25.0),
]


def unit_vectors(points: Tensor) -> Tensor:
    """``[N, 2]`` (lon, lat; degrees) -> ``[N, 3]`` points on the unit sphere."""
    lon, lat = torch.deg2rad(points[:, 0]), torch.deg2rad(points[:, 1])
    return torch.stack(
        [torch.cos(lat) * torch.cos(lon), torch.cos(lat) * torch.sin(lon), torch.sin(lat)], 1
    )


def to_lonlat(unit: Tensor) -> Tensor:
    """``[N, 3]`` points on the unit sphere -> ``[N, 2]`` (lon, lat; degrees)."""
    lon = torch.rad2deg(torch.atan2(unit[:, 1], unit[:, 0]))
    return torch.stack([lon, torch.rad2deg(torch.asin(unit[:, 2].clamp(-1, 1)))], 1)


def pole_to_equator(points: Tensor) -> Tensor:
    """Rotate the sphere a quarter turn about the y axis: the north pole goes to (0°, 0°)."""
    u = unit_vectors(points.double())
    return to_lonlat(torch.stack([u[:, 2], u[:, 1], -u[:, 0]], 1))


def half_turn(points: Tensor) -> Tensor:
    """Rotate the sphere half a turn about its axis: the antimeridian goes to 0°."""
    moved = points.double().clone()
    moved[:, 0] = torch.remainder(moved[:, 0], 360.0) - 180.0
    return moved


def temperature(points: Tensor) -> Tensor:
    """The field at ``points`` ``[N, 2]``: ``[N]`` float64."""
    points = points.double()
    value = 30.0 * torch.cos(torch.deg2rad(points[:, 1])) ** 2 - 10.0
    unit = unit_vectors(points)
    for lon, lat, amplitude, width in ANOMALIES:
        centre = unit_vectors(torch.tensor([[lon, lat]], dtype=torch.float64))
        angle = torch.rad2deg(torch.arccos((unit @ centre.T).squeeze(1).clamp(-1, 1)))
        value = value + amplitude * torch.exp(-((angle / width) ** 2))
    return value


def places(
    count: int,
    generator: torch.Generator,
    lon: tuple[float, float] = (-180.0, 180.0),
    lat: tuple[float, float] = (-90.0, 90.0),
) -> Tensor:
    """``count`` places uniform on the sphere within a longitude and latitude band."""
    u = torch.rand(count, generator=generator, dtype=torch.float64)
    v = torch.rand(count, generator=generator, dtype=torch.float64)
    sin_low, sin_high = (torch.sin(torch.deg2rad(torch.tensor(x))) for x in lat)
    lats = torch.rad2deg(torch.asin(sin_low + (sin_high - sin_low) * v))
    lons = lon[0] + (lon[1] - lon[0]) * u
    return torch.stack([lons, lats], 1)


def seam_places(count: int, generator: torch.Generator) -> Tensor:
    """Places within 10° of the antimeridian on either side, latitudes in [-60, 60]."""
    near = places(count, generator, (170.0, 190.0), (-60.0, 60.0))
    near[:, 0] = torch.where(near[:, 0] >= 180.0, near[:, 0] - 360.0, near[:, 0])
    return near


def polar_places(count: int, generator: torch.Generator) -> Tensor:
    """Places poleward of 75°, half in each cap."""
    north = places(count // 2, generator, lat=(75.0, 90.0))
    south = places(count - count // 2, generator, lat=(-90.0, -75.0))
    return torch.cat([north, south])


def fit(
    model: nn.Module, inputs: Tensor, targets: Tensor, *, steps: int, lr: float
) -> Callable[[Tensor], Tensor]:
    """Fit ``model`` to standardised ``targets`` by full-batch Adam; returns the predictor."""
    mean, std = targets.mean(), targets.std()
    scaled = ((targets - mean) / std).float()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimiser.zero_grad()
        loss = ((model(inputs).squeeze(1) - scaled) ** 2).mean()
        loss.backward()
        optimiser.step()

    def predict(points: Tensor) -> Tensor:
        with torch.no_grad():
            return model(points).squeeze(1).double() * std + mean

    return predict


def r2(predicted: Tensor, truth: Tensor) -> float:
    """Coefficient of determination of ``predicted`` against ``truth``."""
    residual = ((predicted - truth) ** 2).sum()
    return float(1.0 - residual / ((truth - truth.mean()) ** 2).sum())


def rmse(predicted: Tensor, truth: Tensor) -> float:
    """Root mean square error."""
    return float(((predicted - truth) ** 2).mean().sqrt())


class RawMLP(nn.Module):
    """The naive baseline: ``(lon / 180, lat / 90)`` into a ReLU MLP."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1),
        )  # fmt: skip

    def forward(self, points: Tensor) -> Tensor:
        """``[N, 2]`` degrees -> ``[N, 1]``."""
        scale = torch.tensor([180.0, 90.0], dtype=points.dtype)
        output: Tensor = self.net((points / scale).float())
        return output
