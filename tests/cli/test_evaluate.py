"""``eoforge evaluate BUNDLE DATA``: prints the metrics and writes them as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from eoforge.cli.main import main
from eoforge.experiment import load_config, train
from eoforge.synth import generate_scene

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["eoforge", *args])
    monkeypatch.setenv("COLUMNS", "300")
    try:
        main()
    except SystemExit as stopped:
        return int(stopped.code or 0)
    return 0


def test_evaluate_scene_folder_writes_metrics_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scenes = [tmp_path / "a", tmp_path / "b"]
    for seed, scene in enumerate(scenes):
        generate_scene(scene, size=96, seed=seed, sensors="s2", dates=1, clouds=0.0, vectors=False)
    config = {
        "data": {
            "kind": "geo",
            "train": {"images": [str(scenes[0])], "label": {"band": "landcover"}},
            "bands": BANDS,
            "legend": {"layer": "landcover"},
            "patch_size": 32,
            "samples_per_epoch": 8,
        },
        "model": {"arch": "pixel_forest", "options": {"n_estimators": 3, "max_depth": 5}},
        "task": {"kind": "segmentation"},
        "trainer": {"output_dir": str(tmp_path / "run")},
    }
    path = tmp_path / "forest.yaml"
    path.write_text(yaml.safe_dump(config))
    bundle = train(load_config(path), progress=False).bundle
    out = tmp_path / "unseen.json"
    code = run_cli(["evaluate", str(bundle), str(scenes[1]), "--out", str(out)], monkeypatch)
    printed = capsys.readouterr().out
    assert code == 0 and f"wrote {out}" in printed and "miou" in printed
    report = json.loads(out.read_text())
    assert report["data"] == str(scenes[1]) and 0.0 <= report["metrics"]["miou"] <= 1.0


def test_evaluate_missing_bundle_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["evaluate", str(tmp_path / "nobundle"), str(tmp_path)], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2 and "bundle.json" in err and "Traceback" not in err
