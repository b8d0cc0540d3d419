"""Contrastive location training from a config, end to end: tables -> eoforge train -> bundle.

Five synth scenes at known places (:mod:`tests.location.places`), one of them
straddling the antimeridian, are embedded by a small image bundle; a
``task.kind: location`` config trains the location encoder against the
frozen vectors. On held-out windows, the trained encoder must pair windows
with their places well above chance (1 in 5) and above the same encoder at
its initialisation. The vectors themselves bound what can be learnt: a
logistic regression given the scene labels (a supervised ceiling) reaches
0.33-0.40 image -> place accuracy on the same held-out windows (measured when
the test was written, C from 0.01 to 10); the trained encoder reached 0.375.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from tests.helpers import run_cli
from tests.location.places import PLACES, embedded_places

from eoforge.errors import ConfigError
from eoforge.experiment.loading import validate_config
from eoforge.experiment.train import TrainResult, train
from eoforge.location import encode, load_location_bundle, read_location_json
from eoforge.location.bundle import LoadedLocation, LocationBundle
from eoforge.location.contrastive import LocationImageModel
from eoforge.location.images import encode_images
from eoforge.location.pairs import read_pairs

VAL_FRACTION = 0.25


def _config(root: Path, tables: list[Path], **trainer: object) -> dict[str, object]:
    return {
        "data": {"kind": "embeddings", "embeddings": [str(t) for t in tables],
                 "batch_size": 128, "val_fraction": VAL_FRACTION},
        "model": {"arch": "location_siren",
                  "options": {"degree": 10, "hidden": 64, "layers": 2, "dim": 32}},
        "task": {"kind": "location"},
        "optim": {"lr": 3e-3},
        "trainer": {"max_epochs": 30, "accelerator": "cpu", "threads": 1,
                    "checkpoint_every_n_steps": 0, "output_dir": str(root / "run"), **trainer},
    }  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, list[Path]]:
    root = tmp_path_factory.mktemp("location")
    tables = list(embedded_places(root).values())
    config = validate_config(_config(root, tables), root / "location.yaml")
    return train(config, progress=False), tables


def _scores(model: LocationImageModel, tables: list[Path]) -> dict[str, float]:
    """Image -> place accuracy and mean average precision of place -> windows, held-out windows."""
    pairs = read_pairs(tables)
    order = np.random.default_rng(0).permutation(len(pairs))  # the training run's hold-out
    held = np.sort(order[: round(len(pairs) * VAL_FRACTION)])
    owner = np.concatenate([np.full(t.windows, i) for i, t in enumerate(pairs.tables)])[held]
    centres = np.array([PLACES[t.parent.name][:2] for t in tables])
    info = LocationBundle(encoder=model.encoder.spec, image_dim=pairs.image_dim, temperature=0.07)
    loaded = LoadedLocation(model.eval(), info)
    places = torch.from_numpy(encode(centres[:, 0], centres[:, 1], bundle=loaded))
    images = torch.from_numpy(encode_images(tables, bundle=loaded))[held]
    similarity = (images @ places.T).numpy()
    accuracy = float((similarity.argmax(1) == owner).mean())
    precisions = []
    for j in range(len(tables)):
        ranked = owner[np.argsort(-similarity[:, j])] == j
        hits = np.cumsum(ranked)
        precisions.append(float((hits[ranked] / (np.flatnonzero(ranked) + 1)).mean()))
    return {"accuracy": accuracy, "map": float(np.mean(precisions))}


def test_trained_encoder_pairs_windows_with_their_places(
    trained: tuple[TrainResult, list[Path]],
) -> None:
    result, tables = trained
    loaded = load_location_bundle(result.bundle)
    scores = _scores(loaded.model, tables)
    torch.manual_seed(0)
    untrained = LocationImageModel(loaded.bundle.encoder, loaded.bundle.image_dim)
    baseline = _scores(untrained, tables)
    print(f"trained {scores}, untrained {baseline}, chance 0.2; metrics {result.metrics}")
    assert scores["accuracy"] >= 0.3 and scores["map"] >= 0.3  # chance: 0.2
    assert scores["accuracy"] >= baseline["accuracy"] + 0.08
    assert scores["map"] >= baseline["map"] + 0.05


def test_bundle_records_sizes_tables_and_image_model(
    trained: tuple[TrainResult, list[Path]],
) -> None:
    result, tables = trained
    info = read_location_json(result.bundle)
    assert info.kind == "location" and info.encoder.degree == 10 and info.encoder.dim == 32
    assert info.image_dim == 192
    assert [t.path for t in info.tables] == [str(t) for t in tables]
    assert all(len(t.fingerprint) == 16 and t.windows == 256 for t in info.tables)
    assert info.image_model is not None and len(info.image_model["fingerprint"]) == 16
    assert {"val/loss", "val/top1", "train/loss"} <= set(info.metrics)
    assert sorted(p.name for p in result.bundle.iterdir()) == ["bundle.json", "weights.safetensors"]
    vectors = encode([179.9999, -179.9999, 0.0], [-17.0, -17.0, 90.0], bundle=result.bundle)
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.abs(vectors[0] - vectors[1]).max() < 1e-4  # no seam at ±180°


def test_config_errors_name_the_key(
    tmp_path: Path, trained: tuple[TrainResult, list[Path]]
) -> None:
    _, tables = trained
    raw = _config(tmp_path, tables)
    raw["model"] = {"arch": "location_siren", "options": {"degree": 0}}
    with pytest.raises(ConfigError, match=r"model\.options\.degree"):
        validate_config(raw, tmp_path / "x.yaml")
    raw["model"] = {"arch": "spectral_vit"}
    with pytest.raises(ConfigError, match="location_siren"):
        validate_config(raw, tmp_path / "x.yaml")
    raw = _config(tmp_path, tables)
    raw["task"] = {"kind": "segmentation"}
    with pytest.raises(ConfigError, match=r"cannot be trained on data\.kind 'embeddings'"):
        validate_config(raw, tmp_path / "x.yaml")


def test_eoforge_train_from_the_command_line(
    tmp_path: Path,
    trained: tuple[TrainResult, list[Path]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, tables = trained
    raw = _config(tmp_path, tables, max_epochs=2)
    (tmp_path / "location.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.chdir(tmp_path)
    # the real entry point in this process (a subprocess paid a fresh interpreter and imports)
    code = run_cli(["train", "location.yaml", "--no-progress"], monkeypatch)
    done = capsys.readouterr()
    assert code == 0, done.err
    text = " ".join(done.out.split())
    assert "val/loss" in text and "val/top1" in text and "(monitored)" in text
    assert read_location_json(tmp_path / "run" / "bundle").encoder.degree == 10
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


def test_resume_continues_the_interrupted_run(
    tmp_path: Path, trained: tuple[TrainResult, list[Path]]
) -> None:
    _, tables = trained
    first = validate_config(_config(tmp_path, tables, max_epochs=2), tmp_path / "a.yaml")
    train(first, progress=False)
    again = validate_config(_config(tmp_path, tables, max_epochs=3), tmp_path / "a.yaml")
    with pytest.raises(ConfigError, match="already holds a checkpoint"):
        train(again, progress=False)
    resumed = train(again, resume=True, progress=False)
    epochs = torch.load(resumed.checkpoint, weights_only=True)["epoch"]
    assert epochs == 2  # 0-based: the third epoch ran after the two of the first run
    assert read_location_json(resumed.bundle).metrics["val/loss"] == resumed.metrics["val/loss"]


def test_windows_of_another_image_model_are_refused(
    tmp_path: Path, trained: tuple[TrainResult, list[Path]]
) -> None:
    result, tables = trained
    loaded = load_location_bundle(result.bundle)
    assert encode_images(tables[:1], bundle=loaded).shape == (256, 32)
    other = loaded.bundle.model_copy(
        update={"image_model": {**(loaded.bundle.image_model or {}), "fingerprint": "0" * 16}}
    )
    with pytest.raises(ConfigError, match="vectors of different models cannot be compared"):
        encode_images(tables, bundle=LoadedLocation(loaded.model, other))
    narrow = loaded.bundle.model_copy(update={"image_model": None, "image_dim": 64})
    with pytest.raises(ConfigError, match="vectors of 192 values"):
        encode_images(tables, bundle=LoadedLocation(loaded.model, narrow))
