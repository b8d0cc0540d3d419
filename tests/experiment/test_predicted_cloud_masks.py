"""A cloud bundle's predicted masks, end to end: eoforge predict, then a composite and a sampler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from tests.experiment.helpers import write_config
from tests.helpers import run_cli

from eoforge.catalog import Catalog
from eoforge.data import RandomGeoSampler
from eoforge.data.cloud_filter import CloudFilteredSampler
from eoforge.data.mask_rasters import attach_masks
from eoforge.data.time_series import SeriesSpec, composite, read_series
from eoforge.data.windows import regions_from_sources
from eoforge.experiment.loading import load_config
from eoforge.experiment.train import train
from eoforge.io.source import source_from_file
from eoforge.synth import generate_scene


@pytest.mark.slow
def test_predicted_masks_feed_the_composite_and_the_cloud_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene = tmp_path / "scene"
    generate_scene(
        scene,
        size=128,
        seed=6,
        sensors="s2",
        dates=3,
        clouds=0.5,
        gsd=30.0,
        s2_native=False,
        vectors=False,
    )
    sources = [
        e.source
        for e in Catalog.from_stac(scene / "stac/collection.json").query(kind="image")
        if e.source is not None
    ]
    first = sorted(s.name for s in sources)[0].split("-")[1]
    raw = {
        "data": {
            "kind": "geo",
            "train": {
                "images": [str(scene)],
                "label": {"path": str(scene / "s2" / first / "cloudmask.tif")},
            },
            "bands": ["S2.B02", "S2.B03", "S2.B04", "S2.B08", "S2.B11", "S2.B12"],
            "legend": {"path": str(scene), "layer": "cloudmask"},
            "val_fraction": 0.25,
            "patch_size": 48,
            "samples_per_epoch": 256,
            "batch_size": 16,
            "stats_samples": 4,
        },
        "model": {
            "arch": "unet",
            "backbone": "tu-resnet10t",
            "options": {"encoder_depth": 3, "decoder_channels": [32, 16, 8]},
        },
        "task": {"kind": "segmentation", "loss": "ce+dice"},
        "optim": {"lr": 0.01},
        "trainer": {"max_epochs": 6, "accelerator": "cpu", "output_dir": str(tmp_path / "run")},
    }
    train(load_config(write_config(tmp_path / "c.yaml", raw)), progress=False)
    masks = tmp_path / "masks"
    code = run_cli(
        ["predict", str(tmp_path / "run" / "bundle"), str(scene), "--out", str(masks)], monkeypatch
    )
    assert code == 0
    files = sorted(masks.glob("*_classes.tif"))
    assert [f.name for f in files] == sorted(f"{s.name}_classes.tif" for s in sources)
    predicted = {}
    for path in files:
        with rasterio.open(path) as src:
            assert src.descriptions == ("class",)
            predicted[path.name.removesuffix("_classes.tif")] = src.read(1)
    cloudy = {name: np.isin(codes, [1, 2]) for name, codes in predicted.items()}
    assert 0.02 < np.mean([c.mean() for c in cloudy.values()]) < 0.98  # the model marks clouds

    joined = attach_masks(sources, files, "class", "clouds.rasters")
    grid = sources[0].grid("S2.B04")
    series = read_series(joined, ["S2.B04"], grid, SeriesSpec(length=3, cloud_band="class"))
    order = sorted(s.name for s in sources)  # the series is in time order, as are the names
    for t, name in enumerate(order):
        assert np.array_equal(series["valid"][t].numpy(), ~cloudy[name])
    image, valid = composite(series, "median")
    plain = read_series(sources, ["S2.B04"], grid, SeriesSpec(length=3))["image"][:, 0].numpy()
    clear_everywhere = ~np.any([cloudy[n] for n in order], axis=0)
    assert np.array_equal(valid.numpy(), ~np.all([cloudy[n] for n in order], axis=0))
    # all three dates clear: their median; only one clear: its value
    expected = np.sort(plain, axis=0)[1]
    assert np.allclose(image[0].numpy()[clear_everywhere], expected[clear_everywhere])
    only = np.sum([~cloudy[n] for n in order], axis=0) == 1
    for t, name in enumerate(order):
        here = only & ~cloudy[name]
        assert np.allclose(image[0].numpy()[here], plain[t][here])

    earliest = next(s for s in joined if s.name == order[0])
    inner = RandomGeoSampler(regions_from_sources([earliest]), 16, 32, seed=0)
    mask = source_from_file(masks / f"{order[0]}_classes.tif")
    sampler = CloudFilteredSampler(inner, [mask], "class", [1, 2], 0.1)
    for window in sampler.epoch_windows(0):
        row, col = rasterio.transform.rowcol(
            grid.affine, window.grid.affine.c, window.grid.affine.f, op=round
        )
        assert cloudy[order[0]][row : row + 16, col : col + 16].mean() <= 0.1
