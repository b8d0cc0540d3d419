"""The YOLO side of the detection benchmark: YOLO-OBB labels of eoforge's chips, offline runs."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from benchmarks.detect_data import VHR_CLASSES, vhr_split
from benchmarks.peers_detect import (
    offline_env,
    write_data_yaml,
    write_yolo_split,
    yolo_obb_line,
)
from PIL import Image

from eoforge.boxes import oriented_to_corners
from eoforge.data.detection import DetectionChipDataset
from eoforge.datasets.layouts.objects import from_yolo_obb_line


def test_yolo_obb_line_reads_back_and_clips() -> None:
    corners = (10.0, 20.0, 50.0, 20.0, 50.0, 30.0, 10.0, 30.0)
    line = yolo_obb_line(2, corners, (200, 100))
    assert line == "2 0.050000 0.200000 0.250000 0.200000 0.250000 0.300000 0.050000 0.300000"
    row = from_yolo_obb_line(line, "a.png", VHR_CLASSES, (200, 100), Path("a.txt"), 1)
    assert row.cls == VHR_CLASSES[2]
    assert np.allclose(row.corners, corners)
    # corners beyond the image are clipped to its edges (Ultralytics refuses them)
    outside = yolo_obb_line(0, (-5.0, 90.0, 30.0, 90.0, 30.0, 120.0, -5.0, 120.0), (200, 100))
    assert outside == "0 0.000000 0.900000 0.150000 0.900000 0.150000 1.000000 0.000000 1.000000"


@pytest.fixture(scope="module")
def chips(tmp_path_factory: pytest.TempPathFactory) -> DetectionChipDataset:
    root = tmp_path_factory.mktemp("vhr")
    vhr_split(root / "train", [3], root / "scenes", size=256)
    return DetectionChipDataset(
        root / "train", oriented=True, classes=VHR_CLASSES, patch_size=256, stride=256,
        keep_empty=False,
    )  # fmt: skip


def test_split_holds_the_chips_eoforge_trains_on(
    chips: DetectionChipDataset, tmp_path: Path
) -> None:
    counts = write_yolo_split(chips, tmp_path / "train")
    images = sorted((tmp_path / "train" / "images").glob("*.png"))
    labels = sorted((tmp_path / "train" / "labels").glob("*.txt"))
    assert counts["images"] == len(images) == len(labels) == len(chips) > 3
    assert counts["objects"] == sum(len(c.labels) for c in chips.chips)
    outside = 0
    for index, chip in enumerate(chips.chips):
        pixels = np.asarray(Image.open(images[index]))
        assert pixels.shape == (256, 256, 3) and pixels.dtype == np.uint8
        assert np.array_equal(pixels.transpose(2, 0, 1), chips[index]["image"].numpy())
        lines = labels[index].read_text().splitlines()
        rows = [from_yolo_obb_line(x, "", VHR_CLASSES, (256, 256), labels[index], 1) for x in lines]
        assert [VHR_CLASSES.index(r.cls) for r in rows] == chip.labels.tolist()
        rings = oriented_to_corners(torch.as_tensor(chip.boxes, dtype=torch.float64))
        for row, ring in zip(rows, rings, strict=True):
            got = torch.tensor(row.corners, dtype=torch.float64).view(4, 2)
            if ring.min() < 0 or ring.max() > 256:  # clipped to the chip
                outside += 1
                assert torch.equal(got, got.clamp(0, 256)) and not torch.allclose(got, ring)
            else:  # the chip's box, to the 6 decimals of the label file
                assert torch.allclose(got, ring, atol=256e-6)
    assert counts["clipped"] == outside > 0  # boxes crossing a chip's edge stay whole in eoforge


def test_data_yaml_names_the_splits(tmp_path: Path) -> None:
    path = write_data_yaml(tmp_path / "d.yaml", tmp_path / "tr", tmp_path / "va", VHR_CLASSES)
    text = path.read_text()
    assert f"train: {tmp_path / 'tr'}/images" in text and "  1: plane" in text


@pytest.mark.slow
def test_yolo_trains_and_predicts_offline(
    chips: DetectionChipDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if importlib.util.find_spec("ultralytics") is None:  # not imported: it writes settings
        pytest.skip("ultralytics is not installed (make .venv/.installed-bench)")
    from benchmarks.peers_detect import load_yolo, train_yolo, yolo_predictions, yolo_tile_speed

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # anything written to the user's folders lands here
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))  # its font cache
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "YOLO_CONFIG_DIR", "YOLO_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    write_yolo_split(chips, tmp_path / "yolo" / "train")
    yaml = write_data_yaml(
        tmp_path / "yolo" / "d.yaml", tmp_path / "yolo" / "train", tmp_path / "yolo" / "train",
        VHR_CLASSES,
    )  # fmt: skip
    project = tmp_path / "run"
    result = train_yolo(yaml, project, model="yolo11n-obb.yaml", epochs=1, batch=4, imgsz=256)
    assert Path(result["weights"]).is_file() and result["wall_s"] > 0 and result["cpu_s"] > 0
    assert result["args"]["epochs"] == 1 and result["args"]["pretrained"] is False
    assert [p.name for p in (project / "settings").rglob("*") if p.is_file()] == ["settings.json"]
    assert not any(home.rglob("*")), "Ultralytics wrote to the home folder"
    for name, value in offline_env(project / "settings").items():
        monkeypatch.setenv(name, value)  # load_yolo sets them too: restored after the test
    model = load_yolo(Path(result["weights"]), project / "settings")
    image = chips[0]["image"].numpy().transpose(1, 2, 0).astype(np.uint8)
    found = yolo_predictions(model, [image], imgsz=256, conf=0.0, max_det=10)
    assert found[0]["boxes"].shape[1] == 5 and len(found[0]["scores"]) <= 10
    speed = yolo_tile_speed(model, [image, image], imgsz=256, batch=2)
    assert speed["tile_mpix_per_s"] > 0
    assert os.environ["YOLO_OFFLINE"] == "1"  # load_yolo set the offline switches
    assert not any(home.rglob("*")), "Ultralytics wrote to the home folder"
