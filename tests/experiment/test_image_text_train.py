"""Image-text training end to end: caption tables of known scenes in, a bundle whose text side
finds and names the windows of an unseen scene out."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import torch
import yaml
from tests.embeddings.windows import embedding_bundle, write_labels
from tests.experiment.caption_scenes import NAMES, caption_scene
from tests.helpers import run_cli

from eoforge.embeddings import build_index, embed, read_tables
from eoforge.errors import ConfigError, MissingFileError
from eoforge.evaluate.retrieval import cross_modal_scores
from eoforge.evaluate.zeroshot import zero_shot
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.train import TrainResult, train
from eoforge.models import load_bundle, read_bundle_json
from eoforge.models.image_text_bundle import TextSide, load_text_side
from eoforge.text.search import search_text

BANDS = ["S2.B04", "S2.B08", "S2.B11"]


def config(root: Path, train_scene: tuple[Path, Path], **task: object) -> ExperimentConfig:
    scene, table = train_scene
    return ExperimentConfig.model_validate(
        {
            "data": {
                "kind": "captions",
                "bands": BANDS,
                "batch_size": 16,
                "val_fraction": 0.2,
                "train": [{"table": str(table), "images": [str(scene)]}],
            },
            "model": {"arch": "spectral_vit", "options": {"depth": 1, "patch_size": 8}},
            "task": {"kind": "image_text", "text": {"dim": 32, **task}},
            "optim": {"lr": 3e-3},
            "trainer": {
                "max_epochs": 8,
                "accelerator": "cpu",
                "output_dir": str(root / "run"),
                "threads": 1,
                "checkpoint_every_n_steps": 0,
            },
        }
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, Path]:
    root = tmp_path_factory.mktemp("image_text")
    scene, table, _ = caption_scene(root / "train", 10, 10, seed=1)
    return train(config(root, (scene, table)), progress=False), root


@pytest.fixture(scope="module")
def unseen(trained: tuple[TrainResult, Path]) -> tuple[Path, np.ndarray, Path]:
    """(embedding table of an unseen scene, its materials, its index folder)."""
    result, root = trained
    scene, _, materials = caption_scene(root / "unseen", 4, 6, seed=2)
    table = embed(result.bundle, scene, root / "emb")[0].paths["embeddings"]
    build_index(table, root / "index")
    return table, materials.reshape(-1), root / "index"


@pytest.fixture(scope="module")
def text(trained: tuple[TrainResult, Path]) -> TextSide:
    return load_text_side(trained[0].bundle)


def test_the_bundle_is_an_embedding_bundle_with_a_text_side(
    trained: tuple[TrainResult, Path],
) -> None:
    result, _ = trained
    names = {p.name for p in result.bundle.iterdir()}
    assert {"bundle.json", "weights.safetensors", "text.json", "text.safetensors"} <= names
    info = read_bundle_json(result.bundle)
    assert info.task == "embedding" and info.model.arch == "image_text_tower"
    assert info.bands == BANDS and info.patch_size == 16 and info.gsd == pytest.approx(10.0)
    assert result.metrics["val/loss"] < result.metrics.get("train/loss", 99) + 1.0
    assert 0.0 <= result.metrics["val/recall@1"] <= 1.0
    tower = load_bundle(result.bundle).model
    with torch.no_grad():
        vectors = tower(torch.randn(2, 3, 16, 16))
    assert vectors.shape == (2, 32)
    torch.testing.assert_close(vectors.norm(dim=1), torch.ones(2))


def test_zero_shot_and_retrieval_on_an_unseen_scene(
    unseen: tuple[Path, np.ndarray, Path], text: TextSide
) -> None:
    table, materials, _ = unseen
    vectors = read_tables(table).vectors
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    result = zero_shot(text, vectors, materials, NAMES)
    assert result.accuracy >= 0.9, result.confusion
    prompts = [f"a satellite image of {n.replace('_', ' ')}." for n in NAMES]
    relevance = materials[None, :] == np.arange(3)[:, None]
    scores = cross_modal_scores(vectors, text.encode(prompts), relevance)
    assert scores["t2i/recall@1"] == 1.0 and scores["t2i/map"] >= 0.8


def test_search_finds_windows_of_the_words(
    unseen: tuple[Path, np.ndarray, Path], text: TextSide, trained: tuple[TrainResult, Path]
) -> None:
    _, materials, index = unseen
    found = search_text(["water"], index, k=5, text=text)
    assert list(found["rank"]) == list(range(5)) and set(found["text"]) == {"water"}
    assert np.mean(materials[found["id"].to_numpy()] == 2) >= 0.8
    # a box around the first two columns of 16-px (160 m) windows
    box = (600000.0, 5700000.0 - 640, 600000.0 + 300, 5700000.0)
    kept = search_text(["water"], index, k=50, bbox=box, text=text)
    assert set(kept["col"]) <= {0, 16} and len(kept) == 8
    with pytest.raises(ConfigError, match="query 0 is empty"):
        search_text(["  "], index, text=text)


def test_an_index_of_another_bundle_is_refused(
    unseen: tuple[Path, np.ndarray, Path], trained: tuple[TrainResult, Path], tmp_path: Path
) -> None:
    other = embedding_bundle(tmp_path / "other")
    table = embed(other, trained[1] / "unseen" / "scene.tif", tmp_path / "emb")[0]
    index = build_index(table.paths["embeddings"], tmp_path / "index")
    with pytest.raises(ConfigError, match="other") as caught:
        search_text(["water"], tmp_path / "index", bundle=trained[0].bundle)
    assert str(trained[0].bundle) in str(caught.value)
    with pytest.raises(MissingFileError, match="no text side"):
        load_text_side(other)
    assert index.model is not None


def test_search_command_writes_footprints(
    unseen: tuple[Path, np.ndarray, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, materials, index = unseen
    out = tmp_path / "found.geojson"
    code = run_cli(["search", "bare soil", str(index), "--k", "3", "--out", str(out)], monkeypatch)
    assert code == 0
    found = gpd.read_file(out)
    assert len(found) == 3 and found.crs.to_epsg() == 4326
    assert np.mean(materials[found["id"].to_numpy()] == 1) >= 2 / 3
    assert run_cli(["search", " ", str(index)], monkeypatch) == 2


def test_captions_need_the_image_text_task(tmp_path: Path) -> None:
    scene, table, _ = caption_scene(tmp_path / "s", 3, 3, seed=4)
    bad = config(tmp_path, (scene, table)).model_copy(deep=True)
    bad.task.kind = "classification"
    with pytest.raises(ConfigError, match="image_text"):
        train(bad, progress=False)


def test_evaluate_zero_shot_and_retrieval_forms(
    trained: tuple[TrainResult, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, root = trained
    folder = tmp_path / "scene"
    _, _, materials = caption_scene(folder, 4, 6, seed=3)
    (folder / "labels").mkdir()
    write_labels(folder / "labels" / "landcover_x.tif", materials + 1)
    legend = [{"value": 0, "name": "nodata"}] + [
        {"value": i + 1, "name": n} for i, n in enumerate(NAMES)
    ]
    (folder / "legend.json").write_text(json.dumps({"landcover": legend}))
    out = tmp_path / "zero.json"
    args = ["evaluate", str(result.bundle), str(folder), "--zero-shot", "--out", str(out)]
    assert run_cli(args, monkeypatch) == 0
    report = json.loads(out.read_text())
    assert report["windows"] == 24 and report["classes"] == NAMES
    assert report["zeroshot/accuracy"] >= 0.9
    assert np.asarray(report["confusion"]).sum() == 24
    config_file = tmp_path / "image_text.yaml"
    config_file.write_text(yaml.safe_dump(config(root, (root / "train" / "scene.tif",
        root / "train" / "captions.parquet")).model_dump(mode="json")))  # fmt: skip
    out = tmp_path / "retrieval.json"
    args = ["evaluate", str(result.bundle), str(config_file), "--retrieval", "--out", str(out)]
    assert run_cli(args, monkeypatch) == 0
    scores = json.loads(out.read_text())
    assert scores["windows"] == 20 and scores["captions"] == 60  # 20 % of 100 windows held out
    assert scores["t2i/recall@10"] > 10 / 20  # above chance for 10 of 20 windows
    assert 1 <= scores["i2t/mean_rank"] <= 60
    assert (
        run_cli(["evaluate", str(result.bundle), str(folder), "--template", "{}"], monkeypatch) == 2
    )
