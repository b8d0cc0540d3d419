"""Every output kind through the one engine: rasters on finer and coarser grids, detections
merged across tile borders, one embedding per window; each resumed after an interruption
(byte-identical) and run on a Dask cluster (identical to the local run)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
import zarr
from affine import Affine
from distributed import Client
from rio_cogeo.cogeo import cog_validate
from tests.helpers import write_tif
from tests.predict.heads import BlobBoxes, MeanEmbedding, MeanPoolDown, PixelShuffleUp

from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError
from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.predict import (
    DetectionSpec,
    EmbeddingSpec,
    OutputKind,
    OutputSpec,
    RunOptions,
    TilingOptions,
    predict_scene,
)
from eoforge.predict.detections import BoxTable, nms
from eoforge.predict.executors import local_cluster

T = Affine(10, 0, 600000, 0, -10, 5700000)
BANDS = ["b1", "b2"]
SHAPE = (300, 400)
GRID = make_grid(SHAPE, T, "EPSG:32631")


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with local_cluster(2) as cluster, Client(cluster) as c:  # type: ignore[no-untyped-call]
        yield c


def _scene(folder: Path, data: np.ndarray, nodata: float | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_tif(folder / "scene.tif", data, T, "EPSG:32631", nodata=nodata, descriptions=BANDS)


def _smooth(nodata: bool = True) -> np.ndarray:
    rows, cols = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]].astype(np.float32)
    data = np.stack([np.sin(rows / 9) * np.cos(cols / 13), rows / 300 + cols / 400])
    if nodata:
        data[:, 40:60, 100:180] = -9999
    return data.astype(np.float32)


def _contents(paths: dict[str, Path]) -> dict[str, Any]:
    """Bytes of files; arrays of Zarr folders."""
    out: dict[str, Any] = {}
    for name, path in paths.items():
        if path.is_dir():
            group = zarr.open_group(str(path), mode="r")
            out[name] = {k: np.asarray(group[k][...]) for k in ("embedding", "window")}
        else:
            out[name] = path.read_bytes()
    return out


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        if isinstance(a[name], dict):
            for k in a[name]:
                np.testing.assert_array_equal(a[name][k], b[name][k])
        else:
            assert a[name] == b[name], f"{name} differs"


def _three_runs(
    tmp_path: Path,
    scene: Path,
    spec: OutputKind[Any],
    head: Callable[..., Any],
    options: TilingOptions,
    client: Client,
) -> dict[str, Path]:
    """A clean run; an interrupted run resumed locally; one resumed on Dask: all identical."""

    def predict(folder: str, model: Any, run: RunOptions | None = None) -> dict[str, Path]:
        return predict_scene(
            model,
            source_from_file(scene),
            GRID,
            BANDS,
            tmp_path / folder / "s",
            spec=spec,
            options=options,
            run=run,
        )

    clean_model = head()
    clean = predict(folder="clean", model=clean_model)
    passes = clean_model.calls
    assert passes >= 6, "the test scene should need several forward passes"
    reference = _contents(clean)

    for folder, run in (
        ("local", RunOptions(resume=True)),
        ("dask", RunOptions(resume=True, client=client)),
    ):
        with pytest.raises(RuntimeError, match="interrupted on purpose"):
            predict(folder, head(fail_after=passes // 2))
        assert not [p for p in (tmp_path / folder).iterdir() if not p.name.startswith(".")]
        journal = (tmp_path / folder / ".s.work" / "journal.txt").read_text()
        assert "computed" in journal
        resumed_model = head()
        resumed = predict(folder, resumed_model, run)
        if folder == "local":
            assert 0 < resumed_model.calls < passes  # only the unfinished blocks ran again
        _same(reference, _contents(resumed))
        assert sorted(p.name for p in (tmp_path / folder).iterdir()) == sorted(
            p.name for p in resumed.values()
        )  # work folder removed
    return clean


# -- rasters on a finer and a coarser grid -----------------------------------


def test_x2_super_resolution_writes_a_finer_grid_seamlessly(tmp_path: Path, client: Client) -> None:
    data = _smooth()
    scene = _scene(tmp_path / "in", data, nodata=-9999)
    spec = OutputSpec("values", names=("b1", "b2"), scale=2)
    options = TilingOptions(tile=96, overlap=16, batch=2, block=160, multiple=16)
    paths = _three_runs(
        tmp_path, scene, spec, lambda **kw: PixelShuffleUp(2, 2, **kw), options, client
    )
    out = paths["values"]
    assert out.name == "s_values.tif" and cog_validate(str(out), quiet=True)[0]
    assert spec.output_grid(GRID) == make_grid(
        (600, 800), Affine(5, 0, 600000, 0, -5, 5700000), "EPSG:32631"
    )
    with rasterio.open(out) as ds:
        assert ds.shape == (600, 800) and ds.crs == rasterio.crs.CRS.from_epsg(32631)
        assert ds.transform == Affine(5, 0, 600000, 0, -5, 5700000)  # same ground, half the pixel
        got = ds.read()
    expected = np.repeat(np.repeat(data, 2, axis=1), 2, axis=2)  # nearest-neighbour x2
    invalid = expected[0] == -9999
    assert np.isnan(got[:, invalid]).all()
    np.testing.assert_allclose(got[:, ~invalid], expected[:, ~invalid], rtol=1e-6, atol=1e-5)


def test_coarser_output_grid_averages_input_blocks(tmp_path: Path) -> None:
    data = _smooth(nodata=False)
    scene = _scene(tmp_path, data)
    spec = OutputSpec("values", names=("b1", "b2"), scale=Fraction(1, 2))
    out = predict_scene(
        MeanPoolDown(2),
        source_from_file(scene),
        GRID,
        BANDS,
        tmp_path / "coarse",
        spec=spec,
        options=TilingOptions(tile=96, overlap=16, batch=2, block=160, multiple=16),
    )["values"]
    with rasterio.open(out) as ds:
        assert ds.shape == (150, 200) and ds.transform == Affine(20, 0, 600000, 0, -20, 5700000)
        got = ds.read()
    expected = data.reshape(2, 150, 2, 200, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_a_model_returning_the_wrong_scale_is_named(tmp_path: Path) -> None:
    scene = _scene(tmp_path, _smooth(nodata=False))
    with pytest.raises(ValueError, match=r"expected \(2, 192, 192\).*output scale 2"):
        predict_scene(
            lambda x: x,  # x1, not x2
            source_from_file(scene),
            GRID,
            BANDS,
            tmp_path / "o",
            spec=OutputSpec("values", names=("a", "b"), scale=2),
            options=TilingOptions(tile=96, overlap=16, multiple=16),
        )
    with pytest.raises(ConfigError, match="output scale of 2/3"):
        OutputSpec("values", names=("a",), scale=Fraction(2, 3))


# -- detections ---------------------------------------------------------------

CLASSES = (
    ClassInfo(id=0, name="small", color="#ff0000"),
    ClassInfo(id=1, name="large", color="#0000ff"),
)


def _blobs() -> tuple[np.ndarray, list[tuple[int, int, int, int, float]]]:
    """A dark scene with bright squares: ``(x0, y0, x1, y1, brightness)`` each."""
    rng = np.random.default_rng(3)
    data = np.zeros((2, *SHAPE), np.float32)
    blobs: list[tuple[int, int, int, int, float]] = [(0, 120, 8, 128, 0.99)]  # on the scene edge
    taken = np.zeros(SHAPE, bool)
    taken[110:140, 0:20] = True
    while len(blobs) < 40:
        size = int(rng.integers(5, 14))
        y0, x0 = (
            int(rng.integers(2, SHAPE[0] - size - 2)),
            int(rng.integers(2, SHAPE[1] - size - 2)),
        )
        if taken[y0 - 2 : y0 + size + 2, x0 - 2 : x0 + size + 2].any():
            continue
        taken[y0 : y0 + size, x0 : x0 + size] = True
        blobs.append((x0, y0, x0 + size, y0 + size, round(float(rng.uniform(0.6, 0.98)), 3)))
    for x0, y0, x1, y1, value in blobs:
        data[0, y0:y1, x0:x1] = value
    return data, blobs


@pytest.mark.parametrize("oriented", [False, True])
def test_detections_are_merged_across_tiles_once_each(
    tmp_path: Path, client: Client, oriented: bool
) -> None:
    data, blobs = _blobs()
    scene = _scene(tmp_path / "in", data)
    spec = DetectionSpec(CLASSES, oriented=oriented, iou=0.5)
    options = TilingOptions(tile=96, overlap=32, batch=3, block=160, multiple=16)
    paths = _three_runs(
        tmp_path, scene, spec, lambda **kw: BlobBoxes(oriented, **kw), options, client
    )
    layer = gpd.read_parquet(paths["detections"])
    assert layer.crs == "EPSG:32631"
    assert len(layer) == len(blobs)  # none lost at tile borders, none twice in overlaps
    by_corner = {
        (round(g.bounds[0]), round(g.bounds[3])): row
        for g, row in zip(layer.geometry, layer.itertuples(), strict=True)
    }
    for x0, y0, x1, y1, value in blobs:
        left, top = T @ (x0, y0)
        right, bottom = T @ (x1, y1)
        row = by_corner[(round(left), round(top))]
        assert row.geometry.bounds == pytest.approx((left, bottom, right, top))
        assert row.score == pytest.approx(value, abs=1e-6)
        assert row.class_id == (1 if x1 - x0 >= 10 else 0)
        assert row.class_name == CLASSES[row.class_id].name
    meta = pq.read_schema(paths["detections"]).metadata
    assert b"geo" in meta


def test_class_aware_nms_keeps_the_best_box_per_class_and_object() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [30, 30, 40, 40]], float)
    table = BoxTable(boxes, np.array([0.9, 0.8, 0.7, 0.6]), np.array([0, 0, 1, 0]))
    assert nms(table, 0.5).tolist() == [0, 2, 3]  # box 1 overlaps box 0 (IoU 0.68), same class
    assert nms(table, 0.7).tolist() == [0, 1, 2, 3]
    rotated = np.array([[5, 5, 10, 4, 0.0], [5, 5, 10, 4, np.pi / 2]])
    table = BoxTable(rotated, np.array([0.9, 0.8]), np.array([0, 0]))
    # a cross: IoU 16 / 64 = 0.25
    assert nms(table, 0.3, oriented=True).tolist() == [0, 1]
    assert nms(table, 0.2, oriented=True).tolist() == [0]


def test_a_detection_model_returning_a_tensor_is_named(tmp_path: Path) -> None:
    scene = _scene(tmp_path, _smooth(nodata=False))
    with pytest.raises(ValueError, match="one dict of boxes"):
        predict_scene(
            lambda x: x,
            source_from_file(scene),
            GRID,
            BANDS,
            tmp_path / "o",
            spec=DetectionSpec(CLASSES),
            options=TilingOptions(tile=96, overlap=16, multiple=16),
        )


# -- embeddings -----------------------------------------------------------------


def test_one_embedding_per_window_with_its_footprint(tmp_path: Path, client: Client) -> None:
    data = _smooth(nodata=False)
    scene = _scene(tmp_path / "in", data)
    spec = EmbeddingSpec(dim=2, zarr=True)
    options = TilingOptions(tile=50, overlap=0, batch=3, block=100, multiple=1)
    paths = _three_runs(tmp_path, scene, spec, MeanEmbedding, options, client)
    table = gpd.read_parquet(paths["embeddings"])
    assert len(table) == 6 * 8 and table.crs == "EPSG:32631"
    assert sorted(zip(table.row, table.col, strict=True)) == [
        (r, c) for r in range(0, 300, 50) for c in range(0, 400, 50)
    ]
    for item in table.itertuples():
        window = data[:, item.row : item.row + item.height, item.col : item.col + item.width]
        np.testing.assert_allclose(item.embedding, window.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
        left, top = T @ (item.col, item.row)
        right, bottom = T @ (item.col + item.width, item.row + item.height)
        assert item.geometry.bounds == pytest.approx((left, bottom, right, top))
    group = zarr.open_group(str(paths["embeddings_zarr"]), mode="r")
    np.testing.assert_array_equal(np.asarray(group["embedding"][...]), np.stack(table.embedding))
    np.testing.assert_array_equal(
        np.asarray(group["window"][...]), table[["row", "col", "height", "width"]].to_numpy()
    )
    assert list(group.attrs["transform"]) == list(T)[:6]


def test_an_embedding_model_returning_the_wrong_width_is_named(tmp_path: Path) -> None:
    scene = _scene(tmp_path, _smooth(nodata=False))
    with pytest.raises(ValueError, match=r"must return \[B, 8\]"):
        predict_scene(
            MeanEmbedding(),
            source_from_file(scene),
            GRID,
            BANDS,
            tmp_path / "o",
            spec=EmbeddingSpec(dim=8),
            options=TilingOptions(tile=100, overlap=0, multiple=1),
        )
    assert not (tmp_path / "o_embeddings.parquet").exists()
    shutil.rmtree(tmp_path / ".o.work", ignore_errors=True)
