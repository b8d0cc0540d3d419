"""eval_methane_plumes --quick: granules, three members, the ensemble and the baseline scored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.eval_methane_plumes import MEMBERS, main


@pytest.mark.slow  # trains three one-epoch members and predicts through the engine (~30 s CPU)
def test_quick_run_scores_every_method(tmp_path: Path) -> None:
    out = tmp_path / "methane_plumes.json"
    runs, data = str(tmp_path / "runs"), str(tmp_path / "data")
    record = main(["--quick", "--runs", runs, "--data", data, "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(record))
    assert list(record["methods"]) == [
        "matched_filter",
        "matched_filter_classic",
        *MEMBERS,
        "ensemble",
    ]
    for name, method in record["methods"].items():
        test = method["test"]
        assert test["plumes"] == 4 and 0 <= test["detected"] <= 4, name
        assert test["area_km2"] == pytest.approx(128 * 128 * 900 / 1e6, abs=1e-3)
        assert len(method["test_sweep"]) == 19
        assert isinstance(method["check_met"], bool)
    # the baseline's sweep: noise crosses 400 ppm m often, 4,000 ppm m rarely
    fps = [row["false_positives"] for row in record["methods"]["matched_filter"]["test_sweep"]]
    assert fps[0] > fps[-1]
    assert record["training"]["mf_only_s0"]["overrides"] == ["data.bands=[CH4.mf]"]
    bundle = json.loads((tmp_path / "runs" / "mf_only_s0" / "bundle" / "bundle.json").read_text())
    assert bundle["bands"] == ["CH4.mf"]
