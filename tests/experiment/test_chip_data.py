"""Chip data from real layouts: mixed sizes, colour-coded masks, patches, splits, bad files.

Real Lightning runs on tiny models; the Dubai aerial sample is read where it
lives (the tests skip without it).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from tests.experiment.helpers import chip_config, write_config, write_random_chips
from tests.helpers import run_cli

from eoforge.data.chips import read_mask_rgb
from eoforge.data.shaping import crop_back
from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.experiment import load_config, train
from eoforge.experiment.data import build_data
from eoforge.experiment.evaluate import evaluate
from eoforge.models import read_bundle_json

ROOT = Path(__file__).resolve().parents[2]
TINY_UNET = {
    "arch": "unet",
    "backbone": "tu-resnet10t",
    "options": {"encoder_depth": 3, "decoder_channels": [16, 8, 8]},
}
TRAINER = {"max_epochs": 1, "checkpoint_every_n_steps": 0, "accelerator": "cpu"}
DUBAI_CLASSES = [
    {"name": "building", "mask_color": "#3C1098"},
    {"name": "land", "mask_color": "#8429F6"},
    {"name": "road", "mask_color": "#6EC1E4"},
    {"name": "vegetation", "mask_color": "#FEDD3A"},
    {"name": "water", "mask_color": "#E2A929"},
]


def _tif(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    count, height, width = array.shape
    profile = {"driver": "GTiff", "count": count, "height": height, "width": width}
    with rasterio.open(path, "w", dtype=array.dtype, **profile) as dst:
        dst.write(array)


def write_mixed_class_folder(root: Path, per_class: int = 5) -> Path:
    """``root/<class>/*.tif``: 3-band uint8 images of 247 to 256 px a side, two classes."""
    rng = np.random.default_rng(1)
    for level, name in ((50, "dark"), (180, "bright")):
        for index in range(per_class):
            height, width = (int(s) for s in rng.integers(247, 257, size=2))
            noise = rng.normal(0, 20, (3, height, width))
            _tif(
                root / name / f"{name}_{index}.tif", np.clip(level + noise, 0, 255).astype(np.uint8)
            )
    return root


def test_the_scene_recipe_trains_a_mixed_size_folder_through_eoforge_train(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_mixed_class_folder(tmp_path / "chips")
    (root / "dark" / "broken.tif").write_bytes(b"II*\x00 truncated")
    overrides = {
        "data.root": str(root),
        "data.val_root": "null",
        "data.chips.train": "{resize: 64, random_crop: 56}",
        "data.chips.eval": "{resize: 64, center_crop: 56}",
        "data.batch_size": "4",
        "data.num_workers": "0",  # the recipe's prefetch_factor is then unused
        "data.on_bad_file": "skip",
        "model.backbone": "mobilenetv3_small_050",
        "trainer.max_epochs": "1",
        "trainer.accelerator": "cpu",
        "trainer.output_dir": str(tmp_path / "run"),
    }
    sets = [item for key, value in overrides.items() for item in ("--set", f"{key}={value}")]
    recipe = ROOT / "configs" / "scene_classification.yaml"
    assert run_cli(["train", str(recipe), *sets, "--no-progress"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "skipped 1 bad file(s)" in out
    bundle = read_bundle_json(tmp_path / "run" / "bundle")
    assert [c.name for c in bundle.classes] == ["bright", "dark"]
    assert bundle.patch_size == 56 and "val/accuracy" in bundle.metrics
    log = (tmp_path / "run" / "skipped_files.tsv").read_text()
    assert "broken.tif" in log and "cannot read the image" in log


def test_mixed_sizes_without_chip_options_name_the_keys_that_fix_them(tmp_path: Path) -> None:
    root = write_mixed_class_folder(tmp_path / "chips", per_class=3)
    raw = {
        "data": {"kind": "class_folder", "root": str(root), "batch_size": 4},
        "model": {"arch": "timm_classifier", "backbone": "mobilenetv3_small_050"},
        "task": {"kind": "classification"},
        "trainer": {**TRAINER, "output_dir": str(tmp_path / "run")},
    }
    with pytest.raises(ConfigError, match=r"different shapes .* Fix: .*data.chips.train"):
        train(load_config(write_config(tmp_path / "c.yaml", raw)), progress=False)


def test_a_corrupt_image_stops_training_naming_the_file(tmp_path: Path) -> None:
    root = write_mixed_class_folder(tmp_path / "chips", per_class=2)
    (root / "bright" / "bright_0.tif").write_bytes(b"not an image")
    raw = {
        "data": {"kind": "class_folder", "root": str(root), "chips": {"train": {"resize": 32}}},
        "model": {"arch": "timm_classifier", "backbone": "mobilenetv3_small_050"},
        "task": {"kind": "classification"},
        "trainer": {**TRAINER, "output_dir": str(tmp_path / "run")},
    }
    with pytest.raises(UnreadableFileError, match=r"bright_0\.tif: cannot .* Fix: .*on_bad_file"):
        train(load_config(write_config(tmp_path / "c.yaml", raw)), progress=False)


def test_the_time_budget_stops_training_and_still_exports(tmp_path: Path) -> None:
    root = write_random_chips(tmp_path / "chips", per_class=4)
    raw = chip_config(root, tmp_path / "run", num_workers=1, prefetch_factor=4)
    raw["trainer"].update(max_epochs=500, max_time="00:00:00:02")
    config = load_config(write_config(tmp_path / "c.yaml", raw))
    result = train(config, progress=False)
    assert result.seconds < 60 and (result.bundle / "bundle.json").is_file()
    assert result.log_dir is not None
    rows = (result.log_dir / "metrics.csv").read_text().splitlines()[1:]
    epochs = {int(row.split(",")[0]) for row in rows}
    assert 0 < len(epochs) < 500 and "val/accuracy" in result.metrics


def test_validation_every_n_epochs_validates_the_last_epoch_only(tmp_path: Path) -> None:
    root = write_random_chips(tmp_path / "chips", per_class=2, size=16)
    raw = chip_config(root, tmp_path / "run")
    raw["trainer"].update(max_epochs=3, val_every_n_epochs=3)
    result = train(load_config(write_config(tmp_path / "c.yaml", raw)), progress=False)
    assert result.log_dir is not None
    header, *rows = (result.log_dir / "metrics.csv").read_text().splitlines()
    column = header.split(",").index("val/accuracy")
    validated = [row.split(",")[0] for row in rows if row.split(",")[column]]
    trained = {row.split(",")[0] for row in rows}
    assert validated == ["2"] and trained == {"0", "1", "2"}
    assert "val/accuracy" in result.metrics
    with pytest.raises(ConfigError, match=r"max_epochs \(3\) is not a multiple"):
        load_config(write_config(tmp_path / "c.yaml", raw), ["trainer.val_every_n_epochs=2"])


def _dubai_config(real_data: Path, out: Path, **data: Any) -> dict[str, Any]:
    """Tile 2 of the Dubai sample: images 1-6 to train on, 7-9 (official-style split files)."""
    tile = real_data / "dubai_aerial" / "tile_2"
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.txt").write_text("".join(f"image_part_00{i}.jpg\n" for i in range(1, 7)))
    (out / "val.txt").write_text("".join(f"image_part_00{i}\n" for i in range(7, 10)))
    return {
        "data": {
            "kind": "image_mask",
            "images": [str(tile / "images")],
            "masks": [str(tile / "masks")],
            "splits": {"train": str(out / "train.txt"), "val": str(out / "val.txt")},
            "classes": DUBAI_CLASSES,
            "ignore_colors": ["#9B9B9B", "#000000"],
            "chips": {"train": {"random_crop": 64}},
            "batch_size": 3,
            "stats_samples": 2,
            **data,
        },
        "model": TINY_UNET,
        "task": {"kind": "segmentation"},
        "trainer": {**TRAINER, "output_dir": str(out)},
    }


def test_dubai_colour_masks_train_and_score_whole_images(real_data: Path, tmp_path: Path) -> None:
    raw = _dubai_config(real_data, tmp_path / "run")
    path = write_config(tmp_path / "dubai.yaml", raw)
    config = load_config(path)
    data = build_data(config, tmp_path / "run")
    # real mask pixels: each listed colour lands on its class, unlabeled on the ignore index
    sample = data.val[0]
    assert [p.stem for p, _ in data.val.files] == [  # type: ignore[attr-defined]
        "image_part_007",
        "image_part_008",
        "image_part_009",
    ]
    mask_file = real_data / "dubai_aerial" / "tile_2" / "masks" / "image_part_007.png"
    rgb = read_mask_rgb(mask_file)  # a palette PNG
    codes = (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]
    assert sample["mask"].shape == (544, 512) and sample["size"].tolist() == [544, 509]
    ids = sample["mask"][:, :509].numpy()  # the whole image, padded to a multiple of 32
    for class_id, rule in enumerate(DUBAI_CLASSES):
        assert bool((ids[codes == int(rule["mask_color"][1:], 16)] == class_id).all())
    assert bool((ids[(codes == 0x9B9B9B) | (codes == 0)] == 255).all())
    assert bool((sample["mask"][:, 509:] == 255).all()) and not bool(sample["valid"][:, 509:].any())
    # whole images of different sizes batch together, and outputs cut back to each image
    batch = data.val_collate([data.val[0], data.val[1]])
    assert batch["image"].shape == (2, 3, 544, 512)
    assert batch["size"].tolist() == [[544, 509], [544, 510]]
    assert [tuple(t.shape) for t in crop_back(batch["mask"], batch["size"])] == [
        (544, 509),
        (544, 510),
    ]
    assert data.train[0]["image"].shape == (3, 64, 64)

    result = train(config, progress=False)
    bundle = read_bundle_json(result.bundle)
    assert [c.name for c in bundle.classes] == [r["name"] for r in DUBAI_CLASSES]
    assert [c.color for c in bundle.classes] == [r["mask_color"].lower() for r in DUBAI_CLASSES]
    val = {k.removeprefix("val/"): v for k, v in bundle.metrics.items() if k.startswith("val/")}
    assert evaluate(result.bundle, path, tmp_path / "metrics.json") == val


def test_an_unknown_mask_colour_names_the_mask_colour_and_fix(
    real_data: Path, tmp_path: Path
) -> None:
    tile = real_data / "dubai_aerial" / "tile_3"
    raw = _dubai_config(real_data, tmp_path / "run", ignore_colors=["#9B9B9B"])
    raw["data"].update(images=[str(tile / "images")], masks=[str(tile / "masks")])
    data = build_data(load_config(write_config(tmp_path / "c.yaml", raw)), tmp_path / "run")
    files = [image.name for image, _ in data.train.files]  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as caught:
        data.train[files.index("image_part_006.jpg")]
    text = str(caught.value)
    assert text.startswith(f"{tile / 'masks' / 'image_part_006.png'}: mask colours #000000")
    assert "data.ignore_colors" in text and "data.unknown_colors: ignore" in text
    raw["data"]["unknown_colors"] = "ignore"
    data = build_data(load_config(write_config(tmp_path / "c.yaml", raw)), tmp_path / "run")
    assert data.train[files.index("image_part_006.jpg")]["mask"].shape == (64, 64)


def _image_mask_set(root: Path, names: list[str], size: int = 40) -> None:
    for index, name in enumerate(names):
        _tif(root / "images" / f"{name}.tif", np.full((3, size, size + index), index, np.uint8))
        mask = np.zeros((1, size, size + index), np.uint8)
        mask[0, :, : size // 2] = 1
        _tif(root / "masks" / f"{name}.tif", mask)


def test_split_files_are_honoured_and_test_is_scored_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [f"img{i}" for i in range(6)]
    _image_mask_set(tmp_path / "set", names)
    (tmp_path / "train.txt").write_text("img0\nimg1.tif\nimages/img2.tif\n")
    (tmp_path / "val.txt").write_text("# official validation\nimg3\n")
    (tmp_path / "test.txt").write_text("img4\nimg5\n")
    raw = {
        "data": {
            "kind": "image_mask",
            "images": str(tmp_path / "set" / "images"),
            "masks": str(tmp_path / "set" / "masks"),
            "classes": [{"name": "a", "values": [0]}, {"name": "b", "values": [1]}],
            "splits": {s: str(tmp_path / f"{s}.txt") for s in ("train", "val", "test")},
            "chips": {"train": {"center_crop": 32}},
            "batch_size": 2,
            "stats_samples": 2,
        },
        "model": TINY_UNET,
        "task": {"kind": "segmentation"},
        "trainer": {**TRAINER, "output_dir": str(tmp_path / "run")},
    }
    path = write_config(tmp_path / "c.yaml", raw)
    data = build_data(load_config(path), tmp_path / "run")
    assert [p.stem for p, _ in data.train.files] == ["img0", "img1", "img2"]  # type: ignore[attr-defined]
    assert [p.stem for p, _ in data.val.files] == ["img3"]  # type: ignore[attr-defined]
    assert data.test is not None and len(data.test) == 2  # type: ignore[arg-type]
    result = train(load_config(path), progress=False)
    scored = evaluate(result.bundle, path, tmp_path / "test.json", split="test")
    assert 0 <= scored["miou"] <= 1
    args = ["evaluate", str(result.bundle), str(path), "--out", str(tmp_path / "cli.json")]
    assert run_cli([*args, "--split", "test"], monkeypatch) == 0
    assert "(test)" in capsys.readouterr().out
    saved = json.loads((tmp_path / "cli.json").read_text())
    assert saved["split"] == "test" and saved["metrics"]["miou"] == scored["miou"]
    assert run_cli([*args, "--split", "train"], monkeypatch) == 2
    assert "--split 'train' is not a split eoforge scores" in capsys.readouterr().err
    (tmp_path / "val.txt").write_text("img3\nimg9.tif\n")
    with pytest.raises(MissingFileError, match=r"val\.txt: the split file names 'img9\.tif'"):
        build_data(load_config(path), tmp_path / "run2")


def test_patches_cut_large_images_and_whole_images_are_evaluated(tmp_path: Path) -> None:
    _image_mask_set(tmp_path / "set", ["a", "b", "c"], size=100)
    raw = {
        "data": {
            "kind": "image_mask",
            "images": str(tmp_path / "set" / "images"),
            "masks": str(tmp_path / "set" / "masks"),
            "val_images": str(tmp_path / "set" / "images"),
            "val_masks": str(tmp_path / "set" / "masks"),
            "classes": [{"name": "a"}, {"name": "b"}],
            "chips": {"train": {"patch_size": 48, "stride": 40}},
        },
        "model": TINY_UNET,
        "task": {"kind": "segmentation"},
        "trainer": {**TRAINER, "output_dir": str(tmp_path / "run")},
    }
    data = build_data(load_config(write_config(tmp_path / "c.yaml", raw)), tmp_path / "run")
    # 100 rows: starts 0, 40, 52; 100 / 101 / 102 columns: 0, 40, 52 / 53 / 54
    assert len(data.train) == 3 * 9  # type: ignore[arg-type]
    assert {tuple(data.train[i]["image"].shape) for i in range(27)} == {(3, 48, 48)}
    batch = data.val_collate([data.val[i] for i in range(3)])
    assert batch["image"].shape == (3, 3, 128, 128)
    assert batch["size"].tolist() == [[100, 100], [100, 101], [100, 102]]


def test_chip_options_and_time_budget_are_validated(tmp_path: Path) -> None:
    _image_mask_set(tmp_path / "set", ["a", "b"])
    raw: dict[str, Any] = {
        "data": {
            "kind": "image_mask",
            "images": str(tmp_path / "set" / "images"),
            "masks": str(tmp_path / "set" / "masks"),
            "classes": [{"name": "a"}, {"name": "b"}],
            "chips": {"train": {"random_crop": 32, "center_crop": 32}},
        },
        "model": TINY_UNET,
        "task": {"kind": "segmentation"},
        "trainer": {**TRAINER, "max_time": "00:00:10:00", "output_dir": str(tmp_path / "run")},
    }
    path = write_config(tmp_path / "c.yaml", raw)
    with pytest.raises(ConfigError, match=r"data.chips.train: .*random_crop or center_crop"):
        load_config(path)
    config = load_config(path, ["data.chips.train={random_crop: 32}"])
    assert config.trainer.time_budget() == timedelta(minutes=10)
    assert load_config(path, ["data.chips={}", "trainer.max_time=2.5"]).trainer.time_budget() == (
        timedelta(minutes=2, seconds=30)
    )
    with pytest.raises(ConfigError, match=r"trainer.max_time: 'ten minutes' is not DD:HH:MM:SS"):
        load_config(path, ["data.chips={}", "trainer.max_time=ten minutes"])
    with pytest.raises(ConfigError, match=r"data.classes\[1\].mask_color: missing"):
        raw["data"]["chips"] = {}
        raw["data"]["classes"][0]["mask_color"] = "#3C1098"
        build_data(load_config(write_config(tmp_path / "c.yaml", raw)), tmp_path / "run")


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_dubai_recipe_learns_within_its_time_budget(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recipe as shipped (its 5-minute budget), on the CPU: mIoU on tiles 5-6 >= 0.35.

    Measured at 0.535 on 2 cores (the recipe's header); how many epochs fit the
    budget depends on the machine, and the score swings by about 0.1 between epochs.
    """
    monkeypatch.chdir(ROOT)  # the recipe's paths start at the repository root
    recipe = ROOT / "configs" / "dubai_colour_masks.yaml"
    overrides = [f"trainer.output_dir={tmp_path / 'run'}", "trainer.accelerator=cpu"]
    config = load_config(recipe, overrides)
    result = train(config, progress=False)
    assert result.metrics["val/miou"] >= 0.35
