from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file
from tests.models.conftest import S2_4

from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError, UnsafeModelFileError
from eoforge.models import (
    ModelSpec,
    adapt_stem,
    build_model,
    import_weights,
    load_state_dict_file,
)

RGB = ["RGB.red", "RGB.green", "RGB.blue"]


@pytest.fixture(scope="module")
def timm_resnet18() -> dict[str, torch.Tensor]:
    torch.manual_seed(5)
    return {
        k: v.clone()
        for k, v in timm.create_model("resnet18", pretrained=False).state_dict().items()
    }


@pytest.fixture(scope="module")
def weight_files(
    tmp_path_factory: pytest.TempPathFactory, timm_resnet18: dict[str, torch.Tensor]
) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("weights")
    plain = folder / "resnet18.safetensors"
    save_file(timm_resnet18, str(plain))
    # TorchGeo ResNet weights are timm state dicts; trainers wrap them as model./backbone.
    torchgeo = folder / "torchgeo_resnet18.pth"
    torch.save({f"model.backbone.{k}": v for k, v in timm_resnet18.items()}, torchgeo)
    lightning = folder / "epoch3.ckpt"
    torch.save(
        {"epoch": 3, "state_dict": {f"model.{k}": v for k, v in timm_resnet18.items()}}, lightning
    )
    return {"plain": plain, "torchgeo": torchgeo, "lightning": lightning}


@pytest.mark.parametrize("layout", ["plain", "torchgeo", "lightning"])
def test_import_into_four_band_unet_encoder(
    layout: str, weight_files: dict[str, Path], timm_resnet18: dict[str, torch.Tensor]
) -> None:
    spec = ModelSpec(
        task="segmentation",
        arch="unet",
        in_bands=S2_4,
        num_classes=3,
        pretrained=str(weight_files[layout]),
    )
    state = build_model(spec).state_dict()
    encoder = "net.encoder."
    for key in ("layer1.0.conv1.weight", "layer4.1.bn2.running_var", "bn1.weight"):
        assert torch.equal(state[encoder + key], timm_resnet18[key])
    expected_stem = adapt_stem(timm_resnet18["conv1.weight"], RGB, S2_4)
    assert torch.equal(state[encoder + "conv1.weight"], expected_stem)
    stem = state[encoder + "conv1.weight"]
    ratio = stem[:, 2] / timm_resnet18["conv1.weight"][:, 0]  # B04 <- red, scaled per filter
    assert torch.allclose(ratio, ratio[:, :1, :1].expand_as(ratio), rtol=1e-4)


@pytest.mark.parametrize("arch", ["early_fusion", "fc_siam_diff", "lenet_cd"])
def test_import_into_change_models(arch: str, weight_files: dict[str, Path]) -> None:
    spec = ModelSpec(
        task="change",
        arch=arch,
        in_bands=S2_4,
        num_classes=2,
        pretrained=str(weight_files["torchgeo"]),
    )
    model = build_model(spec)
    stem = next(v for k, v in model.state_dict().items() if k.endswith("encoder.conv1.weight"))
    # early fusion stacks both dates: 8 input channels, each date with the adapted filters
    assert stem.shape == ((64, 8, 7, 7) if arch == "early_fusion" else (64, 4, 7, 7))
    if arch == "early_fusion":
        assert torch.equal(stem[:, :4], stem[:, 4:])
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 2, 4, 64, 64)).shape == (1, 2, 64, 64)


def test_missing_pretrained_file_is_named(tmp_path: Path) -> None:
    spec = ModelSpec(
        task="segmentation",
        arch="unet",
        in_bands=S2_4,
        num_classes=2,
        pretrained=str(tmp_path / "resnet18_sentinel2.pth"),
    )
    with pytest.raises(MissingFileError, match=r"resnet18_sentinel2\.pth: weights file not found"):
        build_model(spec)


def test_import_into_classifier_reports_keys(timm_resnet18: dict[str, torch.Tensor]) -> None:
    model = build_model(
        ModelSpec(task="classification", arch="timm_classifier", in_bands=S2_4, num_classes=5)
    )
    prefixed = {f"backbone.{k}": v for k, v in timm_resnet18.items()}
    report = import_weights(model, prefixed, RGB, S2_4)
    assert report.stem == "backbone.conv1.weight"
    assert not report.source_prefix_stripped and report.target_prefix == ""  # keys fit as is
    assert report.mismatched == ["backbone.fc.weight", "backbone.fc.bias"]  # 1000 vs 5 classes
    assert report.missing == ["backbone.fc.bias", "backbone.fc.weight"]
    assert report.unexpected == []
    assert len(report.loaded) == len(timm_resnet18) - 2
    state = model.state_dict()
    assert torch.equal(
        state["backbone.layer3.1.conv2.weight"], timm_resnet18["layer3.1.conv2.weight"]
    )
    assert state["backbone.conv1.weight"].shape == (64, 4, 7, 7)


def test_lightning_checkpoint_of_a_whole_model_loads_decoder_too(tmp_path: Path) -> None:
    spec = ModelSpec(task="segmentation", arch="unet", in_bands=S2_4, num_classes=3)
    trained = build_model(spec)
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in trained.state_dict().items()}}, path)
    fresh = build_model(spec)
    report = import_weights(fresh, load_state_dict_file(path), S2_4, S2_4)
    assert report.missing == [] and report.unexpected == [] and report.stem is None
    x = torch.randn(1, 4, 64, 64)
    with torch.no_grad():
        assert torch.equal(fresh.eval()(x), trained.eval()(x))


def test_same_bands_load_unchanged(timm_resnet18: dict[str, torch.Tensor]) -> None:
    rgb = ["RGB.red", "RGB.green", "RGB.blue"]
    model = build_model(
        ModelSpec(task="classification", arch="timm_classifier", in_bands=rgb, num_classes=1000)
    )
    report = import_weights(model, timm_resnet18, rgb, rgb)
    assert report.stem is None and report.missing == [] and report.mismatched == []
    assert torch.equal(model.state_dict()["backbone.conv1.weight"], timm_resnet18["conv1.weight"])


def test_unrelated_weights_are_refused() -> None:
    model = build_model(ModelSpec(task="segmentation", arch="unet", in_bands=S2_4, num_classes=2))
    with pytest.raises(ConfigError, match="none of the 1 source tensors fits"):
        import_weights(model, {"transformer.blocks.0.weight": torch.zeros(3)})


class _RunsCode:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))  # type: ignore[return-value]


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_file_needing_unpickling_is_refused(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pt"
    payload = {"conv1.weight": torch.zeros(2), "extra": _RunsCode(marker)}
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(UnsafeModelFileError, match=r"evil\.pt.*unpickling.*Fix: .*safetensors"):
        load_state_dict_file(path)
    assert not marker.exists()


def test_missing_corrupt_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match=r"absent\.safetensors"):
        load_state_dict_file(tmp_path / "absent.safetensors")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00garbage")
    with pytest.raises(UnreadableFileError, match=r"broken\.safetensors"):
        load_state_dict_file(broken)
    truncated = tmp_path / "truncated.pth"
    torch.save({"w": torch.zeros(100)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:50])
    with pytest.raises(UnreadableFileError, match=r"truncated\.pth"):
        load_state_dict_file(truncated)
    odd = tmp_path / "weights.h5"
    odd.write_bytes(b"x")
    with pytest.raises(UnreadableFileError, match="unknown weights format"):
        load_state_dict_file(odd)
