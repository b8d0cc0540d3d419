"""Predictors that take each tile's place: bundles trained with ``model.location``.

A network fused with a location encoder (:mod:`eoforge.models.location_fusion`)
is called ``model(x, lonlat)``. Its predictor is a :class:`PlacedPredictor`;
the block loop (:func:`predict_tiles`) gives it the WGS84 centre of every
tile's input grid, computed as training computes a window's centre
(:func:`eoforge.location.features.batch_centres`): the grid's affine transform
at pixel ``(W / 2, H / 2)``, converted with pyproj.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from odc.geo.geobox import GeoBox

from eoforge.errors import ConfigError
from eoforge.location.points import to_lonlat
from eoforge.predict.types import Predictor, PredictorOutput


class PlacedPredictor:
    """A predictor of images at places: ``(images [B, ...], lonlat [B, 2]) -> output``.

    Args:
        predict: The function; ``lonlat`` is longitude and latitude in degrees
            (float64).
    """

    def __init__(self, predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        self.predict = predict

    def __call__(self, images: torch.Tensor, lonlat: torch.Tensor | None = None) -> torch.Tensor:
        """The output for ``images`` at ``lonlat``.

        Raises:
            ConfigError: No places given (the caller does not know the tiles' grids).
        """
        if lonlat is None:
            raise ConfigError(
                "this model takes each tile's location, but none was given.",
                fix="predict scenes with eoforge predict (it knows every tile's grid).",
            )
        return self.predict(images, lonlat)


class GriddedPredictor:
    """A predictor that needs each tile's input grid: ``(images [B, ...], grids) -> output``.

    Per-pixel models whose parameters depend on where a pixel lies in the scene
    (e.g. a matched filter with background statistics per detector column) take the
    tiles' grids to locate their pixels.

    Args:
        predict: The function; ``grids`` holds one :class:`GeoBox` per tile of the batch.
    """

    def __init__(self, predict: Callable[[torch.Tensor, Sequence[GeoBox]], torch.Tensor]) -> None:
        self.predict = predict

    def __call__(self, images: torch.Tensor, grids: Sequence[GeoBox] | None = None) -> torch.Tensor:
        """The output for ``images`` read on ``grids``.

        Raises:
            ConfigError: No grids given (the caller does not know the tiles' grids).
        """
        if grids is None:
            raise ConfigError(
                "this model needs each tile's grid, but none was given.",
                fix="run it through the prediction engine (predict_scene), which knows them.",
            )
        return self.predict(images, grids)


def grid_centres(grids: Sequence[GeoBox]) -> torch.Tensor:
    """WGS84 ``[N, 2]`` longitude and latitude (degrees, float64) of the grids' centres."""
    out = np.zeros((len(grids), 2), dtype=np.float64)
    by_crs: dict[str, list[int]] = {}
    for i, grid in enumerate(grids):
        if grid.crs is None:
            raise ConfigError(
                "a tile's grid has no CRS, so its place is unknown.",
                fix="give the scene a CRS (e.g. gdal_edit.py -a_srs).",
            )
        by_crs.setdefault(grid.crs.wkt, []).append(i)
    for crs, rows in by_crs.items():  # one transformer per CRS
        xy = np.array(
            [grids[i].affine @ (grids[i].shape.x / 2, grids[i].shape.y / 2) for i in rows],
            dtype=np.float64,
        )
        out[rows] = to_lonlat(xy[:, 0], xy[:, 1], crs)
    return torch.from_numpy(out)


def predict_tiles(
    predictor: Predictor, images: torch.Tensor, grids: Callable[[], Sequence[GeoBox]]
) -> PredictorOutput:
    """``predictor(images)``, or with the tiles' centres when it is a :class:`PlacedPredictor`.

    Args:
        predictor: The model.
        images: The batch ``[B, C, h, w]`` (``[B, T, C, h, w]``).
        grids: The tiles' input grids, asked for only by a placed predictor.
    """
    if isinstance(predictor, PlacedPredictor):
        return predictor(images, grid_centres(grids()))
    if isinstance(predictor, GriddedPredictor):
        return predictor(images, grids())
    return predictor(images)
