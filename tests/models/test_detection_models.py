"""Detectors on any band set: forward contract, options, overfitting, two streams, cost."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import torch
from tests.models.conftest import S2_4, S2_13
from torch import nn
from torchvision.ops import box_iou

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model
from eoforge.models.detection import (
    SMALL_SAR_BACKBONE,
    Detector,
    sar_band_indices,
    small_sar_spec,
)
from eoforge.models.detection_profile import profile

BANDS = {1: ["S1.VV"], 3: ["S2.B02", "S2.B03", "S2.B04"], 4: S2_4, 13: S2_13}
LOSSES = {
    "faster_rcnn": {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"},
    "retinanet": {"classification", "bbox_regression"},
    "fcos": {"classification", "bbox_regression", "bbox_ctrness"},
    "small_sar": {"classification", "bbox_regression", "bbox_ctrness"},
}


def _spec(arch: str, bands: list[str], classes: int = 2, **options: Any) -> ModelSpec:
    options.setdefault("fpn_channels", 64)
    return ModelSpec(
        task="detection", arch=arch, in_bands=bands, num_classes=classes, options=options
    )


def _targets() -> list[dict[str, torch.Tensor]]:
    """One image with two objects, one without any."""
    return [
        {"boxes": torch.tensor([[8.0, 10.0, 28.0, 22.0], [36.0, 30.0, 50.0, 54.0]]),
         "labels": torch.tensor([0, 1])},
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)},
    ]  # fmt: skip


def _first_conv(model: nn.Module) -> nn.Conv2d:
    return next(m for m in model.modules() if isinstance(m, nn.Conv2d))


def _check_detections(out: object, images: int, classes: int) -> None:
    assert isinstance(out, list) and len(out) == images
    for d in out:
        assert set(d) == {"boxes", "scores", "labels"}
        n = d["boxes"].shape[0]
        assert d["boxes"].dtype == torch.float32 and tuple(d["boxes"].shape) == (n, 4)
        assert d["scores"].dtype == torch.float32 and tuple(d["scores"].shape) == (n,)
        assert d["labels"].dtype == torch.int64 and tuple(d["labels"].shape) == (n,)
        assert ((d["labels"] >= 0) & (d["labels"] < classes)).all()


@pytest.mark.parametrize("channels", [1, 3, 4, 13])
@pytest.mark.parametrize("arch", ["faster_rcnn", "retinanet", "fcos", "small_sar"])
def test_any_band_count_trains_and_detects(arch: str, channels: int) -> None:
    model = build_model(_spec(arch, BANDS[channels]))
    assert isinstance(model, Detector)
    assert _first_conv(model).in_channels == channels
    images = torch.randn(2, channels, 64, 64)
    losses = model.train()(images, _targets())
    assert isinstance(losses, dict) and set(losses) == LOSSES[arch]
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()  # type: ignore[union-attr]
    with torch.no_grad():
        _check_detections(model.eval()(images), images=2, classes=2)


def test_faster_rcnn_labels_come_back_in_dataset_range() -> None:
    # Untrained Faster R-CNN keeps its top 100 boxes over 3 classes (background + 2):
    # every output label must be 0 or 1, and both occur.
    model = build_model(_spec("faster_rcnn", S2_4, score_thresh=0.0)).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 4, 64, 64))
    assert isinstance(out, list)
    assert model.network.roi_heads.box_predictor.cls_score.out_features == 3
    assert set(out[0]["labels"].tolist()) == {0, 1}


def test_chips_are_neither_resized_nor_normalised() -> None:
    model = build_model(_spec("fcos", S2_4)).eval()
    image = torch.randn(4, 40, 72) * 100 + 50
    batch, _ = model.network.transform([image])
    assert batch.image_sizes == [(40, 72)]
    assert tuple(batch.tensors.shape) == (1, 4, 64, 96)  # padded to multiples of 32
    assert torch.equal(batch.tensors[0, :, :40, :72], image)
    assert (
        batch.tensors[0, :, 40:].abs().sum() == 0 and batch.tensors[0, :, :, 72:].abs().sum() == 0
    )


def test_invalid_pixels_count_as_zero() -> None:
    model = build_model(_spec("fcos", S2_4)).eval()
    images = torch.randn(1, 4, 64, 64)
    holes = images.clone()
    holes[0, :, :8] = float("nan")
    zeros = images.clone()
    zeros[0, :, :8] = 0.0
    with torch.no_grad():
        a, b = model(holes), model(zeros)
    assert isinstance(a, list) and isinstance(b, list)
    assert torch.equal(a[0]["boxes"], b[0]["boxes"]) and torch.equal(a[0]["scores"], b[0]["scores"])
    losses = model.train()(holes, _targets()[:1])
    assert isinstance(losses, dict) and all(torch.isfinite(v) for v in losses.values())


def test_options_reach_torchvision() -> None:
    fcos = build_model(
        _spec("fcos", S2_4, anchor_sizes=[4, 8, 16, 32, 64], score_thresh=0.3, nms_thresh=0.4,
              detections_per_img=7, head_convs=2)
    )  # fmt: skip
    assert fcos.network.anchor_generator.sizes == ((4,), (8,), (16,), (32,), (64,))
    assert (fcos.network.score_thresh, fcos.network.nms_thresh) == (0.3, 0.4)
    assert fcos.network.detections_per_img == 7
    convs = [m for m in fcos.network.head.classification_head.conv if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2
    retina = build_model(_spec("retinanet", S2_4, anchor_sizes=[16, 32, 64, 128, 256]))
    assert retina.network.anchor_generator.sizes[0] == (16, 20, 25)  # 16 * 2 ** (i / 3)
    assert retina.network.anchor_generator.num_anchors_per_location() == [9] * 5
    rcnn = build_model(
        _spec("faster_rcnn", S2_4, score_thresh=0.25, fpn_channels=32, box_batch_size_per_image=64)
    )
    assert rcnn.network.roi_heads.score_thresh == 0.25
    assert rcnn.network.roi_heads.fg_bg_sampler.batch_size_per_image == 64
    assert rcnn.network.backbone.out_channels == 32


@pytest.mark.parametrize(
    ("arch", "options", "words"),
    [
        ("fcos", {"min_size": 512}, "does not take ['min_size']"),
        ("retinanet", {"anchor_sizes": [32, 64]}, "2 sizes for 5 pyramid levels"),
        ("fcos", {"fpn_channels": 48}, "multiple of 32"),
    ],
)
def test_bad_options_are_config_errors(arch: str, options: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=r"model\.options") as error:
        build_model(_spec(arch, S2_4, **options))
    assert words in str(error.value) and error.value.fix


def test_misuse_is_a_config_error() -> None:
    model = build_model(_spec("retinanet", S2_4)).train()
    with pytest.raises(ConfigError, match="needs targets"):
        model(torch.randn(1, 4, 64, 64))
    oriented = [
        {"boxes": torch.tensor([[20.0, 20.0, 10.0, 4.0, 0.3]]), "labels": torch.tensor([0])}
    ]
    with pytest.raises(ConfigError, match=r"boxes \[N, 4\].*got \(1, 5\)"):
        model(torch.randn(1, 4, 64, 64), oriented)
    with pytest.raises(ConfigError, match="feature maps at strides"):
        build_model(_spec("fcos", S2_4).model_copy(update={"backbone": "vit_tiny_patch16_224"}))


def _two_rectangles() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """64 x 64 noise with a 20 x 12 rectangle bright in band 0 (class 0), 14 x 24 in band 2."""
    image = torch.randn(1, 3, 64, 64) * 0.1
    image[0, 0, 10:22, 8:28] += 3.0
    image[0, 2, 30:54, 36:50] += 3.0
    boxes = torch.tensor([[8.0, 10.0, 28.0, 22.0], [36.0, 30.0, 50.0, 54.0]])
    return image, boxes, torch.tensor([0, 1])


@pytest.mark.parametrize(
    ("arch", "options"), [("fcos", {}), ("faster_rcnn", {"box_batch_size_per_image": 64})]
)
def test_overfits_two_rectangles(arch: str, options: dict[str, Any]) -> None:
    image, boxes, labels = _two_rectangles()
    model = build_model(_spec(arch, BANDS[3], **options))
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(40):
        losses = model.train()(image, [{"boxes": boxes, "labels": labels}])
        assert isinstance(losses, dict)
        optimiser.zero_grad()
        sum(losses.values()).backward()  # type: ignore[union-attr]
        optimiser.step()
    with torch.no_grad():
        out = model.eval()(image)
    assert isinstance(out, list)
    confident = out[0]["scores"] >= 0.5
    iou = box_iou(boxes, out[0]["boxes"][confident])  # [rectangle, detection]
    same = labels[:, None] == out[0]["labels"][confident][None]
    assert ((iou >= 0.5) & same).any(dim=1).tolist() == [True, True]  # both found, right class
    assert not ((iou >= 0.5) & ~same).any()  # no confident detection of the wrong class


MIXED = ["S2.B04", "S1.VV", "S2.B08", "S1.VH"]


def test_sar_bands_are_found_by_wavelength_or_name() -> None:
    assert sar_band_indices(MIXED) == [1, 3]
    assert sar_band_indices(MIXED, ["S1.VH"]) == [3]
    assert sar_band_indices(S2_13) == []
    with pytest.raises(ConfigError, match=r"not among model\.in_bands"):
        sar_band_indices(S2_4, ["S1.VV"])


def test_two_stream_fuses_and_trains_both_stems() -> None:
    spec = _spec("two_stream_fcos", MIXED, sar_backbone="resnet18")
    model = build_model(spec)
    pyramid = model.network.backbone
    assert _first_conv(pyramid.optical).in_channels == 2
    assert _first_conv(pyramid.sar).in_channels == 2
    assert [f.in_channels for f in pyramid.fuse] == [128] * 5
    images = torch.randn(2, 4, 64, 64)
    losses = model.train()(images, _targets())
    assert isinstance(losses, dict) and all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()  # type: ignore[union-attr]
    for stem in (_first_conv(pyramid.optical), _first_conv(pyramid.sar)):
        assert stem.weight.grad is not None and stem.weight.grad.abs().sum() > 0
    # Each stream sees exactly its own channels: optical 0 and 2, SAR 1 and 3.
    seen: dict[str, torch.Tensor] = {}
    for name in ("optical", "sar"):
        getattr(pyramid, name).register_forward_pre_hook(
            lambda _, args, name=name: seen.__setitem__(name, args[0])
        )
    with torch.no_grad():
        _check_detections(model.eval()(images), images=2, classes=2)
    assert torch.equal(seen["optical"], images[:, [0, 2]])
    assert torch.equal(seen["sar"], images[:, [1, 3]])


@pytest.mark.parametrize(
    ("bands", "optical", "sar"),
    [(["S2.B04", "S1.VV"], 1, 1), ([*S2_13, "S1.VV", "S1.VH"], 13, 2), (["S1.VV", *S2_4], 4, 1)],
)
def test_two_stream_takes_any_band_split(bands: list[str], optical: int, sar: int) -> None:
    model = build_model(_spec("two_stream_fcos", bands))
    pyramid = model.network.backbone
    assert _first_conv(pyramid.optical).in_channels == optical
    assert _first_conv(pyramid.sar).in_channels == sar
    images = torch.randn(2, len(bands), 64, 64)
    losses = model.train()(images, _targets())
    assert isinstance(losses, dict) and all(torch.isfinite(v) for v in losses.values())


def test_two_stream_needs_both_groups() -> None:
    with pytest.raises(ConfigError, match="needs optical and SAR bands"):
        build_model(_spec("two_stream_fcos", S2_4))


def test_profile_counts_a_known_net_exactly() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),  # 8*3*9 MACs at 16x16: 55,296
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),  # 8*1*9 at 16x16: 18,432
        nn.Conv2d(8, 4, 1, stride=2, bias=False),  # 4*8 at 8x8: 2,048
        nn.Flatten(),
        nn.Linear(256, 10, bias=False),  # 2,560
    ).train()
    result = profile(net, 3, 16)
    assert result["gflops"] == pytest.approx(2 * (55_296 + 18_432 + 2_048 + 2_560) / 1e9, rel=1e-12)
    assert result["parameters"] == 216 + 72 + 32 + 2_560
    assert net.training  # the mode is restored


def test_small_sar_profile_is_a_few_gflops() -> None:
    spec = small_sar_spec(["S1.VV", "S1.VH"], 1)
    assert spec.backbone == SMALL_SAR_BACKBONE
    model = build_model(spec)
    assert model.network.backbone.out_channels == 64
    # 256 x 256 keeps the test fast; FLOPs of convolutions scale with the pixel count,
    # so the 800 x 800 figure (4.48 GFLOPs) is about 9.8 times this one.
    small = profile(model, 2, 256)
    assert 0.3 < small["gflops"] < 0.6
    assert small["parameters"] == sum(p.numel() for p in model.parameters())
    assert 1_000_000 < small["parameters"] < 1_500_000


def test_building_never_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("a detector tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for arch in ("faster_rcnn", "retinanet", "fcos", "small_sar"):
        build_model(_spec(arch, S2_4))
    build_model(_spec("two_stream_fcos", MIXED))
    build_model(small_sar_spec(["S1.VV"], 1))
    assert list(tmp_path.iterdir()) == []
