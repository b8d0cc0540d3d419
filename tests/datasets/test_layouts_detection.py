"""Detection layouts: published layouts in, images plus an object table per split out."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from tests.datasets.fixtures import dior, dota, m4sar, nwpu_vhr10, xview3
from tests.datasets.fixtures.common import Fixture, write_tar
from tests.datasets.prepared import download_and_prepare

from eoforge.data.detection import DetectionChipDataset, ImagePair
from eoforge.datasets import DatasetEntry, download, get
from eoforge.datasets.entries.detection import DIOR_CLASSES, DOTA_V1_CLASSES
from eoforge.datasets.layouts.detection import image_size, read_dota
from eoforge.datasets.layouts.objects import (
    COLUMNS,
    ObjectRow,
    check_box,
    from_coco_bbox,
    from_dota_line,
    horizontal,
    read_objects,
    read_voc,
    write_objects,
)
from eoforge.datasets.prepare import Prepared, prepare
from eoforge.errors import ConfigError, DownloadError, UnreadableFileError
from eoforge.experiment.config import DataConfig, ObjectsData

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"

GENERATORS: dict[str, Callable[[Path], Fixture]] = {
    "dota-v1.0": dota.write,
    "dota-v1.5": lambda p: dota.write(p, version="1.5"),
    "dior": dior.write,
    "dior-r": lambda p: dior.write(p, oriented=True),
    "nwpu-vhr10": nwpu_vhr10.write,
    "xview3-sar": xview3.write,
    "m4-sar": m4sar.write,
}


def _placed_by_hand(entry: DatasetEntry) -> DatasetEntry:
    """``entry`` as if its account-only files had been placed by hand (no ``manual``)."""
    files = tuple(f.model_copy(update={"manual": ""}) for f in entry.files)
    return entry.model_copy(update={"files": files})


def _prepare(name: str, tmp_path: Path) -> tuple[Fixture, Prepared]:
    return download_and_prepare(_placed_by_hand(get(name)), GENERATORS[name], tmp_path)


def _extracted(done: Prepared, archive: str) -> Path:
    return done.folder / "extracted" / archive


@pytest.mark.parametrize("name", list(GENERATORS))
def test_prepare_gives_images_and_an_object_table_per_split(name: str, tmp_path: Path) -> None:
    fixture, done = _prepare(name, tmp_path)
    entry = get(name)
    assert done.unit == "objects"
    assert [s.name for s in done.splits] == list(entry.splits)
    assert {s.name: s.count for s in done.splits} == fixture.counts
    assert done.unassigned == fixture.unassigned
    manifest = json.loads(done.manifest.read_text())
    assert manifest["class_count_unit"] == "objects"
    if entry.data_kind == "geo":  # xView3-SAR: scene catalogs paired with objects files
        data = TypeAdapter(DataConfig).validate_python(manifest["data"])
        assert data.kind == "geo" and data.val is not None  # type: ignore[union-attr]
        assert len(data.train.images) == len(xview3.SCENES["train"])  # type: ignore[union-attr]
    elif entry.trainable:  # the data section of an experiment config reading objects.csv
        data = TypeAdapter(DataConfig).validate_python(manifest["data"])
        assert data.kind == "objects" and data.root == done.splits[0].path.resolve()  # type: ignore[union-attr]
        assert [c.name for c in data.classes or []] == [c.name for c in entry.classes]
        val = "val" if "val" in entry.splits else None
        assert manifest["data"].get("val_root") == (
            None if val is None else str((done.folder / "eoforge" / val).resolve())
        )
        if name == "m4-sar":  # optical + SAR pairs: the SAR partner's first channel
            assert data.bands == ["RGB.red", "RGB.green", "RGB.blue"]  # type: ignore[union-attr]
            pair = data.pair  # type: ignore[union-attr]
            assert pair is not None and (pair.folder, pair.bands, pair.read) == (
                "images_sar",
                ["S1.VV"],
                [1],
            )
        else:
            assert data.pair is None  # type: ignore[union-attr]
    else:
        raise AssertionError(f"{name}: every detection entry trains today")
    names = [c.name for c in entry.classes]
    for split in done.splits:
        assert list(split.class_counts) == names
        assert {k: v for k, v in split.class_counts.items() if v} == fixture.class_counts[
            split.name
        ]
        rows = read_objects(split.path / "objects.csv")
        assert Counter(r.cls for r in rows) == Counter(fixture.class_counts[split.name])
        assert all(r.area > 0 for r in rows)
        if name == "xview3-sar":
            scenes = sorted(p.name for p in (split.path / "scenes").iterdir())
            assert scenes == sorted(xview3.SCENES[split.name])
            assert all((split.path / "scenes" / s).is_symlink() for s in scenes)
            assert {r.image for r in rows} <= set(scenes)
            continue
        images = sorted(p.name for p in (split.path / "images").iterdir())
        assert len(images) == split.count
        assert {r.image for r in rows} <= set(images)
        for image in images:  # hard links, not copies
            assert (split.path / "images" / image).stat().st_nlink >= 2
        if name == "m4-sar":
            assert sorted(p.name for p in (split.path / "images_sar").iterdir()) == images


def test_dota_rows_keep_the_published_corners_and_difficult_flag(tmp_path: Path) -> None:
    _, done = _prepare("dota-v1.0", tmp_path)
    rows = read_objects(done.splits[0].path / "objects.csv")
    plane = next(r for r in rows if r.cls == "plane")
    assert plane.image == "P0001.png"
    assert plane.corners == (10, 10, 20, 12, 18, 20, 8, 18)
    assert [r.difficult for r in rows if r.image == "P0001.png"] == [False, True, False]
    header = (done.splits[0].path / "objects.csv").read_text().splitlines()[0]
    assert header == ",".join(COLUMNS)


def test_dior_horizontal_and_oriented_boxes(tmp_path: Path) -> None:
    (tmp_path / "h").mkdir()
    (tmp_path / "r").mkdir()
    _, done = _prepare("dior", tmp_path / "h")
    _, done_r = _prepare("dior-r", tmp_path / "r")
    for prepared in (done, done_r):
        rows = read_objects(prepared.splits[0].path / "objects.csv")
        golf = next(r for r in rows if r.cls == "golffield")
        assert golf.corners == (3, 4, 20, 4, 20, 22, 3, 22)
    assert "00005.jpg" not in os.listdir(done.splits[0].path / "images")


def test_xview3_boxes_from_published_boxes_and_lengths(tmp_path: Path) -> None:
    _, done = _prepare("xview3-sar", tmp_path)
    train = done.splits[0].path
    rows = read_objects(train / "objects.csv")
    assert rows[0].bounds == (17, 8, 25, 13)  # published left, top, right, bottom
    assert dict(rows[0].attributes) == {"confidence": "HIGH", "is_fishing": "True"}
    assert rows[1].bounds == (45.5, 35.5, 55.5, 45.5)  # 100 m = 10 pixels around the point
    assert rows[2].bounds == (95.5, 75.5, 100, 80)  # clipped to the 100x80 scene
    points = (train / "points.csv").read_text().splitlines()
    assert len(points) - 1 == xview3.POINTS["train"]
    assert points[1].endswith("no box and no vessel length")
    assert points[2].endswith("is_vessel unknown")


def test_m4sar_corners_are_scaled_to_pixels(tmp_path: Path) -> None:
    _, done = _prepare("m4-sar", tmp_path)
    rows = read_objects(done.splits[0].path / "objects.csv")
    assert rows[0].cls == "bridge" and rows[0].corners == (4, 4, 16, 4, 16, 8, 4, 8)


def test_m4sar_pairs_load_as_optical_then_sar_bands(tmp_path: Path) -> None:
    _, done = _prepare("m4-sar", tmp_path)
    data = TypeAdapter(DataConfig).validate_python(done.config)
    assert isinstance(data, ObjectsData) and data.pair is not None
    read = tuple(data.pair.read) if data.pair.read else None
    chips = DetectionChipDataset(
        data.root,
        oriented=True,
        classes=[c.name for c in data.classes or []],
        bands=data.bands,
        pair=ImagePair(data.pair.folder, tuple(data.pair.bands), read),
    )
    assert chips.bands == ["RGB.red", "RGB.green", "RGB.blue", "S1.VV"]
    image = chips[0]["image"]  # the fixture's optical pixels are 100, its SAR pixels 40
    assert image.shape == (4, m4sar.SIZE, m4sar.SIZE)
    assert abs(float(image[:3].mean()) - 100) < 3 and abs(float(image[3].mean()) - 40) < 3


@pytest.mark.parametrize("name", ["xview3-sar", "dior", "m4-sar"])
def test_files_behind_a_login_are_asked_for(name: str, tmp_path: Path) -> None:
    entry = get(name)
    with pytest.raises(DownloadError, match="without an account"):
        download(entry, tmp_path)


def _prepare_again(done: Prepared) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        prepare(done.entry, done.folder.parent)
    return info.value


def test_dota_label_without_image_and_unknown_class(tmp_path: Path) -> None:
    _, done = _prepare("dota-v1.0", tmp_path)
    images = _extracted(done, "dotav1.0_images_val") / "val" / "images"
    labels = _extracted(done, "dotav1.0_annotations_val") / "val" / "annotations" / "version1.0"
    (images / "P0004.png").rename(images.parent / "P0004.png.away")
    error = _prepare_again(done)
    assert "P0004.txt" in str(error) and "no such image" in str(error)
    (images.parent / "P0004.png.away").rename(images / "P0004.png")
    (labels / "P0004.txt").write_text("1 1 5 1 5 5 1 5 submarine 0\n")
    error = _prepare_again(done)
    assert "P0004.txt" in str(error) and "'submarine'" in str(error)


def test_dior_split_list_naming_a_missing_image(tmp_path: Path) -> None:
    _, done = _prepare("dior", tmp_path)
    (_extracted(done, "JPEGImages-test") / "JPEGImages-test" / "11727.jpg").unlink()
    error = _prepare_again(done)
    assert "test.txt" in str(error) and "11727.jpg" in str(error)


def test_dior_r_degenerate_box(tmp_path: Path) -> None:
    _, done = _prepare("dior-r", tmp_path)
    xml = _extracted(done, "Annotations") / "Annotations" / "Oriented Bounding Boxes" / "00004.xml"
    xml.write_text(
        xml.read_text()
        .replace("<x_right_top>9<", "<x_right_top>5<")
        .replace("<x_right_bottom>9<", "<x_right_bottom>5<")
    )
    error = _prepare_again(done)
    assert "00004.xml" in str(error) and "degenerate" in str(error)


def test_nwpu_vhr10_annotation_naming_a_missing_image(tmp_path: Path) -> None:
    _, done = _prepare("nwpu-vhr10", tmp_path)
    path = done.folder / "annotations.json"
    coco = json.loads(path.read_text())
    coco["images"][2]["file_name"] = "999.jpg"
    path.write_text(json.dumps(coco))
    error = _prepare_again(done)
    assert "annotations.json" in str(error) and "'999.jpg'" in str(error)


def test_xview3_label_naming_a_missing_scene(tmp_path: Path) -> None:
    _, done = _prepare("xview3-sar", tmp_path)
    path = done.folder / "validation.csv"
    path.write_text(path.read_text().replace("b1844cde847a3942v", "ffffffffffffffffv", 1))
    error = _prepare_again(done)
    assert "validation.csv" in str(error) and "ffffffffffffffffv" in str(error)


def test_m4sar_image_without_its_sar_partner_and_box_outside(tmp_path: Path) -> None:
    _, done = _prepare("m4-sar", tmp_path)
    base = _extracted(done, "M4-SAR") / "M4-SAR"
    (base / "sar" / "images" / "val" / "4.jpg").unlink()
    error = _prepare_again(done)
    assert str(base / "sar" / "images" / "val" / "4.jpg") in str(error)
    assert "no SAR partner" in str(error)
    (base / "optical" / "images" / "val" / "4.jpg").unlink()
    (base / "optical" / "labels" / "val" / "4.txt").unlink()
    (base / "optical" / "labels" / "test" / "6.txt").write_text("1 1.5 1.5 2 1.5 2 2 1.5 2\n")
    error = _prepare_again(done)
    assert "6.txt" in str(error) and "outside" in str(error)


def test_object_table_round_trip_with_attributes(tmp_path: Path) -> None:
    rows = [
        ObjectRow(
            "a.png", "ship", (0.5, 1, 3, 1, 3, 4.25, 0.5, 4.25), True, (("confidence", "LOW"),)
        ),
        horizontal("b.png", "plane", (1, 2, 3, 4)),
    ]
    path = tmp_path / "objects.csv"
    assert write_objects(path, rows, ("confidence",)) == 2
    assert path.read_text().splitlines()[1] == "a.png,ship,0.5,1,3,1,3,4.25,0.5,4.25,1,LOW"
    again = read_objects(path)
    assert again[0] == rows[0]
    assert again[1].corners == (1, 2, 3, 2, 3, 4, 1, 4) and again[1].attributes == (
        ("confidence", ""),
    )
    assert [p.name for p in tmp_path.iterdir()] == ["objects.csv"]  # no temporary left
    path.write_text("image,label\n")
    with pytest.raises(UnreadableFileError, match="header"):
        read_objects(path)


def test_converters_and_box_checks(tmp_path: Path) -> None:
    where = tmp_path / "labels.txt"
    assert from_coco_bbox("x.jpg", "ship", [4, 5, 2, 3], where).corners == (4, 5, 6, 5, 6, 8, 4, 8)
    with pytest.raises(ConfigError, match=r"not \[x, y, width, height\]"):
        from_coco_bbox("x.jpg", "ship", [4, 5, 2], where)
    with pytest.raises(ConfigError, match="line 3"):
        from_dota_line("1 2 3 4 plane", "x.png", DOTA_V1_CLASSES, where, 3)
    row = from_dota_line("1 1 4 1 4 4 1 4 plane 0", "x.png", DOTA_V1_CLASSES, where, 1)
    check_box(row, (10, 10), where)
    check_box(horizontal("x.png", "plane", (-2, -2, 2, 2)), (10, 10), where)  # crosses the edge
    with pytest.raises(ConfigError, match="outside") as info:
        check_box(horizontal("x.png", "plane", (10, 0, 12, 2)), (10, 10), where)
    assert str(where) in str(info.value)
    with pytest.raises(ConfigError, match="degenerate"):
        check_box(horizontal("x.png", "plane", (1, 1, 1, 5)), (10, 10), where)


def test_real_dota_image_parses_to_its_64_objects() -> None:
    folder = REAL / "dota"
    if not folder.is_dir():
        pytest.skip("real DOTA sample (../shared/data/real/dota) not present")
    rows = read_dota(
        folder / "labelTxt" / "P1888.txt", folder / "images" / "P1888.png", DOTA_V1_CLASSES
    )
    assert len(rows) == 64
    assert Counter(r.cls for r in rows) == {"large-vehicle": 50, "small-vehicle": 14}
    assert rows[0].corners == (674, 375, 683, 375, 684, 394, 675, 395)
    assert image_size(folder / "images" / "P1888.png") == (712, 557)


def test_real_dota_image_prepares_in_the_published_layout(tmp_path: Path) -> None:
    folder = REAL / "dota"
    if not folder.is_dir():
        pytest.skip("real DOTA sample (../shared/data/real/dota) not present")

    def generator(published: Path) -> Fixture:
        fixture = dota.write(published)  # val from the fixture, train is the real P1888
        image = (folder / "images" / "P1888.png").read_bytes()
        label = (folder / "labelTxt" / "P1888.txt").read_bytes()
        for name, member, data in (
            ("dotav1.0_images_train.tar.gz", "train/images/P1888.png", image),
            ("dotav1.0_annotations_train.tar.gz", "train/annotations/version1.0/P1888.txt", label),
        ):
            fixture.files[name] = write_tar(published / name, {member: data})
        return fixture

    _, done = download_and_prepare(get("dota-v1.0"), generator, tmp_path)
    train = done.splits[0]
    assert train.count == 1
    assert {k: v for k, v in train.class_counts.items() if v} == {
        "large-vehicle": 50,
        "small-vehicle": 14,
    }
    assert len(read_objects(train.path / "objects.csv")) == 64
    assert (train.path / "images" / "P1888.png").stat().st_size == (
        folder / "images" / "P1888.png"
    ).stat().st_size


def test_real_dior_r_annotation_parses() -> None:
    folder = REAL / "dior"
    if not folder.is_dir():
        pytest.skip("real DIOR-R sample (../shared/data/real/dior) not present")
    xml = folder / "Annotations" / "Oriented Bounding Boxes" / "00001.xml"
    image = folder / "JPEGImage" / "00001.jpg"
    rows = read_voc(xml, image.name, DIOR_CLASSES, oriented=True)
    assert [(r.cls, r.corners, r.difficult) for r in rows] == [
        ("golffield", (133, 237, 684, 237, 684, 672, 133, 672), False)
    ]
    for row in rows:
        check_box(row, image_size(image), xml)
    assert image_size(image) == (800, 800)
    with pytest.raises(ConfigError, match="no <bndbox>"):
        read_voc(xml, image.name, DIOR_CLASSES, oriented=False)
