"""Box geometry in pixel coordinates: encodings, IoU (also of rotated boxes), NMS, losses.

A low-level package: it imports torch (and torchvision for horizontal NMS) and nothing
else of eoforge, so data, models, metrics and prediction can all use it. The box
conventions are described in :mod:`eoforge.boxes.convert`.
"""

from __future__ import annotations

from eoforge.boxes.convert import (
    corners_to_oriented,
    cxcywh_to_xyxy,
    from_le90,
    normalize_oriented,
    oriented_to_corners,
    oriented_to_xyxy,
    point_length_to_xyxy,
    to_le90,
    wrap_angle,
    xywh_to_xyxy,
    xyxy_to_cxcywh,
)
from eoforge.boxes.iou import box_iou, rotated_iou, rotated_iou_pairs
from eoforge.boxes.losses import gwd_loss, kld_loss, probiou_distance, probiou_loss
from eoforge.boxes.nms import batched_nms

__all__ = [
    "batched_nms",
    "box_iou",
    "corners_to_oriented",
    "cxcywh_to_xyxy",
    "from_le90",
    "gwd_loss",
    "kld_loss",
    "normalize_oriented",
    "oriented_to_corners",
    "oriented_to_xyxy",
    "point_length_to_xyxy",
    "probiou_distance",
    "probiou_loss",
    "rotated_iou",
    "rotated_iou_pairs",
    "to_le90",
    "wrap_angle",
    "xywh_to_xyxy",
    "xyxy_to_cxcywh",
]
