"""``encode(lon, lat, bundle=...)``: location embeddings of places from a trained bundle."""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt
import torch

from eoforge.location.bundle import LoadedLocation, load_location_bundle
from eoforge.location.points import check_points

BundleLike = str | os.PathLike[str] | LoadedLocation
"""A location bundle folder, or one already loaded."""


def encode(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    bundle: BundleLike,
    normalize: bool = True,
    batch: int = 65536,
) -> npt.NDArray[np.float32]:
    """Embed places with a location bundle.

    Args:
        lon: Longitudes, degrees (a number or an array).
        lat: Latitudes, degrees, in ``[-90, 90]`` (same shape as ``lon``).
        bundle: A location bundle folder, or one already loaded
            (:func:`~eoforge.location.bundle.load_location_bundle`).
        normalize: Unit-length embeddings (what is compared with projected image
            vectors); False returns the encoder's raw output.
        batch: Places per forward pass (bounds memory).

    Returns:
        ``[N, D]`` float32, one row per place in the order given (``N = 1`` for scalars).

    Raises:
        ConfigError: A non-finite coordinate or a latitude outside ``[-90, 90]``;
            not a location bundle.
        MissingFileError: The bundle folder or its files are missing.
    """
    points = check_points(lon, lat)
    loaded = bundle if isinstance(bundle, LoadedLocation) else load_location_bundle(bundle)
    model = loaded.model.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(points), max(1, batch)):
            chunk = torch.from_numpy(points[start : start + batch])
            out = model.embed_places(chunk) if normalize else model.encoder(chunk)
            parts.append(out.float().numpy())
    if not parts:
        return np.zeros((0, loaded.bundle.encoder.dim), dtype=np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)
