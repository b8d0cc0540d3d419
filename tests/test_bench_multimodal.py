"""bench_multimodal: the three contenders read the same windows; a tiny run writes every figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from benchmarks.bench_multimodal import (
    PATCH,
    PlainWindows,
    check_same_pixels,
    draw_windows,
    eoforge_dataset,
    eoforge_keys,
    groups,
    main,
    make_files,
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    return make_files(tmp_path_factory.mktemp("mm"), 256, 2)


@pytest.mark.slow
def test_eoforge_reads_the_plain_windows_each_group_on_its_grid(
    files: dict[str, list[Path]],
) -> None:
    windows = draw_windows(256, 3, 0)
    assert all(r % 2 == 0 and c % 2 == 0 for r, c in windows)  # the 20 m lattice
    agreement = check_same_pixels(files, windows, 2, 256)
    assert agreement["s2_10m"] == 0.0 and agreement["s2_20m"] == 0.0 and agreement["dsm"] == 0.0
    # two warpers placing pixels within GDAL's 0.125 px approximation: at most 0.125 of the
    # largest step between neighbouring pixels (the dB patches differ by up to 20)
    assert agreement["s1"] < 0.125 * 20
    dataset, mode = eoforge_dataset(files, 2)
    sample = dataset[eoforge_keys(windows[:1])[0]]
    plain = PlainWindows(files, 2, 256)[windows[0]]
    for group in groups(2):
        side = round(PATCH * 10 / group.gsd)
        got = sample["inputs"][group.name]["image"]
        shape = (group.dates, len(group.bands), side, side)
        assert tuple(got.shape) == (shape if group.dates > 1 else shape[1:])
        assert tuple(plain[group.name].shape) == shape
    assert sample["inputs"]["s2_10m"]["doy"].tolist() == [92.0, 104.0]  # 1 Apr + 12 days
    assert "time series" in mode and bool(torch.all(sample["valid"]))


@pytest.mark.slow
def test_a_tiny_run_writes_every_figure(files: dict[str, list[Path]], tmp_path: Path) -> None:
    folder = files["s2_10m"][0].parent
    out = tmp_path / "mm.json"
    args = ["--size", "256", "--dates", "2", "--samples", "24", "--rounds", "1"]
    result = main([*args, "--data", str(folder), "--out", str(out)])
    assert json.loads(out.read_text()) == result
    for key in ("eoforge_samples_per_s", "rasterio_samples_per_s", "torchgeo_samples_per_s"):
        assert result[key] > 0
    assert result["vs_rasterio"] == pytest.approx(
        result["eoforge_samples_per_s"] / result["rasterio_samples_per_s"], rel=0.01
    )
    assert result["groups"]["dsm"]["px"] == 512 and result["groups"]["s2_20m"]["px"] == 64
    costs = result["in_process"]["ms_per_sample"]
    assert all(v > 0 for v in costs.values())
    assert costs["eoforge_warm"] < costs["eoforge_cold"]  # the second pass reads cached blocks
