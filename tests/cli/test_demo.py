"""``eoforge demo --fast`` end to end: the files, maps, metrics and report it promises."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from eoforge.catalog import Catalog


@pytest.mark.timeout(700)
def test_demo_fast_trains_predicts_scores_and_reports(
    fast_demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, run = fast_demo
    assert run.returncode == 0, run.stderr[-3000:]
    stdout = run.stdout
    assert "unseen scene mIoU" in stdout and f"wrote {out / 'report.html'}" in stdout
    assert f"explore on a map: eoforge serve {out}" in stdout
    record = json.loads((out / "run.json").read_text())
    metrics = json.loads((out / record["metrics"]).read_text())
    assert 0.2 < metrics["miou"] <= 1 and len(metrics["per_class"]) == 7
    assert f"{metrics['miou']:.3f}" in stdout  # the printed mIoU is the saved one
    assert record["prediction"]["mpix_per_s"] > 0 and record["prediction"]["polygons"] > 0
    names = [s["name"] for s in record["stages"]]
    assert names[:3] == [
        "generate synthetic scenes",
        "index scenes into a catalog",
        "train the land-cover model",
    ]
    classes = out / record["prediction"]["classes"]
    assert cog_validate(str(classes), quiet=True)[0]
    with rasterio.open(classes) as ds, rasterio.open(out / record["scene"]["labels"]) as ref:
        assert ds.crs == ref.crs and ds.transform == ref.transform and ds.shape == ref.shape
        assert ds.tags(1)["CLASS_6"] == "built_up" and ds.colormap(1)[6][:3] == (200, 30, 30)
    assert (out / record["prediction"]["confidence"]).is_file()
    assert (out / record["prediction"]["vectors"]).is_file()
    assert (out / "train" / "bundle" / "bundle.json").is_file()
    assert len(Catalog.load(out / "catalog.parquet")) >= 9
    html = (out / "report.html").read_text()
    for section in ("Confusion matrix", "Learning curves", "Sentinel-1", "eoforge train"):
        assert section in html, section
    assert html.count("data:image/png;base64") == 8
    assert len(list((out / "report").glob("*.png"))) == 8
