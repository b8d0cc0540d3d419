"""Probes of embedding bundles on frozen features: metrics, labels, and what the report records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from affine import Affine
from tests.evaluate.probe_fixtures import BANDS, SPECTRA, random_bundle, write_class_chips

from eoforge.errors import ConfigError
from eoforge.evaluate.features import Features
from eoforge.evaluate.probe import knn_probe, linear_probe, mean_average_precision, precision_at
from eoforge.evaluate.probe_data import probe_splits
from eoforge.evaluate.probe_run import ProbeOptions, run_probe
from eoforge.models import Bundle, build_model, read_bundle_json, save_bundle


@pytest.fixture(scope="module")
def chips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_class_chips(tmp_path_factory.mktemp("probe_chips") / "chips", per_class=10)


@pytest.fixture(scope="module")
def vit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_bundle(tmp_path_factory.mktemp("probe_vit") / "bundle")


# --------------------------------------------------------------------------- metrics by hand


def test_map_of_a_hand_case() -> None:
    scores = np.array([[0.9, 0.1, 0.5], [0.8, 0.7, 0.2], [0.3, 0.6, 0.4], [0.1, 0.2, 0.3]])
    targets = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    # class 0: positives ranked 1st and 3rd -> (1/1 + 2/3) / 2 = 5/6
    # class 1: positives ranked 1st and 2nd -> 1
    # class 2: no positive -> left out of the mean
    assert mean_average_precision(scores, targets) == pytest.approx((5 / 6 + 1) / 2)
    assert np.isnan(mean_average_precision(scores, np.zeros_like(targets)))


def _features(vectors: list[list[float]], single: list[int] | None = None) -> Features:
    labels = None if single is None else np.asarray(single, np.int64)
    return Features(np.asarray(vectors, np.float32), labels, None)


def test_knn_votes_by_cosine_with_dino_weights() -> None:
    # one class-1 vector points exactly at the query; three class-0 vectors lie 60 degrees off
    train = _features([[1, 0], [0.5, 0.866], [0.5, -0.866], [0.5, 0.866], [-1, 0]], [1, 0, 0, 0, 2])
    val = _features([[2, 0]], [1])
    # with k=4: weights exp((1 - 1) / T) = 1 for class 1 and exp((0.5 - 1) / 0.07) each for class 0
    assert knn_probe(train, val, 3, k=4)["accuracy"] == 1.0
    # a hot temperature makes the three class-0 votes outweigh the single exact match
    assert knn_probe(train, val, 3, k=4, temperature=10.0)["accuracy"] == 0.0
    # the 10 nearest (all 5): one of class 1
    assert precision_at(train, val, 10) == pytest.approx(1 / 5)


def test_knn_and_linear_multilabel_give_map() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, (40, 3)).astype(np.float32)
    vectors = labels * 3 + 0.3 * rng.standard_normal((40, 3))
    train = Features(vectors[:30].astype(np.float32), None, labels[:30])
    val = Features(vectors[30:].astype(np.float32), None, labels[30:])
    knn = knn_probe(train, val, 3, k=5)
    linear = linear_probe(train, val, 3)
    assert set(knn) == {"map", "precision_at_10"} and set(linear) == {"map"}
    assert knn["map"] > 0.95 and linear["map"] > 0.95
    assert 0.5 < knn["precision_at_10"] <= 1.0


# --------------------------------------------------------------------------- class folders


@pytest.mark.parametrize("probe", ["knn", "linear"])
def test_random_vit_separates_distinct_spectra(
    probe: str, chips: Path, vit: Path, tmp_path: Path
) -> None:
    out = tmp_path / f"{probe}.json"
    report = run_probe(vit, chips, probe, out=out)  # type: ignore[arg-type]
    assert report["metrics"]["accuracy"] >= 0.95
    assert (report["n_train"], report["n_val"]) == (24, 6)  # 30 chips, val_fraction 0.2
    assert report["feature_dim"] == 192
    written = json.loads(out.read_text())
    assert written["input"] == {
        "size": 32,
        "resampling": report["input"]["resampling"],
        "normalization": "bundle",
        "mean": [0.13, 0.13, 0.13],
        "std": [0.15, 0.15, 0.15],
        "bands": BANDS,
    }
    assert "bilinear" in written["input"]["resampling"]
    assert len(written["bundle"]["fingerprint"]) == 16 and written["bundle"]["bands"] == BANDS


def test_random_resnet_separates_distinct_spectra(chips: Path, tmp_path: Path) -> None:
    bundle = random_bundle(tmp_path / "resnet", arch="spectral_resnet")
    report = run_probe(bundle, chips, "knn")
    assert report["metrics"]["accuracy"] >= 0.95 and report["feature_dim"] == 512


def test_overrides_are_recorded(chips: Path, vit: Path) -> None:
    report = run_probe(vit, chips, "linear", ProbeOptions(size=64, norm="dataset"))
    shape = report["input"]
    assert shape["size"] == 64 and shape["normalization"] == "dataset"
    # the statistics of the training chips' pixels: the classes' mean reflectance per band
    spectra = np.array([[0.05, 0.45, 0.20], [0.30, 0.32, 0.40], [0.03, 0.02, 0.01]])
    assert np.allclose(shape["mean"], spectra.mean(0), atol=0.03)
    assert all(0.1 < s < 0.25 for s in shape["std"])
    none = run_probe(vit, chips, "knn", ProbeOptions(norm="none"))["input"]
    assert none["normalization"] == "none" and none["mean"] is None and none["std"] is None


def test_finetune_trains_one_epoch_and_reports(chips: Path, vit: Path, tmp_path: Path) -> None:
    before = (vit / "weights.safetensors").read_bytes()
    report = run_probe(vit, chips, "finetune", ProbeOptions(epochs=1, lr=1e-3))
    assert report["settings"]["epochs"] == 1
    assert {"accuracy", "f1_macro", "kappa", "loss"} <= set(report["metrics"])
    assert 0.0 <= report["metrics"]["accuracy"] <= 1.0 and np.isfinite(report["metrics"]["loss"])
    assert (vit / "weights.safetensors").read_bytes() == before  # the bundle stays frozen


def test_bands_are_picked_by_name(tmp_path: Path, chips: Path) -> None:
    config = tmp_path / "chips.yaml"
    config.write_text(
        yaml.safe_dump({"data": {"kind": "class_folder", "root": str(chips), "bands": BANDS}})
    )
    # the bundle reads the chips' bands in another order: the data's channels picked by name
    order = [2, 0, 1]
    reordered = random_bundle(tmp_path / "b", bands=[BANDS[i] for i in order])
    splits = probe_splits(config, read_bundle_json(reordered))
    assert splits.channels == order
    item = next(splits.items("val"))
    means = item.image.mean(dim=(1, 2)).numpy()
    assert item.single is not None
    expected = np.array(SPECTRA[splits.class_names[item.single]])[order]
    assert np.allclose(means, expected, atol=0.01)
    assert run_probe(reordered, config, "knn")["metrics"]["accuracy"] >= 0.95
    other = random_bundle(tmp_path / "c", bands=["S2.B02", "S2.B04", "S2.B08"])
    with pytest.raises(ConfigError, match=r"lacks the bundle's bands \['S2.B02'\]"):
        run_probe(other, config, "knn")


def test_a_task_bundle_is_refused(tmp_path: Path, chips: Path, vit: Path) -> None:
    spec = read_bundle_json(vit).model.model_copy(
        update={"task": "classification", "num_classes": 3}
    )
    info = read_bundle_json(vit).model_copy(update={"task": "classification", "model": spec})
    task_bundle = save_bundle(
        tmp_path / "cls", build_model(spec), Bundle.model_validate(info.model_dump())
    )
    with pytest.raises(ConfigError, match="this is a classification bundle"):
        run_probe(task_bundle, chips, "knn")


# --------------------------------------------------------------------------- geo windows

MATERIALS = np.array([[0.05, 0.45, 0.20], [0.30, 0.32, 0.40], [0.03, 0.02, 0.01]], np.float32)
PATTERN = np.array([[0, 0, 1, 1, 2, 2], [0, 1, 1, 2, 2, 0], [2, 2, 0, 0, 1, 1], [1, 0, 2, 1, 0, 2]])
"""Material of each 16-px block of the scene; the last row is the held-out validation strip."""


def _geo_config(tmp_path: Path) -> Path:
    t = Affine(10, 0, 600000, 0, -10, 5700000)
    profile = {"driver": "GTiff", "crs": "EPSG:32631", "transform": t, "width": 96, "height": 64}
    image = np.repeat(np.repeat(MATERIALS[PATTERN].transpose(2, 0, 1), 16, 1), 16, 2)
    image = image + np.random.default_rng(0).normal(0, 0.01, image.shape).astype(np.float32)
    with rasterio.open(tmp_path / "scene.tif", "w", count=3, dtype="float32", **profile) as dst:
        dst.write(image.astype(np.float32))
        dst.descriptions = tuple(BANDS)
    labels = np.repeat(np.repeat(PATTERN.astype(np.uint8), 16, 0), 16, 1)
    with rasterio.open(
        tmp_path / "labels.tif", "w", count=1, dtype="uint8", nodata=255, **profile
    ) as dst:
        dst.write(labels[None])
    config = {
        "data": {
            "kind": "geo",
            "train": {
                "images": [str(tmp_path / "scene.tif")],
                "label": {"path": str(tmp_path / "labels.tif")},
            },
            "bands": BANDS,
            "classes": [
                {"name": "vegetation", "values": [0]},
                {"name": "soil", "values": [1]},
                {"name": "water", "values": [2]},
            ],
            "val_fraction": 0.25,
            "patch_size": 16,
            "samples_per_epoch": 40,
        },
        "trainer": {"output_dir": str(tmp_path / "run"), "seed": 0},
    }
    path = tmp_path / "geo.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_geo_windows_are_labelled_by_dominant_class_and_presence(tmp_path: Path) -> None:
    config = _geo_config(tmp_path)
    bundle = random_bundle(tmp_path / "b", patch_size=16)
    splits = probe_splits(config, read_bundle_json(bundle), presence=0.1)
    val = list(splits.items("val"))
    assert [item.single for item in val] == PATTERN[3].tolist()  # the held-out strip's blocks
    assert all(
        item.multi is not None and item.multi.tolist() == np.eye(3)[item.single].tolist()
        for item in val
    )
    train = list(splits.items("train"))
    assert len(train) == 40
    # a random 16-px window straddles up to four blocks: present classes are those over 10 %
    assert any(item.multi is not None and item.multi.sum() > 1 for item in train)
    report = run_probe(bundle, config, "knn", out=tmp_path / "geo.json")
    assert set(report["metrics"]) == {"accuracy", "map", "precision_at_10"}
    assert (report["n_train"], report["n_val"]) == (40, 6)
    assert report["metrics"]["accuracy"] >= 5 / 6
    # the held-out strip holds two blocks of each class: any majority class scores 2 / 6
    assert report["baseline"]["accuracy"] == pytest.approx(2 / 6)
    assert 0.0 < report["baseline"]["map"] < report["metrics"]["map"]
    assert report["labels"]["single"] and report["labels"]["multi"]
    assert report["input"]["size"] == 16


def test_unlabelled_data_kind_is_refused(tmp_path: Path, vit: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"data": {"kind": "image_mask", "images": [], "masks": []}}))
    with pytest.raises(ConfigError, match="cannot label data of kind 'image_mask'"):
        run_probe(vit, config, "knn")
