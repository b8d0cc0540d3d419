"""Reference-guided prediction: a high-resolution reference read on the output grid, tile by tile.

Reference-guided super-resolution bundles (``sr_reference``) are called
``model(x, reference)`` with the reference on the output grid, ``s`` times
finer than the input. The engine reads the reference's bands for every tile
on that tile's output grid (:func:`reference_channels`) and hands it to the
block loop inside the tile's image: the ``s x s`` reference pixels above each
input pixel become ``C s^2`` extra channels (pixel-unshuffled, the order of
:func:`torch.nn.functional.pixel_unshuffle`). Batching, executors, Dask and
the journal therefore handle these tiles like any other; the predictor
(:func:`guided_predictor`) splits the channels again and pixel-shuffles the
reference back to the output grid. Reference pixels outside the file are NaN
and reach the network as 0 after standardisation (the band mean); validity
of the outputs follows the input alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from odc.geo.geobox import GeoBox
from torch import nn

from eoforge.errors import ConfigError
from eoforge.io.reader import read
from eoforge.io.source import RasterSource
from eoforge.predict.types import TensorPredictor


def unshuffle(reference: npt.NDArray[np.float32], scale: int) -> npt.NDArray[np.float32]:
    """``[C, h s, w s]`` to ``[C s^2, h, w]``, as :func:`torch.nn.functional.pixel_unshuffle`."""
    c, hs, ws = reference.shape
    h, w = hs // scale, ws // scale
    blocks = reference.reshape(c, h, scale, w, scale).transpose(0, 2, 4, 1, 3)
    return np.ascontiguousarray(blocks.reshape(c * scale * scale, h, w))


def reference_channels(
    sources: Sequence[RasterSource], grid: GeoBox, bands: Sequence[str], scale: int
) -> npt.NDArray[np.float32]:
    """The reference's ``bands`` on a tile's output ``grid``, unshuffled to ``[C s^2, h, w]``.

    Args:
        sources: The reference (a raster on the output grid or any grid; it is
            resampled bilinearly when not pixel-aligned).
        grid: The tile's output grid, ``scale`` times finer than its input.
        bands: Band names, in the model's channel order.
        scale: Output pixels per input pixel.
    """
    image, _ = read(list(sources), grid, list(bands), fill=float("nan"))
    return unshuffle(image, scale)


def guided_predictor(model: nn.Module, mean: torch.Tensor, std: torch.Tensor) -> TensorPredictor:
    """The predictor of a ``model(x, reference)`` bundle for tiles carrying the reference.

    Args:
        model: A reference-guided network (``scale`` attribute, standardised inputs).
        mean: Per-band mean ``[C, 1, 1]`` of the bundle's normalisation.
        std: Per-band std ``[C, 1, 1]``.

    Returns:
        A predictor of ``[B, C + C s^2, h, w]`` (input bands, then the unshuffled
        reference) to ``[B, C, h s, w s]`` physical values.

    Raises:
        ConfigError: (when called) tiles without the reference channels.
    """
    bands, scale = int(mean.shape[0]), model.scale
    assert isinstance(scale, int)  # a reference-guided network's upsampling factor

    def predict(images: torch.Tensor) -> torch.Tensor:
        if images.shape[1] != bands * (1 + scale * scale):
            raise ConfigError(
                f"this model reads a high-resolution reference but the tiles have "
                f"{images.shape[1]} channels, not {bands} bands and the reference.",
                fix="pass the reference: eoforge predict BUNDLE SCENE --reference REF.tif.",
            )
        image = images[:, :bands]
        reference = F.pixel_shuffle(images[:, bands:], scale)
        x = torch.nan_to_num((image - mean) / std, nan=0.0)
        r = torch.nan_to_num((reference - mean) / std, nan=0.0)
        out: torch.Tensor = model(x, r)
        return out

    return predict
