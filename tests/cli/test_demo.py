"""``eoforge demo --fast`` end to end: the files and figures it promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eoforge.catalog import Catalog

EOFORGE = Path(sys.executable).with_name("eoforge")


@pytest.mark.timeout(300)
def test_demo_fast_writes_scenes_catalog_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    run = subprocess.run(
        [str(EOFORGE), "demo", "--fast", "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert f"wrote {out / 'summary.json'}" in run.stdout.replace("\n", "")
    summary = json.loads((out / "summary.json").read_text())
    sampling = summary["sampling"]
    assert sampling["patches"] == 96 and sampling["patch_shape"] == [12, 128, 128]
    assert len(sampling["class_pixels"]) >= 5  # the land-cover label reaches the batches
    catalog = Catalog.load(out / "catalog.parquet")
    assert len(catalog) == summary["catalog_rows"] >= 8
    assert set(catalog.frame["kind"]) == {"image", "label_raster"}
    for scene in ("train", "unseen"):
        assert (out / "scenes" / scene / "stac" / "collection.json").is_file()
        assert (out / "scenes" / scene / "legend.json").is_file()
    assert "not yet available" in summary["not_yet_available"]
