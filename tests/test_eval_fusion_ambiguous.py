"""eval_fusion_ambiguous: each model's config from its recipe, margins over the best single."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from benchmarks.eval_fusion_ambiguous import model_config, recipe, summary

from eoforge.experiment import load_config


@pytest.fixture
def where(tmp_path: Path) -> dict[str, Path]:
    out = {split: tmp_path / split for split in ("train", "val", "test")}
    for folder in out.values():
        folder.mkdir()
    return out


def test_single_inputs_keep_the_recipe_budget_and_the_ground_per_window(
    tmp_path: Path, where: dict[str, Path]
) -> None:
    base = recipe("height", epochs=3, threads=1)
    height = load_config(model_config("height", base, where, tmp_path / "runs" / "height"))
    assert height.data.inputs is not None and list(height.data.inputs) == ["height"]
    assert height.data.label_grid == "height"
    # 64 px at 10 m = 640 m = 256 px at 2.5 m
    assert (height.data.patch_size, height.data.val_patch_size) == (256, 1024)
    assert (height.trainer.max_epochs, height.trainer.threads) == (3, 1)
    fused = load_config(model_config("late", base, where, tmp_path / "runs" / "late"))
    assert fused.data.inputs is not None and list(fused.data.inputs) == ["s2", "s1", "height"]
    assert fused.model.options["fuse"] == "late" and fused.data.patch_size == 64
    assert fused.data.train.images == [where["train"]]
    msi = load_config(model_config("msi", recipe("msi", None, 1), where, tmp_path / "runs" / "m"))
    assert msi.data.inputs is not None and list(msi.data.inputs) == ["msi"]
    assert msi.data.patch_size == 64 and msi.trainer.max_epochs == 8


def entry(recipe_path: str, groups: list[str], miou: float, **missing: float) -> dict[str, Any]:
    runs = {"all groups": {"miou": miou}} | {
        f"without {k}": {"miou": v} for k, v in missing.items()
    }
    return {"recipe": recipe_path, "groups": groups, "runs": runs}


def test_margins_are_over_the_best_single_input_of_the_same_recipe() -> None:
    models = {
        "concat": entry("a.yaml", ["s2", "s1"], 0.85, s2=0.5, s1=0.6),
        "s2": entry("a.yaml", ["s2"], 0.62),
        "s1": entry("a.yaml", ["s1"], 0.55),
        "rgb_height": entry("b.yaml", ["rgb", "height"], 0.9, rgb=0.3, height=0.7),
        "rgb": entry("b.yaml", ["rgb"], 0.7),
    }
    out = summary(models)
    assert out["a.yaml"]["best_single_input"] == {"model": "s2", "miou": 0.62}
    assert out["a.yaml"]["concat"] == {
        "miou": 0.85,
        "margin_miou_over_best_single": 0.23,
        "miou_without_s2": 0.5,
        "miou_without_s1": 0.6,
    }
    assert out["b.yaml"]["rgb_height"]["margin_miou_over_best_single"] == pytest.approx(0.2)
