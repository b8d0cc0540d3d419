"""Class-aware greedy non-maximum suppression of horizontal and oriented boxes.

Boxes are visited best score first; a box is dropped when its IoU with a kept box of the
same class exceeds the threshold. Horizontal boxes go to ``torchvision.ops.batched_nms``;
oriented boxes are compared in pairs that could suppress: same class, later in score
order, envelopes that overlap, and an IoU bound above the threshold (a polygon lies in
its envelope, so the intersection is at most the envelopes' and the IoU at most
``E / (A + B - E)``, ``E`` that area). Only those pairs get the exact IoU
(:func:`eoforge.boxes.iou.rotated_iou_pairs`, polygon clipping, vectorised), and one
greedy pass walks the sparse "suppresses" lists: thousands of candidates cost the pairs
that touch, not a dense ``N x N`` matrix.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torchvision.ops import batched_nms as _torchvision_batched_nms

from eoforge.boxes.convert import oriented_to_xyxy
from eoforge.boxes.iou import rotated_iou_pairs

_ROWS = 512  # candidate rows compared at once: a [512, N] block of pairs


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
    rows, cols = _suppression_candidates(ranked, classes, iou_threshold)
    hits = rotated_iou_pairs(ranked[rows], ranked[cols]) > iou_threshold
    suppressor = rows[hits].cpu().numpy()  # sorted: candidates come row by row
    suppressed = cols[hits].cpu().numpy()
    starts = np.searchsorted(suppressor, np.arange(len(ranked) + 1))
    alive = np.ones(len(ranked), dtype=bool)
    for i in range(len(ranked)):  # greedy: each kept box removes the later boxes it overlaps
        if alive[i]:
            alive[suppressed[starts[i] : starts[i + 1]]] = False
    kept = torch.from_numpy(np.flatnonzero(alive)).to(boxes.device)
    return order[kept]


def _suppression_candidates(
    ranked: Tensor, classes: Tensor, iou_threshold: float
) -> tuple[Tensor, Tensor]:
    """Pairs ``(i, j)``, ``i < j``, of one class whose IoU may exceed the threshold, by row."""
    envelope = oriented_to_xyxy(ranked)
    area = (ranked[:, 2] * ranked[:, 3]).abs()
    found_rows, found_cols = [], []
    for cls in torch.unique(classes):
        members = torch.nonzero(classes == cls).squeeze(1)  # in rank order
        env, size = envelope[members], area[members]
        for start in range(0, len(members), _ROWS):
            block = slice(start, start + _ROWS)  # rows of the block against every later box
            low = torch.maximum(env[block, None, :2], env[None, start:, :2])
            high = torch.minimum(env[block, None, 2:], env[None, start:, 2:])
            shared = (high - low).clamp_min(0).prod(dim=-1)
            union = size[block, None] + size[None, start:] - shared
            # no bound where the envelopes outgrow both boxes together: compare those
            possible = (shared > iou_threshold * union) | (union <= 0)
            possible &= (high > low).all(dim=-1)
            possible = possible.triu(diagonal=1)  # later boxes only
            rows, cols = torch.nonzero(possible, as_tuple=True)
            found_rows.append(members[rows + start])
            found_cols.append(members[cols + start])
    rows, cols = torch.cat(found_rows), torch.cat(found_cols)
    by_row = torch.argsort(rows, stable=True)
    return rows[by_row], cols[by_row]
