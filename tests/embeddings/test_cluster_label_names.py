"""Cluster land-cover shares named as eoforge names a class raster's classes.

A synth-style label raster (``labels/landcover_<date>.tif`` without class tags,
``legend.json`` one folder up) gives its legend's names, not ``class <id>``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from tests.embeddings.windows import CRS, PATTERN, WINDOW, T, embedding_bundle, write_scene
from tests.helpers import write_tif

from eoforge.embeddings import cluster_embeddings, embed
from eoforge.embeddings.labels import LabelLayer

LEGEND = {
    "landcover": [
        {"value": 0, "name": "nodata", "color": [0, 0, 0]},
        {"value": 1, "name": "forest", "color": [24, 110, 36]},
        {"value": 2, "name": "bare_soil", "color": [170, 120, 80]},
        {"value": 3, "name": "water", "color": [38, 115, 202]},
    ],
    "change": [{"value": 1, "name": "new building", "color": [200, 0, 0]}],
}


def _synth_labels(folder: Path) -> Path:
    """The window pattern as ``labels/landcover_20240301.tif`` (materials 1..3, 0 nodata)."""
    (folder / "labels").mkdir(parents=True)
    (folder / "legend.json").write_text(json.dumps(LEGEND), encoding="utf-8")
    data = np.repeat(np.repeat((PATTERN + 1).astype(np.uint8), WINDOW, 0), WINDOW, 1)
    path = write_tif(folder / "labels" / "landcover_20240301.tif", data, T, CRS, nodata=0)
    with rasterio.open(path) as ds:
        assert not any(key.startswith("CLASS_") for key in ds.tags(1))  # no names of its own
    return path


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return embedding_bundle(tmp_path_factory.mktemp("bundle") / "b")


def test_label_layer_takes_the_legend_names(tmp_path: Path) -> None:
    layer = LabelLayer(_synth_labels(tmp_path / "scene"))
    assert [layer.name(v) for v in (1, 2, 3)] == ["forest", "bare_soil", "water"]
    assert layer.name(9) == "class 9"  # a value the legend does not list


def test_cluster_shares_are_named_after_the_legend(bundle: Path, tmp_path: Path) -> None:
    scene = write_scene(tmp_path / "scene.tif")
    table = embed(bundle, scene, tmp_path / "emb")[0].paths["embeddings"]
    labels = _synth_labels(tmp_path / "synth")
    result = cluster_embeddings(table, tmp_path / "typology", k=3, seed=0, labels=labels)
    names = {0: "forest", 1: "bare_soil", 2: "water"}
    truth = PATTERN.reshape(-1)
    for stats in result.stats:
        material = names[int(truth[result.labels == stats.id][0])]
        assert stats.land_cover == {material: 1.0}
    saved = json.loads(result.files["json"].read_text())
    shares = {name for c in saved["clusters"] for name in c["land_cover"]}
    assert shares == {"forest", "bare_soil", "water"}
