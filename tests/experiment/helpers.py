"""Config builders shared by the experiment tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

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
            "classes": CLASSES,
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
        "trainer": {"max_epochs": 2, "output_dir": str(out), **trainer},
    }


def write_config(path: Path, config: dict[str, Any]) -> Path:
    """Write ``config`` as YAML at ``path``."""
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
