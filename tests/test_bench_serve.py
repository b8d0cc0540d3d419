"""bench_serve's inputs are valid COGs; its latency run works end to end on a small image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from benchmarks import bench_serve
from rio_cogeo.cogeo import cog_validate


def test_inputs_are_cogs_with_overviews_and_colours(tmp_path: Path) -> None:
    classes, scene = tmp_path / "classes.tif", tmp_path / "scene.tif"
    bench_serve.write_cog(classes, 700, "classes")
    bench_serve.write_cog(scene, 300, "scene")
    for path in (classes, scene):
        assert cog_validate(str(path), quiet=True)[0]
    with rasterio.open(classes) as ds:
        assert ds.overviews(1) == [2] and ds.colormap(1)[6][:3] == (200, 30, 30)
        data = ds.read(1)
        np.testing.assert_array_equal(
            data[512:700, 0:512], bench_serve.class_block(512, 0, 188, 512)
        )
        assert set(np.unique(data)) <= {*range(7), 255}
    with rasterio.open(scene) as ds:
        assert ds.count == 4 and ds.descriptions[2] == "S2.B04" and ds.scales[0] == 1e-4
        np.testing.assert_array_equal(
            ds.read(window=((0, 100), (0, 100))),
            bench_serve.scene_block(0, 0, 300, 300)[:, :100, :100],
        )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_quick_run_reports_latencies_and_ratios(tmp_path: Path) -> None:
    result = bench_serve.main(
        ["--quick", "--size", "800", "--tiles", "2", "--out", str(tmp_path / "s.json")]
    )
    for layer in ("classes", "scene"):
        entry = result["layers"][layer]
        assert set(entry["contenders"]) == {"eoforge", "localtileserver"}
        for level in ("overview", "mid", "full"):
            assert entry["contenders"]["eoforge"][level]["warm"]["p50_ms"] > 0
            assert entry["ratios"][level]["cold"] > 0
