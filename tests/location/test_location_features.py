"""Location embeddings of a batch's windows (the input side of location-aware tasks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from affine import Affine
from odc.geo.geobox import GeoBox
from pyproj import Transformer

from eoforge.data.collate import collate
from eoforge.errors import ConfigError
from eoforge.geo.grid import grid_to_sample
from eoforge.location import (
    LocationBundle,
    LocationImageModel,
    LocationSpec,
    encode,
    save_location_bundle,
)
from eoforge.location.features import LocationFeatures, batch_centres

SPEC = LocationSpec(degree=6, hidden=16, layers=1, dim=8)


def _sample(crs: str, lon: float, lat: float, size: int = 32) -> dict[str, object]:
    """A window of ``size`` 10 m pixels whose centre is at (lon, lat)."""
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    half = size * 10 / 2
    grid = GeoBox((size, size), Affine(10, 0, x - half, 0, -10, y + half), crs)
    return {"image": torch.zeros(3, size, size), **grid_to_sample(grid)}


def test_batch_centres_and_features_follow_each_window(tmp_path: Path) -> None:
    places = [
        (4.85, 45.75, "EPSG:32631"),
        (179.999, -17.0, "EPSG:32760"),
        (2.0, 44.0, "EPSG:32631"),
    ]
    batch = collate([_sample(crs, lon, lat) for lon, lat, crs in places])
    centres = batch_centres(batch)
    assert np.allclose(centres, [p[:2] for p in places], atol=1e-7)

    bundle = save_location_bundle(
        tmp_path / "location",
        LocationImageModel(SPEC, image_dim=4),
        LocationBundle(encoder=SPEC, image_dim=4, temperature=0.07),
    )
    features = LocationFeatures(bundle)
    assert features.dim == 8 and not any(p.requires_grad for p in features.parameters())
    assert not features.train().training  # frozen, also under a task's train()
    vectors = features(batch)
    assert vectors.shape == (3, 8) and vectors.dtype == torch.float32
    expected = encode(centres[:, 0], centres[:, 1], bundle=bundle)
    assert np.allclose(vectors.numpy(), expected, atol=1e-5)


def test_chips_without_a_grid_are_refused() -> None:
    with pytest.raises(ConfigError, match="no grid"):
        batch_centres({"image": torch.zeros(2, 3, 8, 8)})
