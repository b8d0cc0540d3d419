"""The detection recipes validate, and the data builder writes prepared splits that load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from benchmarks.detect_data import (
    S1_CLASSES,
    VHR_CLASSES,
    grow,
    parse_seeds,
    read_dota,
    s1_split,
    vhr_split,
)

from eoforge.data.detection import DetectionChipDataset
from eoforge.datasets.layouts.objects import read_objects
from eoforge.experiment import load_config
from eoforge.models import build_model
from eoforge.models.oriented import OrientedFCOS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("name", "arch", "bands"),
    [
        ("detect_synth_vhr.yaml", "fcos", ["RGB.red", "RGB.green", "RGB.blue"]),
        ("detect_vessels_s1.yaml", "small_sar", ["S1.VV", "S1.VH"]),
    ],
)
def test_recipe_validates(tmp_path: Path, name: str, arch: str, bands: list[str]) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    config = load_config(
        ROOT / "configs" / name,
        [f"data.root={tmp_path / 'train'}", f"data.val_root={tmp_path / 'val'}"],
    )
    assert config.data.kind == "objects" and config.task.kind == "detection"
    assert config.model.arch == arch and config.task.ap_style == "voc12"
    assert config.trainer.max_time is not None and config.task.augment
    classes = VHR_CLASSES if arch == "fcos" else S1_CLASSES
    assert [c.name for c in config.data.classes or []] == list(classes)
    assert (config.data.bands or ["RGB.red", "RGB.green", "RGB.blue"]) == bands


def test_oriented_recipe_validates(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    config = load_config(
        ROOT / "configs" / "detect_synth_vhr_oriented.yaml",
        [f"data.root={tmp_path / 'train'}", f"data.val_root={tmp_path / 'val'}"],
    )
    horizontal = load_config(
        ROOT / "configs" / "detect_synth_vhr.yaml",
        [f"data.root={tmp_path / 'train'}", f"data.val_root={tmp_path / 'val'}"],
    )
    assert config.data.kind == "objects" and config.task.kind == "oriented_detection"
    assert config.model.arch == "oriented_fcos" and config.task.ap_style == "voc12"
    assert config.trainer.max_time is not None and config.task.augment
    assert [c.name for c in config.data.classes or []] == list(VHR_CLASSES)
    # the same chips as the horizontal recipe
    assert config.data.model_dump() == horizontal.data.model_dump()


def test_seeds_parse() -> None:
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("100,7") == [100, 7]


def test_vhr_split_holds_every_dota_object(tmp_path: Path) -> None:
    rows = vhr_split(tmp_path / "train", [3], tmp_path / "scenes", size=256)
    scene = tmp_path / "scenes" / "vhr_s3_256" / "vhr"
    expected = {
        f"s3_{chip}.tif": len(read_dota(scene / f"{chip}.txt", "", VHR_CLASSES))
        for chip in ("harbour", "airfield")
    }
    table = read_objects(tmp_path / "train" / "objects.csv")
    assert len(rows) == len(table) == sum(expected.values()) > 5
    for image, count in expected.items():
        assert sum(r.image == image for r in table) == count
    data = DetectionChipDataset(tmp_path / "train", oriented=False, classes=VHR_CLASSES)
    assert len(data) == 2
    loaded = [data[i] for i in range(len(data))]
    assert sum(len(s["boxes"]) for s in loaded) == sum(expected.values())
    assert tuple(loaded[0]["image"].shape) == (3, 1024, 1024)


def test_s1_split_chips_every_vessel(tmp_path: Path) -> None:
    rows = s1_split(
        tmp_path / "val", [5], tmp_path / "scenes", size=256, dates=1, vessels=8, chip=64, zoom=2
    )
    day = next((tmp_path / "scenes" / "s1_s5_256_1_8" / "s1").iterdir())
    vessels = read_dota(day / "vessels.txt", "", S1_CLASSES)
    assert len(rows) == len(vessels) > 0  # every vessel's centre lies in one chip
    table = read_objects(tmp_path / "val" / "objects.csv")
    assert len(table) == len(vessels)
    images = sorted((tmp_path / "val" / "images").glob("*.tif"))
    assert len(images) == len({r.image for r in table}) <= 16
    with rasterio.open(images[0]) as ds, rasterio.open(day / "S1.VV.tif") as vv:
        assert ds.count == 2 and ds.shape == (128, 128)
        assert ds.descriptions == ("S1.VV", "S1.VH") and ds.res == (5.0, 5.0)
        y0, x0 = (int(v) for v in images[0].stem.split("_")[-2:])
        chip = vv.read(1)[y0 : y0 + 64, x0 : x0 + 64]
        assert np.array_equal(ds.read(1)[::2, ::2], chip)
        assert ds.transform.c == vv.transform.c + 10 * x0
    # boxes are the DOTA boxes shifted to the chip and scaled by the zoom, sides grown
    # to 2 px at 10 m (4 px in the zoomed chip) about the same centre
    first = next(r for r in table if r.image == images[0].name)
    shifted = [
        grow([(v - (x0 if i % 2 == 0 else y0)) * 2 for i, v in enumerate(d.corners)], 4.0)
        for d in vessels
    ]
    assert any(np.allclose(box, first.corners, atol=1e-3) for box in shifted)
    sides = np.hypot(*np.diff(np.asarray(first.corners).reshape(4, 2)[:3], axis=0).T)
    assert sides.min() >= 4.0 - 0.01  # corners are rounded to 0.001 px
    data = DetectionChipDataset(
        tmp_path / "val", oriented=False, classes=S1_CLASSES, bands=["S1.VV", "S1.VH"]
    )
    assert len(data) == len(images)


def test_grow_keeps_centre_and_orientation() -> None:
    # a 10 x 1 px box at 0 deg grows to 10 x 4; a 6 x 6 box is left alone
    assert grow((0, 0, 10, 0, 10, 1, 0, 1), 4.0) == (0, -1.5, 10, -1.5, 10, 2.5, 0, 2.5)
    assert grow((0, 0, 6, 0, 6, 6, 0, 6), 4.0) == (0, 0, 6, 0, 6, 6, 0, 6)


def test_light_oriented_recipe_trains_on_the_same_chips_with_levels_for_cars(
    tmp_path: Path,
) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    sets = [f"data.root={tmp_path / 'train'}", f"data.val_root={tmp_path / 'val'}"]
    light = load_config(ROOT / "configs" / "detect_synth_vhr_oriented_light.yaml", sets)
    oriented = load_config(ROOT / "configs" / "detect_synth_vhr_oriented.yaml", sets)
    assert light.data.model_dump() == oriented.data.model_dump()
    assert light.task.model_dump() == oriented.task.model_dump()
    assert light.model.arch == "oriented_fcos"
    assert light.model.options["strides"] == [4, 8, 16, 32]  # 9 x 4 px cars at stride 4
    assert light.trainer.threads == 1 and light.trainer.accelerator == "cpu"
    # the network the recipe names builds from its options
    model = build_model(
        light.model.spec("oriented_detection", ["RGB.red", "RGB.green", "RGB.blue"], 3)
    )
    assert isinstance(model, OrientedFCOS) and model.strides == (4, 8, 16, 32)
    assert model.assign == "location"  # assign: object lost on these chips (see the recipe)
    assert model.angle_weight == 1.0
    assert light.trainer.val_every_n_epochs == light.trainer.max_epochs  # validated once
