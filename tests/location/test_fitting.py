"""The location encoder fitted to a known smooth field on the sphere, against a naive MLP.

The field (``field.temperature``) has anomalies on the antimeridian and over
both polar caps. The encoder + a linear head, fitted on 2,000 random places,
must reach R² >= 0.9 on held-out places, also on held-out places crowded
within 10° of ±180° or poleward of 75°.

No seam, no pole distortion: the sphere is also rotated (places and field
together) so that the antimeridian lands on 0°, or the north pole on the
equator, and the encoder is fitted again from the same seed. Its residuals
on the crowded places where they now lie must stay within
:data:`SEAM_FACTOR` of the first fit's: the encoder treats the seam and the
poles like any other place. The naive ``(lon, lat)`` MLP shows what the
harmonics avoid: its prediction jumps at ±180° and varies with longitude at
the poles.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from tests.location.field import (
    RawMLP,
    fit,
    half_turn,
    places,
    polar_places,
    pole_to_equator,
    r2,
    rmse,
    seam_places,
    temperature,
)
from torch import Tensor, nn

from eoforge.location import LocationEncoder

SEAM_FACTOR = 1.5
"""Residuals at the seam or the poles may be at most this many times those of the same
content placed elsewhere."""

Predict = Callable[[Tensor], Tensor]


def _fit_encoder(train: Tensor, values: Tensor) -> Predict:
    torch.manual_seed(0)
    model = nn.Sequential(LocationEncoder(10, 64, 2, 32, w0_initial=10.0), nn.Linear(32, 1))
    return fit(model, train, values, steps=300, lr=3e-3)


def _probes(predict: Predict) -> tuple[float, float, float]:
    """Mean jump across ±180°, the same across 0° (0.02° apart), and spread at the north pole."""
    lat = torch.linspace(-89.0, 89.0, 179, dtype=torch.float64)
    at = lambda lon: predict(torch.stack([torch.full_like(lat, lon), lat], 1))  # noqa: E731
    seam = float((at(179.99) - at(-179.99)).abs().mean())
    zero = float((at(0.01) - at(-0.01)).abs().mean())
    lon = torch.linspace(-180.0, 179.0, 360, dtype=torch.float64)
    pole = predict(torch.stack([lon, torch.full_like(lon, 90.0)], 1))
    return seam, zero, float(pole.std())


def test_encoder_fits_a_smooth_field_without_seams() -> None:
    generator = torch.Generator().manual_seed(0)
    train, test = places(2000, generator), places(1000, generator)
    seam, polar = seam_places(500, generator), polar_places(500, generator)
    values = temperature(train)

    predict = _fit_encoder(train, values)
    scores = {name: r2(predict(p), temperature(p)) for name, p in
              (("held-out", test), ("seam", seam), ("polar", polar))}  # fmt: skip
    assert min(scores.values()) >= 0.9, scores

    errors = {"seam": rmse(predict(seam), temperature(seam))}
    errors["polar"] = rmse(predict(polar), temperature(polar))
    moved = _fit_encoder(half_turn(train), values)
    errors["seam moved to 0°"] = rmse(moved(half_turn(seam)), temperature(seam))
    moved = _fit_encoder(pole_to_equator(train), values)
    errors["polar moved to the equator"] = rmse(moved(pole_to_equator(polar)), temperature(polar))
    print(f"R² {scores}; RMSE {errors}")
    assert errors["seam"] <= SEAM_FACTOR * errors["seam moved to 0°"]
    assert errors["polar"] <= SEAM_FACTOR * errors["polar moved to the equator"]

    jump, across_zero, pole_spread = _probes(predict)
    torch.manual_seed(0)
    mlp = fit(RawMLP(64), train, values, steps=300, lr=3e-3)
    mlp_jump, mlp_zero, mlp_spread = _probes(mlp)
    print(f"jump at ±180°: encoder {jump:.2g} (at 0°: {across_zero:.2g}), "
          f"MLP {mlp_jump:.2g} (at 0°: {mlp_zero:.2g}); pole spread {pole_spread:.2g} vs "
          f"{mlp_spread:.2g}")  # fmt: skip
    assert jump <= 3 * across_zero  # across ±180° like across any meridian
    assert pole_spread < 1e-9
    assert mlp_jump > 100 * mlp_zero and mlp_jump > 100 * jump  # the MLP's seam
    assert mlp_spread > 0.05  # one pole, many values
