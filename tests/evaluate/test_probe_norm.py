"""A probe with the wrong input statistics ranks encoders wrongly (the "Revisiting" lesson).

The chips' class lives in S2.B04 (reflectance 0.10 / 0.20 / 0.30, within-class
noise 0.03), while S2.B08 holds large values (1000, noise 100) that say
nothing about the class: a band in other units, as when DN and reflectance
bands meet. The bundle's statistics put both bands on the same footing, so a
frozen random encoder's features keep the class; fed raw values
(``--probe-norm none``), the features follow the B08 noise and the probe falls
to chance. The report records which normalisation was applied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from tests.evaluate.probe_fixtures import BANDS, random_bundle

from eoforge.evaluate.probe_run import ProbeOptions, run_probe

LEVELS = {"low": [0.10, 1000.0, 0.2], "mid": [0.20, 1000.0, 0.2], "high": [0.30, 1000.0, 0.2]}
NOISE = np.array([0.03, 100.0, 0.03], np.float32)
MEAN, STD = [0.2, 1000.0, 0.2], [0.08, 100.0, 0.03]
"""The bundle's statistics: those of the data it would have been trained on."""


@pytest.fixture(scope="module")
def mixed_units(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mixed_units")
    rng = np.random.default_rng(0)
    profile = {"driver": "GTiff", "count": 3, "dtype": "float32", "width": 32, "height": 32}
    for name, level in LEVELS.items():
        (root / name).mkdir()
        for index in range(20):
            chip = np.asarray(level, np.float32)[:, None, None]
            chip = chip + NOISE[:, None, None] * rng.standard_normal((3, 32, 32))
            with rasterio.open(
                root / name / f"{index}.tif", "w", transform=Affine.translation(0, 32), **profile
            ) as dst:
                dst.write(chip.astype(np.float32))
    return root


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_bundle(tmp_path_factory.mktemp("norm_bundle") / "vit", mean=MEAN, std=STD)


@pytest.mark.parametrize("probe", ["knn", "linear"])
def test_bundle_statistics_keep_the_class_that_raw_values_lose(
    probe: str, mixed_units: Path, bundle: Path
) -> None:
    right = run_probe(bundle, mixed_units, probe)  # type: ignore[arg-type]
    raw = run_probe(bundle, mixed_units, probe, ProbeOptions(norm="none"))  # type: ignore[arg-type]
    assert right["n_val"] == raw["n_val"] == 12
    assert right["input"]["normalization"] == "bundle" and right["input"]["mean"] == MEAN
    assert raw["input"]["normalization"] == "none" and raw["input"]["mean"] is None
    # measured: 1.0 with the bundle's statistics; 0.17 (k-NN) and 0.42 (linear) on raw values
    assert right["metrics"]["accuracy"] >= 0.95
    assert raw["metrics"]["accuracy"] <= 0.5  # three classes: chance is 1/3
    assert right["metrics"]["accuracy"] - raw["metrics"]["accuracy"] >= 0.5


def test_dataset_statistics_recover_the_class(mixed_units: Path, bundle: Path) -> None:
    report = run_probe(bundle, mixed_units, "knn", ProbeOptions(norm="dataset"))
    assert report["metrics"]["accuracy"] >= 0.95
    assert report["input"]["mean"][1] == pytest.approx(1000.0, abs=5.0)
    assert report["input"]["std"][1] == pytest.approx(100.0, rel=0.05)


def test_wrong_statistics_rank_an_encoder_below_one_it_matches(
    tmp_path: Path, mixed_units: Path, bundle: Path
) -> None:
    # A weaker encoder (a random ResNet) probed correctly ranks above the ViT probed on raw values,
    # though the ViT is at least as good when both get their statistics (measured: linear
    # accuracy 1.0 and 1.0 with the bundles' statistics, 0.42 for the ViT on raw values).
    resnet = random_bundle(tmp_path / "resnet", arch="spectral_resnet", mean=MEAN, std=STD)
    vit_right = run_probe(bundle, mixed_units, "linear")["metrics"]["accuracy"]
    vit_raw = run_probe(bundle, mixed_units, "linear", ProbeOptions(norm="none"))
    resnet_right = run_probe(resnet, mixed_units, "linear")["metrics"]["accuracy"]
    assert vit_right >= resnet_right > vit_raw["metrics"]["accuracy"] + 0.3
    assert vit_raw["input"]["bands"] == BANDS
