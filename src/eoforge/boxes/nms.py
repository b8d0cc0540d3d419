"""Class-aware greedy non-maximum suppression of horizontal and oriented boxes.

Boxes are visited best score first; a box is dropped when its IoU with a kept box of the
same class exceeds the threshold. Horizontal boxes go to ``torchvision.ops.batched_nms``;
oriented boxes get the IoU matrix of all same-class pairs from
:func:`eoforge.boxes.iou.rotated_iou` (exact polygon clipping, vectorised), then one
greedy pass over the boolean "suppresses" matrix.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torchvision.ops import batched_nms as _torchvision_batched_nms

from eoforge.boxes.iou import rotated_iou


def batched_nms(boxes: Tensor, scores: Tensor, labels: Tensor, iou_threshold: float) -> Tensor:
    """Indices of the boxes kept by class-aware greedy NMS.

    Args:
        boxes: ``[N, 4]`` ``(xmin, ymin, xmax, ymax)`` or ``[N, 5]``
            ``(cx, cy, w, h, angle)``, pixels (and radians).
        scores: ``[N]`` higher is better.
        labels: ``[N]`` int class ids; boxes of different classes never suppress each other.
        iou_threshold: A box whose IoU with a kept, better box of its class is greater
            than this is dropped.

    Returns:
        ``[K]`` int64 indices into ``boxes``, best score first (ties: lower index first
        for oriented boxes), on ``boxes``' device.
    """
    if boxes.ndim != 2 or boxes.shape[1] not in (4, 5):
        raise ValueError(f"boxes must have shape [N, 4] or [N, 5], got {tuple(boxes.shape)}")
    n = len(boxes)
    if scores.shape != (n,) or labels.shape != (n,):
        raise ValueError(
            f"{n} boxes need scores and labels of shape [{n}], got {tuple(scores.shape)}"
            f" and {tuple(labels.shape)}"
        )
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    if boxes.shape[1] == 4:
        kept: Tensor = _torchvision_batched_nms(boxes, scores, labels, iou_threshold)
        return kept
    return _rotated_nms(boxes.detach(), scores.detach(), labels, iou_threshold)


def _rotated_nms(boxes: Tensor, scores: Tensor, labels: Tensor, iou_threshold: float) -> Tensor:
    order = torch.argsort(scores, descending=True, stable=True)
    ranked, classes = boxes[order], labels[order]
    same = classes[:, None] == classes[None, :]
    later = torch.ones_like(same).triu(diagonal=1)
    overlap = rotated_iou(ranked, ranked, candidates=same & later)
    suppresses = (overlap > iou_threshold).cpu().numpy()
    alive = np.ones(len(ranked), dtype=bool)
    for i in range(len(ranked)):  # greedy: each kept box removes the later boxes it overlaps
        if alive[i]:
            alive[i + 1 :] &= ~suppresses[i, i + 1 :]
    kept = torch.from_numpy(np.flatnonzero(alive)).to(boxes.device)
    return order[kept]
