"""Location as an extra input (``model.location``): the fused network, training, bundle, predict."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from odc.geo.geobox import GeoBox
from pyproj import Transformer
from tests.experiment.helpers import BANDS, segmentation_config, write_config, write_random_chips
from tests.helpers import run_cli

from eoforge.errors import ConfigError
from eoforge.experiment import load_config, train
from eoforge.location import LocationImageModel, LocationSpec, load_location_bundle
from eoforge.location.bundle import LocationBundle, save_location_bundle
from eoforge.location.features import batch_centres
from eoforge.models import ModelSpec, build_model, list_models, load_bundle, read_bundle_json
from eoforge.models.location_fusion import LocationFused, LocationInput
from eoforge.predict.places import grid_centres
from eoforge.synth import generate_scene
from eoforge.tasks import build_task

ENCODER = LocationSpec(degree=6, hidden=32, layers=1, dim=16)
PARIS = torch.tensor([[2.35, 48.85]], dtype=torch.float64)
LIMA = torch.tensor([[-77.0, -12.0]], dtype=torch.float64)


def make_location_bundle(folder: Path, spec: LocationSpec = ENCODER) -> Path:
    """An (untrained) location bundle: its encoder already tells places apart."""
    torch.manual_seed(3)
    model = LocationImageModel(spec, image_dim=8)
    bundle = LocationBundle(encoder=spec, image_dim=8, temperature=0.07)
    return save_location_bundle(folder, model, bundle)


@pytest.fixture(scope="module")
def location_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_location_bundle(tmp_path_factory.mktemp("loc") / "location")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scenes") / "seed0"
    generate_scene(out, size=128, seed=0, sensors="s2,dsm", dates=1, clouds=0.0, vectors=False)
    return out


def _spec(task: str, arch: str, outputs: int, location: Path | None) -> ModelSpec:
    where = LocationInput(encoder=ENCODER, dim=8, hidden=16, bundle=str(location))
    return ModelSpec(
        task=task,  # type: ignore[arg-type]
        arch=arch,
        backbone="resnet18" if arch != "unet" else "tu-resnet10t",
        in_bands=BANDS,
        num_classes=outputs,
        options={"encoder_depth": 3, "decoder_channels": [16, 8, 8]} if arch == "unet" else {},
        location=where if location is not None else None,
    )


def test_a_fused_classifier_takes_the_place_and_keeps_its_encoder_frozen(
    location_bundle: Path,
) -> None:
    model = build_model(_spec("classification", "timm_classifier", 3, location_bundle))
    assert isinstance(model, LocationFused)
    original = load_location_bundle(location_bundle).model.encoder.state_dict()
    for key, value in model.location.state_dict().items():  # the bundle's encoder, copied
        assert torch.equal(value, original[key])
    x = torch.randn(2, len(BANDS), 32, 32)
    paris, lima = PARIS.repeat(2, 1), LIMA.repeat(2, 1)
    model.eval()
    assert (model(x, paris) - model(x, lima)).abs().max() > 1e-4  # the place changes the logits
    model.train()
    task = build_task("classification", model, num_classes=3, augment=False)
    optimizer = task.configure_optimizers()["optimizer"]
    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert not any(id(p) in trained for p in model.location.parameters())
    before = model.head[0].weight.detach().clone()
    loss = torch.nn.functional.cross_entropy(model(x, paris), torch.tensor([0, 1]))
    loss.backward()
    optimizer.step()
    assert not torch.equal(before, model.head[0].weight)
    for key, value in model.location.state_dict().items():
        assert torch.equal(value, original[key])
    assert not model.location.training  # train() leaves the frozen encoder in eval mode


@pytest.mark.parametrize(
    ("task", "arch", "outputs", "shape"),
    [
        ("multilabel", "balanced_attention", 4, (2, 4)),
        ("regression", "timm_classifier", 1, (2, 1)),
        ("segmentation", "unet", 3, (2, 3, 32, 32)),
    ],
)
def test_every_scene_and_dense_task_takes_the_same_fusion(
    location_bundle: Path, task: str, arch: str, outputs: int, shape: tuple[int, ...]
) -> None:
    model = build_model(_spec(task, arch, outputs, location_bundle)).eval()
    x = torch.randn(2, len(BANDS), 32, 32)
    here, there = model(x, PARIS.repeat(2, 1)), model(x, LIMA.repeat(2, 1))
    assert here.shape == shape
    assert (here - there).abs().max() > 1e-5


def test_film_fusion_starts_as_concat_and_its_modulation_learns(location_bundle: Path) -> None:
    spec = _spec("segmentation", "unet", 3, location_bundle)
    assert spec.location is not None
    spec = spec.model_copy(update={"location": spec.location.model_copy(update={"fuse": "film"})})
    model = build_model(spec)
    assert isinstance(model, LocationFused) and model.film is not None
    assert model.film.out_features == 2 * model.head[0].in_features - 2 * 8  # 2F (F + P in)
    x, paris = torch.randn(2, len(BANDS), 32, 32), PARIS.repeat(2, 1)
    model.eval()
    film = model(x, paris)
    model.film, kept = None, model.film
    plain = model(x, paris)
    model.film = kept
    assert torch.equal(film, plain)  # zero-initialised: the plain concatenation at first
    model.train()
    task = build_task("segmentation", model, num_classes=3, augment=False)
    optimizer = task.configure_optimizers()["optimizer"]
    loss = torch.nn.functional.cross_entropy(model(x, paris), torch.randint(0, 3, (2, 32, 32)))
    loss.backward()
    optimizer.step()
    assert kept.weight.abs().max() > 0  # the modulation gets gradient at once
    model.eval()
    assert (model(x, paris) - model(x, LIMA.repeat(2, 1))).abs().max() > 1e-5


def test_tasks_that_cannot_take_a_place_are_refused(location_bundle: Path) -> None:
    spec = _spec("change", "fc_siam_diff", 2, location_bundle)
    with pytest.raises(ConfigError, match="cannot take a location input"):
        build_model(spec)


def test_batches_of_chips_without_a_grid_are_refused(location_bundle: Path) -> None:
    model = build_model(_spec("classification", "timm_classifier", 3, location_bundle))
    task = build_task("classification", model, num_classes=3)
    batch = {"image": torch.randn(2, len(BANDS), 32, 32), "label": torch.tensor([0, 1])}
    with pytest.raises(ConfigError, match="no grid") as caught:
        task.batch_output(batch)
    assert "georeferenced" in (caught.value.fix or "")
    with pytest.raises(ConfigError, match="locations"):
        task(batch["image"])


def test_a_config_with_location_on_chips_names_the_fix(
    location_bundle: Path, tmp_path: Path
) -> None:
    root = write_random_chips(tmp_path / "chips")
    raw = {
        "data": {"kind": "class_folder", "root": str(root), "bands": BANDS, "batch_size": 4},
        "model": {"arch": "timm_classifier", "location": {"bundle": str(location_bundle)}},
        "task": {"kind": "classification"},
    }
    with pytest.raises(ConfigError, match=r"data\.kind: geo"):
        load_config(write_config(tmp_path / "c.yaml", raw))


# --------------------------------------------------------------------------- training -> predict


def _regression_config(scene: Path, out: Path, location: Path | None) -> dict[str, Any]:
    raw = segmentation_config(scene, out, max_epochs=1, seed=0)
    del raw["data"]["legend"], raw["data"]["classes"]
    raw["data"]["train"] = {
        "images": [str(scene)],
        "target": {"band": "DEM.ndsm", "footprint_fraction": 0.2},
    }
    raw["task"] = {"kind": "pixel_regression", "loss": "huber", "augment": False}
    if location is not None:
        raw["model"]["location"] = {"bundle": str(location), "dim": 8, "hidden": 16}
    return raw


@pytest.fixture(scope="module")
def located_bundle(
    scene: Path, location_bundle: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A pixel-regression bundle trained with model.location; its location bundle then deleted."""
    root = tmp_path_factory.mktemp("located")
    copy = Path(shutil.copytree(location_bundle, root / "location_copy"))
    path = write_config(root / "c.yaml", _regression_config(scene, root / "run", copy))
    result = train(load_config(path), progress=False)
    shutil.rmtree(copy)  # the model bundle must not need it any more
    return result.bundle


def test_the_bundle_carries_the_encoder_and_loads_without_the_location_bundle(
    located_bundle: Path, location_bundle: Path
) -> None:
    described = read_bundle_json(located_bundle)
    assert described.model.location is not None
    assert described.model.location.encoder == ENCODER
    assert described.model.location.source is not None
    assert described.model.location.source.endswith("location_copy")
    loaded = load_bundle(located_bundle)
    assert isinstance(loaded.model, LocationFused)
    original = load_location_bundle(location_bundle).model.encoder.state_dict()
    for key, value in loaded.model.location.state_dict().items():
        assert torch.equal(value, original[key])


def _write_scene(path: Path, image: np.ndarray, transform: Affine, crs: str) -> Path:
    profile = {
        "driver": "GTiff",
        "count": image.shape[0],
        "dtype": "float32",
        "width": image.shape[2],
        "height": image.shape[1],
        "crs": crs,
        "transform": transform,
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(image)
        ds.descriptions = tuple(BANDS)
    return path


def _predict(bundle: Path, scene: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    args = ["predict", str(bundle), str(scene), "--out", str(out), "--tile", "64"]
    assert run_cli([*args, "--overlap", "0"], monkeypatch) == 0
    (values,) = out.glob(f"{scene.stem}_values.tif")
    with rasterio.open(values) as ds:
        return np.asarray(ds.read(1), dtype=np.float32)


def test_eoforge_predict_feeds_each_window_its_centre(
    located_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    image = (0.05 + 0.3 * rng.random((len(BANDS), 64, 64))).astype(np.float32)
    transform = Affine(10.0, 0.0, 448_000.0, 0.0, -10.0, 5_411_000.0)
    here = _write_scene(tmp_path / "here.tif", image, transform, "EPSG:32631")
    predicted = _predict(located_bundle, here, tmp_path / "out_here", monkeypatch)

    loaded = load_bundle(located_bundle)
    model = loaded.model.eval()
    norm = loaded.bundle.normalization
    mean = torch.tensor(norm.mean)[:, None, None]
    std = torch.tensor(norm.std)[:, None, None]
    x, y = transform @ (32, 32)  # the window's centre, converted on its own
    lon, lat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True).transform(x, y)
    lonlat = torch.tensor([[lon, lat]], dtype=torch.float64)
    with torch.no_grad():
        expected = model(((torch.from_numpy(image) - mean) / std)[None], lonlat)[0, 0].numpy()
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-5)

    # the same pixels 4,000 km further south (another place, another UTM zone's CRS)
    moved = Affine(10.0, 0.0, 448_000.0, 0.0, -10.0, 1_411_000.0)
    elsewhere = _write_scene(tmp_path / "elsewhere.tif", image, moved, "EPSG:32731")
    shifted = _predict(located_bundle, elsewhere, tmp_path / "out_elsewhere", monkeypatch)
    assert np.abs(shifted - predicted).max() > 1e-3


def test_location_bundles_refuse_test_time_augmentation(
    located_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = np.full((len(BANDS), 64, 64), 0.1, np.float32)
    transform = Affine(10.0, 0.0, 448_000.0, 0.0, -10.0, 5_411_000.0)
    scene = _write_scene(tmp_path / "s.tif", image, transform, "EPSG:32631")
    args = ["predict", str(located_bundle), str(scene), "--out", str(tmp_path / "o"), "--tta"]
    assert run_cli(args, monkeypatch) == 2


def test_predict_and_training_put_a_window_at_the_same_centre() -> None:
    transforms = [
        Affine(10.0, 0.0, 448_000.0, 0.0, -10.0, 5_411_000.0),
        Affine(20.0, 0.0, 300_000.0, 0.0, -20.0, 1_000_000.0),
    ]
    crss = ["EPSG:32631", "EPSG:32733"]
    grids = [GeoBox((48, 64), t, c) for t, c in zip(transforms, crss, strict=True)]
    batch = {
        "image": torch.zeros(2, 1, 48, 64),
        "crs": [g.crs.wkt for g in grids],  # type: ignore[union-attr]
        "transform": [tuple(t)[:6] for t in transforms],
    }
    trained = batch_centres(batch)
    predicted = grid_centres(grids).numpy()
    np.testing.assert_allclose(predicted, trained, rtol=0, atol=1e-12)
    for (x0, y0), t, crs, got in zip([(32, 24)] * 2, transforms, crss, predicted, strict=True):
        x, y = t @ (x0, y0)  # pixel (W/2, H/2): the middle of the window, not a corner
        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
        np.testing.assert_allclose(got, [lon, lat], rtol=0, atol=1e-9)


def test_eoforge_models_lists_the_location_encoder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (info,) = [m for m in list_models() if m.name == "location_siren"]
    assert info.tasks == ("location",)
    assert run_cli(["models"], monkeypatch) == 0
    assert "location_siren" in capsys.readouterr().out
