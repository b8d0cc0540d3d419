from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.models.conftest import S2_4

from eoforge import __version__
from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.models import (
    Bundle,
    ClassInfo,
    ModelSpec,
    Normalization,
    PixelForest,
    build_model,
    load_bundle,
    save_bundle,
)


def _bundle(spec: ModelSpec) -> Bundle:
    return Bundle(
        task=spec.task,
        model=spec,
        bands=list(spec.in_bands),
        normalization=Normalization(mean=[0.1, 0.12, 0.11, 0.3], std=[0.05, 0.05, 0.06, 0.1]),
        gsd=10.0,
        patch_size=64,
        classes=[
            ClassInfo(id=0, name="background", color="#000000"),
            ClassInfo(id=1, name="water", color="#1f78b4"),
            ClassInfo(id=2, name="forest", color="#33a02c"),
        ],
        metrics={"miou": 0.81},
    )


@pytest.fixture(scope="module")
def unet_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    spec = ModelSpec(task="segmentation", arch="unet", in_bands=S2_4, num_classes=3)
    model = build_model(spec)
    with torch.no_grad():  # move batch-norm statistics away from their defaults
        model.train()(torch.randn(2, 4, 64, 64))
    folder = save_bundle(tmp_path_factory.mktemp("b") / "landcover", model, _bundle(spec))
    return folder, model.eval()


def test_round_trip_gives_identical_outputs(unet_bundle: tuple[Path, torch.nn.Module]) -> None:
    folder, model = unet_bundle
    assert sorted(p.name for p in folder.iterdir()) == ["bundle.json", "weights.safetensors"]
    assert [p.name for p in folder.parent.iterdir()] == ["landcover"]  # no temporary left
    loaded = load_bundle(folder)
    assert not loaded.model.training
    x = torch.randn(2, 4, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded.model(x), model(x))
    bundle = loaded.bundle
    assert bundle.bands == S2_4 and bundle.gsd == 10.0 and bundle.patch_size == 64
    assert bundle.classes[1].color == "#1f78b4" and bundle.metrics == {"miou": 0.81}
    assert bundle.eoforge_version == __version__ and bundle.created.endswith("+00:00")
    raw = json.loads((folder / "bundle.json").read_text())
    assert raw["format_version"] == 1 and raw["model"]["arch"] == "unet"


def test_saving_again_replaces_the_bundle(tmp_path: Path) -> None:
    spec = ModelSpec(task="classification", arch="timm_classifier", in_bands=S2_4, num_classes=3)
    first, second = build_model(spec), build_model(spec)
    save_bundle(tmp_path / "b", first, _bundle(spec))
    save_bundle(tmp_path / "b", second, _bundle(spec))
    assert [p.name for p in tmp_path.iterdir()] == ["b"]
    x = torch.randn(1, 4, 64, 64)
    with torch.no_grad():
        assert torch.equal(load_bundle(tmp_path / "b").model(x), second.eval()(x))


def test_refuses_to_overwrite_a_folder_that_is_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "scene.tif").write_bytes(b"x")
    spec = ModelSpec(task="classification", arch="timm_classifier", in_bands=S2_4, num_classes=3)
    with pytest.raises(ConfigError, match="is not a model bundle"):
        save_bundle(tmp_path / "data", build_model(spec), _bundle(spec))
    assert (tmp_path / "data" / "scene.tif").exists()


def test_refuses_to_save_a_model_its_spec_does_not_build(tmp_path: Path) -> None:
    spec = ModelSpec(task="segmentation", arch="unet", in_bands=S2_4, num_classes=3)
    other = build_model(spec.model_copy(update={"num_classes": 5}))
    with pytest.raises(ConfigError, match=r"does not match bundle\.model .*segmentation_head"):
        save_bundle(tmp_path / "b", other, _bundle(spec))
    assert list(tmp_path.iterdir()) == []


def test_pixel_forest_round_trip(tmp_path: Path) -> None:
    spec = ModelSpec(
        task="segmentation",
        arch="pixel_forest",
        in_bands=S2_4,
        num_classes=3,
        options={"n_estimators": 5, "max_depth": 6},
    )
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, size=(2, 4, 16, 16)).astype(np.float32)
    masks = (images[:, 3] > images[:, 2]).astype(np.int64) + (images[:, 1] > 0.8)
    model = build_model(spec)
    assert isinstance(model, PixelForest)
    model.fit(images, masks)
    loaded = load_bundle(save_bundle(tmp_path / "forest", model, _bundle(spec))).model
    x = torch.rand(1, 4, 20, 20)
    assert torch.equal(loaded(x), model(x))


def _tamper(folder: Path, target: Path, edit: dict[str, object]) -> Path:
    target.mkdir()
    for name in ("bundle.json", "weights.safetensors"):
        (target / name).write_bytes((folder / name).read_bytes())
    raw = json.loads((target / "bundle.json").read_text())
    for dotted, value in edit.items():
        node = raw
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    (target / "bundle.json").write_text(json.dumps(raw))
    return target


def test_tampered_bundle_json_gives_clear_errors(
    unet_bundle: tuple[Path, torch.nn.Module], tmp_path: Path
) -> None:
    folder, _ = unet_bundle
    unknown = _tamper(folder, tmp_path / "arch", {"model.arch": "unet9000"})
    with pytest.raises(ConfigError, match=r"bundle\.json: model\.arch: unknown architecture"):
        load_bundle(unknown)
    three = _tamper(folder, tmp_path / "bands", {"bands": S2_4[:3]})
    with pytest.raises(ConfigError, match=r"bundle\.json: invalid .*bands .* \(3 vs 4 bands\)"):
        load_bundle(three)
    both = _tamper(
        folder,
        tmp_path / "both",
        {
            "bands": S2_4[:3],
            "model.in_bands": S2_4[:3],
            "normalization.mean": [0, 0, 0],
            "normalization.std": [1, 1, 1],
        },
    )
    expected = r"weights\.safetensors: .*net\.encoder\.conv1\.weight is \[64, 4, 7, 7\] in the file"
    with pytest.raises(ConfigError, match=expected + r" but \[64, 3, 7, 7\] in the model"):
        load_bundle(both)
    newer = _tamper(folder, tmp_path / "newer", {"format_version": 7})
    with pytest.raises(ConfigError, match="format_version 7 is not supported"):
        load_bundle(newer)
    colour = _tamper(
        folder, tmp_path / "colour", {"classes": [{"id": 0, "name": "a", "color": "red"}]}
    )
    with pytest.raises(ConfigError, match=r"classes\.0\.color"):
        load_bundle(colour)


def test_missing_and_corrupt_bundles(
    unet_bundle: tuple[Path, torch.nn.Module], tmp_path: Path
) -> None:
    with pytest.raises(MissingFileError, match=r"bundle\.json"):
        load_bundle(tmp_path / "nowhere")
    folder, _ = unet_bundle
    corrupt = _tamper(folder, tmp_path / "corrupt", {})
    weights = corrupt / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(UnreadableFileError, match="corrupt weights"):
        load_bundle(corrupt)
    (corrupt / "bundle.json").write_text("{not json")
    with pytest.raises(UnreadableFileError, match="not valid JSON"):
        load_bundle(corrupt)
