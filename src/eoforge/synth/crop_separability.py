"""How well synth's crops separate on one date and over the series, from the ground truth.

Fields of the scene plan are rendered noise-free and cloud-free (surface
reflectance of their crop pixels, through the same code as the sensors) on
each date of a series; a nearest-class-mean classifier fit on half of the
fields scores the other half, on each date alone and on the whole series.
It measures the class overlap that the ``phenology`` option creates, without
training a network (:func:`separability`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eoforge.synth.render.reflectance import surface
from eoforge.synth.world import legend
from eoforge.synth.world.landcover import Ground, design
from eoforge.synth.world.parcels import params
from eoforge.synth.world.phenology import Phenology

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Crop codes in class order (:data:`eoforge.synth.world.legend.CROP_TYPES`).
CROPS = (legend.WHEAT, legend.RAPESEED, legend.SUNFLOWER, legend.MAIZE)
#: Sentinel-2 B02, B03, B04, B08 band centres, micrometres.
S2_10M = (0.492, 0.560, 0.665, 0.833)


@dataclass(frozen=True)
class Separability:
    """Nearest-class-mean scores on held-out fields.

    Attributes:
        single: Accuracy on each date alone, in date order.
        series: Accuracy on all dates together.
        confusion: Row-normalised confusion (true crop, predicted crop) of each
            date alone, shape (T, 4, 4), crops in :data:`CROPS` order.
        fields: Held-out fields per crop, shape (4,).
    """

    single: list[float]
    series: float
    confusion: F64
    fields: I64

    def overlap(self) -> list[float]:
        """Per date, the largest share of one crop's fields taken for another crop."""
        off = self.confusion.copy()
        for t in range(off.shape[0]):
            np.fill_diagonal(off[t], 0.0)
        return [float(v) for v in off.reshape(off.shape[0], -1).max(axis=1)]


def field_spectra(
    seed: int,
    phenology: Phenology,
    doys: list[float],
    fields: int = 1600,
    centers: tuple[float, ...] = S2_10M,
) -> tuple[F32, I64]:
    """Noise-free surface reflectance of the crop of ``fields`` fields on each date.

    Args:
        seed: Scene seed (draws the crops and the fields' seasons).
        phenology: ``uniform`` or ``varied``.
        doys: Days of year of the dates.
        fields: Number of fields (consecutive fields of 40-field rows).
        centers: Band centres, micrometres.

    Returns:
        (reflectance (N, T, B) float32, crop class index (N,) in :data:`CROPS` order).
    """
    layout = design(seed, 2560.0, 2560.0, 10.0, phenology)
    index = np.arange(fields, dtype=np.int64)
    found = params(layout, index // 40, index % 40)
    shape = (1, fields)
    ground = Ground(
        cls=np.full(shape, legend.CROPLAND, dtype=np.uint8),
        crop=found.crop[None],
        patch=found.patch[None],
        height=np.zeros(shape),
        terrain=np.zeros(shape),
        phenology=phenology,
    )
    # One field per 500 m along x: the surface texture of each is its own draw.
    x = (500.0 * index.astype(np.float64))[None]
    y = np.zeros((1, 1))
    wanted = np.array(centers, dtype=np.float64)
    refl = np.stack([surface(ground, wanted, doy, x, y, seed)[:, 0] for doy in doys])
    lookup = np.zeros(256, dtype=np.int64)
    lookup[list(CROPS)] = np.arange(len(CROPS))
    crop_index: I64 = lookup[found.crop]
    out: F32 = np.moveaxis(refl, -1, 0).astype(np.float32)
    return out, crop_index


def _nearest_mean(features: F64, labels: I64, train: npt.NDArray[np.bool_]) -> I64:
    """Predicted class of the held-out rows: the class whose training mean is nearest."""
    k = len(CROPS)
    means = np.stack([features[train & (labels == c)].mean(axis=0) for c in range(k)])
    held = features[~train]
    out: I64 = ((held[:, None, :] - means[None]) ** 2).sum(axis=-1).argmin(axis=1)
    return out


def separability(
    seed: int, phenology: Phenology, doys: list[float], fields: int = 1600
) -> Separability:
    """Nearest-class-mean accuracy of the crops on each date and on the series.

    Fields alternate between fitting the class means and scoring them.

    Args:
        seed: Scene seed.
        phenology: ``uniform`` or ``varied``.
        doys: Days of year of the series.
        fields: Number of fields.

    Returns:
        The :class:`Separability`.
    """
    spectra, labels = field_spectra(seed, phenology, doys, fields)
    data = spectra.astype(np.float64)
    train = np.arange(len(labels)) % 2 == 0
    truth = labels[~train]
    k = len(CROPS)
    single, confusion = [], np.zeros((len(doys), k, k))
    for t in range(len(doys)):
        predicted = _nearest_mean(data[:, t], labels, train)
        single.append(float((predicted == truth).mean()))
        np.add.at(confusion[t], (truth, predicted), 1.0)
    confusion /= np.maximum(confusion.sum(axis=2, keepdims=True), 1.0)
    series = _nearest_mean(data.reshape(len(labels), -1), labels, train)
    return Separability(
        single=single,
        series=float((series == truth).mean()),
        confusion=confusion,
        fields=np.bincount(truth, minlength=k).astype(np.int64),
    )
