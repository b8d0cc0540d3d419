"""Field-boundary targets from a raster of field numbers: extent, boundary and distance.

The three per-pixel targets of ResUNet-a / "Deep learning on edge" (Waldner and
Diakogiannis 2020), computed from a mask that numbers each field (0: no field),
such as field polygons rasterised with one integer per field
(:func:`eoforge.io.vector.rasterize_labels` on a per-field number column):

* **extent**: 1 inside any field;
* **boundary**: 1 on a field's pixels within ``width`` pixels of its edge, i.e.
  of a pixel that is not the same field (another field, or no field). Two fields
  that share an edge each get their own ``width``-pixel ring, so a boundary
  separates them: this is why fields are numbered, not burnt as one union;
* **distance**: inside each field, the Euclidean distance (pixels) to the nearest
  pixel that is not the field, rescaled per field so the outermost ring is 0 and
  the field's most interior pixel is 1; 0 outside fields.

The edge of the array is not an edge of a field: a field cut by the window keeps
its distances from its edges inside the window only.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import torch
from scipy import ndimage

from eoforge.errors import ConfigError

TARGET_NAMES = ("extent", "boundary", "distance")
"""Channel names of the stacked targets, in order."""


class FieldTargets(NamedTuple):
    """The three targets of one ``[H, W]`` mask.

    Attributes:
        extent: bool ``[H, W]``, inside a field.
        boundary: bool ``[H, W]``, on a field's edge ring.
        distance: float32 ``[H, W]`` in ``[0, 1]``, normalised distance to the edge.
    """

    extent: npt.NDArray[np.bool_]
    boundary: npt.NDArray[np.bool_]
    distance: npt.NDArray[np.float32]

    def stacked(self) -> npt.NDArray[np.float32]:
        """``[3, H, W]`` float32 in :data:`TARGET_NAMES` order."""
        return np.stack(
            [self.extent.astype(np.float32), self.boundary.astype(np.float32), self.distance]
        )


def field_targets(fields: npt.NDArray[np.integer], width: int = 1) -> FieldTargets:
    """Extent, boundary and normalised distance of a mask numbering fields.

    Args:
        fields: Integer ``[H, W]``: each field's own number (> 0), 0 where there is
            no field. Negative values are treated as no field.
        width: Boundary width in pixels on each side of an edge (>= 1).

    Returns:
        The targets (see the module docstring).

    Raises:
        ConfigError: ``fields`` is not a 2-D integer array, or ``width < 1``.

    Example:
        Two 3 x 4 fields side by side: each gets its own one-pixel ring.

        >>> import numpy as np
        >>> ids = np.zeros((5, 10), int); ids[1:4, 1:5] = 1; ids[1:4, 5:9] = 2
        >>> t = field_targets(ids)
        >>> t.boundary[2].astype(int).tolist()
        [0, 1, 0, 0, 1, 1, 0, 0, 1, 0]
        >>> t.distance[2].round(2).tolist()
        [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    """
    if fields.ndim != 2 or fields.dtype.kind not in "iu":
        raise ConfigError(
            f"field numbers must be an integer [H, W] array, got {fields.dtype} {fields.shape}.",
            fix="rasterise the field polygons with one integer per field.",
        )
    if width < 1:
        raise ConfigError(f"boundary width {width} px is below 1.", fix="use 1 or more.")
    ids = _compact(fields)
    extent = ids > 0
    edges = np.zeros(ids.shape, np.float32)  # distance to the nearest pixel not of the field
    for number, where in enumerate(ndimage.find_objects(ids), start=1):
        if where is None:
            continue
        crop = _grown(where, ids.shape)
        inside = ids[crop] == number
        if inside.all():  # the field fills its window: no edge in sight
            distance = np.full(inside.shape, np.inf, np.float32)
        else:
            distance = ndimage.distance_transform_edt(inside).astype(np.float32)
        edges[crop][inside] = distance[inside]
    boundary = extent & (edges <= width)
    return FieldTargets(extent, boundary, _normalised(ids, edges))


def _compact(fields: npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
    """Field numbers renumbered 1..n in sorted order, 0 elsewhere (``find_objects`` labels)."""
    inside = fields > 0
    compact = np.zeros(fields.shape, np.int64)
    compact[inside] = np.unique(fields[inside], return_inverse=True)[1].reshape(-1) + 1
    return compact


def _grown(where: tuple[slice, ...], shape: tuple[int, ...]) -> tuple[slice, slice]:
    """A field's bounding box grown by one pixel, inside the array.

    Growing the box lets the distance transform see the pixels just outside the
    field; where the box touches the array's edge it cannot grow, so that edge
    is not taken for the field's edge.
    """
    rows, cols = where
    return (
        slice(max(rows.start - 1, 0), min(rows.stop + 1, shape[0])),
        slice(max(cols.start - 1, 0), min(cols.stop + 1, shape[1])),
    )


def _normalised(
    ids: npt.NDArray[np.int64], edges: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Per-field ``(d - 1) / (max d - 1)``: 0 on the outer ring, 1 at the most interior pixel.

    A field one pixel thin (``max d = 1``) is all ring: 0. A field filling the whole
    array has no edge in it: 1.
    """
    out = np.zeros(ids.shape, np.float32)
    inside = ids > 0
    if not inside.any():
        return out
    values, numbers = edges[inside], ids[inside]
    finite = np.isfinite(values)
    peak = np.zeros(int(numbers.max()) + 1, np.float32)
    np.maximum.at(peak, numbers[finite], values[finite])
    per_pixel = peak[numbers]
    scaled = np.where(per_pixel > 1, (values - 1) / np.maximum(per_pixel - 1, 1e-6), 0.0)
    out[inside] = np.clip(np.where(finite, scaled, 1.0), 0.0, 1.0)
    return out


def batch_field_targets(fields: torch.Tensor, width: int = 1) -> torch.Tensor:
    """:func:`field_targets` of a batch: ``[B, H, W]`` field numbers -> float32 ``[B, 3, H, W]``.

    Computed on the CPU (SciPy's distance transform) and returned on ``fields``' device.
    """
    arrays = fields.detach().cpu().numpy()
    stacked = np.stack([field_targets(a, width).stacked() for a in arrays])
    return torch.from_numpy(stacked).to(fields.device)
