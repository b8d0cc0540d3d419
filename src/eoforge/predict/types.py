"""Call signatures and records shared by the prediction modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from eoforge.geo.grid import Tile

Detections = Mapping[str, torch.Tensor]
"""One image's detections, torchvision style: ``boxes`` ``[N, 4]`` (``x0, y0, x1, y1``)
or ``[N, 5]`` (oriented: ``cx, cy, w, h, angle`` in radians, counter-clockwise on the
image), ``scores`` ``[N]`` in 0..1 and ``labels`` ``[N]`` (class ids), all in the tile's
input pixels (x to the right, y down)."""

PredictorOutput = torch.Tensor | Sequence[Detections]
"""What a predictor returns for a batch of ``B`` tiles: a tensor (rasters ``[B, K, h', w']``,
embeddings ``[B, D]``) or one :data:`Detections` per tile."""

Predictor = Callable[[torch.Tensor], PredictorOutput]
"""Maps a batch ``[B, C, h, w]`` (``[B, T, C, h, w]`` for change models) of float32
physical values, NaN where invalid, to the output its output kind expects."""

TensorPredictor = Callable[[torch.Tensor], torch.Tensor]
"""A predictor whose output is one tensor (rasters, embeddings), e.g. a bundle's model."""

Progress = Callable[[int, int], None]
"""Receives ``(pixels predicted so far, pixels to predict)``, tile overlaps counted."""


@dataclass
class TileInput:
    """A tile's input and where it is.

    Attributes:
        tile: The tile (window and grid in plan pixels).
        image: ``[C, h, w]`` (``[T, C, h, w]`` for several dates) float32 in input
            pixels, NaN where invalid.
        invalid: ``[h, w]`` True where any date's input is invalid (input pixels).
    """

    tile: Tile
    image: npt.NDArray[np.float32]
    invalid: npt.NDArray[np.bool_]
