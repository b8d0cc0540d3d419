"""``benchmarks/probe_compare.py``: both bundles probed alike, margins per metric."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.probe_compare import compare, table
from tests.evaluate.probe_fixtures import random_bundle, write_class_chips

from eoforge.evaluate.probe_run import ProbeOptions


def test_margins_are_the_differences_of_both_reports(tmp_path: Path) -> None:
    chips = write_class_chips(tmp_path / "chips", per_class=5)
    first = random_bundle(tmp_path / "a", seed=1)
    second = random_bundle(tmp_path / "b", seed=2, mean=[0.0] * 3, std=[1.0] * 3)
    result = compare(first, second, chips, ["knn", "linear"], ProbeOptions())
    for probe in ("knn", "linear"):
        entry = result["probes"][probe]
        assert (
            entry["pretrained"]["bundle"]["fingerprint"] != entry["random"]["bundle"]["fingerprint"]
        )
        for name, margin in entry["margin"].items():
            first_value = entry["pretrained"]["metrics"][name]
            assert margin == pytest.approx(first_value - entry["random"]["metrics"][name])
    text = table(result)
    assert text.splitlines()[0].split() == ["probe", "metric", "pretrained", "random", "margin"]
    # knn: accuracy, precision_at_10; linear: accuracy; the blind baseline's accuracy
    assert len(text.splitlines()) == 1 + 2 + 1 + 1
    assert set(result["baseline"]) == {"accuracy"}  # class folders: single labels only
    assert result["baseline"] == result["probes"]["knn"]["random"]["baseline"]
