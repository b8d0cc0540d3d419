"""BRIGHT from its published layout to a bundle: download (local HTTP), prepare, train two steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from rasterio.errors import NotGeoreferencedWarning
from tests.datasets.fixtures import bright
from tests.datasets.prepared import download_and_prepare

from eoforge.datasets import get
from eoforge.experiment import load_config, train
from eoforge.experiment.config import GroupChipsData
from eoforge.models import load_bundle

pytestmark = pytest.mark.filterwarnings("ignore", category=NotGeoreferencedWarning)
ROOT = Path(__file__).resolve().parents[2]
RGB = ["RGB.red", "RGB.green", "RGB.blue"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The data section ``eoforge datasets prepare bright`` prints, for 64 px fixture pairs."""
    tmp = tmp_path_factory.mktemp("bright")
    _, done = download_and_prepare(get("bright"), lambda p: bright.write(p, size=64), tmp)
    return done.config


def test_prepare_prints_a_group_chips_section_of_two_sensors(prepared: dict[str, object]) -> None:
    assert prepared["kind"] == "group_chips" and prepared["label"] == "target"
    assert prepared["inputs"] == {
        "pre": {"folder": "pre", "bands": RGB},
        "post": {"folder": "post", "bands": ["XSAR.amplitude"]},
    }
    assert [c["name"] for c in prepared["classes"]] == list(bright.NAMES)  # type: ignore[union-attr]
    assert str(prepared["root"]).endswith("train") and str(prepared["val_root"]).endswith("val")


@pytest.mark.slow
def test_the_recipe_trains_on_the_prepared_splits(
    prepared: dict[str, object], tmp_path: Path
) -> None:
    recipe = yaml.safe_load((ROOT / "configs" / "bright.yaml").read_text())
    recipe["data"].update(root=prepared["root"], val_root=prepared["val_root"])
    recipe["data"].update(patch_size=32, batch_size=2, eval_batch_size=1, num_workers=0)
    recipe["data"]["stats_samples"] = 3
    recipe["model"]["backbone"] = "tu-resnet10t"
    recipe["trainer"].update(max_epochs=1, output_dir=str(tmp_path / "run"), accelerator="cpu")
    path = tmp_path / "bright.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))  # groups keep their order
    config = load_config(path)
    assert isinstance(config.data, GroupChipsData)
    result = train(config, progress=False)  # 3 training places: 2 steps of 2 and 1
    assert 0.0 <= result.metrics["val/miou"] <= 1.0
    assert result.metrics["val/present_post"] == 1.0
    written = json.loads((result.bundle / "bundle.json").read_text())
    options = written["model"]["options"]
    assert options["inputs"] == {
        "pre": {"bands": RGB, "gsd": 0.5},
        "post": {"bands": ["XSAR.amplitude"], "gsd": 0.5},
    }
    assert written["bands"] == [*RGB, "XSAR.amplitude"]
    assert [c["name"] for c in written["classes"]] == list(bright.NAMES)
    loaded = load_bundle(result.bundle)
    images = {"pre": torch.zeros(1, 3, 64, 64), "post": torch.zeros(1, 1, 64, 64)}
    present = {"pre": torch.tensor([True]), "post": torch.tensor([False])}
    assert loaded.model(images, present).shape == (1, 4, 64, 64)
