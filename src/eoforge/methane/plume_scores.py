"""Full-granule plume detection scores: per-plume detection rate and false positives per area.

A granule's **true plumes** are the synthetic plumes it was rendered with
(``hyperspectral.json``); plume ``i``'s pixels are where its own enhancement is at
least ``mask_ppm_m`` (the segmentation's truth threshold; plumes do not overlap).
A predicted map is a boolean ``[H, W]`` mask (a score map thresholded) whose
8-connected components smaller than ``min_component_px`` are dropped first.

* **Detected plume**: the predicted mask covers at least ``min_cover`` of its pixels.
* **False positive**: a predicted component that touches no pixel where the true
  total enhancement reaches ``touch_ppm_m`` (below the mask threshold: a component on
  a plume's faint tail is the plume, not a false alarm).
* **Rate**: false positives per 1,000 km² of the granules' valid area (the grid's pixel
  area times the valid pixels).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from eoforge.errors import ConfigError, MetadataError
from eoforge.synth.world.plumes import Plume

F32 = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]

EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class PlumeRule:
    """How a granule is scored.

    Attributes:
        mask_ppm_m: A plume's pixels: its own enhancement at least this, ppm·m.
        touch_ppm_m: A predicted component touching true enhancement at least this
            is not a false positive, ppm·m.
        min_cover: A plume is detected when this share of its pixels is predicted.
        min_component_px: Predicted components smaller than this are dropped, pixels.
    """

    mask_ppm_m: float = 500.0
    touch_ppm_m: float = 200.0
    min_cover: float = 0.2
    min_component_px: int = 5


@dataclass(frozen=True)
class PlumeHit:
    """One true plume and whether it was found.

    Attributes:
        plume_id: Its id in the granule.
        shape: ``puff`` or ``elongated``.
        sigma_px: Width at the source, pixels.
        peak_ppm_m: Peak enhancement, ppm·m.
        pixels: Pixels at or above the mask threshold.
        area_m2: Their area, m².
        cover: Share of those pixels the prediction covers.
        detected: ``cover >= min_cover``.
    """

    plume_id: int
    shape: str
    sigma_px: float
    peak_ppm_m: float
    pixels: int
    area_m2: float
    cover: float
    detected: bool


@dataclass(frozen=True)
class GranuleScore:
    """One granule's plumes and false positives.

    Attributes:
        plumes: Every true plume with at least one pixel above the mask threshold.
        false_positives: Predicted components touching no plume.
        components: Predicted components kept.
        area_km2: Valid area scored, km².
        pixels_tp: Valid pixels predicted and in the truth mask (true total enhancement at
            least ``mask_ppm_m``).
        pixels_fp: Valid pixels predicted outside it.
        pixels_fn: Valid truth-mask pixels not predicted.
    """

    plumes: list[PlumeHit]
    false_positives: int
    components: int
    area_km2: float
    pixels_tp: int = 0
    pixels_fp: int = 0
    pixels_fn: int = 0


def load_plumes(manifest: str | Path) -> list[Plume]:
    """The plumes a synthetic granule was rendered with (its ``hyperspectral.json``).

    Raises:
        MetadataError: The file lists no plumes (not a synthetic granule's manifest).
    """
    path = Path(manifest)
    content = json.loads(path.read_text())
    if "plumes" not in content:
        raise MetadataError(
            "the manifest has no 'plumes' list.",
            path=path,
            fix="give the hyperspectral.json written by eoforge synth --hyperspectral.",
        )
    return [Plume(**record) for record in content["plumes"]]


def score_granule(
    predicted: Mask,
    truth: F32,
    plumes: Sequence[Plume],
    pixel_area_m2: float,
    rule: PlumeRule | None = None,
    valid: Mask | None = None,
    plume_pixels: Sequence[Mask] | None = None,
) -> GranuleScore:
    """Score a predicted plume mask against a granule's plumes.

    Args:
        predicted: Predicted plume pixels ``[H, W]``.
        truth: True total enhancement ``[H, W]``, ppm·m.
        plumes: The granule's plumes (pixel coordinates of the same grid).
        pixel_area_m2: Area of one pixel, m².
        rule: Thresholds (default :class:`PlumeRule`).
        valid: Pixels that count towards the area (default all).
        plume_pixels: Each plume's pixels (:func:`plume_masks`), when scoring one granule
            many times; default computed here.

    Returns:
        The plumes found and the false positives.

    Raises:
        ConfigError: ``predicted`` and ``truth`` differ in shape.
    """
    rule = rule or PlumeRule()
    if predicted.shape != truth.shape:
        raise ConfigError(
            f"the prediction is {predicted.shape} px but the truth {truth.shape} px.",
            fix="predict on the truth's grid.",
        )
    valid = np.ones(truth.shape, bool) if valid is None else valid
    kept = keep_components(predicted & valid, rule.min_component_px)
    labels, count = ndimage.label(kept, structure=EIGHT)
    touching = np.unique(labels[(truth >= rule.touch_ppm_m) & (labels > 0)])
    mask = truth >= rule.mask_ppm_m
    insides = plume_pixels or plume_masks(plumes, truth.shape, rule.mask_ppm_m)
    hits = []
    for plume, inside in zip(plumes, insides, strict=True):
        pixels = int(inside.sum())
        if pixels == 0:
            continue
        cover = float(kept[inside].mean())
        hits.append(
            PlumeHit(
                plume.plume_id,
                plume.shape,
                plume.sigma_px,
                plume.peak_ppm_m,
                pixels,
                pixels * pixel_area_m2,
                cover,
                cover >= rule.min_cover,
            )
        )
    return GranuleScore(
        plumes=hits,
        false_positives=int(count - touching.size),
        components=int(count),
        area_km2=float(valid.sum()) * pixel_area_m2 / 1e6,
        pixels_tp=int((kept & mask).sum()),
        pixels_fp=int((kept & ~mask).sum()),
        pixels_fn=int((~kept & mask & valid).sum()),
    )


def plume_masks(
    plumes: Sequence[Plume], shape: tuple[int, ...], mask_ppm_m: float = 500.0
) -> list[Mask]:
    """Each plume's pixels ``[H, W]``: its own enhancement at least ``mask_ppm_m``."""
    rows = (np.arange(shape[0], dtype=np.float32) + 0.5)[:, None]
    cols = (np.arange(shape[1], dtype=np.float32) + 0.5)[None, :]
    return [plume.render(rows, cols) >= mask_ppm_m for plume in plumes]


def keep_components(mask: Mask, min_pixels: int) -> Mask:
    """``mask`` without its 8-connected components smaller than ``min_pixels``."""
    if min_pixels <= 1:
        return mask.copy()
    labels, _ = ndimage.label(mask, structure=EIGHT)
    sizes = np.bincount(labels.ravel())
    big = sizes >= min_pixels
    big[0] = False
    out: Mask = big[labels]
    return out


def summarize(
    scores: Sequence[GranuleScore],
    size_bins_px: Sequence[int] = (0, 50, 150, 400),
    peak_bins_ppm_m: Sequence[float] = (1500.0, 2500.0, 3500.0, 4500.0),
) -> dict[str, Any]:
    """Detection rate overall and per plume size / peak bin, and false positives per 1,000 km².

    Args:
        scores: Scores of several granules.
        size_bins_px: Lower edges of the plume size bins (pixels above the mask threshold).
        peak_bins_ppm_m: Lower edges of the peak enhancement bins, ppm·m.

    Returns:
        ``plumes``, ``detected``, ``detection_rate``, ``false_positives``, ``area_km2``,
        ``pixel_iou`` (of the truth mask, over all granules),
        ``fp_per_1000_km2``, ``by_size`` and ``by_peak`` (each bin: ``low``, ``high``,
        ``plumes``, ``detected``, ``rate``; ``high`` None for the last).
    """
    hits = [h for s in scores for h in s.plumes]
    area = sum(s.area_km2 for s in scores)
    fps = sum(s.false_positives for s in scores)
    found = sum(h.detected for h in hits)
    return {
        "plumes": len(hits),
        "detected": found,
        "detection_rate": found / len(hits) if hits else None,
        "false_positives": fps,
        "area_km2": round(area, 3),
        "pixel_iou": _iou(scores),
        "fp_per_1000_km2": 1000.0 * fps / area if area > 0 else None,
        "by_size": _bins(hits, [float(b) for b in size_bins_px], lambda h: h.pixels),
        "by_peak": _bins(hits, list(peak_bins_ppm_m), lambda h: h.peak_ppm_m),
    }


def detection_above(scores: Sequence[GranuleScore], min_pixels: int) -> float | None:
    """Detection rate of the plumes of at least ``min_pixels`` pixels (None: no such plume)."""
    hits = [h for s in scores for h in s.plumes if h.pixels >= min_pixels]
    return sum(h.detected for h in hits) / len(hits) if hits else None


def _iou(scores: Sequence[GranuleScore]) -> float | None:
    tp = sum(s.pixels_tp for s in scores)
    union = tp + sum(s.pixels_fp + s.pixels_fn for s in scores)
    return tp / union if union else None


def _bins(hits: list[PlumeHit], edges: list[float], key: Any) -> list[dict[str, Any]]:
    out = []
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        inside = [h for h in hits if key(h) >= low and (high is None or key(h) < high)]
        found = sum(h.detected for h in inside)
        out.append(
            {
                "low": low,
                "high": high,
                "plumes": len(inside),
                "detected": found,
                "rate": found / len(inside) if inside else None,
            }
        )
    return out
