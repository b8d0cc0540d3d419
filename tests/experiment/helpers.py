"""Config builders shared by the experiment tests.

Their trainers name ``accelerator: cpu``: the default (``auto``) would take a
GPU where the tests run on one, and the tests' numbers are CPU numbers.
"""

from __future__ import annotations

import copy
import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import yaml
from affine import Affine

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
CLASSES = [
    {"name": "water"},
    {"name": "vegetation", "values": ["forest", "grassland", "cropland", "wetland"]},
    {"name": "other", "values": ["bare_soil", "urban", "building", "road", "airfield", "harbour"]},
]


def segmentation_config(scene: Path, out: Path, **trainer: Any) -> dict[str, Any]:
    """A tiny land-cover experiment on ``scene`` with a spatial hold-out."""
    return {
        "data": {
            "kind": "geo",
            "train": {"images": [str(scene)], "label": {"band": "landcover"}},
            "bands": BANDS,
            "legend": {"layer": "landcover"},
            "classes": copy.deepcopy(CLASSES),
            "val_fraction": 0.25,
            "patch_size": 64,
            "val_patch_size": 64,
            "samples_per_epoch": 8,
            "batch_size": 4,
            "stats_samples": 4,
        },
        "model": {
            "arch": "unet",
            "backbone": "tu-resnet10t",
            "options": {"encoder_depth": 3, "decoder_channels": [32, 16, 8]},
        },
        "task": {"kind": "segmentation"},
        "optim": {"lr": 0.003},
        "trainer": {"max_epochs": 2, "accelerator": "cpu", "output_dir": str(out), **trainer},
    }


def write_config(path: Path, config: dict[str, Any]) -> Path:
    """Write ``config`` as YAML at ``path``."""
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_random_chips(root: Path, per_class: int = 6, size: int = 32) -> Path:
    """``root/<class>/chip_<i>.tif``: 4-band float32 chips of two separable classes.

    ``bright`` chips are brighter than ``dark`` ones in every band (seeded noise),
    so a classifier learns them in an epoch or two.
    """
    rng = np.random.default_rng(0)
    profile = {"driver": "GTiff", "count": 4, "dtype": "float32", "width": size, "height": size}
    for level, name in ((0.1, "dark"), (0.4, "bright")):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            chip = (level + 0.05 * rng.standard_normal((4, size, size))).astype(np.float32)
            with rasterio.open(
                folder / f"chip_{index:02d}.tif",
                "w",
                transform=Affine.translation(0, size),
                **profile,
            ) as dst:
                dst.write(chip)
    return root


def chip_config(root: Path, out: Path, **data: Any) -> dict[str, Any]:
    """A tiny scene-classification experiment on chips from :func:`write_random_chips`."""
    return {
        "data": {
            "kind": "class_folder",
            "root": str(root),
            "bands": BANDS,
            "batch_size": 4,
            **data,
        },
        "model": {"arch": "timm_classifier", "backbone": "mobilenetv3_small_050"},
        "task": {"kind": "classification"},
        "trainer": {
            "max_epochs": 1,
            "checkpoint_every_n_steps": 0,
            "accelerator": "cpu",
            "output_dir": str(out),
        },
    }


Drawn = tuple[np.ndarray, list[tuple[str, list[float]]]]
"""A drawn detection image ``[3, H, W]`` uint8 and its objects ``(class, 8 corners)``."""


def write_detection_split(
    folder: Path, count: int, seed: int, draw: Callable[[np.random.Generator], Drawn]
) -> Path:
    """A prepared detection split of ``count`` images drawn by ``draw``:
    ``images/*.tif`` and ``objects.csv``."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True)
    with open(folder / "objects.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            ["image", "class", *(f"{a}{i}" for i in range(1, 5) for a in "xy"), "difficult"]
        )
        for i in range(count):
            image, objects = draw(rng)
            name = f"img{i:02d}.tif"
            with rasterio.open(
                folder / "images" / name, "w", driver="GTiff", count=image.shape[0],
                height=image.shape[1], width=image.shape[2], dtype=image.dtype.name,
            ) as ds:  # fmt: skip
                ds.write(image)
            for cls, corners in objects:
                out.writerow([name, cls, *corners, 0])
    return folder


def detection_config(
    tmp_path: Path,
    draw: Callable[[np.random.Generator], Drawn],
    classes: list[str],
    arch: str,
    task: str,
    **data: Any,
) -> Path:
    """A small detection experiment (12 training and 4 validation images) written to YAML."""
    raw = {
        "data": {
            "kind": "objects",
            "root": str(write_detection_split(tmp_path / "train", 12, 0, draw)),
            "val_root": str(write_detection_split(tmp_path / "val", 4, 1, draw)),
            "classes": [{"name": c} for c in classes],
            "batch_size": 4,
            "stats_samples": 8,
            **data,
        },
        "model": {
            "arch": arch,
            "backbone": "resnet18",
            "options": {"fpn_channels": 32, "head_convs": 1, "score_thresh": 0.05},
        },
        "task": {"kind": task},
        "optim": {"lr": 0.001},
        "trainer": {
            "max_epochs": 2,
            "accelerator": "cpu",
            "checkpoint_every_n_steps": 0,
            "output_dir": str(tmp_path / "run"),
        },
    }
    return write_config(tmp_path / f"{task}.yaml", raw)
