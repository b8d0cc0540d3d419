"""k-means of window embeddings: groups recovered exactly, typology COGs on the windows' grid
with a colour table, and per-cluster statistics checked against hand-computed values."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Geod
from rio_cogeo.cogeo import cog_validate
from sklearn.metrics import adjusted_rand_score
from tests.embeddings.windows import (
    BANDS,
    CRS,
    PATTERN,
    T,
    embedding_bundle,
    write_labels,
    write_scene,
)
from tests.predict.heads import MeanEmbedding

from eoforge.embeddings import cluster_embeddings, embed, kmeans, read_tables
from eoforge.errors import ConfigError
from eoforge.predict import EmbeddingSpec, TilingOptions, run


def test_kmeans_recovers_well_separated_groups_deterministically() -> None:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(5, 32)).astype(np.float32)
    truth = rng.integers(0, 5, 400)
    vectors = centres[truth] + rng.normal(0, 0.02, (400, 32)).astype(np.float32)
    labels, distances, centroids = kmeans(vectors, 5, seed=7)
    assert adjusted_rand_score(truth, labels) == 1.0
    counts = np.bincount(labels)
    assert list(counts) == sorted(counts, reverse=True)  # cluster 0 is the largest
    again = kmeans(vectors, 5, seed=7)
    np.testing.assert_array_equal(labels, again[0])
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    for c in range(5):
        np.testing.assert_allclose(centroids[c], unit[labels == c].mean(0), atol=1e-6)
    np.testing.assert_allclose(
        distances, np.linalg.norm(unit - centroids[labels], axis=1), atol=1e-6
    )
    with pytest.raises(ConfigError, match="cannot make 401 clusters of 400 windows"):
        kmeans(vectors, 401)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return embedding_bundle(tmp_path_factory.mktemp("cluster") / "bundle")


def test_typology_map_and_statistics_of_a_scene(bundle: Path, tmp_path: Path) -> None:
    table = embed(bundle, write_scene(tmp_path / "scene.tif"), tmp_path / "emb")[0].paths[
        "embeddings"
    ]
    labels = write_labels(tmp_path / "labels.tif")
    result = cluster_embeddings(table, tmp_path / "typology", k=3, seed=0, labels=labels)
    truth = PATTERN.reshape(-1)
    assert adjusted_rand_score(truth, result.labels) == 1.0

    map_path = result.maps["scene"]
    assert cog_validate(str(map_path))[0]
    with rasterio.open(map_path) as ds:
        assert (ds.height, ds.width) == PATTERN.shape
        assert ds.transform == T @ Affine.scale(16)  # one pixel per 16-px window, side by side
        assert ds.crs == "EPSG:32631" and ds.nodata == 255
        values = ds.read(1)
        colormap = ds.colormap(1)
        tags = ds.tags(1)
    np.testing.assert_array_equal(values.reshape(-1), result.labels)
    for c in result.clusters:
        assert colormap[c.id] == c.rgba and tags[f"CLASS_{c.id}"] == f"cluster {c.id}"

    vectors = read_tables(table).vectors
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    names = {0: "vegetation", 1: "soil", 2: "water"}
    for stats in result.stats:
        members = result.labels == stats.id
        assert stats.count == 8
        assert stats.area_km2 == pytest.approx(8 * 160 * 160 / 1e6, rel=1e-12)
        centre = unit[members].mean(0)
        expected = np.linalg.norm(unit[members] - centre, axis=1).mean()
        assert stats.mean_distance == pytest.approx(expected, rel=1e-4)
        material = names[int(truth[members][0])]
        assert stats.land_cover == {material: 1.0}

    saved = json.loads(result.files["json"].read_text())
    assert saved["k"] == 3 and saved["windows"] == 24
    assert saved["clusters"] == [s.to_dict() for s in result.stats]
    with result.files["csv"].open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["count"]) for r in rows] == [8, 8, 8]
    assert {r["name"] for r in rows} == {"cluster 0", "cluster 1", "cluster 2"}
    assert sorted(float(r["share soil"]) for r in rows) == [0.0, 0.0, 1.0]


def test_overlapping_windows_map_at_the_stride_centred_on_their_windows(
    bundle: Path, tmp_path: Path
) -> None:
    table = embed(bundle, write_scene(tmp_path / "scene.tif"), tmp_path / "emb", stride=8)[0].paths[
        "embeddings"
    ]
    labels = write_labels(tmp_path / "labels.tif")
    result = cluster_embeddings(table, tmp_path / "typology", k=3, labels=labels)
    with rasterio.open(result.maps["scene"]) as ds:
        assert (ds.height, ds.width) == (7, 11)
        # pixel (i, j): the central 8 x 8 px of the window at (8 i, 8 j), a 4-px margin
        assert ds.transform == T @ Affine.translation(4, 4) @ Affine.scale(8)
    total = sum(s.count for s in result.stats)
    assert total == 77
    area = sum(s.area_km2 for s in result.stats)
    assert area == pytest.approx(77 * 80 * 80 / 1e6)
    # windows straddling two materials exist now, but the shares still add up to 1
    for stats in result.stats:
        assert sum(stats.land_cover.values()) == pytest.approx(1.0)


def _window_polygons(pattern: np.ndarray, transform: Affine) -> gpd.GeoDataFrame:
    names = np.array(["vegetation", "soil", "water"])
    rows, cols = np.indices(pattern.shape)
    boxes = []
    for r, c in zip(rows.ravel(), cols.ravel(), strict=True):
        x0, y0 = transform @ (c * 16, r * 16)
        x1, y1 = transform @ ((c + 1) * 16, (r + 1) * 16)
        boxes.append(shapely.box(x0, y1, x1, y0))
    return gpd.GeoDataFrame({"landcover": names[pattern.ravel()]}, geometry=boxes, crs=CRS)


def test_two_scenes_share_clusters_and_vector_labels_give_the_shares(
    bundle: Path, tmp_path: Path
) -> None:
    east = Affine.translation(2000, 0) @ T
    other = np.roll(PATTERN, 1, axis=1)
    write_scene(tmp_path / "in" / "a.tif")
    write_scene(tmp_path / "in" / "b.tif", other, seed=1, transform=east)
    results = embed(bundle, tmp_path / "in", tmp_path / "emb")
    tables = [r.paths["embeddings"] for r in results]
    polygons = pd.concat([_window_polygons(PATTERN, T), _window_polygons(other, east)])
    polygons.to_file(tmp_path / "landcover.gpkg")
    with pytest.raises(ConfigError, match="--label-column"):
        cluster_embeddings(tables, tmp_path / "x", k=3, labels=tmp_path / "landcover.gpkg")
    result = cluster_embeddings(
        tables, tmp_path / "typology", k=3, labels=tmp_path / "landcover.gpkg",
        label_column="landcover",
    )  # fmt: skip
    names = sorted(r.name for r in results)
    assert sorted(result.maps) == names
    truth = np.concatenate(
        [m.reshape(-1) for m in (PATTERN, other)][:: 1 if names[0] == "a" else -1]
    )
    assert adjusted_rand_score(truth, result.labels) == 1.0
    for stats in result.stats:
        assert stats.count == 16
        assert list(stats.land_cover.values()) == [1.0]


def test_areas_on_a_geographic_grid_are_geodesic(tmp_path: Path) -> None:
    degrees = Affine(0.001, 0, 10.0, 0, -0.001, 50.0)
    scene = write_scene(tmp_path / "geo.tif", transform=degrees, crs="EPSG:4326")
    table = run(
        MeanEmbedding(),
        scene,
        tmp_path / "emb",
        spec=EmbeddingSpec(dim=3),
        bands=BANDS,
        tiling=TilingOptions(tile=16, stride=16, multiple=1),
    )[0].paths["embeddings"]
    result = cluster_embeddings(table, tmp_path / "typology", k=3)
    covered = shapely.box(10.0, 50.0 - 0.064, 10.0 + 0.096, 50.0)  # 4 x 6 windows of 0.016°
    expected = abs(Geod(ellps="WGS84").geometry_area_perimeter(covered)[0]) / 1e6
    total = sum(s.area_km2 for s in result.stats)
    # the pixels' geodesic edges and the box's differ by well under a millionth
    assert total == pytest.approx(expected, rel=1e-6)
    assert total == pytest.approx(
        0.064 * 111.2 * 0.096 * 111.3 * np.cos(np.radians(49.97)), rel=0.01
    )
