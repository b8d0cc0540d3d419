"""``eoforge embed`` and ``eoforge embeddings index/search/cluster`` end to end, from the shell."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import rasterio
from tests.embeddings.windows import PATTERN, embedding_bundle, write_scene
from tests.predict.test_classify import _bundle

from eoforge.embeddings import embed

EOFORGE = Path(sys.executable).with_name("eoforge")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EOFORGE), *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_embed_index_search_and_cluster_from_the_command_line(tmp_path: Path) -> None:
    embedding_bundle(tmp_path / "encoder")
    write_scene(tmp_path / "scene.tif")
    done = _run("embed", "encoder", "scene.tif", "--out", "emb", "--zarr", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote emb/scene_embeddings.parquet (24 windows)" in done.stdout
    assert "wrote emb/scene_embeddings.zarr (24 windows)" in done.stdout

    done = _run(
        "embeddings", "index", "emb/scene_embeddings.parquet", "--out", "index", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "wrote index (24 windows of 192 values" in done.stdout

    # the point lies in window (row 2, col 3): material 0, like 7 other windows
    done = _run(
        "embeddings", "search", "index", "--at", "600485,5699675", "--k", "7",
        "--out", "similar.parquet", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "most similar to window 15" in done.stdout
    found = gpd.read_parquet(tmp_path / "similar.parquet")
    assert len(found) == 7 and all(PATTERN.reshape(-1)[found.id] == PATTERN[2, 3])

    done = _run(
        "embeddings", "cluster", "emb/scene_embeddings.parquet", "--k", "3", "--out", "typology",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "wrote typology/scene_clusters.tif" in done.stdout
    with rasterio.open(tmp_path / "typology" / "scene_clusters.tif") as ds:
        assert ds.shape == PATTERN.shape and len(ds.colormap(1)) >= 3
    stats = json.loads((tmp_path / "typology" / "clusters.json").read_text())
    assert [c["count"] for c in stats["clusters"]] == [8, 8, 8]


def test_command_line_errors_name_the_problem(tmp_path: Path) -> None:
    classifier = _bundle(tmp_path)
    write_scene(tmp_path / "scene.tif")
    done = _run("embed", str(classifier), "scene.tif", "--out", "emb", cwd=tmp_path)
    assert done.returncode == 2
    assert "not an embedding bundle" in done.stderr

    for name, seed in (("a", 0), ("b", 1)):  # tables of two bundles, made in-process
        bundle = embedding_bundle(tmp_path / name, seed=seed)
        embed(bundle, tmp_path / "scene.tif", tmp_path / f"emb_{name}")
    done = _run(
        "embeddings", "search", "emb_a/scene_embeddings.parquet", "--like", "0",
        "--example", "emb_b/scene_embeddings.parquet", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert "a (fingerprint" in message and "b (fingerprint" in message
    assert "rebuild the index" in message
    done = _run("embeddings", "search", "emb_a/scene_embeddings.parquet", cwd=tmp_path)
    assert done.returncode == 2 and "give exactly one example" in done.stderr
