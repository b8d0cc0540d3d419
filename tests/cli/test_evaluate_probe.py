"""``eoforge evaluate BUNDLE DATA --probe ...``: probing embedding bundles from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tests.evaluate.probe_fixtures import random_bundle, write_class_chips
from tests.helpers import run_cli

from eoforge.data.bigearthnet import CLASSES_19
from eoforge.evaluate.probe_run import ProbeOptions, run_probe


@pytest.fixture(scope="module")
def chips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_class_chips(tmp_path_factory.mktemp("cli_probe") / "chips", per_class=5)


def test_probe_prints_and_writes_what_it_used(
    tmp_path: Path, chips: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = random_bundle(tmp_path / "bundle")
    out = tmp_path / "knn.json"
    args = ["evaluate", str(bundle), str(chips), "--probe", "knn", "--k", "5"]
    code = run_cli(
        [*args, "--probe-size", "64", "--probe-norm", "none", "--out", str(out)], monkeypatch
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    report = json.loads(out.read_text())
    assert report["probe"] == "knn" and report["settings"] == {"k": 5, "temperature": 0.07}
    assert report["input"]["size"] == 64 and report["input"]["normalization"] == "none"
    assert (report["n_train"], report["n_val"]) == (12, 3)
    assert "precision_at_10" in printed and "64 px" in printed and f"wrote {out}" in printed
    default = run_cli(["evaluate", str(bundle), str(chips), "--probe", "linear"], monkeypatch)
    assert default == 0
    written = json.loads((tmp_path / "probe_linear.json").read_text())
    assert written["input"]["size"] == 32 and written["input"]["normalization"] == "bundle"


def test_embedding_bundle_without_probe_and_probe_options_alone_are_refused(
    tmp_path: Path, chips: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = random_bundle(tmp_path / "bundle")
    assert run_cli(["evaluate", str(bundle), str(chips)], monkeypatch) != 0
    assert "pass --probe knn, linear or finetune" in capsys.readouterr().err
    assert run_cli(["evaluate", str(bundle), str(chips), "--probe-norm", "none"], monkeypatch) != 0
    assert "no --probe was given" in capsys.readouterr().err
    config = tmp_path / "cls.yaml"
    config.write_text(yaml.safe_dump({"data": {"kind": "class_folder", "root": str(chips)}}))
    args = ["evaluate", str(bundle), str(config), "--probe", "knn", "--split", "test"]
    assert run_cli(args, monkeypatch) != 0
    assert "do not apply to probes" in capsys.readouterr().err
    assert run_cli([*args[:-2], "--ignore", "0"], monkeypatch) != 0
    assert "not to probes" in capsys.readouterr().err


def test_bigearthnet_samples_probe(tmp_path: Path, real_data: Path) -> None:
    root = real_data / "bigearthnet" / "BigEarthNet-S2-Example"
    bands = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
    config = tmp_path / "ben.yaml"
    data = {"kind": "bigearthnet", "root_s2": str(root), "bands": bands, "val_fraction": 0.5}
    config.write_text(yaml.safe_dump({"data": data}))
    bundle = random_bundle(
        tmp_path / "b", bands=bands, mean=[0.05] * 4, std=[0.05] * 4, patch_size=64
    )
    for probe in ("knn", "linear"):
        report = run_probe(bundle, config, probe)  # type: ignore[arg-type]
        assert (report["n_train"], report["n_val"]) == (3, 3)
        assert report["classes"] == list(CLASSES_19)
        assert report["labels"] == {"single": False, "multi": True}
        assert report["input"]["size"] == 64  # the 120-px patches resized to the bundle's size
        assert 0.0 < report["metrics"]["map"] <= 1.0
    tuned = run_probe(bundle, config, "finetune", ProbeOptions(epochs=1))["metrics"]
    # the probes' map leaves out classes absent from the 3 validation patches; the task's does not
    assert 0.0 < tuned["map"] <= 1.0 and 0.0 <= tuned["map_task"] <= tuned["map"]
