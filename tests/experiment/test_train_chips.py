"""Training on chip datasets: class folders, LEVIR-CD change pairs, BigEarthNet S2 + S1.

Each run leaves a bundle that :func:`evaluate` reads back with the very metrics
training reported for its validation data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from tests.experiment.helpers import BANDS, write_config

from eoforge.errors import ConfigError, MissingFileError
from eoforge.experiment import load_config, train
from eoforge.experiment.data import build_data
from eoforge.experiment.evaluate import evaluate
from eoforge.io import read
from eoforge.io.reader import as_sources
from eoforge.models import read_bundle_json

TINY_TRAINER = {"max_epochs": 1, "checkpoint_every_n_steps": 0, "accelerator": "cpu"}


def _val_metrics(bundle: Path) -> dict[str, float]:
    metrics = read_bundle_json(bundle).metrics
    return {k.removeprefix("val/"): v for k, v in metrics.items() if k.startswith("val/")}


def _train_and_reread(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = write_config(tmp_path / "experiment.yaml", raw)
    result = train(load_config(path), progress=False)
    # the same metrics; the loss may differ in its last float32 bits (summed in another order)
    metrics = evaluate(result.bundle, path, tmp_path / "metrics.json")
    assert metrics == pytest.approx(_val_metrics(result.bundle), rel=1e-6)
    return result.bundle


def write_class_chips(scene: Path, root: Path, size: int = 32) -> Path:
    """Cut a scene into ``size`` px 4-band chips filed as vegetated/sparse by their NDVI."""
    s2 = as_sources(next((scene / "s2").iterdir()))
    grid = min((s.grid() for s in s2), key=lambda g: abs(g.resolution.x))
    chips = []
    for row in range(0, grid.shape.y, size):
        for col in range(0, grid.shape.x, size):
            image, _ = read(s2, grid[row : row + size, col : col + size], BANDS)
            chips.append(image)
    ndvi = [float(((c[3] - c[2]) / (c[3] + c[2] + 1e-6)).mean()) for c in chips]
    cut = float(np.median(ndvi))
    for index, (chip, value) in enumerate(zip(chips, ndvi, strict=True)):
        folder = root / ("vegetated" if value > cut else "sparse")
        folder.mkdir(parents=True, exist_ok=True)
        profile = {"driver": "GTiff", "count": 4, "dtype": "float32", "width": size}
        profile.update(height=size, transform=Affine.identity())
        with rasterio.open(folder / f"chip_{index:03d}.tif", "w", **profile) as dst:
            dst.write(chip)
    return root


def test_scene_classification_from_class_folders(tiny_scene: Path, tmp_path: Path) -> None:
    root = write_class_chips(tiny_scene, tmp_path / "chips")
    raw = {
        "data": {"kind": "class_folder", "root": str(root), "bands": BANDS, "batch_size": 4},
        "model": {"arch": "timm_classifier", "backbone": "mobilenetv3_small_050"},
        "task": {"kind": "classification"},
        "trainer": {**TINY_TRAINER, "output_dir": str(tmp_path / "run")},
    }
    bundle = read_bundle_json(_train_and_reread(tmp_path, raw))
    assert [c.name for c in bundle.classes] == ["sparse", "vegetated"]
    assert bundle.patch_size == 32 and bundle.bands == BANDS


def test_change_detection_on_levir_cd(real_data: Path, tmp_path: Path) -> None:
    root = real_data / "levir_cd"
    raw = {
        "data": {"kind": "change_triplet", "root": str(root), "batch_size": 2},
        "model": {"arch": "fc_siam_diff", "backbone": "tu-mobilenetv3_small_050"},
        "task": {"kind": "change", "loss": "ce+dice"},
        "trainer": {**TINY_TRAINER, "output_dir": str(tmp_path / "run")},
    }
    bundle = read_bundle_json(_train_and_reread(tmp_path, raw))
    assert [c.name for c in bundle.classes] == ["no_change", "change"]
    assert bundle.bands == ["RGB.red", "RGB.green", "RGB.blue"]
    assert "val/f1_change" in bundle.metrics


def test_multilabel_on_bigearthnet_s2_by_name_with_s1(real_data: Path, tmp_path: Path) -> None:
    root = real_data / "bigearthnet"
    raw = {
        "data": {
            "kind": "bigearthnet",
            "root_s2": str(root / "BigEarthNet-S2-Example"),
            "root_s1": str(root / "BigEarthNet-S1-Example"),
            "bands": ["S2.B02", "S2.B03", "S2.B04", "S2.B08", "S2.B11"],
            "s1_bands": ["S1.VV", "S1.VH"],
            "batch_size": 2,
            "val_fraction": 0.34,
        },
        "model": {"arch": "timm_classifier", "backbone": "mobilenetv3_small_050"},
        "task": {"kind": "multilabel"},
        "trainer": {**TINY_TRAINER, "output_dir": str(tmp_path / "run")},
    }
    bundle = read_bundle_json(_train_and_reread(tmp_path, raw))
    assert bundle.bands == ["S2.B02", "S2.B03", "S2.B04", "S2.B08", "S2.B11", "S1.VV", "S1.VH"]
    assert len(bundle.classes) == 19 and bundle.gsd == 10.0
    assert {"val/map", "val/f1_macro"} <= set(bundle.metrics)


def test_change_pairs_take_chip_options_and_split_files(real_data: Path, tmp_path: Path) -> None:
    root = real_data / "levir_cd"
    names = sorted(p.name for p in (root / "A").iterdir())
    (tmp_path / "train.txt").write_text("\n".join(names[:3]) + "\n")
    (tmp_path / "val.txt").write_text(names[3] + "\n")
    (tmp_path / "test.txt").write_text("\n".join(names[4:]) + "\n")
    raw = {
        "data": {
            "kind": "change_triplet",
            "root": str(root),
            "splits": {s: str(tmp_path / f"{s}.txt") for s in ("train", "val", "test")},
            "chips": {"train": {"random_crop": 128}},
            "batch_size": 2,
        },
        "model": {"arch": "fc_siam_diff", "backbone": "tu-mobilenetv3_small_050"},
        "task": {"kind": "change", "loss": "ce+dice"},
        "trainer": {**TINY_TRAINER, "output_dir": str(tmp_path / "run")},
    }
    path = write_config(tmp_path / "c.yaml", raw)
    data = build_data(load_config(path), tmp_path / "run")
    assert [a.name for a, _, _ in data.train.files] == names[:3]  # type: ignore[attr-defined]
    assert [a.name for a, _, _ in data.val.files] == [names[3]]  # type: ignore[attr-defined]
    sample = data.train[0]
    assert tuple(sample["image"].shape) == (2, 3, 128, 128)
    assert tuple(sample["mask"].shape) == (128, 128)
    whole = data.val[0]  # evaluation: the whole 256 px pair (a multiple of 32: no padding)
    assert tuple(whole["image"].shape) == (2, 3, 256, 256)
    result = train(load_config(path), progress=False)
    scored = evaluate(result.bundle, path, tmp_path / "test.json", split="test")
    assert 0 <= scored["f1_change"] <= 1
    (tmp_path / "val.txt").write_text("no_such_pair.png\n")
    with pytest.raises(MissingFileError, match=r"val\.txt: the split file names 'no_such_pair"):
        build_data(load_config(path), tmp_path / "run2")


def test_a_change_pair_without_its_mask_is_named_or_skipped(tmp_path: Path) -> None:
    for sub in ("A", "B", "label"):
        (tmp_path / "set" / sub).mkdir(parents=True)
    for i in range(4):
        for sub in ("A", "B") + (("label",) if i != 2 else ()):
            values = np.full((1 if sub == "label" else 3, 32, 32), i, np.uint8)
            with rasterio.open(
                tmp_path / "set" / sub / f"p{i}.tif", "w", driver="GTiff", count=values.shape[0],
                height=32, width=32, dtype="uint8",
            ) as ds:  # fmt: skip
                ds.write(values)
    raw = {
        "data": {"kind": "change_triplet", "root": str(tmp_path / "set"), "batch_size": 2},
        "model": {"arch": "fc_siam_diff", "backbone": "tu-mobilenetv3_small_050"},
        "task": {"kind": "change"},
        "trainer": {**TINY_TRAINER, "output_dir": str(tmp_path / "run")},
    }
    path = write_config(tmp_path / "c.yaml", raw)
    with pytest.raises(ConfigError, match=r"1 images lack a partner in B/ or label/.*p2\.tif"):
        build_data(load_config(path), tmp_path / "run")
    raw["data"]["on_bad_file"] = "skip"  # type: ignore[index]
    data = build_data(load_config(write_config(tmp_path / "c.yaml", raw)), tmp_path / "run")
    kept = [a.name for a, _, _ in data.train.files + data.val.files]  # type: ignore[attr-defined]
    assert sorted(kept) == ["p0.tif", "p1.tif", "p3.tif"]
    assert "p2.tif" in (tmp_path / "run" / "skipped_files.tsv").read_text()


def test_bigearthnet_official_split_csvs_choose_the_patches(
    real_data: Path, tmp_path: Path
) -> None:
    root = real_data / "bigearthnet" / "BigEarthNet-S2-Example"
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    csv = {  # the official CSVs: "<S2 patch>,<S1 patch>" per line
        "train": names[:4],
        "val": names[4:5],
        "test": names[5:],
    }
    for split, rows in csv.items():
        (tmp_path / f"{split}.csv").write_text("".join(f"{n},S1_partner_{n}\n" for n in rows))
    raw = {
        "data": {
            "kind": "bigearthnet",
            "root_s2": str(root),
            "bands": ["S2.B02", "S2.B03", "S2.B04", "S2.B08"],
            "splits": {s: str(tmp_path / f"{s}.csv") for s in csv},
            "batch_size": 2,
        },
        "model": {"arch": "timm_classifier", "backbone": "mobilenetv3_small_050"},
        "task": {"kind": "multilabel"},
        "trainer": {**TINY_TRAINER, "output_dir": str(tmp_path / "run")},
    }
    path = write_config(tmp_path / "c.yaml", raw)
    data = build_data(load_config(path), tmp_path / "run")
    assert [p.name for p in data.train.patches] == names[:4]  # type: ignore[attr-defined]
    assert [p.name for p in data.val.patches] == names[4:5]  # type: ignore[attr-defined]
    assert data.test is not None and len(data.test) == 1  # type: ignore[arg-type]
    (tmp_path / "test.csv").write_text("S2B_MSIL2A_not_a_patch,x\n")
    with pytest.raises(MissingFileError, match=r"test\.csv: the split file names 'S2B_MSIL2A_not"):
        build_data(load_config(path), tmp_path / "run2")
