"""Object-level scores of field polygons against reference fields.

Two families of scores, both on polygons in one CRS:

* **Matching** (one-to-one at IoU >= 0.5): predicted and reference polygons are
  paired greedily by decreasing IoU, each at most once (above 0.5 a pair is
  unique anyway; the greedy order settles ties at exactly 0.5). ``matched_iou``
  is the mean IoU of the pairs; ``recovered`` the share of reference fields
  paired (recall); ``precision`` the share of predicted polygons paired.
* **Over- and under-segmentation** as in Persello et al. 2019 (after Clinton et
  al. 2010): for each reference field ``r``, ``s`` is the predicted polygon
  that overlaps it most; ``OS = 1 - |r ∩ s| / |r|`` (``r`` split or partly
  missed), ``US = 1 - |r ∩ s| / |s|`` (``s`` spills over other ground, e.g. fields
  merged), ``total = sqrt((OS^2 + US^2) / 2)``, each averaged over the
  reference fields. A reference field that no prediction touches counts
  ``OS = US = 1``.

Also reported: counts, and ``split`` / ``merged`` rates: the share of reference
fields covered at least 10 % each by two or more predicted polygons, and the
share of predicted polygons covering at least 10 % each of two or more reference
fields.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from eoforge.errors import ConfigError

MATCH_IOU = 0.5
PART_SHARE = 0.1
"""Least share of an object's area another must cover to count in ``split``/``merged``."""


@dataclass(frozen=True)
class FieldScores:
    """Object-level scores of predicted fields (see the module docstring)."""

    reference_fields: int
    predicted_fields: int
    matched: int
    matched_iou: float
    recovered: float
    precision: float
    over_segmentation: float
    under_segmentation: float
    total_error: float
    split: float
    merged: float
    iou_threshold: float = MATCH_IOU

    def as_dict(self) -> dict[str, float | int | None]:
        """The scores as plain numbers, NaN (undefined) as None: JSON-ready."""
        return {
            k: None if isinstance(v, float) and math.isnan(v) else v
            for k, v in asdict(self).items()
        }


def _geometries(frame: gpd.GeoDataFrame | Sequence[shapely.Geometry]) -> npt.NDArray[np.object_]:
    if isinstance(frame, gpd.GeoDataFrame):
        geoms = np.asarray(frame.geometry.values, dtype=object)
    else:
        geoms = np.asarray(list(frame), dtype=object)
    keep = ~shapely.is_empty(geoms) if len(geoms) else np.zeros(0, bool)
    return np.asarray(shapely.make_valid(geoms[keep]), dtype=object)


def overlaps(
    predicted: npt.NDArray[np.object_], reference: npt.NDArray[np.object_]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Pairs ``(i_pred, j_ref)`` that share area, and the shared area of each."""
    if not len(predicted) or not len(reference):
        empty = np.zeros(0, np.intp)
        return empty, empty, np.zeros(0)
    tree = shapely.STRtree(reference)
    pred_idx, ref_idx = tree.query(predicted, predicate="intersects")
    shared = shapely.area(shapely.intersection(predicted[pred_idx], reference[ref_idx]))
    keep = shared > 0
    return pred_idx[keep], ref_idx[keep], np.asarray(shared[keep], np.float64)


def score_fields(
    predicted: gpd.GeoDataFrame | Sequence[shapely.Geometry],
    reference: gpd.GeoDataFrame | Sequence[shapely.Geometry],
    iou_threshold: float = MATCH_IOU,
) -> FieldScores:
    """Score predicted field polygons against reference fields.

    GeoDataFrames in different CRSs are compared in the reference's CRS.

    Args:
        predicted: Predicted fields.
        reference: Reference fields.
        iou_threshold: IoU a pair needs to match (0.5: one-to-one by construction).

    Returns:
        The scores. With no reference field, ``recovered`` and the segmentation
        errors are NaN; with no prediction, ``precision`` is NaN.

    Raises:
        ConfigError: One layer has a CRS and the other none, or the threshold is
            not in ``(0, 1]``.

    Example:
        A reference square, found shifted by a quarter of its side:

        >>> from shapely.geometry import box
        >>> s = score_fields([box(1, 0, 5, 4)], [box(0, 0, 4, 4)])
        >>> s.matched, round(s.matched_iou, 3), s.recovered, s.over_segmentation
        (1, 0.6, 1.0, 0.25)
    """
    if not 0 < iou_threshold <= 1:
        raise ConfigError(f"IoU threshold {iou_threshold} is not in (0, 1].", fix="use 0.5.")
    predicted = _in_crs_of(predicted, reference)
    preds, refs = _geometries(predicted), _geometries(reference)
    pred_area, ref_area = shapely.area(preds), shapely.area(refs)
    i, j, shared = overlaps(preds, refs)
    iou = shared / (pred_area[i] + ref_area[j] - shared) if len(i) else np.zeros(0)
    pairs = _greedy(i, j, iou, iou_threshold)
    over, under = _segmentation_errors(i, j, shared, pred_area, ref_area)
    matched_iou = float(np.mean([iou[k] for k in pairs])) if pairs else math.nan
    nan = math.nan
    return FieldScores(
        reference_fields=len(refs),
        predicted_fields=len(preds),
        matched=len(pairs),
        matched_iou=matched_iou,
        recovered=len(pairs) / len(refs) if len(refs) else nan,
        precision=len(pairs) / len(preds) if len(preds) else nan,
        over_segmentation=float(over.mean()) if len(refs) else nan,
        under_segmentation=float(under.mean()) if len(refs) else nan,
        total_error=float(np.sqrt((over**2 + under**2) / 2).mean()) if len(refs) else nan,
        split=_parts_share(j, shared / ref_area[j] if len(j) else shared, len(refs)),
        merged=_parts_share(i, shared / pred_area[i] if len(i) else shared, len(preds)),
        iou_threshold=iou_threshold,
    )


def _in_crs_of(
    predicted: gpd.GeoDataFrame | Sequence[shapely.Geometry],
    reference: gpd.GeoDataFrame | Sequence[shapely.Geometry],
) -> gpd.GeoDataFrame | Sequence[shapely.Geometry]:
    if not (isinstance(predicted, gpd.GeoDataFrame) and isinstance(reference, gpd.GeoDataFrame)):
        return predicted
    if (predicted.crs is None) != (reference.crs is None):
        raise ConfigError(
            "one field layer has a CRS and the other none; they cannot be compared.",
            fix="give both layers their CRS.",
        )
    if predicted.crs is not None and predicted.crs != reference.crs:
        return predicted.to_crs(reference.crs)
    return predicted


def _greedy(
    i: npt.NDArray[np.intp], j: npt.NDArray[np.intp], iou: npt.NDArray[np.float64], least: float
) -> list[int]:
    """Indices of the overlap pairs matched one-to-one by decreasing IoU (>= ``least``)."""
    order = np.argsort(-iou, kind="stable")
    used_pred: set[int] = set()
    used_ref: set[int] = set()
    pairs = []
    for k in order:
        if iou[k] < least:
            break
        a, b = int(i[k]), int(j[k])
        if a in used_pred or b in used_ref:
            continue
        used_pred.add(a)
        used_ref.add(b)
        pairs.append(int(k))
    return pairs


def _segmentation_errors(
    i: npt.NDArray[np.intp],
    j: npt.NDArray[np.intp],
    shared: npt.NDArray[np.float64],
    pred_area: npt.NDArray[np.float64],
    ref_area: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per reference field: OS and US with the predicted polygon overlapping it most."""
    over = np.ones(len(ref_area))
    under = np.ones(len(ref_area))
    best = np.zeros(len(ref_area))
    for a, b, area in zip(i.tolist(), j.tolist(), shared.tolist(), strict=True):
        if area > best[b]:
            best[b] = area
            over[b] = 1 - area / ref_area[b]
            under[b] = 1 - area / pred_area[a]
    return over, under


def _parts_share(owner: npt.NDArray[np.intp], share: npt.NDArray[np.float64], n: int) -> float:
    """Share of the ``n`` owners covered >= :data:`PART_SHARE` by two or more others."""
    if n == 0:
        return math.nan
    counts = np.bincount(owner[share >= PART_SHARE], minlength=n)
    return float((counts >= 2).sum() / n)


def instance_agreement(a: npt.NDArray[np.integer], b: npt.NDArray[np.integer]) -> float:
    """How far two field-instance maps of one grid delineate the same fields.

    Each field of ``a`` is paired with the field of ``b`` it overlaps most and back;
    the pixels of mutually paired fields' overlaps count as agreeing.

    Args:
        a: Instance ids ``[H, W]`` (0: no field).
        b: Instance ids of the same shape (ids need not match ``a``'s).

    Returns:
        Agreeing pixels over the pixels that are field in either map, in [0, 1]
        (0 for two maps without any field).

    Raises:
        ConfigError: The maps differ in shape.
    """
    if a.shape != b.shape:
        raise ConfigError(
            f"instance maps of shapes {a.shape} and {b.shape} cannot be compared.",
            fix="compare maps of one grid.",
        )
    either = (a > 0) | (b > 0)
    pairs, counts = np.unique(np.stack([a[either], b[either]]), axis=1, return_counts=True)
    best_a: dict[int, tuple[int, int]] = {}
    best_b: dict[int, tuple[int, int]] = {}
    for (x, y), count in zip(pairs.T.tolist(), counts.tolist(), strict=True):
        if x and y:
            if count > best_a.get(x, (0, 0))[0]:
                best_a[x] = (count, y)
            if count > best_b.get(y, (0, 0))[0]:
                best_b[y] = (count, x)
    same = sum(c for x, (c, y) in best_a.items() if best_b.get(y, (0, 0))[1] == x)
    return same / max(int(either.sum()), 1)
