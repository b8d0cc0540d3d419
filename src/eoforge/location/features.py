"""Location embeddings of a batch's windows: the piece a task needs to take location as input.

:class:`LocationFeatures` wraps the frozen encoder of a location bundle and
maps a collated batch (its ``crs`` and ``transform`` lists and the image's
``H x W``) to one embedding per window, of the window's centre.
:func:`batch_centres` is also what tasks use to feed networks built with
``model.location`` (:mod:`eoforge.models.location_fusion`); prediction
computes the same centres from each tile's grid (:mod:`eoforge.predict.places`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from eoforge.data.collate import batch_size, grid_of
from eoforge.errors import ConfigError
from eoforge.location.bundle import LoadedLocation, load_location_bundle
from eoforge.location.points import check_points, to_lonlat


def batch_centres(batch: Mapping[str, Any], key: str = "image") -> npt.NDArray[np.float64]:
    """Centres of a batch's windows as ``[B, 2]`` WGS84 longitude and latitude, degrees.

    Args:
        batch: A collated batch with ``crs`` (WKT) and ``transform`` lists.
        key: Tensor whose last two axes are the windows' ``(H, W)``.

    Raises:
        ConfigError: The batch carries no grid (chips without georeferencing).
    """
    if "crs" not in batch or "transform" not in batch:
        raise ConfigError(
            "the batch carries no grid (crs and transform), so its windows have no place.",
            fix="use georeferenced data (data.kind geo) for location inputs.",
        )
    count = batch_size(batch)
    out = np.zeros((count, 2), dtype=np.float64)
    by_crs: dict[str, list[tuple[int, float, float]]] = {}
    for i in range(count):
        grid = grid_of(batch, i, key)
        height, width = grid.shape
        x, y = grid.affine @ (width / 2, height / 2)
        by_crs.setdefault(str(batch["crs"][i]), []).append((i, x, y))
    for crs, items in by_crs.items():  # one transformer per CRS
        rows = np.array([i for i, _, _ in items])
        xy = np.array([(x, y) for _, x, y in items], dtype=np.float64)
        out[rows] = to_lonlat(xy[:, 0], xy[:, 1], crs)
    return check_points(out[:, 0], out[:, 1])


class LocationFeatures(nn.Module):
    """A frozen location encoder: batch -> ``[B, D]`` unit embeddings of the window centres.

    Args:
        bundle: A location bundle folder, or one already loaded.
    """

    def __init__(self, bundle: str | os.PathLike[str] | LoadedLocation) -> None:
        super().__init__()
        loaded = bundle if isinstance(bundle, LoadedLocation) else load_location_bundle(bundle)
        self.encoder = loaded.model.encoder.eval()
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(False)

    @property
    def dim(self) -> int:
        """Embedding length ``D``."""
        return self.encoder.dim

    def train(self, mode: bool = True) -> LocationFeatures:
        """Stay in eval mode: the encoder is frozen."""
        super().train(False)
        return self

    def forward(self, batch: Mapping[str, Any]) -> Tensor:
        """Unit embeddings ``[B, D]`` of the batch's window centres, on the image's device."""
        lonlat = torch.from_numpy(batch_centres(batch))
        with torch.no_grad():
            embedded = nn.functional.normalize(self.encoder(lonlat), dim=-1)
        image = batch.get("image")
        return embedded.to(image.device) if isinstance(image, Tensor) else embedded
