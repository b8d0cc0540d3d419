"""``eoforge embed`` and ``eoforge embeddings index/search/cluster`` end to end, through the
command's real entry point (in this process: each subprocess paid a fresh interpreter and
torch import, several seconds)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pytest
import rasterio
from tests.embeddings.windows import PATTERN, embedding_bundle, write_scene
from tests.helpers import run_cli
from tests.predict.test_classify import _bundle

from eoforge.embeddings import embed


@dataclass(frozen=True)
class Done:
    """What one command left: its exit status and its output."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Done]:
    """``run(*args)``: ``eoforge ARGS`` in ``tmp_path`` through the real entry point."""
    monkeypatch.chdir(tmp_path)

    def call(*args: str) -> Done:
        capsys.readouterr()  # only this command's output
        code = run_cli(list(args), monkeypatch)
        out = capsys.readouterr()
        return Done(code, out.out, out.err)

    return call


def test_embed_index_search_and_cluster_from_the_command_line(
    tmp_path: Path, run: Callable[..., Done]
) -> None:
    embedding_bundle(tmp_path / "encoder")
    write_scene(tmp_path / "scene.tif")
    done = run("embed", "encoder", "scene.tif", "--out", "emb", "--zarr")
    assert done.returncode == 0, done.stderr
    assert "wrote emb/scene_embeddings.parquet (24 windows)" in done.stdout
    assert "wrote emb/scene_embeddings.zarr (24 windows)" in done.stdout

    done = run("embeddings", "index", "emb/scene_embeddings.parquet", "--out", "index")
    assert done.returncode == 0, done.stderr
    assert "wrote index (24 windows of 192 values" in done.stdout

    # the point lies in window (row 2, col 3): material 0, like 7 other windows
    done = run(
        "embeddings",
        "search",
        "index",
        "--at",
        "600485,5699675",
        "--k",
        "7",
        "--out",
        "similar.parquet",
    )
    assert done.returncode == 0, done.stderr
    assert "most similar to window 15" in done.stdout
    found = gpd.read_parquet(tmp_path / "similar.parquet")
    assert len(found) == 7 and all(PATTERN.reshape(-1)[found.id] == PATTERN[2, 3])

    done = run(
        "embeddings", "cluster", "emb/scene_embeddings.parquet", "--k", "3", "--out", "typology"
    )
    assert done.returncode == 0, done.stderr
    assert "wrote typology/scene_clusters.tif" in done.stdout
    with rasterio.open(tmp_path / "typology" / "scene_clusters.tif") as ds:
        assert ds.shape == PATTERN.shape and len(ds.colormap(1)) >= 3
    stats = json.loads((tmp_path / "typology" / "clusters.json").read_text())
    assert [c["count"] for c in stats["clusters"]] == [8, 8, 8]


def test_command_line_errors_name_the_problem(tmp_path: Path, run: Callable[..., Done]) -> None:
    classifier = _bundle(tmp_path)
    write_scene(tmp_path / "scene.tif")
    done = run("embed", str(classifier), "scene.tif", "--out", "emb")
    assert done.returncode == 2
    assert "not an embedding bundle" in done.stderr

    for name, seed in (("a", 0), ("b", 1)):  # tables of two bundles, made in-process
        bundle = embedding_bundle(tmp_path / name, seed=seed)
        embed(bundle, tmp_path / "scene.tif", tmp_path / f"emb_{name}")
    done = run(
        "embeddings",
        "search",
        "emb_a/scene_embeddings.parquet",
        "--like",
        "0",
        "--example",
        "emb_b/scene_embeddings.parquet",
    )
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert "a (fingerprint" in message and "b (fingerprint" in message
    assert "rebuild the index" in message
    done = run("embeddings", "search", "emb_a/scene_embeddings.parquet")
    assert done.returncode == 2 and "give exactly one example" in done.stderr
