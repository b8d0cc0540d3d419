"""Every example config in ``configs/`` validates (data paths under ../shared need it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoforge.experiment import load_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
NEEDS_REAL_DATA = {"bigearthnet_multilabel.yaml", "dubai_colour_masks.yaml", "levir_cd.yaml"}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_example_config_validates(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if path.name in NEEDS_REAL_DATA:
        request.getfixturevalue("real_data")  # skips when ../shared/data/real is absent
    monkeypatch.chdir(ROOT)
    overrides = [f"trainer.output_dir={tmp_path / 'run'}"]
    if path.name == "scene_classification.yaml":
        (tmp_path / "ucmerced" / "forest").mkdir(parents=True)
        overrides.append(f"data.root={tmp_path / 'ucmerced'}")
    config = load_config(path, overrides)
    assert config.trainer.output_dir == tmp_path / "run"


def test_segmentation_and_baseline_share_their_split() -> None:
    unet = load_config(ROOT / "configs" / "landcover_synthetic.yaml")
    forest = load_config(ROOT / "configs" / "landcover_pixel_forest.yaml")
    assert forest.model.arch == "pixel_forest"
    assert unet.data.model_dump(
        exclude={"patch_size", "val_patch_size", "samples_per_epoch", "batch_size", "stats_samples"}
    ) == forest.data.model_dump(
        exclude={"patch_size", "val_patch_size", "samples_per_epoch", "batch_size", "stats_samples"}
    )
