"""Probing an imported encoder: its architecture serves only ``embedding``, the probe still runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from tests.evaluate.probe_fixtures import BANDS, write_class_chips
from tests.helpers import run_cli
from tests.models.test_importers import vit_layout

from eoforge.models import load_bundle


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``eoforge models import`` of a file in the SSL4EO-S12 DINO ViT layout (random weights)."""
    folder = tmp_path_factory.mktemp("imported")
    teacher = {"module.backbone." + k: v for k, v in vit_layout(192, 1, 13, 16, grid=2).items()}
    torch.save({"teacher": teacher, "epoch": 99}, folder / "B13_vits16_dino.pth")
    args = ["models", "import", str(folder / "B13_vits16_dino.pth"), "--out", str(folder / "b")]
    args += ["--bands", ",".join(BANDS), "--mean", "0.13,0.13,0.13", "--std", "0.15,0.15,0.15"]
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert run_cli(args, monkeypatch) == 0
    assert load_bundle(folder / "b").bundle.model.arch == "timm_encoder"  # serves embedding only
    return folder / "b"


@pytest.mark.parametrize("form", ["root", "config"])
def test_an_imported_encoder_is_probed_on_class_folders(
    imported: Path, tmp_path: Path, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chips = write_class_chips(tmp_path / "chips", per_class=5)
    data = chips
    if form == "config":  # a data section alone: model and task left out
        data = tmp_path / "chips.yaml"
        section = {"kind": "class_folder", "root": str(chips), "bands": BANDS}
        data.write_text(yaml.safe_dump({"data": section}))
    out = tmp_path / "linear.json"
    args = ["evaluate", str(imported), str(data), "--probe", "linear", "--out", str(out)]
    assert run_cli(args, monkeypatch) == 0
    report = json.loads(out.read_text())
    assert (report["n_train"], report["n_val"]) == (12, 3) and report["feature_dim"] == 192
    assert report["input"]["size"] == 32 and report["classes"] == ["soil", "vegetation", "water"]
