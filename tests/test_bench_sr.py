"""bench_sr: the bare side runs the engine's own tiles, and --quick writes every number."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from benchmarks.bench_sr import MEAN, STD, main, make_input, planned_batches

from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.predict import OutputSpec, TilingOptions, predict_scene


def test_the_bare_side_gets_the_engine_tiles_standardised(tmp_path: Path) -> None:
    scene = make_input(tmp_path / "s.tif", 100, ["S2.B04"])
    with rasterio.open(scene) as ds:
        image, grid = ds.read(), make_grid((100, 100), ds.transform, ds.crs)
    assert float(image.std()) > 0.02 and np.unique(image).size > 5000  # textured, not constant
    opts = TilingOptions(48, 8, 2, 96, 1)
    batches = planned_batches(scene, 100, opts, 4)
    seen: list[torch.Tensor] = []

    def record(x: torch.Tensor) -> torch.Tensor:  # what the engine feeds its model
        seen.append(x.clone())
        return x.repeat_interleave(4, -2).repeat_interleave(4, -1)

    spec = OutputSpec("values", names=("S2.B04",), scale=4)
    predict_scene(record, source_from_file(scene), grid, ["S2.B04"], tmp_path / "o", spec=spec,
                  options=opts)  # fmt: skip
    assert len(batches) == len(seen) > 2
    for bare, engine in zip(batches, seen, strict=True):
        assert bare.shape == engine.shape
        np.testing.assert_allclose(bare.numpy() * STD + MEAN, engine.numpy(), atol=1e-6)


def test_quick_run_measures_speed_and_memory(tmp_path: Path) -> None:
    out = tmp_path / "sr.json"
    result = main(["--quick", "--data", str(tmp_path / "data"), "--out", str(out)])
    assert json.loads(out.read_text()) == result
    assert result["speed_output_px"] == 4 * result["speed_input_px"]
    assert result["bare_output_mpix_per_s"] > 0 and result["eoforge_output_mpix_per_s"] > 0
    ratio = result["eoforge_output_mpix_per_s"] / result["bare_output_mpix_per_s"]
    assert abs(result["efficiency"] - ratio) <= 0.02 * ratio + 1e-3  # bare s / eoforge s
    small, large = result["rss_sizes_input_px"]
    assert result[f"rss_{small}_mb"] > 100 and result[f"rss_{large}_mb"] > 100
    assert result["rss_growth"] == round(result[f"rss_{large}_mb"] / result[f"rss_{small}_mb"], 3)
    assert result["rss_flat"] == (result["rss_growth"] <= 1 + result["rss_flat_tolerance"])
    assert result["efficiency_cpu"] > 0
    assert result[f"cog_{large}_mb"] > result[f"cog_{small}_mb"]  # the outputs were written


@pytest.mark.slow  # four x4 runs: ~2 s on a loaded machine
def test_overhead_part_times_the_engine_around_a_free_predictor(tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    result = main(["--quick", "--only", "overhead", "--data", str(tmp_path), "--out", str(out)])
    assert json.loads(out.read_text()) == result
    assert 0 < result["overhead_cpu_s"] == min(result["overhead_cpu_s_all"])
    assert len(result["overhead_cpu_s_all"]) == 3
    with rasterio.open(tmp_path / "overhead_out" / "s_values.tif") as ds:
        assert ds.shape == (4 * 96, 4 * 96) and ds.count == 4  # the x4 output was published
