"""Every example config in ``configs/`` validates (data paths under ../shared need it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoforge.experiment import load_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
NEEDS_REAL_DATA = {"dubai_colour_masks.yaml"}
PREPARED = {  # recipes reading `eoforge datasets prepare` folders: key -> folder of a split
    "landcover_ai.yaml": {
        "data.images": "train/images",
        "data.masks": "train/masks",
        "data.val_images": "val/images",
        "data.val_masks": "val/masks",
    },
    "levir_cd.yaml": {"data.root": "train", "data.val_root": "val"},
    "bright.yaml": {"data.root": "train", "data.val_root": "val"},
    "bigearthnet_multilabel.yaml": {"data.root_s2": "train", "data.val_root_s2": "val"},
    "bigearthnet_s1s2_groups.yaml": {
        "data.root_s2": "train",
        "data.val_root_s2": "val",
        "data.root_s1": "s1",
    },
    "scene_classification.yaml": {"data.root": "train", "data.val_root": "val"},
    "detect_synth_vhr.yaml": {"data.root": "train", "data.val_root": "val"},
    "detect_synth_vhr_oriented.yaml": {"data.root": "train", "data.val_root": "val"},
    "detect_synth_vhr_oriented_light.yaml": {"data.root": "train", "data.val_root": "val"},
    "detect_vessels_s1.yaml": {"data.root": "train", "data.val_root": "val"},
    "detect_synth_scene.yaml": {
        "data.train.images": "train",
        "data.train.objects.path": "train_objects",
        "data.val.images": "val",
        "data.val.objects.path": "val_objects",
    },
    "image_text_synth.yaml": {  # caption tables and scenes written by bench_image_text.py
        f"data.train[{i}].{key}": f"{key}{i}" for i in range(2) for key in ("table", "images")
    },
    "closp_synth.yaml": {  # caption tables and scenes written by bench_closp.py
        f"data.train[{i}].{key}": f"{key}{i}" for i in range(4) for key in ("table", "images")
    },
    "location_input_synth.yaml": {  # scenes and location bundle of bench_location_input.py
        "data.train.images": "train",
        "data.val.images": "val",
        "data.legend.path": "legend",
        "model.location.bundle": "location",
    },
    "location_synth.yaml": {"data.embeddings": "emb"},  # tables of eoforge embed
    "methane_plumes_synth.yaml": {  # granules written by eval_methane_plumes.py
        "data.train.images": "train",
        "data.val.images": "val",
    },
    **{  # scenes written by eval_clouds.py
        name: {
            "data.train.images": "train",
            "data.train.label.path": "train_mask",
            "data.val.images": "val",
            "data.val.label.path": "val_mask",
        }
        for name in ("clouds_s2_synth.yaml", "clouds_l8_synth.yaml")
    },
    **{  # scenes written by eval_field_boundaries.py (one date, or --series)
        name: {
            "data.train.images": "train",
            "data.train.label.path": "train_fields",
            "data.val.images": "val",
            "data.val.label.path": "val_fields",
        }
        for name in ("field_boundaries_synth.yaml", "field_boundaries_timeseries_synth.yaml")
    },
    **{  # scenes of eoforge synth --fusion-task (written by eval_fusion_ambiguous.py)
        name: {"data.train.images": "train", "data.val.images": "val"}
        for name in (
            "fusion_ambiguous_synth.yaml",
            "rgb_height_synth.yaml",
            "dual_encoder_msi_sar_synth.yaml",
        )
    },
    "sr_synth_x4.yaml": {  # pairs written by bench_sr_synth.py
        **{f"data.train[{i}].{key}": f"train{i}_{key}" for i in range(2) for key in ("lr", "hr")},
        **{f"data.val[0].{key}": f"val_{key}" for key in ("lr", "hr")},
    },
    **{  # revisits written by bench_sr_multiframe.py
        name: {
            **{f"data.train[{i}].{k}": f"train{i}_{k}" for i in range(2) for k in ("lr", "hr")},
            **{f"data.val[0].{key}": f"val_{key}" for key in ("lr", "hr")},
        }
        for name in ("sr_synth_multiframe_x4.yaml", "sr_synth_multiframe_fit_x4.yaml")
    },
    "sr_synth_reference_x4.yaml": {  # pairs and references written by bench_sr_reference.py
        **{
            f"data.train[{i}].{key}": f"train{i}_{key}"
            for i in range(4)
            for key in ("lr", "hr", "reference")
        },
        **{f"data.val[0].{key}": f"val_{key}" for key in ("lr", "hr", "reference")},
    },
}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_example_config_validates(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if path.name in NEEDS_REAL_DATA:
        request.getfixturevalue("real_data")  # skips when ../shared/data/real is absent
    monkeypatch.chdir(ROOT)
    overrides = [f"trainer.output_dir={tmp_path / 'run'}"]
    for key, folder in PREPARED.get(path.name, {}).items():
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        overrides.append(f"{key}={tmp_path / folder}")
    config = load_config(path, overrides)
    assert config.trainer.output_dir == tmp_path / "run"


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_recipes_reading_benchmark_data_are_given_folders_here(path: Path) -> None:
    # benchmarks/.data is written by the benchmark scripts and is absent on a fresh checkout (CI):
    # a recipe reading it validates only with the folders PREPARED points at.
    if "benchmarks/.data/" in path.read_text():
        assert path.name in PREPARED, f"{path.name} reads benchmarks/.data: add it to PREPARED"


def test_segmentation_and_baseline_share_their_split() -> None:
    unet = load_config(ROOT / "configs" / "landcover_synthetic.yaml")
    forest = load_config(ROOT / "configs" / "landcover_pixel_forest.yaml")
    assert forest.model.arch == "pixel_forest"
    assert unet.data.model_dump(
        exclude={"patch_size", "val_patch_size", "samples_per_epoch", "batch_size", "stats_samples"}
    ) == forest.data.model_dump(
        exclude={"patch_size", "val_patch_size", "samples_per_epoch", "batch_size", "stats_samples"}
    )
