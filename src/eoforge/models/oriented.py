"""Oriented one-stage detector: an FCOS-style anchor-free head that predicts rotated boxes.

``oriented_fcos`` (task ``oriented_detection``) runs the same timm backbone and torchvision
feature pyramid as the horizontal detectors (:class:`~eoforge.models.detection.FeaturePyramid`,
levels P3-P7 at strides 8, 16, 32, 64, 128, any band count, nothing pretrained) and an
anchor-free head shared by all levels:

* a classification tower (``head_convs`` 3 x 3 convolutions with 32-group GroupNorm and
  ReLU) ending in ``K`` logits per location, trained with sigmoid focal loss
  (``alpha = 0.25``, ``gamma = 2``, summed and divided by the number of positives);
* a regression tower ending in, per location at ``(x, y)`` on a level of stride ``s``,
  ``(dx, dy, tw, th)`` with ``cx = x + dx s``, ``cy = y + dy s``, ``w = s exp(tw)``,
  ``h = s exp(th)`` (``tw``, ``th`` clamped at ``log(1000 / 16)``), the angle as the unit
  vector ``(cos 2a, sin 2a)`` (``a = atan2(sin 2a, cos 2a) / 2``) and a centre-ness logit.

The angle is predicted as ``(cos 2a, sin 2a)`` rather than directly: a box is the same box
at ``a`` and ``a + pi``, and the doubled angle's vector is continuous across that period,
so there is no jump of the regression target at the ends of ``[-pi/2, pi/2)``. The
decoded boxes ``(cx, cy, w, h, a)`` are trained with :func:`eoforge.boxes.probiou_loss`
(mean over positive locations), which compares the boxes' Gaussians and so neither
depends on the encoding (``w``/``h`` swaps, ``pi`` turns) nor asks a square for an angle.

Locations: the cell ``(i, j)`` of a level of stride ``s`` sits at
``(x, y) = ((j + 0.5) s, (i + 0.5) s)`` pixels (x = column, y = row, on pixel edges).

Target assignment (:func:`assign_locations`), per image: a location is a candidate for a
box when it lies strictly inside the box's rotated rectangle and the box's largest
distance from the location to its four sides, measured in the box's own frame
(``max(w/2 + |p_u|, h/2 + |p_v|)``, ``p_u``, ``p_v`` the location's offset from the box
centre along the ``w`` and ``h`` sides), lies in the level's range: FCOS's
:data:`SCALE_RANGES` ``(0, 64]``, ``(64, 128]``, ``(128, 256]``, ``(256, 512]``,
``(512, inf)`` pixels for P3 ... P7. A box without any candidate (smaller than a stride,
or thin between locations) gets the P3 location nearest its centre. Each location is
positive for its smallest-area candidate, else background; an image without objects has
only background (its focal loss still counts; the box and centre-ness losses are then a
zero that keeps the graph). Centre-ness targets are FCOS's
``sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))`` with ``l, r = w'/2 +- p_u`` and
``t, b = h'/2 +- p_v`` on the box grown to at least two strides per side
(``w' = max(w, 2 s)``, ``h' = max(h, 2 s)``), so every positive, even one outside a tiny
box, has a target above 0; they are trained with binary cross-entropy over positives.

Assignment per object (option ``assign: object``; the default ``location`` is the rule
above): the level is chosen once per box, by the same ranges applied to the reach from its
centre, half its longest side (:func:`object_levels`), and every location of that level
strictly inside the rotated rectangle is a candidate (a box without any takes its level's
location nearest its centre; shared locations still go to the smallest box). FCOS's
per-location rule splits a long, thin box (a 94 x 16 px ship: locations near its ends
reach more than 64 px) over two or three levels, each seeing a fragment of it; per object
it keeps all its locations on one level (on the synthetic 0.5 m training chips, positives
per ship 10.9 -> 20.8). With ``assign: object`` the box and centre-ness losses are also
weighted so that every object of the batch weighs the same (:func:`object_weights`: each
positive ``1 / (its object's positives x objects)``) instead of every location (a plane
with 100 positives outweighing a car with 2); the focal loss is unchanged. Measured once
on the light synthetic VHR recipe (``configs/detect_synth_vhr_oriented_light.yaml``, 14
epochs): it lost, rotated mAP 0.749 -> 0.705 (ship 0.593 -> 0.478, plane 0.921 -> 0.834,
small vehicle 0.733 -> 0.804), so it is not the default.

Angle loss (option ``angle_weight``, default 0 = off): ProbIoU alone pulls a thin box's
angle weakly once its Gaussian hardly overlaps the target's (the Hellinger distance
saturates near 1), so an oblique ship can stay predicted along the axis most training
ships lie on. With ``angle_weight > 0`` a fourth loss, ``bbox_angle``, is added:
``angle_weight * mean(e (1 - cos 2(a_pred - a_gt)))`` over positives, computed from the
predicted vector as ``1 - <p, (cos 2a_gt, sin 2a_gt)> / |p|``, with ``e = (w - h) / (w +
h)`` the target's elongation, so squares (whose angle is undefined) ask nothing and
periodic ends (``a`` and ``a + pi``) cost the same.

Evaluation: ``score = sqrt(sigmoid(class) * sigmoid(centre-ness))``, scores above
``score_thresh`` and the best :data:`TOPK_PER_LEVEL` of each level are decoded,
class-aware rotated NMS (:func:`eoforge.boxes.batched_nms`, IoU above ``nms_thresh``)
keeps at most ``detections_per_img`` boxes, returned in the shared convention
(:func:`eoforge.boxes.normalize_oriented`: angle in ``[-pi/2, pi/2)``, ``w >= h``).

Options (``spec.options``, all optional): ``fpn_channels`` (256, a multiple of 32),
``head_convs`` (4), ``score_thresh`` (0.05), ``nms_thresh`` (0.1, rotated boxes of
neighbouring objects hardly overlap), ``detections_per_img`` (100), ``assign``
(``location``, or ``object``: see above), ``angle_weight`` (0: see above), ``strides``
(the pyramid levels, pixels, default :data:`STRIDES`; see below). Others are refused.

Levels matched to the objects (``strides``): the levels are consecutive doublings, the
first 4 or 8 (backbone maps; 4 adds P2 for objects a few pixels long, such as cars at
0.5 m), those up to 32 taken from the backbone and 64 (with or without 128) from P6/P7;
e.g. ``[4, 8, 16, 32]`` for chips of 256 px whose objects are at most ~160 px long.
Their ranges follow FCOS's rule (:func:`scale_ranges`): a level of stride ``s`` takes
largest location-to-side distances in ``(4 s, 8 s]``, the first level from 0 and the
last to infinity; the default levels give exactly :data:`SCALE_RANGES`. Assignment,
centre-ness and decoding are as above with these levels (a box without a candidate takes
the first level's nearest location).

Forward contract (as :class:`~eoforge.models.detection.Detector`): images ``[B, C, H, W]``
normalised, non-finite values counted as 0, no resizing (zero-padded at the bottom and
right to a multiple of 32 inside, boxes unchanged); training with targets (``boxes``
``[N, 5]`` ``(cx, cy, w, h, angle)`` pixels and radians, ``labels`` ``[N]`` in
``0..K-1``, ``N`` may be 0) gives ``{"classification", "bbox_regression",
"bbox_ctrness"}`` scalar losses (and ``bbox_angle`` with ``angle_weight``);
evaluation gives one dict per image of ``boxes`` ``[N, 5]`` float32, ``scores`` ``[N]``
float32 and ``labels`` ``[N]`` int64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import sigmoid_focal_loss

from eoforge.boxes import batched_nms, normalize_oriented, probiou_distance, probiou_loss
from eoforge.errors import ConfigError
from eoforge.models.detection import (
    TWO_STREAM_OPTIONS,
    Extra,
    FeaturePyramid,
    TwoStreamPyramid,
    _check_options,
    _width,
    two_stream_pyramid,
)
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec

STRIDES = (8, 16, 32, 64, 128)
"""Strides of the pyramid levels P3 ... P7, pixels."""

SCALE_RANGES = (
    (0.0, 64.0),
    (64.0, 128.0),
    (128.0, 256.0),
    (256.0, 512.0),
    (512.0, math.inf),
)
"""FCOS's ``(low, high]`` ranges, pixels, of a box's largest location-to-side distance per level."""

BACKBONE_STRIDES = (4, 8, 16, 32)
"""Level strides, pixels, that come from backbone feature maps (larger ones from P6/P7)."""

TOPK_PER_LEVEL = 1000
"""Candidates per level kept for NMS in evaluation."""

LOG_SIZE_MAX = math.log(1000.0 / 16)
"""Clamp of the predicted log sizes (``w = s exp(tw)``), as torchvision's box coder."""

ASSIGNMENTS = ("location", "object")
"""Values of the ``assign`` option (see the module docstring)."""

_BASE_OPTIONS = (
    "fpn_channels",
    "head_convs",
    "score_thresh",
    "nms_thresh",
    "detections_per_img",
    "assign",
    "angle_weight",
)
_OPTIONS = (*_BASE_OPTIONS, "strides")
_PRIOR = 0.01  # initial foreground probability of the classification logits
_PAD = 32


def scale_ranges(strides: Sequence[int]) -> tuple[tuple[float, float], ...]:
    """FCOS's ``(low, high]`` ranges of levels at ``strides``: ``(4 s, 8 s]``, open at both ends.

    Args:
        strides: Level strides, pixels, finest first, each twice the one before.

    Returns:
        One ``(low, high)`` per level, pixels: the first level's ``low`` is 0, the last
        level's ``high`` infinity (:data:`STRIDES` give :data:`SCALE_RANGES`).
    """
    last = len(strides) - 1
    return tuple(
        (0.0 if i == 0 else 4.0 * s, math.inf if i == last else 8.0 * s)
        for i, s in enumerate(strides)
    )


def level_locations(height: int, width: int, stride: int, device: torch.device) -> Tensor:
    """Locations of a ``height x width`` level, row-major.

    Args:
        height: Rows of the level's feature map.
        width: Columns of the level's feature map.
        stride: The level's stride, pixels.
        device: Device of the result.

    Returns:
        ``[height * width, 2]`` float32 ``(x, y)`` pixels: ``((j + 0.5) s, (i + 0.5) s)``.
    """
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) * stride
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=-1)


def _box_frame(points: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor]:
    """Offsets ``[L, N]`` of ``points`` ``[L, 2]`` from box centres along the w and h sides."""
    dx = points[:, None, 0] - boxes[None, :, 0]
    dy = points[:, None, 1] - boxes[None, :, 1]
    cos, sin = torch.cos(boxes[:, 4]), torch.sin(boxes[:, 4])
    # the w side runs along u = (cos a, -sin a), the h side along v = (sin a, cos a)
    return dx * cos - dy * sin, dx * sin + dy * cos


def object_levels(boxes: Tensor, levels: Sequence[int] = STRIDES) -> Tensor:
    """The level of each box under ``assign: object``: FCOS's range of its centre's reach.

    The reach from a box's centre to its farthest side is half its longest side,
    ``max(w, h) / 2``; the box goes to the level whose :func:`scale_ranges` range holds it.

    Args:
        boxes: ``[N, 5]`` ``(cx, cy, w, h, angle)`` pixels and radians.
        levels: The pyramid's level strides, finest first.

    Returns:
        ``[N]`` int64 index into ``levels``.
    """
    reach = torch.maximum(boxes[:, 2].abs(), boxes[:, 3].abs()) / 2
    highs = [high for _, high in scale_ranges(levels)[:-1]]
    bounds = torch.tensor(highs, dtype=reach.dtype, device=reach.device)
    # first level whose (low, high] range holds the reach; above all of them: the last
    return torch.searchsorted(bounds, reach.contiguous())


def assign_locations(
    points: Tensor,
    strides: Tensor,
    boxes: Tensor,
    levels: Sequence[int] = STRIDES,
    *,
    per_object: bool = False,
) -> Tensor:
    """The box each location is positive for (see the module docstring), or -1.

    Args:
        points: ``[L, 2]`` locations ``(x, y)`` of all levels, pixels.
        strides: ``[L]`` the stride of each location's level, pixels (one of ``levels``).
        boxes: ``[N, 5]`` ``(cx, cy, w, h, angle)`` pixels and radians; ``N`` may be 0.
        levels: The pyramid's level strides, finest first (ranges from :func:`scale_ranges`).
        per_object: One level per box (:func:`object_levels`, option ``assign: object``)
            instead of FCOS's level per location (``assign: location``).

    Returns:
        ``[L]`` int64 index into ``boxes`` of the smallest-area candidate box, -1 for
        background.
    """
    if len(boxes) == 0:
        return torch.full((len(points),), -1, dtype=torch.long, device=points.device)
    boxes = boxes.to(points.dtype)
    along_w, along_h = _box_frame(points, boxes)
    half_w, half_h = boxes[None, :, 2].abs() / 2, boxes[None, :, 3].abs() / 2
    inside = (along_w.abs() < half_w) & (along_h.abs() < half_h)
    level = torch.searchsorted(
        torch.tensor(list(levels), dtype=strides.dtype, device=strides.device), strides
    )
    if per_object:
        on_level = level[:, None] == object_levels(boxes, levels)[None, :]
    else:
        reach = torch.maximum(half_w + along_w.abs(), half_h + along_h.abs())
        ranges = torch.tensor(scale_ranges(levels), dtype=points.dtype, device=points.device)
        low, high = ranges[level, 0:1], ranges[level, 1:2]
        on_level = (reach > low) & (reach <= high)
    candidate = inside & on_level
    # boxes without a candidate take the location nearest their centre: on their own
    # level (per object), else on the finest level
    lonely = torch.nonzero(~candidate.any(dim=0)).squeeze(1)
    if len(lonely):
        allowed = on_level[:, lonely] if per_object else (strides == levels[0])[:, None]
        distance = torch.cdist(boxes[lonely, :2], points).T  # [L, lonely]
        distance = torch.where(allowed, distance, torch.full_like(distance, math.inf))
        nearest, where = distance.min(dim=0)
        found = torch.isfinite(nearest)
        candidate[where[found], lonely[found]] = True
    area = (boxes[:, 2] * boxes[:, 3]).abs()
    area_or_inf = torch.where(candidate, area[None, :], torch.full_like(along_w, math.inf))
    smallest, index = area_or_inf.min(dim=1)
    return torch.where(torch.isfinite(smallest), index, torch.full_like(index, -1))


def object_weights(image_of: Tensor, box_of: Tensor) -> Tensor:
    """Weights of positive locations that give every object the same total weight.

    Args:
        image_of: ``[P]`` the image of each positive location.
        box_of: ``[P]`` the index of its matched box within its image.

    Returns:
        ``[P]`` float32 ``1 / (positives of the same object) / (objects)``: summing to 1,
        each object's positives together weigh ``1 / objects``; empty for ``P = 0``.
    """
    if len(image_of) == 0:
        return torch.zeros(0, device=image_of.device)
    key = image_of * (int(box_of.max()) + 1) + box_of
    _, inverse, counts = torch.unique(key, return_inverse=True, return_counts=True)
    weights: Tensor = 1.0 / (counts[inverse].float() * len(counts))
    return weights


def centerness_targets(points: Tensor, strides: Tensor, boxes: Tensor) -> Tensor:
    """FCOS centre-ness of locations in their matched boxes, grown to two strides per side.

    Args:
        points: ``[P, 2]`` positive locations ``(x, y)``, pixels.
        strides: ``[P]`` their levels' strides, pixels.
        boxes: ``[P, 5]`` the box matched to each location.

    Returns:
        ``[P]`` targets in ``[0, 1]``, 1 at the box centre.
    """
    dx = points[:, 0] - boxes[:, 0]
    dy = points[:, 1] - boxes[:, 1]
    cos, sin = torch.cos(boxes[:, 4]), torch.sin(boxes[:, 4])
    along_w, along_h = dx * cos - dy * sin, dx * sin + dy * cos
    half_w = torch.maximum(boxes[:, 2].abs(), 2 * strides) / 2
    half_h = torch.maximum(boxes[:, 3].abs(), 2 * strides) / 2
    left, right = (half_w + along_w).clamp_min(0), (half_w - along_w).clamp_min(0)
    top, bottom = (half_h + along_h).clamp_min(0), (half_h - along_h).clamp_min(0)
    ratio_w = torch.minimum(left, right) / torch.maximum(left, right).clamp_min(1e-6)
    ratio_h = torch.minimum(top, bottom) / torch.maximum(top, bottom).clamp_min(1e-6)
    return torch.sqrt(ratio_w * ratio_h)


def decode_boxes(points: Tensor, strides: Tensor, box: Tensor, angle: Tensor) -> Tensor:
    """Oriented boxes from the regression outputs of locations.

    Args:
        points: ``[..., 2]`` locations ``(x, y)``, pixels.
        strides: ``[...]`` their levels' strides, pixels.
        box: ``[..., 4]`` ``(dx, dy, tw, th)`` in strides and log-strides.
        angle: ``[..., 2]`` ``(cos 2a, sin 2a)`` (any length but 0).

    Returns:
        ``[..., 5]`` ``(cx, cy, w, h, a)`` pixels and radians, ``a`` in ``(-pi/2, pi/2]``;
        not normalised (``h`` may exceed ``w``).
    """
    s = strides.unsqueeze(-1)
    centre = points + box[..., :2] * s
    size = torch.exp(box[..., 2:].clamp(max=LOG_SIZE_MAX)) * s
    theta = torch.atan2(angle[..., 1], angle[..., 0]) / 2
    return torch.cat([centre, size, theta.unsqueeze(-1)], dim=-1)


def angle_loss(vector: Tensor, boxes: Tensor) -> Tensor:
    """Elongation-weighted periodic angle loss (see the module docstring).

    Args:
        vector: ``[N, 2]`` predicted ``(cos 2a, sin 2a)``, any length but 0.
        boxes: ``[N, 5]`` matched targets ``(cx, cy, w, h, angle)``.

    Returns:
        Scalar: ``mean(e (1 - cos 2(a_pred - a_gt)))``, 0 (in the graph) for ``N = 0``.
    """
    if not len(boxes):
        return vector.sum() * 0
    twice = 2 * boxes[:, 4].to(vector.dtype)
    target = torch.stack([torch.cos(twice), torch.sin(twice)], dim=-1)
    agreement = (vector * target).sum(-1) / vector.norm(dim=-1).clamp_min(1e-6)
    w, h = boxes[:, 2].abs().to(vector.dtype), boxes[:, 3].abs().to(vector.dtype)
    elongation = (w - h).abs() / (w + h).clamp_min(1e-6)
    loss: Tensor = (elongation * (1 - agreement)).mean()
    return loss


def _tower(width: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(convs):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.GroupNorm(32, width), nn.ReLU()]
    return nn.Sequential(*layers)


class OrientedHead(nn.Module):
    """The anchor-free head shared by all levels.

    Args:
        width: Channels of the pyramid levels (a multiple of 32).
        num_classes: ``K``.
        convs: Convolutions per tower.
    """

    def __init__(self, width: int, num_classes: int, convs: int) -> None:
        super().__init__()
        self.cls_tower = _tower(width, convs)
        self.reg_tower = _tower(width, convs)
        self.cls_logits = nn.Conv2d(width, num_classes, 3, padding=1)
        self.box = nn.Conv2d(width, 4, 3, padding=1)
        self.angle = nn.Conv2d(width, 2, 3, padding=1)
        self.quality = nn.Conv2d(width, 1, 3, padding=1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, std=0.01)
                nn.init.zeros_(cast(Tensor, module.bias))
        nn.init.constant_(cast(Tensor, self.cls_logits.bias), -math.log((1 - _PRIOR) / _PRIOR))
        with torch.no_grad():
            cast(Tensor, self.angle.bias).copy_(torch.tensor([1.0, 0.0]))  # start at angle 0

    def forward(self, level: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Outputs of one level ``[B, F, h, w]``, locations row-major.

        Returns:
            Class logits ``[B, h*w, K]``, ``(dx, dy, tw, th)`` ``[B, h*w, 4]``,
            ``(cos 2a, sin 2a)`` ``[B, h*w, 2]``, centre-ness logits ``[B, h*w]``.
        """
        cls = self.cls_tower(level)
        reg = self.reg_tower(level)

        def flat(x: Tensor) -> Tensor:
            return x.flatten(2).transpose(1, 2)

        return (
            flat(self.cls_logits(cls)),
            flat(self.box(reg)),
            flat(self.angle(reg)),
            flat(self.quality(reg)).squeeze(-1),
        )


class OrientedFCOS(nn.Module):
    """FCOS-style oriented detector (see the module docstring).

    Args:
        pyramid: Feature pyramid with levels at ``strides`` (finest first; more levels
            than that are left unused).
        num_classes: ``K``.
        head_convs: Convolutions per head tower.
        score_thresh: Smallest score of a returned detection.
        nms_thresh: Rotated IoU above which a same-class, lower-scored box is dropped.
        detections_per_img: Most detections returned per image.
        strides: Level strides, pixels, finest first (default :data:`STRIDES`).
        assign: ``"location"`` (FCOS) or ``"object"`` (see the module docstring).
        angle_weight: Weight of the ``bbox_angle`` loss (0: not computed).

    Raises:
        ConfigError: ``assign`` is not one of :data:`ASSIGNMENTS`.
    """

    def __init__(
        self,
        pyramid: FeaturePyramid | TwoStreamPyramid,
        num_classes: int,
        *,
        head_convs: int = 4,
        score_thresh: float = 0.05,
        nms_thresh: float = 0.1,
        detections_per_img: int = 100,
        strides: Sequence[int] = STRIDES,
        assign: str = "location",
        angle_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if assign not in ASSIGNMENTS:
            raise ConfigError(
                f"model.options.assign: {assign!r} is not a target assignment of oriented_fcos.",
                fix=f"give one of {list(ASSIGNMENTS)} (location: FCOS's level per location; "
                "object: one level per object and every object weighs the same in the box "
                "and centre-ness losses).",
            )
        self.assign = assign
        self.angle_weight = float(angle_weight)
        self.pyramid = pyramid
        self.strides = tuple(int(s) for s in strides)
        self.head = OrientedHead(pyramid.out_channels, num_classes, head_convs)
        self.num_classes = num_classes
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img

    def forward(
        self, images: Tensor, targets: Sequence[dict[str, Tensor]] | None = None
    ) -> dict[str, Tensor] | list[dict[str, Tensor]]:
        """Losses (training) or detections (evaluation).

        Args:
            images: ``[B, C, H, W]`` normalised images; non-finite values count as 0.
            targets: In training, one dict per image with ``boxes`` ``[N, 5]``
                ``(cx, cy, w, h, angle)`` pixels and radians and ``labels`` ``[N]`` in
                ``0..K-1``; ``N`` may be 0. Other keys are ignored. Ignored in evaluation.

        Returns:
            Training: ``classification``, ``bbox_regression`` and ``bbox_ctrness``
            scalar losses, and ``bbox_angle`` when ``angle_weight > 0`` (their sum is
            the loss). Evaluation: per image ``boxes``
            ``[N, 5]`` float32 in the shared convention, ``scores`` ``[N]`` float32,
            ``labels`` ``[N]`` int64 in ``0..K-1``.

        Raises:
            ConfigError: Training without targets, or targets whose boxes are not ``[N, 5]``.
        """
        images = torch.where(torch.isfinite(images), images, torch.zeros_like(images))
        height, width = images.shape[-2:]
        pad_right = -width % _PAD
        coarsest = max(self.strides)
        if images.shape[0] == 1 and max(height, width) <= coarsest:
            # a lone small image would leave one value per GroupNorm group at the last level
            pad_right = 2 * coarsest - width
        images = F.pad(images, (0, pad_right, 0, -height % _PAD))
        levels = list(self.pyramid(images).values())[: len(self.strides)]
        outputs = [self.head(level) for level in levels]
        parts = zip(*outputs, strict=True)
        logits, box, angle, quality = (torch.cat(part, dim=1) for part in parts)
        points = torch.cat(
            [
                level_locations(lv.shape[-2], lv.shape[-1], s, images.device)
                for lv, s in zip(levels, self.strides, strict=True)
            ]
        )
        strides = torch.cat(
            [
                torch.full((lv.shape[-2] * lv.shape[-1],), float(s), device=images.device)
                for lv, s in zip(levels, self.strides, strict=True)
            ]
        )
        if not self.training:
            return [
                self._detect(points, strides, *per_image)
                for per_image in zip(logits, box, angle, quality, strict=True)
            ]
        if targets is None:
            raise ConfigError(
                "a detector in training mode needs targets (boxes and labels per image).",
                fix="pass targets, or call model.eval() to get detections.",
            )
        return self._losses(points, strides, logits, box, angle, quality, targets)

    def _losses(
        self,
        points: Tensor,
        strides: Tensor,
        logits: Tensor,
        box: Tensor,
        angle: Tensor,
        quality: Tensor,
        targets: Sequence[dict[str, Tensor]],
    ) -> dict[str, Tensor]:
        """The three losses of a batch from its ``[B, L, ...]`` outputs and targets."""
        classes = torch.zeros_like(logits)
        positive_images, positive_locations, matched, matched_boxes = [], [], [], []
        for i, target in enumerate(targets):
            boxes = target["boxes"]
            if boxes.dim() != 2 or boxes.shape[1] != 5:
                raise ConfigError(
                    f"an oriented detector takes boxes [N, 5] (cx, cy, w, h, angle), "
                    f"got {tuple(boxes.shape)}.",
                    fix="use task oriented_detection data, or a horizontal detector for "
                    "boxes [N, 4].",
                )
            boxes = boxes.to(points)
            per_object = self.assign == "object"
            index = assign_locations(points, strides, boxes, self.strides, per_object=per_object)
            where = torch.nonzero(index >= 0).squeeze(1)
            classes[i, where, target["labels"].long()[index[where]]] = 1.0
            positive_images.append(torch.full_like(where, i))
            positive_locations.append(where)
            matched_boxes.append(index[where])
            matched.append(boxes[index[where]])
        image_of = torch.cat(positive_images)
        location = torch.cat(positive_locations)
        gt = torch.cat(matched)
        count = max(1, len(location))
        classification = sigmoid_focal_loss(logits, classes, reduction="sum") / count
        decoded = decode_boxes(
            points[location], strides[location], box[image_of, location], angle[image_of, location]
        )
        predicted = quality[image_of, location]
        if not len(location):  # no objects in the batch: zeros that still join the graph
            regression, ctrness = probiou_loss(decoded, gt), predicted.sum() * 0
        else:
            wanted = centerness_targets(points[location], strides[location], gt)
            if self.assign == "object":  # every object weighs the same
                weight = object_weights(image_of, torch.cat(matched_boxes)).to(decoded)
                distance = probiou_distance(decoded, gt).to(decoded.dtype)
                regression = (weight * distance).sum()
                each = F.binary_cross_entropy_with_logits(predicted, wanted, reduction="none")
                ctrness = (weight * each).sum()
            else:
                regression = probiou_loss(decoded, gt)
                ctrness = F.binary_cross_entropy_with_logits(predicted, wanted)
        losses = {
            "classification": classification,
            "bbox_regression": regression,
            "bbox_ctrness": ctrness,
        }
        if self.angle_weight > 0:
            losses["bbox_angle"] = self.angle_weight * angle_loss(angle[image_of, location], gt)
        return losses

    def _detect(
        self,
        points: Tensor,
        strides: Tensor,
        logits: Tensor,
        box: Tensor,
        angle: Tensor,
        quality: Tensor,
    ) -> dict[str, Tensor]:
        """Detections of one image from its ``[L, ...]`` outputs (see the module docstring)."""
        scores_all = torch.sqrt(torch.sigmoid(logits) * torch.sigmoid(quality)[:, None])
        kept_scores, kept_locations, kept_labels = [], [], []
        for s in self.strides:
            on_level = torch.nonzero(strides == s).squeeze(1)
            flat = scores_all[on_level].flatten()
            passing = torch.nonzero(flat > self.score_thresh).squeeze(1)
            best = flat[passing].topk(min(TOPK_PER_LEVEL, len(passing)))
            chosen = passing[best.indices]
            kept_scores.append(best.values)
            kept_locations.append(on_level[chosen // self.num_classes])
            kept_labels.append(chosen % self.num_classes)
        scores, location, labels = (
            torch.cat(kept_scores),
            torch.cat(kept_locations),
            torch.cat(kept_labels),
        )
        boxes = decode_boxes(points[location], strides[location], box[location], angle[location])
        keep = batched_nms(boxes, scores, labels, self.nms_thresh)[: self.detections_per_img]
        return {
            "boxes": normalize_oriented(boxes[keep].float()),
            "scores": scores[keep].float(),
            "labels": labels[keep].long(),
        }


def build_oriented_fcos(spec: ModelSpec) -> OrientedFCOS:
    """``oriented_fcos`` for ``spec`` (backbone, bands, classes, options).

    Raises:
        ConfigError: Unknown options, a backbone without maps at the levels' strides up
            to 32, ``fpn_channels`` that is not a positive multiple of 32, or ``strides``
            that are not consecutive doublings from 4 or 8 (see the module docstring).
    """
    options: dict[str, Any] = _check_options(spec, _OPTIONS)
    strides = level_strides(options.get("strides", STRIDES))
    from_backbone = [s for s in strides if s in BACKBONE_STRIDES]
    extra: Extra | None = "p6p7" if len(strides) > len(from_backbone) else None
    pyramid = FeaturePyramid(
        spec.backbone, spec.in_channels, from_backbone, _width("fcos", options, 256), extra
    )
    return _detector(pyramid, spec, options, strides)


def level_strides(value: Any) -> tuple[int, ...]:
    """``model.options.strides`` checked: consecutive doublings from 4 or 8, up to 128.

    Args:
        value: The option as given (a list of pixel strides).

    Returns:
        The strides as ints, finest first.

    Raises:
        ConfigError: Not a list of consecutive doublings starting at 4 or 8 that reaches
            32 (the backbone's deepest map) and ends by 128.
    """
    allowed = (*BACKBONE_STRIDES, 64, 128)
    strides = tuple(int(s) for s in value) if isinstance(value, list | tuple) else ()
    valid = (
        bool(strides)
        and strides[0] in (4, 8)
        and all(b == 2 * a for a, b in pairwise(strides))
        and 32 in strides
        and set(strides) <= set(allowed)
    )
    if not valid:
        raise ConfigError(
            f"model.options.strides: {value!r} are not pyramid levels oriented_fcos can build.",
            fix="give consecutive doublings from 4 or 8 to 32, 64 or 128, pixels: e.g. "
            "[4, 8, 16, 32] for small objects on small chips, or the default "
            f"{list(STRIDES)}.",
        )
    return strides


def build_two_stream_oriented_fcos(spec: ModelSpec) -> OrientedFCOS:
    """``oriented_fcos``'s head on an optical and a SAR pyramid fused per level (M4-SAR pairs).

    The optical bands and the SAR bands (``sar_bands``, by default those with a
    radar wavelength) each get a backbone and pyramid (``sar_backbone``, default
    ``spec.backbone``); the levels are fused as in ``two_stream_fcos``.

    Raises:
        ConfigError: Unknown options, or a band group that is empty.
    """
    options: dict[str, Any] = _check_options(spec, (*_BASE_OPTIONS, *TWO_STREAM_OPTIONS))
    pyramid = two_stream_pyramid(spec, options, STRIDES[:3], _width("fcos", options, 256))
    return _detector(pyramid, spec, options)


def _detector(
    pyramid: FeaturePyramid | TwoStreamPyramid,
    spec: ModelSpec,
    options: dict[str, Any],
    strides: Sequence[int] = STRIDES,
) -> OrientedFCOS:
    return OrientedFCOS(
        pyramid,
        spec.num_classes,
        head_convs=int(options.get("head_convs", 4)),
        score_thresh=float(options.get("score_thresh", 0.05)),
        nms_thresh=float(options.get("nms_thresh", 0.1)),
        detections_per_img=int(options.get("detections_per_img", 100)),
        strides=strides,
        assign=str(options.get("assign", "location")),
        angle_weight=float(options.get("angle_weight", 0.0)),
    )


@register_model(
    "oriented_fcos",
    ("oriented_detection",),
    "FCOS-style anchor-free oriented boxes (ProbIoU loss, rotated NMS) on a timm backbone + FPN",
)
def _oriented_fcos(spec: ModelSpec) -> nn.Module:
    return build_oriented_fcos(spec)


@register_model(
    "two_stream_oriented_fcos",
    ("oriented_detection",),
    "oriented_fcos on optical and SAR backbones whose pyramids are fused per level (M4-SAR)",
)
def _two_stream_oriented_fcos(spec: ModelSpec) -> nn.Module:
    return build_two_stream_oriented_fcos(spec)
