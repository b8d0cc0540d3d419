"""Embedding windows on a regular lattice (stride < window), with the scene's time and the
model's identity, resumed after an interruption into byte-identical files."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
import zarr
from rasterio.windows import Window
from tests.embeddings.windows import BANDS, CRS, T, embedding_bundle, write_scene
from tests.predict.heads import MeanEmbedding

from eoforge.embeddings import embed
from eoforge.errors import ConfigError
from eoforge.io import source_from_file
from eoforge.predict import DaskOptions, EmbeddingSpec, RunOptions, Scene, TilingOptions, run
from eoforge.predict.identity import ModelIdentity, bundle_identity
from eoforge.predict.tiling import lattice_starts


def test_lattice_starts_every_stride_while_windows_fit() -> None:
    assert lattice_starts(64, 16, 8) == [0, 8, 16, 24, 32, 40, 48]
    assert lattice_starts(70, 16, 16) == [0, 16, 32, 48]  # the last 6 px start no window
    assert lattice_starts(16, 16, 4) == [0]
    with pytest.raises(ValueError, match="shorter than one 16-px window"):
        lattice_starts(15, 16, 8)


def _dated_scene(path: Path) -> Scene:
    source = dataclasses.replace(
        source_from_file(write_scene(path)), datetime=datetime(2024, 6, 1, 10, 30, tzinfo=UTC)
    )
    return Scene("dated", ((source,),))


def test_windows_every_stride_with_time_and_model_then_resume_is_byte_identical(
    tmp_path: Path,
) -> None:
    scene = _dated_scene(tmp_path / "in" / "scene.tif")
    model = ModelIdentity("0123456789abcdef", ("encoder",), tuple(BANDS))
    spec = EmbeddingSpec(dim=3, zarr=True, model=model)
    tiling = TilingOptions(tile=16, stride=8, batch=4, block=32, multiple=1)

    clean = run(MeanEmbedding(), [scene], tmp_path / "clean", spec=spec, bands=BANDS, tiling=tiling)
    paths = clean[0].paths
    table = gpd.read_parquet(paths["embeddings"])
    assert len(table) == 7 * 11  # (64 - 16) / 8 + 1 rows, (96 - 16) / 8 + 1 columns
    assert sorted(zip(table.row, table.col, strict=True)) == [
        (r, c) for r in range(0, 49, 8) for c in range(0, 81, 8)
    ]
    assert set(table.height) == set(table.width) == {16}
    assert (table.valid == 1.0).all()
    assert (table.time == datetime(2024, 6, 1, 10, 30, tzinfo=UTC)).all()
    assert table.crs == CRS
    first = table[(table.row == 8) & (table.col == 24)].iloc[0]
    assert first.geometry.bounds == pytest.approx(
        (600000 + 240, 5700000 - 240, 600000 + 400, 5700000 - 80)
    )
    meta = json.loads(pq.read_schema(paths["embeddings"]).metadata[b"eoforge"])
    assert meta["window"] == 16 and meta["stride"] == 8 and meta["scene"] == "dated"
    assert meta["time"] == "2024-06-01T10:30:00+00:00"
    assert meta["model"]["fingerprint"] == "0123456789abcdef"
    assert meta["grid"] == {"transform": list(T)[:6], "shape": [64, 96]}

    with pytest.raises(RuntimeError, match="interrupted on purpose"):
        run(
            MeanEmbedding(fail_after=12),
            [scene],
            tmp_path / "resumed",
            spec=spec,
            bands=BANDS,
            tiling=tiling,
        )
    assert not (tmp_path / "resumed" / "dated_embeddings.parquet").exists()
    resumed_model = MeanEmbedding()
    resumed = run(
        resumed_model,
        [scene],
        tmp_path / "resumed",
        spec=spec,
        bands=BANDS,
        tiling=tiling,
        run=RunOptions(resume=True),
    )
    assert 0 < resumed_model.calls < 77 / 4, "the resumed run redid every block"
    new = resumed[0].paths
    assert new["embeddings"].read_bytes() == paths["embeddings"].read_bytes()
    for name in ("embedding", "window", "valid"):
        a = np.asarray(zarr.open_group(str(paths["embeddings_zarr"]), mode="r")[name][...])
        b = np.asarray(zarr.open_group(str(new["embeddings_zarr"]), mode="r")[name][...])
        np.testing.assert_array_equal(a, b)


def test_an_embedding_bundle_picks_its_kind_window_and_fingerprint(tmp_path: Path) -> None:
    bundle = embedding_bundle(tmp_path / "bundle")
    scene = write_scene(tmp_path / "in" / "scene.tif")
    result = run(bundle, scene, tmp_path / "out")[0]
    table = gpd.read_parquet(result.paths["embeddings"])
    assert len(table) == 4 * 6 and set(table.width) == {16}  # the bundle's patch size
    assert table.time.isna().all()  # a plain GeoTIFF has no acquisition time
    meta = json.loads(pq.read_schema(result.paths["embeddings"]).metadata[b"eoforge"])
    assert len(table.embedding.iloc[0]) == meta["dim"] == 192
    assert meta["model"] == bundle_identity([bundle]).to_dict()
    # a copied bundle keeps its fingerprint; other weights or statistics change it
    copy = embedding_bundle(tmp_path / "copy")
    other = embedding_bundle(tmp_path / "other", seed=1)
    assert bundle_identity([copy]).fingerprint == bundle_identity([bundle]).fingerprint
    assert bundle_identity([other]).fingerprint != bundle_identity([bundle]).fingerprint
    assert bundle_identity([bundle], tta=True).fingerprint != bundle_identity([bundle]).fingerprint


def test_a_scene_smaller_than_the_window_is_named(tmp_path: Path) -> None:
    scene = write_scene(tmp_path / "small.tif", np.array([[0, 1]]))
    with pytest.raises(ConfigError, match=r"scene small is 16 x 32 px.*smaller than one 32-px"):
        run(
            MeanEmbedding(),
            scene,
            tmp_path / "out",
            spec=EmbeddingSpec(dim=3),
            bands=BANDS,
            tiling=TilingOptions(tile=32, stride=16, multiple=1),
        )


def test_embedding_a_bundle_on_dask_equals_the_local_run(tmp_path: Path) -> None:
    bundle = embedding_bundle(tmp_path / "bundle")
    data_path = write_scene(tmp_path / "in" / "scene.tif")
    with rasterio.open(data_path, "r+") as ds:  # a nodata corner: 8 x 8 px of the first window
        ds.nodata = -1
        ds.write(np.full((3, 8, 8), -1, np.float32), window=Window(0, 0, 8, 8))
    local = embed(bundle, data_path, tmp_path / "local", stride=8, block=32)[0].paths
    dask = embed(
        bundle,
        data_path,
        tmp_path / "dask",
        stride=8,
        block=32,
        run_options=RunOptions(dask=DaskOptions(workers=2)),
    )[0].paths
    table, remote = gpd.read_parquet(local["embeddings"]), gpd.read_parquet(dask["embeddings"])
    # the same rows; vectors equal up to float32 rounding (workers run torch on fewer threads)
    assert table.drop(columns="embedding").equals(remote.drop(columns="embedding"))
    np.testing.assert_allclose(
        np.stack(remote.embedding), np.stack(table.embedding), rtol=1e-5, atol=1e-6
    )
    valid = dict(zip(zip(table.row, table.col, strict=True), table.valid, strict=True))
    assert valid[(0, 0)] == 0.75 and valid[(0, 8)] == 1.0 and valid[(8, 0)] == 1.0
