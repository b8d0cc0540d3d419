"""Shared set-up of the super-resolution training tests: synthetic pairs and a small recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eoforge.synth import generate_scene
from eoforge.synth.degrade import SensorModel
from eoforge.synth.sr_pairs import SRPairFiles, write_sr_pair

BANDS = ["S2.B03", "S2.B04", "S2.B08"]


def scene_pair(
    root: Path, seed: int, size: int, sensor: SensorModel, *, revisits: int = 1, name: str = "pair"
) -> SRPairFiles:
    """A ``size``² synthetic 2.5 m scene of ``seed`` and its degraded view(s) under ``root``."""
    scene = root / f"scene{seed}"
    generate_scene(
        scene, size=size, sensors=("s2",), dates=1, clouds=0.0, gsd=2.5,
        s2_native=False, vectors=False, seed=seed,
    )  # fmt: skip
    return write_sr_pair(
        scene, root / f"{name}{seed}", sensor, bands=tuple(BANDS), revisits=revisits, seed=seed
    )


def sr_config(
    root: Path,
    train: list[dict[str, Any]],
    val: list[dict[str, Any]],
    arch: str,
    options: dict[str, Any],
    *,
    epochs: int,
    **data: Any,
) -> dict[str, Any]:
    """A small ``super_resolution`` recipe over ``sr_pairs`` items (``data`` adds data keys)."""
    return {
        "data": {
            "kind": "sr_pairs",
            "bands": BANDS,
            **data,
            "batch_size": 8,
            "patch_size": 16,
            "val_patch_size": 32,
            "samples_per_epoch": 64,
            "train": train,
            "val": val,
        },
        "model": {"arch": arch, "options": options},
        "task": {"kind": "super_resolution", "sr": {"edge_weight": 0.1}},
        "optim": {"lr": 2e-3, "weight_decay": 0.0},
        "trainer": {
            "max_epochs": epochs,
            "accelerator": "cpu",
            "output_dir": str(root / "run"),
            "threads": 2,
            "checkpoint_every_n_steps": 0,
        },
    }
