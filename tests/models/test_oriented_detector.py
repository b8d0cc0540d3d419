"""oriented_fcos: bands, losses, output convention, target assignment, overfitting, NMS."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from tests.models.conftest import S2_13
from torch import nn

from eoforge.boxes import rotated_iou
from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model
from eoforge.models.oriented import (
    SCALE_RANGES,
    STRIDES,
    OrientedFCOS,
    angle_loss,
    assign_locations,
    centerness_targets,
    level_locations,
    object_levels,
    object_weights,
    scale_ranges,
)

BANDS = {1: ["S1.VV"], 3: ["S2.B02", "S2.B03", "S2.B04"], 13: S2_13}
LOSSES = {"classification", "bbox_regression", "bbox_ctrness"}


def _spec(bands: list[str], classes: int = 2, **options: Any) -> ModelSpec:
    options.setdefault("fpn_channels", 64)
    return ModelSpec(
        task="oriented_detection",
        arch="oriented_fcos",
        in_bands=bands,
        num_classes=classes,
        options=options,
    )


def _targets() -> list[dict[str, torch.Tensor]]:
    """One image with two rotated objects, one without any."""
    return [
        {"boxes": torch.tensor([[20.0, 18.0, 24.0, 8.0, 0.5], [44.0, 42.0, 16.0, 10.0, -1.2]]),
         "labels": torch.tensor([0, 1])},
        {"boxes": torch.zeros(0, 5), "labels": torch.zeros(0, dtype=torch.int64)},
    ]  # fmt: skip


def _grid(size: int, levels_at: tuple[int, ...] = STRIDES) -> tuple[torch.Tensor, torch.Tensor]:
    """Locations ``[L, 2]`` and strides ``[L]`` of every level of a ``size`` px square."""
    cells = [math.ceil(size / s) for s in levels_at]
    levels = list(zip(cells, levels_at, strict=True))
    points = torch.cat([level_locations(n, n, s, torch.device("cpu")) for n, s in levels])
    strides = torch.cat([torch.full((n * n,), float(s)) for n, s in levels])
    return points, strides


Found = dict[int, dict[int, set[tuple[float, float]]]]


def _positives(size: int, boxes: list[list[float]]) -> Found:
    """Positive locations ``{box: {stride: {(x, y)}}}`` of hand-made boxes."""
    points, strides = _grid(size)
    index = assign_locations(points, strides, torch.tensor(boxes))
    found: Found = {}
    for i in torch.nonzero(index >= 0).squeeze(1).tolist():
        by_level = found.setdefault(int(index[i]), {})
        x, y = points[i].tolist()
        by_level.setdefault(int(strides[i]), set()).add((x, y))
    return found


@pytest.mark.parametrize("channels", [1, 3, 13])
def test_builds_and_trains_for_any_band_count(channels: int) -> None:
    model = build_model(_spec(BANDS[channels]))
    assert isinstance(model, OrientedFCOS)
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert first.in_channels == channels
    images = torch.randn(2, channels, 64, 64)
    images[1, :, :8, :8] = float("nan")  # invalid pixels count as 0
    losses = model.train()(images, _targets())
    assert isinstance(losses, dict) and set(losses) == LOSSES
    assert all(torch.isfinite(v) and v.ndim == 0 for v in losses.values())
    torch.stack(list(losses.values())).sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_a_batch_without_objects_trains() -> None:
    model = build_model(_spec(BANDS[3])).train()
    empty = _targets()[1]
    losses = model(torch.randn(2, 3, 64, 64), [empty, empty])
    assert isinstance(losses, dict)
    assert losses["bbox_regression"].item() == 0.0 and losses["bbox_ctrness"].item() == 0.0
    assert losses["classification"].item() > 0.0  # every location is background
    torch.stack(list(losses.values())).sum().backward()


def test_eval_output_is_in_the_box_convention() -> None:
    model = build_model(_spec(BANDS[3], classes=3, detections_per_img=50)).eval()
    images = torch.randn(2, 3, 64, 80)  # not a multiple of 32: padded inside
    images[0, 0, 10:20, 10:20] = float("nan")
    with torch.no_grad():
        out = model(images)
    assert isinstance(out, list) and len(out) == 2
    for d in out:
        assert set(d) == {"boxes", "scores", "labels"}
        n = len(d["scores"])
        assert 0 < n <= 50  # untrained scores sqrt(0.01 * ~0.5) pass the 0.05 threshold
        assert d["boxes"].dtype == torch.float32 and tuple(d["boxes"].shape) == (n, 5)
        assert d["scores"].dtype == torch.float32 and d["labels"].dtype == torch.int64
        assert torch.isfinite(d["boxes"]).all()
        angle = d["boxes"][:, 4]
        assert (angle >= -math.pi / 2).all() and (angle < math.pi / 2).all()
        assert (d["boxes"][:, 2] >= d["boxes"][:, 3]).all()
        assert ((d["labels"] >= 0) & (d["labels"] < 3)).all()
        assert (d["scores"][:-1] >= d["scores"][1:]).all()  # best first


def test_target_assignment_of_a_rotated_box_at_p3() -> None:
    # 40 x 6 at 45 degrees through (36, 36): the P3 locations on its long axis
    # (36 -+ 8k, 36 +- 8k) lie 11.3 k px from the centre along w, inside for |k| <= 1;
    # their largest distance to a side is 20 + 11.3 |k| <= 64, so P3 and no other level
    found = _positives(128, [[36.0, 36.0, 40.0, 6.0, math.pi / 4]])
    assert found == {0: {8: {(28.0, 44.0), (36.0, 36.0), (44.0, 28.0)}}}


def test_target_assignment_by_level_and_smallest_box() -> None:
    # a 180 px square on (64, 64): its side distances exceed 64 px everywhere, so no
    # P3 location; P4 (locations 8, 24, ... 120) takes those within 38 px of the centre per
    # axis (90 + 38 <= 128): 4 x 4; P5 (16, 48, 80, 112) the 12 at 48 px (90 + 48 > 128)
    found = _positives(128, [[64.0, 64.0, 180.0, 180.0, 0.0]])
    assert {s: len(p) for s, p in found[0].items()} == {16: 16, 32: 12}
    # a 40 x 24 box (x 16..56, y 24..48) holding a 10 x 6 one (vertical, x 33..39,
    # y 31..41): the shared location (36, 36) goes to the smaller box
    found = _positives(64, [[36.0, 36.0, 40.0, 24.0, 0.0], [36.0, 36.0, 10.0, 6.0, -math.pi / 2]])
    assert found[1] == {8: {(36.0, 36.0)}}
    assert len(found[0][8]) == 14 and (36.0, 36.0) not in found[0][8]
    # a 4 x 2 box between locations takes the nearest P3 location
    assert _positives(64, [[50.0, 21.0, 4.0, 2.0, 0.3]]) == {0: {8: {(52.0, 20.0)}}}
    # no boxes: every location is background
    points, strides = _grid(64)
    assert (assign_locations(points, strides, torch.zeros(0, 5)) == -1).all()


def test_centerness_is_one_at_the_centre_and_positive_for_tiny_boxes() -> None:
    points = torch.tensor([[36.0, 36.0], [44.0, 28.0], [52.0, 20.0]])
    strides = torch.tensor([8.0, 8.0, 8.0])
    boxes = torch.tensor([[36.0, 36.0, 40.0, 6.0, math.pi / 4]] * 2 + [[50.0, 21.0, 4.0, 2.0, 0.3]])
    wanted = centerness_targets(points, strides, boxes)
    # second: 11.31 px along w from the centre, grown h side 16 px: sqrt(8.69 / 31.31)
    assert wanted[0].item() == pytest.approx(1.0)
    along = 8 * math.sqrt(2)
    assert wanted[1].item() == pytest.approx(math.sqrt((20 - along) / (20 + along)), abs=1e-5)
    assert 0.0 < wanted[2].item() < 1.0


def _two_rotated_rectangles() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """128 x 128 noise, a 40 x 14 rectangle at 30 degrees bright in band 0 (class 0)
    and a 36 x 16 one at -60 degrees bright in band 2 (class 1)."""
    boxes = torch.tensor(
        [[40.0, 44.0, 40.0, 14.0, math.radians(30)], [84.0, 84.0, 36.0, 16.0, math.radians(-60)]]
    )
    image = torch.randn(1, 3, 128, 128) * 0.1
    ys, xs = torch.meshgrid(torch.arange(128) + 0.5, torch.arange(128) + 0.5, indexing="ij")
    for band, (cx, cy, w, h, a) in zip((0, 2), boxes.tolist(), strict=True):
        along_w = (xs - cx) * math.cos(a) - (ys - cy) * math.sin(a)
        along_h = (xs - cx) * math.sin(a) + (ys - cy) * math.cos(a)
        image[0, band][(along_w.abs() < w / 2) & (along_h.abs() < h / 2)] += 3.0
    return image, boxes, torch.tensor([0, 1])


def test_overfits_two_rotated_rectangles_and_nms_removes_duplicates() -> None:
    image, boxes, labels = _two_rotated_rectangles()
    model = build_model(_spec(BANDS[3]))
    assert isinstance(model, OrientedFCOS)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(40):
        losses = model.train()(image, [{"boxes": boxes, "labels": labels}])
        assert isinstance(losses, dict)
        optimiser.zero_grad()
        torch.stack(list(losses.values())).sum().backward()
        optimiser.step()

    def matches(nms_thresh: float) -> torch.Tensor:
        """``[rectangle, detection]``: confident, rotated IoU >= 0.5, right class."""
        model.nms_thresh = nms_thresh
        with torch.no_grad():
            out = model.eval()(image)
        assert isinstance(out, list)
        confident = out[0]["scores"] >= 0.3
        iou = rotated_iou(boxes, out[0]["boxes"][confident])
        same = labels[:, None] == out[0]["labels"][confident][None]
        assert not ((iou >= 0.5) & ~same).any()  # no confident detection of the wrong class
        found: torch.Tensor = (iou >= 0.5) & same
        return found

    found = matches(0.1)
    assert found.sum(dim=1).tolist() == [1, 1]  # each found once, with the right label
    # without suppression (no IoU exceeds 1) neighbouring locations repeat the objects
    assert (matches(1.0).sum(dim=1) > 1).any()


def test_options_and_misuse_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="does not take"):
        build_model(_spec(BANDS[3], anchor_sizes=[8, 16, 32, 64, 128]))
    with pytest.raises(ConfigError, match="multiple of 32"):
        build_model(_spec(BANDS[3], fpn_channels=48))
    model = build_model(_spec(BANDS[3], head_convs=1, score_thresh=0.5, nms_thresh=0.3))
    assert isinstance(model, OrientedFCOS)
    assert (model.score_thresh, model.nms_thresh, model.detections_per_img) == (0.5, 0.3, 100)
    assert sum(isinstance(m, nn.Conv2d) for m in model.head.cls_tower) == 1
    with pytest.raises(ConfigError, match="needs targets"):
        model.train()(torch.randn(1, 3, 64, 64))
    horizontal = [{"boxes": torch.tensor([[8.0, 8.0, 20.0, 16.0]]), "labels": torch.tensor([0])}]
    with pytest.raises(ConfigError, match=r"boxes \[N, 5\].*got \(1, 4\)"):
        model.train()(torch.randn(1, 3, 64, 64), horizontal)
    with pytest.raises(ConfigError, match="does not serve"):
        build_model(_spec(BANDS[3]).model_copy(update={"task": "detection"}))


def test_two_stream_oriented_trains_both_stems_and_returns_rotated_boxes() -> None:
    bands = ["S2.B04", "S1.VV", "S2.B03", "S1.VH"]
    spec = _spec(bands).model_copy(update={"arch": "two_stream_oriented_fcos"})
    model = build_model(spec)
    assert isinstance(model, OrientedFCOS)
    stems = {
        name: next(m for m in getattr(model.pyramid, name).modules() if isinstance(m, nn.Conv2d))
        for name in ("optical", "sar")
    }
    assert stems["optical"].in_channels == 2 and stems["sar"].in_channels == 2
    images = torch.randn(2, 4, 64, 64)
    losses = model.train()(images, _targets())
    assert isinstance(losses, dict) and set(losses) == LOSSES
    assert all(torch.isfinite(v) for v in losses.values())
    torch.stack(list(losses.values())).sum().backward()
    for stem in stems.values():
        assert stem.weight.grad is not None and stem.weight.grad.abs().sum() > 0
    seen: dict[str, torch.Tensor] = {}
    for name in ("optical", "sar"):
        getattr(model.pyramid, name).register_forward_pre_hook(
            lambda _, args, name=name: seen.__setitem__(name, args[0])
        )
    with torch.no_grad():
        out = model.eval()(images)
    assert isinstance(out, list) and len(out) == 2
    assert all(o["boxes"].shape[1] == 5 for o in out)
    assert torch.equal(seen["optical"], images[:, [0, 2]])
    assert torch.equal(seen["sar"], images[:, [1, 3]])


def test_two_stream_oriented_needs_both_groups() -> None:
    spec = _spec(BANDS[3]).model_copy(update={"arch": "two_stream_oriented_fcos"})
    with pytest.raises(ConfigError, match="two_stream_oriented_fcos needs optical and SAR"):
        build_model(spec)


LIGHT = (4, 8, 16, 32)


def test_scale_ranges_follow_fcos_rule_for_any_levels() -> None:
    assert scale_ranges(STRIDES) == SCALE_RANGES
    assert scale_ranges(LIGHT) == ((0.0, 32.0), (32.0, 64.0), (64.0, 128.0), (128.0, math.inf))


def test_stride_4_level_takes_small_cars_and_the_last_level_is_open_above() -> None:
    points, strides = _grid(64, LIGHT)
    # a 9 x 4 car along x on (22, 30): P2 locations (2 + 4 i) strictly inside are
    # x 18, 22, 26 (|dx| < 4.5) on row y 30 (|dy| = 0 < 2): three, all at stride 4
    car = torch.tensor([[22.0, 30.0, 9.0, 4.0, 0.0]])
    index = assign_locations(points, strides, car, LIGHT)
    chosen = torch.nonzero(index == 0).squeeze(1)
    assert strides[chosen].tolist() == [4.0, 4.0, 4.0]
    assert sorted(points[chosen, 0].tolist()) == [18.0, 22.0, 26.0]
    assert set(points[chosen, 1].tolist()) == {30.0}
    # with the default levels the same car has no candidate and takes its nearest P3 cell
    points8, strides8 = _grid(64)
    index8 = assign_locations(points8, strides8, car)
    assert strides8[index8 == 0].tolist() == [8.0]
    # a 200 px square on (128, 128): locations within 28 px of the centre per axis reach
    # at most 128 px (P4: offsets 8 and 24, 4 x 4); the others inside reach further, and
    # the last level (stride 32, open above) takes them (offsets 48 and 80: 6 x 6 - 2 x 2)
    big_points, big_strides = _grid(256, LIGHT)
    square = torch.tensor([[128.0, 128.0, 200.0, 200.0, 0.0]])
    taken = assign_locations(big_points, big_strides, square, LIGHT) == 0
    levels, counts = big_strides[taken].unique(return_counts=True)
    assert dict(zip(levels.tolist(), counts.tolist(), strict=True)) == {16.0: 16, 32.0: 32}


def test_light_levels_build_train_and_detect() -> None:
    model = build_model(_spec(BANDS[3], head_convs=1, strides=list(LIGHT)))
    assert isinstance(model, OrientedFCOS) and model.strides == LIGHT
    images = torch.randn(2, 3, 64, 64)
    levels = list(model.pyramid(images).values())
    assert [lv.shape[-1] for lv in levels] == [16, 8, 4, 2]  # no P6/P7 built
    losses = model.train()(images, _targets())
    assert isinstance(losses, dict) and set(losses) == LOSSES
    torch.stack(list(losses.values())).sum().backward()
    with torch.no_grad():
        out = model.eval()(torch.randn(1, 3, 32, 32))  # a lone 32-px chip: padded inside
    assert isinstance(out, list) and out[0]["boxes"].shape[1] == 5
    # levels up to 64 take P6 but not P7
    model64 = build_model(_spec(BANDS[3], strides=[8, 16, 32, 64]))
    assert isinstance(model64, OrientedFCOS) and model64.strides == (8, 16, 32, 64)
    losses = model64.train()(torch.randn(2, 3, 128, 128), _targets())
    assert isinstance(losses, dict) and all(torch.isfinite(v) for v in losses.values())


@pytest.mark.parametrize(
    "strides", [[2, 4, 8, 16, 32], [8, 16], [4, 16, 32], [8, 16, 32, 64, 128, 256], "4"]
)
def test_levels_that_cannot_be_built_are_config_errors(strides: Any) -> None:
    with pytest.raises(ConfigError, match=r"model\.options\.strides"):
        build_model(_spec(BANDS[3], strides=strides))


def test_two_stream_keeps_the_default_levels() -> None:
    spec = _spec(["S2.B04", "S1.VV"], strides=list(LIGHT))
    with pytest.raises(ConfigError, match="does not take"):
        build_model(spec.model_copy(update={"arch": "two_stream_oriented_fcos"}))


def test_object_levels_use_the_reach_from_the_box_centre() -> None:
    # half the longest side in FCOS's ranges of the light levels: (0, 32], (32, 64], ...
    boxes = torch.tensor(
        [
            [0.0, 0.0, 9.0, 4.0, 0.3],  # a car: 4.5 px -> stride 4
            [0.0, 0.0, 64.0, 60.0, 0.0],  # 32 px, the top of the first range -> stride 4
            [0.0, 0.0, 16.0, 94.0, 1.0],  # a ship with h > w: 47 px -> stride 8
            [0.0, 0.0, 200.0, 10.0, 0.0],  # 100 px -> stride 16
            [0.0, 0.0, 900.0, 900.0, 0.0],  # 450 px, beyond every range: the last level
        ]
    )
    assert object_levels(boxes, LIGHT).tolist() == [0, 0, 1, 2, 3]
    # the default levels: 32 px at P3 (0, 64], 100 px at P4, 450 px at P6 (256, 512]
    assert object_levels(boxes).tolist() == [0, 0, 0, 1, 3]


def test_assignment_per_object_keeps_a_thin_rotated_box_on_one_level() -> None:
    # a 94 x 16 ship at 70 degrees on (128, 128): per location, the locations near its ends
    # reach more than 64 px (w/2 + |p_u| > 64 for |p_u| > 17) and go to stride 16, the
    # middle ones to stride 8; per object, all of it goes to stride 8 (47 px from the
    # centre), where every location strictly inside is positive
    points, strides = _grid(256, LIGHT)
    ship = torch.tensor([[128.0, 128.0, 94.0, 16.0, math.radians(70)]])
    by_location = assign_locations(points, strides, ship, LIGHT)
    by_object = assign_locations(points, strides, ship, LIGHT, per_object=True)
    split = strides[by_location == 0].unique().tolist()
    assert split == [8.0, 16.0]
    assert strides[by_object == 0].unique().tolist() == [8.0]
    # every stride-8 location strictly inside the rotated box, counted independently
    on8 = strides == 8.0
    dx, dy = points[on8, 0] - 128.0, points[on8, 1] - 128.0
    a = math.radians(70)
    along_w = dx * math.cos(a) - dy * math.sin(a)
    along_h = dx * math.sin(a) + dy * math.cos(a)
    inside = int(((along_w.abs() < 47.0) & (along_h.abs() < 8.0)).sum())
    assert int((by_object == 0).sum()) == inside
    assert inside > int((by_location == 0).sum())  # more positives than split over levels
    # a box thinner than its level's cells takes the nearest location of its own level
    needle = torch.tensor([[100.0, 98.0, 90.0, 0.5, 0.0]])  # between rows 92 and 100
    taken = assign_locations(points, strides, needle, LIGHT, per_object=True) == 0
    assert strides[taken].tolist() == [8.0]
    assert points[taken].tolist() == [[100.0, 100.0]]
    # overlapping boxes: a shared location goes to the smaller box, as per location
    pair = torch.tensor([[36.0, 36.0, 40.0, 24.0, 0.0], [36.0, 36.0, 10.0, 6.0, 0.0]])
    index = assign_locations(points, strides, pair, LIGHT, per_object=True)
    at_centre = (points == torch.tensor([38.0, 38.0])).all(dim=1) & (strides == 4.0)
    assert index[at_centre].tolist() == [1]


def test_object_weights_give_every_object_the_same_total() -> None:
    # image 0: box 0 with 3 positives, box 1 with 1; image 1: box 0 with 2
    image_of = torch.tensor([0, 0, 0, 0, 1, 1])
    box_of = torch.tensor([0, 0, 1, 0, 0, 0])
    weights = object_weights(image_of, box_of)
    third = 1 / 3
    assert weights.tolist() == pytest.approx(
        [third / 3] * 2 + [third] + [third / 3, third / 2, third / 2]
    )
    assert weights.sum().item() == pytest.approx(1.0)
    assert (
        object_weights(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)).numel()
        == 0
    )


def test_assign_object_trains_and_weighs_objects_equally() -> None:
    model = build_model(_spec(BANDS[3], head_convs=1, strides=list(LIGHT), assign="object"))
    assert isinstance(model, OrientedFCOS) and model.assign == "object"
    images = torch.randn(2, 3, 64, 64)
    losses = model.train()(images, _targets())
    assert isinstance(losses, dict) and set(losses) == LOSSES
    assert all(torch.isfinite(v) and v.item() > 0 for v in losses.values())
    torch.stack(list(losses.values())).sum().backward()
    empty = _targets()[1]
    losses = model(images, [empty, empty])
    assert isinstance(losses, dict) and losses["bbox_regression"].item() == 0.0
    # one 24 x 8 box (reach at most 24 px anywhere: stride 4 both ways) has the same
    # positives under both rules, and weighing it as one object is the plain mean
    one = [{"boxes": _targets()[0]["boxes"][:1], "labels": torch.tensor([0])}]
    with torch.no_grad():
        per_object = model(images[:1], one)
        model.assign = "location"
        per_location = model(images[:1], one)
    assert isinstance(per_object, dict) and isinstance(per_location, dict)
    for name in LOSSES:
        assert per_object[name].item() == pytest.approx(per_location[name].item(), rel=1e-5)
    with pytest.raises(ConfigError, match=r"model\.options\.assign"):
        build_model(_spec(BANDS[3], assign="nearest"))


def test_angle_loss_is_periodic_zero_at_the_angle_and_ignores_squares() -> None:
    boxes = torch.tensor([[0.0, 0.0, 30.0, 10.0, 0.6], [0.0, 0.0, 8.0, 8.0, 0.3]])
    right = torch.tensor([[math.cos(1.2), math.sin(1.2)], [1.0, 0.0]]) * 3.0  # any length
    assert angle_loss(right, boxes).item() == pytest.approx(0.0, abs=1e-6)
    # 90 degrees off doubles to 180: the thin box costs its elongation (0.5) x 2, the square 0
    wrong = torch.tensor([[math.cos(1.2 + math.pi), math.sin(1.2 + math.pi)], [0.0, 1.0]])
    assert angle_loss(wrong, boxes).item() == pytest.approx((0.5 * 2 + 0.0) / 2, abs=1e-6)
    turned = boxes.clone()
    turned[:, 4] += math.pi  # the same boxes
    assert angle_loss(wrong, turned).item() == pytest.approx(angle_loss(wrong, boxes).item())
    empty = torch.zeros(0, 2, requires_grad=True)
    assert angle_loss(empty, torch.zeros(0, 5)).item() == 0.0


def test_angle_weight_adds_an_angle_loss_that_trains() -> None:
    model = build_model(_spec(BANDS[3], angle_weight=2.0)).train()
    assert isinstance(model, OrientedFCOS) and model.angle_weight == 2.0
    losses = model(torch.randn(2, 3, 64, 64), _targets())
    assert isinstance(losses, dict) and set(losses) == {*LOSSES, "bbox_angle"}
    assert 0.0 < losses["bbox_angle"].item() <= 2.0 * 2  # weight x at most 2 x elongation
    losses["bbox_angle"].backward()
    assert model.head.angle.weight.grad is not None
    assert float(model.head.angle.weight.grad.abs().sum()) > 0
