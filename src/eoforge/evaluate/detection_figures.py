"""Detection figures: per-class precision-recall curves, and example images with their boxes.

:func:`pr_curves_figure` draws every class's curve (the monotone precision
envelope that AP integrates) on one axes with its AP in the legend.
:func:`detection_examples` draws a few images with their ground-truth boxes
and the predicted boxes above a score threshold, horizontal or oriented, in
the classes' colours: ground truth dashed, true positives solid, false
positives dotted and labelled ``FP``. Images are shown from the model's bands:
red, green and blue where the bands hold them, else the first band in grey
(SAR backscatter in dB), each stretched between its 2nd and 98th percentile.
Both return a figure on its own Agg canvas and take an optional ``path``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon

from eoforge.boxes import oriented_to_corners
from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError, EoforgeError
from eoforge.evaluate.detection_curves import Curves, envelope_points
from eoforge.evaluate.detection_metrics import match_image
from eoforge.evaluate.figures import PathLike, finish_figure, new_figure
from eoforge.evaluate.maps import percentile_stretch
from eoforge.evaluate.readers import fallback_color
from eoforge.sensors.registry import get_band

Float = npt.NDArray[np.float64]

RADAR_NM = 1e6
"""Bands centred beyond this wavelength (1 mm) are radar backscatter."""

TRUTH_STYLE: Final = "--"
"""Line style of ground-truth boxes (dashed)."""
HIT_STYLE: Final = "-"
"""Line style of true positives (solid)."""
MISS_STYLE: Final = ":"
"""Line style of false positives (dotted)."""

MAX_DRAWN = 100
"""Most predicted boxes drawn per image (the best-scoring)."""


@dataclass(frozen=True)
class Example:
    """One image to draw with its boxes.

    Attributes:
        name: Title of the panel (image file, chip offset).
        image: ``[C, H, W]`` physical values in the model's band order.
        valid: ``[H, W]`` bool, False on padding and nodata; None when all valid.
        target_boxes: ``[M, 4]`` or ``[M, 5]`` ground-truth boxes in pixels.
        target_labels: ``[M]`` class ids.
        boxes: ``[N, 4|5]`` predicted boxes in pixels.
        scores: ``[N]`` prediction scores.
        labels: ``[N]`` predicted class ids.
    """

    name: str
    image: npt.NDArray[np.floating]
    valid: npt.NDArray[np.bool_] | None
    target_boxes: Float
    target_labels: npt.NDArray[np.int64]
    boxes: Float
    scores: Float
    labels: npt.NDArray[np.int64]


# --------------------------------------------------------------------------- colours


def class_colours(classes: Sequence[ClassInfo], count: int) -> list[str]:
    """``#rrggbb`` of class ids 0..count-1: the classes' own colours, else fallback colours."""
    own = {c.id: c.color for c in classes}
    return [own.get(i, fallback_color(i)) for i in range(count)]


def _names(classes: Sequence[ClassInfo], count: int) -> list[str]:
    own = {c.id: c.name for c in classes}
    return [own.get(i, f"class {i}") for i in range(count)]


# --------------------------------------------------------------------------- PR curves


def pr_curves_figure(
    curves: Curves,
    classes: Sequence[ClassInfo] = (),
    *,
    title: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Every class's precision-recall curve on one axes, AP in the legend.

    Each curve is the monotone precision envelope drawn as steps from recall 0
    (the area under it is the all-point AP; 11-point and COCO AP sample it).
    Classes without targets have no curve and are named under the title.

    Args:
        curves: The per-class curves (:func:`~eoforge.evaluate.detection_curves.class_curves`).
        classes: Class colours by id (default: the fallback colours).
        title: Figure title (default: the style, IoU threshold and mAP).
        path: Also write the PNG there.

    Returns:
        The figure: one axes, recall on x and precision on y, both 0..1.
    """
    count = max([c.class_id for c in curves.classes] + [-1]) + 1
    colours = class_colours(classes, count)
    fig = new_figure(7.0, 5.0)
    ax = fig.add_subplot()
    empty: list[str] = []
    counted = [c.ap for c in curves.classes if not math.isnan(c.ap)]
    for curve in curves.classes:
        recall, precision = envelope_points(curve)
        if recall.size == 0:
            empty.append(curve.name)
            continue
        ax.plot(
            recall,
            precision,
            drawstyle="steps-pre",
            color=colours[curve.class_id],
            linewidth=1.8,
            label=f"{curve.name}: AP {curve.ap:.3f} ({curve.positives} objects)",
        )
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision (monotone envelope)")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    mean = f"mAP {np.mean(counted):.3f}" if counted else "no class has objects"
    fig.suptitle(
        title
        or f"Precision–recall per class ({curves.style}, IoU > {curves.iou_threshold:g}): {mean}",
        fontsize=11,
    )
    if empty:
        ax.set_title(f"no objects, no curve: {', '.join(empty)}", fontsize=8)
    return finish_figure(fig, path)


# --------------------------------------------------------------------------- display


def display_bands(bands: Sequence[str]) -> tuple[list[int], str]:
    """Which bands show an image, and how.

    Args:
        bands: The model's band names in channel order.

    Returns:
        ``(indices, kind)``: the red, green and blue channels and ``"rgb"`` when all
        three are among ``bands`` (by id or alias: ``RGB.red``, ``S2.B04``...);
        else ``[0]`` and ``"sar"`` for a radar band, ``"grey"`` otherwise.
    """
    found: dict[str, int] = {}
    radar: list[bool] = []
    for index, name in enumerate(bands):
        try:
            band = get_band(name)
        except EoforgeError:
            radar.append(False)
            continue
        keys = {band.id.lower(), *(a.lower() for a in band.aliases)}
        for colour in ("red", "green", "blue"):
            if colour in keys and colour not in found:
                found[colour] = index
        wavelength = band.center_wavelength_nm
        radar.append(wavelength is not None and wavelength > RADAR_NM)
    if len(found) == 3:
        return [found["red"], found["green"], found["blue"]], "rgb"
    return [0], "sar" if radar and radar[0] else "grey"


def display_image(
    image: npt.NDArray[np.floating],
    valid: npt.NDArray[np.bool_] | None,
    bands: Sequence[str],
) -> tuple[npt.NDArray[np.float32], str]:
    """An image as displayable RGB in 0..1 and a note on how it was made.

    Args:
        image: ``[C, H, W]`` physical values in the order of ``bands``.
        valid: ``[H, W]`` bool or None (all valid); invalid pixels are drawn black.
        bands: Band names of the channels.

    Returns:
        ``(rgb [H, W, 3] float32, note)``. A radar band whose valid values are all
        non-negative is taken as linear backscatter and shown in dB (10·log10);
        one with negative values is taken to be in dB already.

    Raises:
        ConfigError: ``image`` is not ``[C, H, W]`` with one channel per band.
    """
    if image.ndim != 3 or image.shape[0] != len(bands):
        raise ConfigError(
            f"an image of shape {tuple(image.shape)} for {len(bands)} bands.",
            fix="pass [C, H, W] with one channel per band name.",
        )
    indices, kind = display_bands(bands)
    values = np.asarray(image[indices], dtype=np.float64)
    ok = np.ones(values.shape[1:], dtype=bool) if valid is None else np.asarray(valid, bool)
    ok = ok & np.isfinite(values).all(axis=0)
    note = "RGB: " + ", ".join(bands[i] for i in indices)
    if kind != "rgb":
        note = f"{bands[0]} (grey)"
    if kind == "sar":
        band = values[0]
        if ok.any() and (band[ok] >= 0).all():
            positive = ok & (band > 0)
            band = np.where(positive, 10.0 * np.log10(np.where(positive, band, 1.0)), np.nan)
            ok = positive
        values = band[None]
        note = f"{bands[0]} in dB (grey)"
    scaled, _ = percentile_stretch(values, ok)
    scaled = np.where(ok[None], scaled, 0.0).astype(np.float32)
    rgb = np.repeat(scaled, 3, axis=0) if scaled.shape[0] == 1 else scaled
    return np.ascontiguousarray(rgb.transpose(1, 2, 0)), note + ", 2–98 % stretch"


# --------------------------------------------------------------------------- examples


def _corners(boxes: Float, oriented: bool) -> Float:
    """``[N, 4, 2]`` corner rings of ``[N, 4]`` or ``[N, 5]`` boxes."""
    if len(boxes) == 0:
        return np.zeros((0, 4, 2))
    if oriented:
        return np.asarray(oriented_to_corners(torch.as_tensor(boxes, dtype=torch.float64)))
    x0, y0, x1, y1 = boxes.T
    return np.stack([np.stack([x0, y0], -1), np.stack([x1, y0], -1),
                     np.stack([x1, y1], -1), np.stack([x0, y1], -1)], axis=1)  # fmt: skip


def _draw_box(ax: Axes, ring: Float, colour: str, style: str, width: float) -> None:
    ax.add_patch(
        Polygon(ring, closed=True, fill=False, edgecolor=colour, linestyle=style, linewidth=width)
    )


def _label(ax: Axes, ring: Float, text: str, colour: str) -> None:
    x, y = ring[:, 0].min(), ring[:, 1].min()
    ax.text(x, y, text, fontsize=6, color="white", va="bottom", ha="left", clip_on=True,
            bbox={"facecolor": colour, "edgecolor": "none", "pad": 0.8, "alpha": 0.85})  # fmt: skip


def _panel(
    ax: Axes,
    example: Example,
    bands: Sequence[str],
    names: Sequence[str],
    colours: Sequence[str],
    oriented: bool,
    score_threshold: float,
    iou_threshold: float,
) -> str:
    """Draw one example; return the display note."""
    rgb, note = display_image(example.image, example.valid, bands)
    height, width = rgb.shape[:2]
    ax.imshow(rgb, extent=(0, width, height, 0), interpolation="nearest")
    keep = np.nonzero(example.scores >= score_threshold)[0]
    keep = keep[np.argsort(-example.scores[keep], kind="stable")][:MAX_DRAWN]
    boxes, scores, labels = example.boxes[keep], example.scores[keep], example.labels[keep]
    positive, found = match_image(
        {"boxes": boxes, "scores": scores, "labels": labels},
        {"boxes": example.target_boxes, "labels": example.target_labels},
        iou_threshold=iou_threshold,
        oriented=oriented,
    )
    for ring, label in zip(
        _corners(example.target_boxes, oriented), example.target_labels, strict=True
    ):
        _draw_box(ax, ring, colours[int(label)], TRUTH_STYLE, 1.3)
    rings = _corners(boxes, oriented)
    for k in np.argsort(scores, kind="stable"):  # the best-scoring drawn last, on top
        colour = colours[int(labels[k])]
        hit = bool(positive[k])
        _draw_box(ax, rings[k], colour, HIT_STYLE if hit else MISS_STYLE, 2.0)
        prefix = "" if hit else "FP "
        _label(ax, rings[k], f"{prefix}{names[int(labels[k])]} {scores[k]:.2f}", colour)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_xticks([])
    ax.set_yticks([])
    tp = int(positive.sum())
    ax.set_title(
        f"{example.name}\n{len(example.target_labels)} objects: {tp} found, "
        f"{len(positive) - tp} false positives, {int((~found).sum())} missed",
        fontsize=8,
    )
    return note


def detection_examples(
    examples: Sequence[Example],
    bands: Sequence[str],
    classes: Sequence[ClassInfo] = (),
    *,
    oriented: bool = False,
    score_threshold: float = 0.3,
    iou_threshold: float = 0.5,
    columns: int = 2,
    title: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Images with their ground-truth and predicted boxes, one panel each.

    Predicted boxes scoring at least ``score_threshold`` (the best
    :data:`MAX_DRAWN` per image) are matched to the ground truth per image as
    VOC matches them (:func:`~eoforge.evaluate.detection_metrics.match_image`).
    In each box's class colour: ground truth dashed, true positives solid,
    false positives dotted with an ``FP`` label; every prediction is labelled
    with its class and score. Axes are pixels with the origin at the top left.

    Args:
        examples: The images and their boxes (:class:`Example`).
        bands: Band names of the images' channels.
        classes: Class names and colours by id (default ``class <id>`` and fallback colours).
        oriented: Boxes are ``[N, 5]`` ``(cx, cy, w, h, angle)``, else ``[N, 4]``.
        score_threshold: Least score of a prediction drawn, 0..1.
        iou_threshold: IoU a prediction must exceed to be a true positive.
        columns: Panels per row.
        title: Figure title (default: what is drawn).
        path: Also write the PNG there.

    Returns:
        The figure, one axes per example.

    Raises:
        ConfigError: No example, or an image that does not match ``bands``.
    """
    if not examples:
        raise ConfigError("no example image to draw.", fix="pass at least one Example.")
    count = max(
        [int(v.max()) + 1 for e in examples for v in (e.labels, e.target_labels) if v.size]
        + [max((c.id for c in classes), default=-1) + 1, 1]
    )
    colours, names = class_colours(classes, count), _names(classes, count)
    cols = max(1, min(columns, len(examples)))
    rows = math.ceil(len(examples) / cols)
    fig = new_figure(4.2 * cols + 1.6, 4.3 * rows + 0.6)
    notes = []
    for index, example in enumerate(examples):
        ax = fig.add_subplot(rows, cols, index + 1)
        notes.append(
            _panel(ax, example, bands, names, colours, oriented, score_threshold, iou_threshold)
        )
    used = sorted({int(v) for e in examples for v in (*e.labels, *e.target_labels)})
    handles: list[Line2D | Patch] = [
        Line2D([], [], color="black", linestyle=TRUTH_STYLE, linewidth=1.3, label="ground truth"),
        Line2D([], [], color="black", linestyle=HIT_STYLE, linewidth=2.0, label="true positive"),
        Line2D([], [], color="black", linestyle=MISS_STYLE, linewidth=2.0, label="false positive"),
        *(Patch(facecolor=colours[c], edgecolor="none", label=names[c]) for c in used),
    ]
    fig.legend(handles=handles, loc="outside right upper", frameon=False, fontsize=8)
    fig.suptitle(
        title
        or f"Detections scoring ≥ {score_threshold:g} (IoU > {iou_threshold:g} is a match); "
        f"{notes[0]}",
        fontsize=10,
    )
    return finish_figure(fig, path)


__all__ = [
    "Example",
    "class_colours",
    "detection_examples",
    "display_bands",
    "display_image",
    "pr_curves_figure",
]
