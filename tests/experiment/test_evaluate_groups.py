"""``eoforge evaluate BUNDLE SCENE`` for bundles trained on input groups: the scene predicted whole.

The bundle is a two-group ``fusion_unet`` whose head always says "vegetation"
(zero weights, one-hot bias), so the expected confusion matrix is the label
raster's class counts in the vegetation column, whatever the groups hold.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
import yaml
from tests.experiment.helpers import CLASSES
from tests.helpers import run_cli

from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError
from eoforge.experiment.evaluate import evaluate
from eoforge.models import Bundle, ModelSpec, Normalization, build_model, save_bundle
from eoforge.synth import generate_scene

S2 = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
S1 = ["S1.VV", "S1.VH"]
NAMES = [c["name"] for c in CLASSES]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 64 px synthetic S2 + S1 scene (seed 3) with its land-cover labels."""
    out = tmp_path_factory.mktemp("group_eval") / "seed3"
    generate_scene(out, size=64, seed=3, sensors="s2,s1", dates=1, clouds=0.0, vectors=False)
    return out


@pytest.fixture(scope="module")
def without_s1(scene: Path) -> Path:
    """The same scene without its Sentinel-1 rasters (and without the STAC that lists them)."""
    copy_ = scene.parent / "no_s1"
    shutil.copytree(scene, copy_, ignore=shutil.ignore_patterns("s1", "stac"))
    assert not list(copy_.rglob("S1.VV*"))
    return copy_


@pytest.fixture(scope="module")
def bundle(scene: Path) -> Path:
    """A fusion bundle (s2 at 10 m, s1 at 20 m) that predicts vegetation everywhere."""
    spec = ModelSpec(
        task="segmentation",
        arch="fusion_unet",
        backbone="tu-resnet10t",
        in_bands=[*S2, *S1],
        num_classes=3,
        options={
            "inputs": {"s2": {"bands": S2, "gsd": 10.0}, "s1": {"bands": S1, "gsd": 20.0}},
            "reference": "s2",
            "encoder_depth": 3,
            "decoder_channels": [8, 8, 8],
        },
    )
    torch.manual_seed(0)
    net = build_model(spec).eval()
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.copy_(torch.tensor([0.0, 5.0, 0.0]))
    info = Bundle(
        task="segmentation",
        model=spec,
        bands=[*S2, *S1],
        normalization=Normalization(mean=[0.1] * 4 + [-15.0] * 2, std=[0.1] * 4 + [5.0] * 2),
        gsd=10.0,
        patch_size=32,
        classes=[ClassInfo(id=i, name=n, color="#000000") for i, n in enumerate(NAMES)],
    )
    folder = save_bundle(scene.parent / "run" / "bundle", net, info)
    config = {
        "data": {
            "kind": "geo",
            "train": {"images": ["elsewhere"], "label": {"band": "landcover"}},
            "inputs": {"s2": {"bands": S2, "gsd": 10}, "s1": {"bands": S1, "gsd": 20}},
            "legend": {"layer": "landcover"},
            "classes": copy.deepcopy(CLASSES),
            "patch_size": 32,
        },
        "model": {"arch": "fusion_unet", "backbone": "tu-resnet10t"},
        "task": {"kind": "segmentation"},
        "trainer": {"output_dir": str(scene.parent / "run")},
    }
    (folder / "experiment.yaml").write_text(yaml.safe_dump(config))
    return folder


def _class_counts(scene: Path) -> np.ndarray:
    """Pixels of each class of CLASSES in the scene's label raster (legend names merged)."""
    legend = json.loads((scene / "legend.json").read_text())["landcover"]
    with rasterio.open(next((scene / "labels").glob("landcover*.tif"))) as ds:
        raw = ds.read(1)
    counts = np.zeros(3, np.int64)
    for k, rule in enumerate(CLASSES):
        names = rule.get("values") or [rule["name"]]
        for entry in legend:
            if entry["name"] in names:
                counts[k] += int((raw == entry["value"]).sum())
    return counts


def test_scene_is_predicted_whole_and_scored_per_class(
    scene: Path, bundle: Path, tmp_path: Path
) -> None:
    metrics = evaluate(bundle, scene, tmp_path / "m.json")
    report = json.loads((tmp_path / "m.json").read_text())
    counts = _class_counts(scene)
    assert counts.sum() > 0.9 * 64 * 64 and counts[1] > 0
    expected = np.zeros((3, 3), np.int64)
    expected[:, 1] = counts
    assert report["confusion_matrix"] == expected.tolist()
    assert report["pixels"] == counts.sum() and report["pixels_unpredicted"] == 0
    assert metrics["accuracy"] == pytest.approx(counts[1] / counts.sum())
    assert metrics["iou_vegetation"] == pytest.approx(counts[1] / counts.sum())
    if counts[0]:
        assert metrics["iou_water"] == 0.0
    assert report["absent_groups"] == [] and report["degraded"] is False
    assert report["groups"]["s1"]["files"] >= 1 and report["classes"] == NAMES


def test_a_group_missing_from_the_scene_is_a_degraded_run(
    without_s1: Path, bundle: Path, tmp_path: Path
) -> None:
    metrics = evaluate(bundle, without_s1, tmp_path / "no_s1.json")
    report = json.loads((tmp_path / "no_s1.json").read_text())
    assert report["absent_groups"] == ["s1"] and report["degraded"] is True
    assert report["groups"]["s1"]["files"] == 0 and report["groups"]["s2"]["files"] >= 4
    counts = _class_counts(without_s1)  # s2 alone still covers every pixel
    assert report["pixels"] == counts.sum() and report["pixels_unpredicted"] == 0
    assert metrics["accuracy"] == pytest.approx(counts[1] / counts.sum())


@pytest.mark.slow
def test_the_command_line_says_a_run_is_degraded(
    without_s1: Path,
    bundle: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "no_s1.json"
    code = run_cli(["evaluate", str(bundle), str(without_s1), "--out", str(out)], monkeypatch)
    printed = capsys.readouterr().out
    assert code == 0, printed
    report = json.loads(out.read_text())
    assert report["absent_groups"] == ["s1"]
    assert "degraded run: input group(s) s1 absent from the scene" in printed
    assert "iou_vegetation" in printed


def test_labels_given_on_the_command_line_are_scored(
    scene: Path, bundle: Path, tmp_path: Path
) -> None:
    # --labels: a raster of the legend's values on the scene's grid, here water everywhere.
    legend = json.loads((scene / "legend.json").read_text())["landcover"]
    water = next(e["value"] for e in legend if e["name"] == "water")
    source = next((scene / "labels").glob("landcover*.tif"))
    with rasterio.open(source) as ds:
        profile = dict(ds.profile)
        shape = (ds.height, ds.width)
    labels = tmp_path / "all_water.tif"
    with rasterio.open(labels, "w", **profile) as dst:
        dst.write(np.full(shape, water, profile["dtype"]), 1)
    metrics = evaluate(bundle, scene, tmp_path / "w.json", labels=labels)
    report = json.loads((tmp_path / "w.json").read_text())
    assert report["confusion_matrix"] == [[0, shape[0] * shape[1], 0], [0, 0, 0], [0, 0, 0]]
    assert metrics["accuracy"] == 0.0 and metrics["iou_water"] == 0.0
    assert report["labels"] == str(labels)


def test_a_config_file_is_refused_with_the_scene_form(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        evaluate(bundle, bundle / "experiment.yaml", tmp_path / "x.json")
    assert "scene folder" in str(caught.value)
