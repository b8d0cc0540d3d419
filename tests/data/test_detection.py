"""Detection chips from a prepared split: boxes after chipping, bad rows, collate, balancing."""

from __future__ import annotations

import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
import torch
from torch.utils.data import WeightedRandomSampler

from eoforge.data.bad_files import BadFiles
from eoforge.data.detection import (
    DetectionChipDataset,
    DetectionPadCollate,
    balanced_chip_weights,
    detection_collate,
    oriented_boxes,
)
from eoforge.data.shaping import patch_starts
from eoforge.datasets.entries.detection import DIOR_CLASSES, DOTA_V1_CLASSES
from eoforge.datasets.layouts.objects import (
    ObjectRow,
    from_dota_line,
    horizontal,
    read_voc,
    write_objects,
)
from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.predict.detections import corners

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
CLASSES = ("car", "ship")


def _png(path: Path, height: int, width: int) -> Path:
    """A 3-band PNG (or TIFF for ``.tif``): band 1 = column, band 2 = row, band 3 = 7."""
    rows, cols = np.indices((height, width))
    data = np.stack([cols, rows, np.full_like(rows, 7)]).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff" if path.suffix == ".tif" else "PNG",
        height=height,
        width=width,
        count=3,
        dtype="uint8",
    ) as dst:
        dst.write(data)
    return path


def _split(root: Path, images: dict[str, tuple[int, int]], rows: list[ObjectRow]) -> Path:
    for name, (height, width) in images.items():
        _png(root / "images" / name, height, width)
    write_objects(root / "objects.csv", rows)
    return root


DIAMOND = ObjectRow("a.png", "ship", (25, 13, 28, 16, 25, 19, 22, 16), difficult=True)
"""A square turned 45 degrees, centre (25, 16), side 3*sqrt(2), area 18."""


@pytest.fixture()
def straddling(tmp_path: Path) -> Path:
    """A 20 x 30 image; patch 16 / stride 14 gives chips at rows (0, 4) x columns (0, 14)."""
    rows = [
        horizontal("a.png", "car", (2, 2, 6, 5)),  # 12 px^2, in the top-left chip only
        horizontal("a.png", "ship", (12, 8, 22, 12)),  # 40 px^2: 4/10 left of x=16, 8/10 right
        DIAMOND,  # half of it above y = 16: exactly min_visible in the top-right chip
    ]
    return _split(tmp_path / "train", {"a.png": (20, 30)}, rows)


def test_chips_keep_the_objects_whose_visible_share_reaches_min_visible(straddling: Path) -> None:
    data = DetectionChipDataset(
        straddling, oriented=False, classes=CLASSES, patch_size=16, stride=14
    )
    assert [(c.top, c.left, c.height, c.width) for c in data.chips] == [
        (0, 0, 16, 16),
        (0, 14, 16, 16),
        (4, 0, 16, 16),
        (4, 14, 16, 16),
    ]
    expected = {
        # top-left: the car; the ship shows 4 of 10 columns (0.4 < 0.5) and is dropped
        (0, 0): ([[2, 2, 6, 5]], [0], [False]),
        # top-right: the ship's right 0.8 clipped to the chip, the diamond's upper half (0.5)
        (0, 14): ([[0, 8, 8, 12], [8, 13, 14, 16]], [1, 1], [False, True]),
        # bottom-left: the car shows rows 4..5 only (4 of 12 px^2): nothing left
        (4, 0): (np.empty((0, 4)), [], []),
        # bottom-right: the ship's right part and the whole diamond
        (4, 14): ([[0, 4, 8, 8], [8, 9, 14, 15]], [1, 1], [False, True]),
    }
    for i, chip in enumerate(data.chips):
        boxes, labels, difficult = expected[(chip.top, chip.left)]
        sample = data[i]
        np.testing.assert_array_equal(sample["boxes"].numpy(), np.asarray(boxes, np.float32))
        assert sample["boxes"].dtype == torch.float32 and sample["boxes"].shape[1] == 4
        assert sample["labels"].tolist() == labels and sample["labels"].dtype == torch.int64
        assert sample["difficult"].tolist() == difficult
        # the chip's pixels are the image's window: band 1 is the column, band 2 the row
        assert sample["image"].shape == (3, 16, 16) and sample["image"].dtype == torch.float32
        assert sample["image"][0, 0, 0] == chip.left and sample["image"][1, 0, 0] == chip.top
        assert sample["image"][0, 15, 15] == chip.left + 15
        assert bool(sample["valid"].all()) and sample["size"].tolist() == [16, 16]
    np.testing.assert_allclose(data.chips[1].visible, [0.8, 0.5])


def test_min_visible_and_keep_empty_change_what_is_kept(straddling: Path) -> None:
    data = DetectionChipDataset(
        straddling,
        oriented=False,
        classes=CLASSES,
        patch_size=16,
        stride=14,
        min_visible=0.3,
        keep_empty=False,
    )
    # at 0.3 the ship's left 0.4 and the car's 1/3 in the bottom-left chip are kept
    assert [(c.top, c.left, c.labels.tolist()) for c in data.chips] == [
        (0, 0, [0, 1]),
        (0, 14, [1, 1]),
        (4, 0, [0, 1]),
        (4, 14, [1, 1]),
    ]
    np.testing.assert_array_equal(data.chips[2].boxes, [[2, 0, 6, 1], [12, 4, 16, 8]])
    strict = DetectionChipDataset(
        straddling, oriented=False, classes=CLASSES, patch_size=16, stride=14, keep_empty=False
    )
    assert [(c.top, c.left) for c in strict.chips] == [(0, 0), (0, 14), (4, 14)]


def test_oriented_boxes_are_minimum_rectangles_kept_whole(tmp_path: Path) -> None:
    # centre (15, 10), w = 8, h = 4, turned 30 degrees counter-clockwise as displayed:
    # u = (cos a, -sin a) * 4 and v = (sin a, cos a) * 2; corners c-u-v, c+u-v, c+u+v, c-u+v
    a = math.pi / 6
    u = np.array([math.cos(a), -math.sin(a)]) * 4
    v = np.array([math.sin(a), math.cos(a)]) * 2
    c = np.array([15.0, 10.0])
    ring = [c - u - v, c + u - v, c + u + v, c - u + v]
    shifted = ring[2:] + ring[:2]  # the same box, listed from another corner
    rows = [
        ObjectRow("b.tif", "car", tuple(np.concatenate(ring))),  # type: ignore[arg-type]
        ObjectRow("b.tif", "ship", tuple(np.concatenate(shifted))),  # type: ignore[arg-type]
        horizontal("b.tif", "ship", (2, 2, 6, 5)),
        ObjectRow("b.tif", "car", DIAMOND.corners),
    ]
    root = tmp_path / "val"
    _png(root / "images" / "b.tif", 24, 32)
    write_objects(root / "objects.csv", rows)
    data = DetectionChipDataset(root, oriented=True, classes=CLASSES)
    sample = data[0]
    rotated = [15, 10, 8, 4, math.pi / 6]
    square = [25, 16, 3 * math.sqrt(2), 3 * math.sqrt(2), -math.pi / 4]
    np.testing.assert_allclose(
        sample["boxes"].numpy(), [rotated, rotated, [4, 3.5, 4, 3, 0], square], atol=1e-5
    )
    assert sample["boxes"].dtype == torch.float32
    assert sample["labels"].tolist() == [0, 1, 1, 0]
    # chipped at 16 / stride 16: the diamond (x 22..28, y 13..19) shows 0.5 in the chip at
    # (0, 16) and is kept whole there, its centre at row 16 on the chip's lower edge
    chips = DetectionChipDataset(root, oriented=True, classes=CLASSES, patch_size=16)
    chip = next(c for c in chips.chips if (c.top, c.left) == (0, 16))
    np.testing.assert_allclose(chip.boxes, [[9, 16, *square[2:]]], atol=1e-5)


def test_small_images_are_padded_to_the_patch(tmp_path: Path) -> None:
    images = {"a.png": (10, 12), "b.png": (20, 16)}
    root = _split(tmp_path / "s", images, [horizontal("a.png", "car", (1, 1, 3, 4))])
    data = DetectionChipDataset(root, oriented=False, classes=CLASSES, patch_size=16)
    batch = detection_collate([data[i] for i in range(len(data))])  # b.png: rows 0 and 4
    assert batch["image"].shape == (3, 3, 16, 16)
    assert batch["size"].tolist() == [[10, 12], [16, 16], [16, 16]]
    sample = data[0]
    assert sample["image"].shape == (3, 16, 16)
    assert int(sample["valid"].sum()) == 10 * 12 and not bool(sample["valid"][10:, :].any())
    assert sample["size"].tolist() == [10, 12]
    np.testing.assert_array_equal(sample["boxes"].numpy(), [[1, 1, 3, 4]])
    assert data.bands == ["RGB.red", "RGB.green", "RGB.blue"]


BAD_ROWS = {
    "missing image": (horizontal("nope.png", "car", (1, 1, 3, 3)), MissingFileError, "nope.png"),
    "outside": (horizontal("a.png", "car", (40, 2, 44, 6)), ConfigError, "wholly outside"),
    "degenerate": (horizontal("a.png", "car", (5, 5, 5, 9)), ConfigError, "degenerate"),
    "bow-tie": (
        ObjectRow("a.png", "car", (0, 0, 4, 4, 4, 0, 0, 4)),
        ConfigError,
        "self-intersecting",
    ),
    "unknown class": (horizontal("a.png", "tank", (1, 1, 3, 3)), ConfigError, "unknown class"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_rows_raise_one_clear_error_or_are_skipped(tmp_path: Path, case: str) -> None:
    row, error, words = BAD_ROWS[case]
    good = horizontal("c.png", "ship", (2, 2, 8, 8))
    root = _split(tmp_path / case, {"a.png": (20, 30), "c.png": (20, 30)}, [good, row])
    with pytest.raises(error, match=words) as info:
        DetectionChipDataset(root, oriented=False, classes=CLASSES)
    message = str(info.value)
    assert f"line 3 of {root / 'objects.csv'}" in message
    assert str(root / "images" / row.image) in message and "Fix:" in message
    log = tmp_path / "skipped.tsv"
    skip = BadFiles("skip", log)
    data = DetectionChipDataset(root, oriented=False, classes=CLASSES, bad_files=skip)
    # the bad row's image is left out whole (a missing image has nothing to leave out)
    names = [c.image.name for c in data.chips]
    assert names == (["a.png", "c.png"] if case == "missing image" else ["c.png"])
    assert list(skip.skipped()) == [str(root / "images" / row.image)]
    assert data[names.index("c.png")]["boxes"].tolist() == [[2, 2, 8, 8]]


def test_unreadable_image_is_skipped_and_counted(tmp_path: Path) -> None:
    root = _split(tmp_path / "u", {"c.png": (8, 8)}, [horizontal("c.png", "car", (1, 1, 3, 3))])
    (root / "images" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(UnreadableFileError, match=r"broken\.png"):
        DetectionChipDataset(root, oriented=False, classes=CLASSES)
    skip = BadFiles("skip", tmp_path / "log.tsv")
    data = DetectionChipDataset(root, oriented=False, classes=CLASSES, bad_files=skip)
    assert len(data) == 1 and list(skip.skipped()) == [str(root / "images" / "broken.png")]


def test_collate_stacks_images_and_lists_targets(straddling: Path) -> None:
    data = DetectionChipDataset(
        straddling, oriented=False, classes=CLASSES, patch_size=16, stride=14
    )
    batch = detection_collate([data[1], data[2]])
    assert batch["image"].shape == (2, 3, 16, 16) and batch["valid"].shape == (2, 16, 16)
    assert [b.shape[0] for b in batch["boxes"]] == [2, 0]
    assert batch["labels"][0].tolist() == [1, 1] and batch["difficult"][0].tolist() == [
        False,
        True,
    ]
    whole = DetectionChipDataset(straddling, oriented=False, classes=CLASSES)
    small = {
        "image": torch.zeros(3, 8, 12),
        "valid": torch.ones(8, 12, dtype=torch.bool),
        "boxes": torch.tensor([[1.0, 1.0, 4.0, 4.0]]),
        "labels": torch.tensor([1]),
        "difficult": torch.tensor([False]),
    }
    with pytest.raises(ConfigError, match=r"different sizes.*DetectionPadCollate"):
        detection_collate([whole[0], small])
    padded = DetectionPadCollate(multiple=8)([whole[0], small])
    assert padded["image"].shape == (2, 3, 24, 32)  # 20 x 30 raised to multiples of 8
    assert padded["size"].tolist() == [[20, 30], [8, 12]]
    assert int(padded["valid"][0].sum()) == 600 and int(padded["valid"][1].sum()) == 96
    assert padded["image"][0, 0, 19, 29] == 29 and padded["image"][0, 0, 20, 29] == 0
    np.testing.assert_array_equal(padded["boxes"][1].numpy(), [[1, 1, 4, 4]])
    np.testing.assert_array_equal(padded["boxes"][0].numpy(), whole[0]["boxes"].numpy())


def _skewed(root: Path) -> Path:
    """30 images with 3 'car', 6 with 1 'ship', 2 with 2 'plane', 4 empty: 90/6/4 objects."""
    images: dict[str, tuple[int, int]] = {}
    rows: list[ObjectRow] = []
    for cls, count, per_image in (("car", 30, 3), ("ship", 6, 1), ("plane", 2, 2), ("", 4, 0)):
        for i in range(count):
            name = f"{cls or 'empty'}{i:02d}.png"
            images[name] = (8, 8)
            rows += [horizontal(name, cls, (j, j, j + 2, j + 2)) for j in range(per_image)]
    return _split(root, images, rows)


def test_balanced_weights_draw_every_class_equally(tmp_path: Path) -> None:
    data = DetectionChipDataset(
        _skewed(tmp_path / "skewed"), oriented=False, classes=("car", "ship", "plane")
    )
    weights = balanced_chip_weights(data)
    by_name = {c.image.name[:-6]: float(w) for c, w in zip(data.chips, weights, strict=True)}
    mean = (30 / 90 + 6 / 6 + 2 / 4) / 38
    assert by_name == pytest.approx(
        {"car": 1 / 90, "ship": 1 / 6, "plane": 1 / 4, "empty": 0.5 * mean}
    )
    sampler = WeightedRandomSampler(
        weights, 2000, replacement=True, generator=torch.Generator().manual_seed(0)
    )
    drawn: Counter[int] = Counter()
    for index in sampler:
        drawn.update(data.chips[index].labels.tolist())
    total = sum(drawn.values())
    shares = [drawn[k] / total for k in range(3)]
    # uniform is 1/3 each; unweighted draws would give car 0.90, ship 0.06, plane 0.04
    assert shares == pytest.approx([1 / 3] * 3, abs=0.05)


def test_real_dota_image_chips_keep_every_object(tmp_path: Path) -> None:
    folder = REAL / "dota"
    if not folder.is_dir():
        pytest.skip("real DOTA sample (../shared/data/real/dota) not present")
    label_file = folder / "labelTxt" / "P1888.txt"
    lines = label_file.read_text().splitlines()
    rows = [
        from_dota_line(line, "P1888.png", DOTA_V1_CLASSES, label_file, n)
        for n, line in enumerate(lines, start=1)
        if len(line.split()) >= 9
    ]
    assert len(rows) == 64
    root = tmp_path / "train"
    (root / "images").mkdir(parents=True)
    shutil.copy(folder / "images" / "P1888.png", root / "images" / "P1888.png")
    write_objects(root / "objects.csv", rows)
    data = DetectionChipDataset(
        root, oriented=False, classes=DOTA_V1_CLASSES, patch_size=256, stride=200
    )
    # 712 x 557 pixels: columns start at 0, 200, 400, 456; rows at 0, 200, 301
    assert [(c.top, c.left) for c in data.chips] == [
        (t, x) for t in (0, 200, 301) for x in (0, 200, 400, 456)
    ]
    polygons = [shapely.Polygon(np.reshape(r.corners, (4, 2))) for r in rows]
    best = np.zeros(len(rows))
    for chip in data.chips:
        window = shapely.box(chip.left, chip.top, chip.left + 256, chip.top + 256)
        share = np.array([p.intersection(window).area / p.area for p in polygons])
        best = np.maximum(best, share)
        kept = np.flatnonzero(share >= 0.5)
        # the chip holds exactly the objects showing at least half their area, clipped to it
        expected = [
            np.subtract(polygons[k].intersection(window).bounds, [chip.left, chip.top] * 2)
            for k in kept
        ]
        np.testing.assert_allclose(chip.boxes, np.reshape(expected, (-1, 4)), atol=1e-4)
        assert chip.labels.tolist() == [DOTA_V1_CLASSES.index(rows[k].cls) for k in kept]
        assert (chip.boxes >= 0).all() and (chip.boxes <= 256).all()
    assert (best >= 0.5).all()  # every one of the 64 objects is in some chip
    kept_total = sum(len(c.labels) for c in data.chips)
    assert kept_total >= 64
    sample = data[len(data) - 1]
    assert sample["image"].shape == (3, 256, 256) and bool(sample["valid"].all())
    assert patch_starts(712, 256, 200) == [0, 200, 400, 456]


def test_oriented_boxes_follow_the_shared_convention() -> None:
    """Rectangles drawn from known ``(cx, cy, w, h, angle)`` give those parameters back."""
    rng = np.random.default_rng(3)
    count = 200
    params = np.column_stack(
        [
            rng.uniform(20, 80, count),
            rng.uniform(20, 80, count),
            rng.uniform(6, 20, count),
            rng.uniform(1, 5, count),
            rng.uniform(-math.pi / 2, math.pi / 2, count),
        ]
    )
    quads = corners(params)  # the whole-scene merge's corners: c-u-v, c+u-v, c+u+v, c-u+v
    polygons = np.asarray([shapely.Polygon(q) for q in quads], dtype=object)
    boxes = oriented_boxes(polygons)
    assert boxes.dtype == np.float32 and boxes.shape == (count, 5)
    np.testing.assert_allclose(boxes[:, :4], params[:, :4], atol=1e-4)
    turn = np.mod(boxes[:, 4] - params[:, 4] + math.pi / 2, math.pi) - math.pi / 2
    np.testing.assert_allclose(turn, 0, atol=1e-5)  # equal angles, modulo pi at the wrap
    assert (boxes[:, 4] >= -math.pi / 2).all() and (boxes[:, 4] < math.pi / 2).all()
    back = corners(boxes.astype(np.float64))
    for a, b in zip(quads, back, strict=True):
        assert shapely.Polygon(a).symmetric_difference(shapely.Polygon(b)).area < 1e-3


def test_real_dior_image_chips_by_visible_share(tmp_path: Path) -> None:
    folder = REAL / "dior"
    if not folder.is_dir():
        pytest.skip("real DIOR-R sample (../shared/data/real/dior) not present")
    xml = next((folder / "Annotations").rglob("00001.xml"))
    rows = read_voc(xml, "00001.jpg", DIOR_CLASSES, oriented=True)
    assert [(r.cls, r.corners) for r in rows] == [
        ("golffield", (133, 237, 684, 237, 684, 672, 133, 672))
    ]
    root = tmp_path / "trainval"
    (root / "images").mkdir(parents=True)
    shutil.copy(folder / "JPEGImage" / "00001.jpg", root / "images" / "00001.jpg")
    write_objects(root / "objects.csv", rows)
    label = DIOR_CLASSES.index("golffield")
    flat = DetectionChipDataset(
        root, oriented=False, classes=DIOR_CLASSES, patch_size=512, stride=288
    )
    # 800 px sides: chips at 0 and 288. The 551 x 435 field shows 379/551 x 275/435 = 0.435
    # of itself in the top-left chip, 396/551 x 275/435 = 0.454 top-right (both dropped),
    # 379/551 x 384/435 = 0.607 bottom-left and 396/551 x 384/435 = 0.634 bottom-right (kept)
    got = {(c.top, c.left): (c.boxes.tolist(), c.labels.tolist()) for c in flat.chips}
    assert got == {
        (0, 0): ([], []),
        (0, 288): ([], []),
        (288, 0): ([[133, 0, 512, 384]], [label]),
        (288, 288): ([[0, 0, 396, 384]], [label]),
    }
    np.testing.assert_allclose(
        [c.visible[0] for c in flat.chips[2:]],
        [379 / 551 * 384 / 435, 396 / 551 * 384 / 435],
    )
    rotated = DetectionChipDataset(
        root, oriented=True, classes=DIOR_CLASSES, patch_size=512, stride=288
    )
    sample = rotated[3]
    np.testing.assert_allclose(sample["boxes"].numpy(), [[120.5, 166.5, 551, 435, 0]])
    assert sample["image"].shape == (3, 512, 512) and sample["image"].max() > 0
