"""Box encodings: hand-computed cases, round trips; shapely and predict's corners as references."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import torch
from affine import Affine
from odc.geo.geobox import GeoBox

from eoforge.boxes import (
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
from eoforge.io.vector.boxes import boxes_in_pixels
from eoforge.predict.detections import corners as predict_corners

F64 = torch.float64


def random_boxes(n: int, seed: int, dtype: torch.dtype = F64) -> torch.Tensor:
    """Normalised oriented boxes: w > h, angle in [-pi/2, pi/2)."""
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(n, 2, generator=g, dtype=dtype) * 100
    short = torch.rand(n, 1, generator=g, dtype=dtype) * 10 + 1
    long = short + torch.rand(n, 1, generator=g, dtype=dtype) * 20 + 0.01
    angle = (torch.rand(n, 1, generator=g, dtype=dtype) - 0.5) * math.pi
    return torch.cat([centre, long, short, angle], dim=1)


def polygons(corners: torch.Tensor) -> np.ndarray:
    return np.asarray(shapely.polygons(corners.detach().double().numpy()), dtype=object)


def same_polygons(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Polygon IoU of corresponding rows of two [N, 4, 2] corner sets."""
    pa, pb = polygons(a), polygons(b)
    inter = shapely.area(shapely.intersection(pa, pb))
    return np.asarray(inter / shapely.area(shapely.union(pa, pb)))


def test_horizontal_encodings_hand_cases() -> None:
    xyxy = torch.tensor([[3.0, 2.0, 4.0, 3.0], [0.0, 0.0, 10.0, 4.0]])
    cxcywh = torch.tensor([[3.5, 2.5, 1.0, 1.0], [5.0, 2.0, 10.0, 4.0]])
    torch.testing.assert_close(xyxy_to_cxcywh(xyxy), cxcywh)
    torch.testing.assert_close(cxcywh_to_xyxy(cxcywh), xyxy)
    coco = torch.tensor([[3.0, 2.0, 1.0, 1.0], [0.0, 0.0, 10.0, 4.0]])
    torch.testing.assert_close(xywh_to_xyxy(coco), xyxy)


def test_encodings_keep_dtype_and_leading_dimensions() -> None:
    boxes = random_boxes(6, 0).reshape(2, 3, 5)
    corners = oriented_to_corners(boxes)
    assert corners.shape == (2, 3, 4, 2) and corners.dtype == F64
    assert corners_to_oriented(corners).shape == (2, 3, 5)
    half = boxes.float()
    assert normalize_oriented(half).dtype == torch.float32
    assert oriented_to_xyxy(half).shape == (2, 3, 4)
    assert xyxy_to_cxcywh(torch.zeros(2, 3, 4, dtype=F64)).dtype == F64


def test_corners_of_a_pixel_and_of_a_rotated_box() -> None:
    pixel = oriented_to_corners(torch.tensor([[3.5, 2.5, 1.0, 1.0, 0.0]]))
    torch.testing.assert_close(
        pixel[0], torch.tensor([[3.0, 2.0], [4.0, 2.0], [4.0, 3.0], [3.0, 3.0]])
    )
    # a 4 x 2 box turned 30 degrees counter-clockwise as displayed: its w side climbs (y falls)
    a = math.pi / 6
    box = torch.tensor([[10.0, 20.0, 4.0, 2.0, a]], dtype=F64)
    c = oriented_to_corners(box)[0]
    torch.testing.assert_close(
        c[1] - c[0], torch.tensor([4 * math.cos(a), -4 * math.sin(a)], dtype=F64)
    )
    torch.testing.assert_close(
        c[3] - c[0], torch.tensor([2 * math.sin(a), 2 * math.cos(a)], dtype=F64)
    )
    torch.testing.assert_close(c.mean(0), torch.tensor([10.0, 20.0], dtype=F64))


def test_corners_agree_with_the_predict_merge() -> None:
    boxes = random_boxes(50, 1)
    np.testing.assert_allclose(
        oriented_to_corners(boxes).numpy(), predict_corners(boxes.numpy()), atol=1e-12
    )


def test_envelopes_are_the_corner_extremes() -> None:
    boxes = random_boxes(50, 2)
    corners = oriented_to_corners(boxes)
    expected = torch.cat([corners.amin(1), corners.amax(1)], dim=1)
    torch.testing.assert_close(oriented_to_xyxy(boxes), expected)
    # a 4 x 2 box at 90 degrees stands upright: 2 wide, 4 tall
    upright = oriented_to_xyxy(torch.tensor([[5.0, 5.0, 4.0, 2.0, -math.pi / 2]], dtype=F64))
    torch.testing.assert_close(upright, torch.tensor([[4.0, 3.0, 6.0, 7.0]], dtype=F64))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ((0, 0, 2, 4, 0.0), (0, 0, 4, 2, -math.pi / 2)),  # h > w: swap, +pi/2 wraps to -pi/2
        ((0, 0, 4, 2, 3 * math.pi / 4), (0, 0, 4, 2, -math.pi / 4)),
        ((0, 0, 4, 2, math.pi / 2), (0, 0, 4, 2, -math.pi / 2)),
        ((0, 0, 4, 2, -5 * math.pi / 2), (0, 0, 4, 2, -math.pi / 2)),
        ((0, 0, 3, 3, math.pi / 3), (0, 0, 3, 3, -math.pi / 6)),  # square: [-pi/4, pi/4)
        ((0, 0, 3, 3, math.pi / 4), (0, 0, 3, 3, -math.pi / 4)),
        ((0, 0, 3, 3, -math.pi / 2), (0, 0, 3, 3, 0.0)),
    ],
)
def test_normalize_hand_cases(raw: tuple[float, ...], expected: tuple[float, ...]) -> None:
    got = normalize_oriented(torch.tensor([raw], dtype=F64))
    torch.testing.assert_close(got, torch.tensor([expected], dtype=F64))


def test_normalize_keeps_the_polygon_and_is_idempotent() -> None:
    g = torch.Generator().manual_seed(3)
    raw = random_boxes(200, 3)
    raw[:, 2:4] = raw[:, 2:4][:, torch.randperm(2, generator=g)]  # some with h > w
    raw[::3, 2:4] = raw[::3, 2:4].flip(1)
    raw[:, 4] = (torch.rand(200, generator=g, dtype=F64) - 0.5) * 8 * math.pi
    norm = normalize_oriented(raw)
    assert (norm[:, 2] >= norm[:, 3]).all()
    assert ((norm[:, 4] >= -math.pi / 2) & (norm[:, 4] < math.pi / 2)).all()
    np.testing.assert_allclose(
        same_polygons(oriented_to_corners(raw), oriented_to_corners(norm)), 1.0, atol=1e-9
    )
    torch.testing.assert_close(normalize_oriented(norm), norm)


def test_float32_angles_stay_in_the_half_open_range() -> None:
    near = torch.tensor([math.pi / 2, -math.pi / 2, 3 * math.pi / 2, -math.pi / 2 - 1e-7])
    wrapped = wrap_angle(near.float())
    assert wrapped.dtype == torch.float32
    wide = wrapped.double()
    assert ((wide >= -math.pi / 2) & (wide < math.pi / 2)).all()
    assert float(wide.min()) == pytest.approx(-math.pi / 2, abs=2e-7)


def test_corners_to_oriented_recovers_boxes_from_any_corner_order() -> None:
    boxes = random_boxes(100, 4)
    corners = oriented_to_corners(boxes)
    for order in ([0, 1, 2, 3], [2, 3, 0, 1], [3, 2, 1, 0], [1, 0, 3, 2]):
        torch.testing.assert_close(corners_to_oriented(corners[:, order]), boxes)


def test_corners_to_oriented_squares_take_the_documented_side() -> None:
    square = torch.tensor([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]], dtype=F64)
    turned = square @ torch.tensor(
        [[math.cos(1.2), -math.sin(1.2)], [math.sin(1.2), math.cos(1.2)]], dtype=F64
    )
    got = corners_to_oriented(torch.stack([square, turned]))
    torch.testing.assert_close(got[0], torch.tensor([1.0, 1.0, 2.0, 2.0, 0.0], dtype=F64))
    assert -math.pi / 4 <= float(got[1, 4]) < math.pi / 4
    assert float(got[1, 2]) == pytest.approx(2.0)


def test_corners_to_oriented_is_the_minimum_area_rectangle_of_quadrilaterals() -> None:
    g = torch.Generator().manual_seed(5)
    quads = torch.rand(200, 4, 2, generator=g, dtype=F64) * 30
    boxes = corners_to_oriented(quads)
    rect = polygons(oriented_to_corners(boxes))
    points = shapely.multipoints(quads.numpy())
    reference = shapely.area(shapely.oriented_envelope(points))
    np.testing.assert_allclose(boxes[:, 2].numpy() * boxes[:, 3].numpy(), reference, rtol=1e-9)
    np.testing.assert_allclose(shapely.area(rect), reference, rtol=1e-9)
    assert shapely.covers(shapely.buffer(rect, 1e-7), points).all()


def test_corners_to_oriented_agrees_with_the_label_reader() -> None:
    # the label reader's oriented boxes of polygons on a pixel grid (identity transform)
    boxes = random_boxes(60, 9)
    boxes[:, :2] = boxes[:, :2] * 3 + 30
    corners = oriented_to_corners(boxes)
    grid = GeoBox((400, 400), Affine.identity(), "EPSG:32631")
    layer = gpd.GeoDataFrame(geometry=list(polygons(corners)), crs="EPSG:32631")
    read, _ = boxes_in_pixels(layer, grid, oriented=True)
    ours = corners_to_oriented(corners.float())
    assert ours.dtype == torch.float32
    np.testing.assert_allclose(ours[:, :4].numpy(), read[:, :4], atol=2e-3)
    turn = np.abs(ours[:, 4].numpy() - read[:, 4])
    np.testing.assert_allclose(np.minimum(turn, math.pi - turn), 0.0, atol=1e-4)


def test_real_dota_polygons(real_data: Path) -> None:
    label = real_data / "dota" / "labelTxt" / "P1888.txt"
    if not label.is_file():
        pytest.skip("real DOTA sample (../shared/data/real/dota) not present")
    rows = [line.split() for line in label.read_text().splitlines()]
    quads = torch.tensor(
        [[float(v) for v in row[:8]] for row in rows if len(row) == 10], dtype=F64
    ).reshape(-1, 4, 2)
    assert len(quads) == 64
    boxes = corners_to_oriented(quads)
    reference = shapely.oriented_envelope(shapely.polygons(quads.numpy()))
    np.testing.assert_allclose(
        (boxes[:, 2] * boxes[:, 3]).numpy(), shapely.area(reference), rtol=1e-9
    )
    # the first object, (674, 375) (683, 375) (684, 394) (675, 395): a small vehicle
    # about 9 x 20 px standing near-upright (w, its long side, points near -pi/2)
    first = boxes[0]
    assert 19 < float(first[2]) < 21 and 8.5 < float(first[3]) < 10
    assert -math.pi / 2 <= float(first[4]) < -1.4 or float(first[4]) > 1.4


def test_le90_round_trip_and_corners() -> None:
    boxes = random_boxes(100, 6)
    le90 = to_le90(boxes)
    assert ((le90[:, 4] >= -math.pi / 2) & (le90[:, 4] < math.pi / 2)).all()
    torch.testing.assert_close(from_le90(le90), boxes)
    # le90's corners: c +- (w/2)(cos t, sin t) +- (h/2)(-sin t, cos t)
    cx, cy, w, h, t = le90.unbind(1)
    u = torch.stack([torch.cos(t), torch.sin(t)], 1) * (w / 2)[:, None]
    v = torch.stack([-torch.sin(t), torch.cos(t)], 1) * (h / 2)[:, None]
    c = torch.stack([cx, cy], 1)
    theirs = torch.stack([c + u + v, c - u + v, c - u - v, c + u - v], 1)
    np.testing.assert_allclose(same_polygons(oriented_to_corners(boxes), theirs), 1.0, atol=1e-9)
    # hand case: le90 t = +0.3 (clockwise as displayed) is the shared angle -0.3
    torch.testing.assert_close(
        from_le90(torch.tensor([[1.0, 2.0, 6.0, 2.0, 0.3]], dtype=F64)),
        torch.tensor([[1.0, 2.0, 6.0, 2.0, -0.3]], dtype=F64),
    )


def test_point_length_boxes() -> None:
    centres = torch.tensor([[10.5, 20.5], [10.5, 20.5], [0.0, 0.0]], dtype=F64)
    lengths = torch.tensor([30.0, float("nan"), 0.0], dtype=F64)
    boxes = point_length_to_xyxy(centres, lengths, pixel_size=10.0, default_size=2.0)
    expected = torch.tensor(
        [[9.0, 19.0, 12.0, 22.0], [9.5, 19.5, 11.5, 21.5], [-1.0, -1.0, 1.0, 1.0]], dtype=F64
    )
    torch.testing.assert_close(boxes, expected)


def test_wrong_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[\.\.\., 5\]"):
        oriented_to_corners(torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"\[\.\.\., 4, 2\]"):
        corners_to_oriented(torch.zeros(3, 8))
    with pytest.raises(ValueError, match="floating-point"):
        xyxy_to_cxcywh(torch.zeros(3, 4, dtype=torch.long))
