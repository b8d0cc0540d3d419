from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.models.conftest import S2_4, S2_13

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, PixelForest, build_model, list_models

TASK_OF = {
    "timm_classifier": "classification",
    "balanced_attention": "multilabel",
    "unet": "segmentation",
    "deeplabv3plus": "segmentation",
    "fpn": "pixel_regression",
    "upernet": "segmentation",
    "early_fusion": "change",
    "fc_siam_diff": "change",
    "fc_siam_conc": "change",
    "lenet_cd": "change",
    "pixel_forest": "segmentation",
    "simple_cnn": "segmentation",
    "faster_rcnn": "detection",
    "retinanet": "detection",
    "fcos": "detection",
    "small_sar": "detection",
    "two_stream_fcos": "detection",
    "oriented_fcos": "oriented_detection",
    "two_stream_oriented_fcos": "oriented_detection",
    "spectral_vit": "classification",
    "spectral_resnet": "multilabel",
    "timm_encoder": "embedding",  # imported checkpoints: tests/models/test_importers.py
    "dofa_vit": "embedding",
    "group_channel_vit": "embedding",
    "image_text_tower": "embedding",  # tests/models/test_image_text_model.py
    "sr_edsr": "super_resolution",  # tests/models/test_sr_models.py
    "sr_multiframe": "super_resolution",  # tests/models/test_sr_multiframe.py
    "sr_multiframe_fit": "super_resolution",  # tests/models/test_sr_shift_fit.py
    "sr_reference": "super_resolution",  # tests/models/test_sr_reference_model.py
    "sr_swin": "super_resolution",
    "location_siren": "location",  # tests/location/test_location_input.py
    "field_unet": "field_boundaries",  # tests/tasks/test_field_boundary_task.py
    "fusion_unet": "segmentation",  # input groups, not one stack: tests/models/test_fusion_unet.py
    "fusion_classifier": "multilabel",  # input groups: tests/models/test_fusion_classifier.py
    "utae": "segmentation",  # a time-series group: tests/models/test_temporal_models.py
    "ltae": "segmentation",
    "field_utae": "field_boundaries",  # a time series: tests/models/test_field_series_models.py
    "field_unet_stack": "field_boundaries",
}
DENSE_OR_SCENE = sorted(
    arch
    for arch, task in TASK_OF.items()
    if task not in ("detection", "oriented_detection", "embedding", "super_resolution", "location")
    and arch not in ("fusion_unet", "fusion_classifier", "field_unet")
    and arch not in ("utae", "ltae", "field_utae", "field_unet_stack")
)
"""Architectures returning one tensor at the input size (detectors: test_detection.py)."""


def _input(task: str, channels: int, size: int) -> torch.Tensor:
    if task == "change":
        return torch.randn(2, 2, channels, size, size)
    return torch.randn(2, channels, size, size)


def _fit_if_forest(model: torch.nn.Module, channels: int) -> None:
    if isinstance(model, PixelForest):
        images = np.random.default_rng(0).normal(size=(2, channels, 16, 16)).astype(np.float32)
        masks = (images[:, 0] > 0).astype(np.int64) + (images[:, 1] > 0)
        model.fit(images, masks)


def test_every_registered_arch_is_tested() -> None:
    assert {info.name for info in list_models()} == set(TASK_OF)
    for info in list_models():
        assert TASK_OF[info.name] in info.tasks
        assert info.description


@pytest.mark.parametrize("bands", [S2_4, S2_13], ids=["4bands", "13bands"])
@pytest.mark.parametrize("arch", DENSE_OR_SCENE)
def test_forward_contract(arch: str, bands: list[str]) -> None:
    task = TASK_OF[arch]
    options = {"n_estimators": 3, "max_depth": 4} if arch == "pixel_forest" else {}
    spec = ModelSpec(task=task, arch=arch, in_bands=bands, num_classes=3, options=options)
    model = build_model(spec).eval()
    _fit_if_forest(model, len(bands))
    size = 64 if len(bands) == 4 else 32  # two sizes, and a faster 13-band case
    with torch.no_grad():
        out = model(_input(task, len(bands), size))
    dense = task in ("segmentation", "pixel_regression", "change")
    assert tuple(out.shape) == ((2, 3, size, size) if dense else (2, 3))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("arch", ["deeplabv3plus", "lenet_cd"])
def test_dense_models_accept_sizes_not_multiple_of_32(arch: str) -> None:
    task = TASK_OF[arch]
    model = build_model(ModelSpec(task=task, arch=arch, in_bands=S2_4, num_classes=2)).eval()
    x = torch.randn(1, 2, 4, 50, 70) if task == "change" else torch.randn(1, 4, 50, 70)
    with torch.no_grad():
        assert tuple(model(x).shape) == (1, 2, 50, 70)


@pytest.mark.parametrize(
    ("backbone", "options"),
    [
        ("vit_tiny_patch16_224", {"img_size": 64}),
        ("swin_tiny_patch4_window7_224", {"img_size": 64}),
        ("convnext_atto", {}),
        ("efficientnet_b0", {}),
    ],
)
def test_timm_backbones_take_any_band_count(backbone: str, options: dict[str, int]) -> None:
    spec = ModelSpec(
        task="regression",
        arch="timm_classifier",
        backbone=backbone,
        in_bands=S2_13,
        num_classes=2,
        options=options,
    )
    with torch.no_grad():
        out = build_model(spec).eval()(torch.randn(2, 13, 64, 64))
    assert tuple(out.shape) == (2, 2)


@pytest.mark.parametrize(
    ("backbone", "options"),
    [
        ("vit_tiny_patch16_224", {"img_size": 64}),
        ("swin_tiny_patch4_window7_224", {"img_size": 64}),  # NHWC features
    ],
)
def test_balanced_attention_on_transformers(backbone: str, options: dict[str, int]) -> None:
    spec = ModelSpec(
        task="classification",
        arch="balanced_attention",
        backbone=backbone,
        in_bands=S2_4,
        num_classes=3,
        options=options,
    )
    model = build_model(spec)
    with torch.no_grad():
        assert tuple(model.eval()(torch.randn(2, 4, 64, 64)).shape) == (2, 3)


def test_balanced_attention_trains_with_drop_block() -> None:
    spec = ModelSpec(
        task="classification",
        arch="balanced_attention",
        in_bands=S2_4,
        num_classes=3,
        options={"drop_block": 0.2},
    )
    model = build_model(spec).train()
    loss = model(torch.randn(2, 4, 64, 64)).logsumexp(dim=1).mean()
    loss.backward()
    assert model.attention.fusion_logit.grad is not None


def test_siamese_on_timm_universal_encoder() -> None:
    spec = ModelSpec(
        task="change",
        arch="fc_siam_diff",
        backbone="tu-convnext_atto",
        in_bands=S2_4,
        num_classes=2,
    )
    with torch.no_grad():
        out = build_model(spec).eval()(torch.randn(1, 2, 4, 64, 64))
    assert tuple(out.shape) == (1, 2, 64, 64)


def test_fc_siam_diff_is_symmetric_in_dates() -> None:
    spec = ModelSpec(task="change", arch="fc_siam_diff", in_bands=S2_4, num_classes=2)
    model = build_model(spec).eval()
    x = torch.randn(1, 2, 4, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), model(x.flip(1)), atol=1e-5)


def test_unknown_arch_lists_registered_ones() -> None:
    spec = ModelSpec(task="segmentation", arch="unetz", in_bands=S2_4, num_classes=2)
    with pytest.raises(ConfigError, match=r"unknown architecture 'unetz'.*deeplabv3plus.*unet"):
        build_model(spec)


def test_unknown_backbone_suggests_close_names() -> None:
    spec = ModelSpec(
        task="segmentation", arch="unet", backbone="resnet19", in_bands=S2_4, num_classes=2
    )
    with pytest.raises(ConfigError, match=r"unknown smp encoder 'resnet19'.*resnet18"):
        build_model(spec)
    spec = spec.model_copy(update={"arch": "timm_classifier", "task": "classification"})
    with pytest.raises(ConfigError, match=r"unknown timm model 'resnet19'"):
        build_model(spec)


def test_arch_serving_another_task_is_refused() -> None:
    spec = ModelSpec(task="change", arch="unet", in_bands=S2_4, num_classes=2)
    with pytest.raises(ConfigError, match="does not serve task 'change'"):
        build_model(spec)


def test_spec_canonicalises_band_names_and_rejects_unknown() -> None:
    spec = ModelSpec(task="segmentation", arch="unet", in_bands=["S2.red", "S2.nir"], num_classes=2)
    assert spec.in_bands == ["S2.B04", "S2.B08"]
    with pytest.raises(ValueError, match="in_bands"):
        ModelSpec(task="segmentation", arch="unet", in_bands=["S2.B99"], num_classes=2)


def test_change_model_rejects_single_date_input() -> None:
    model = build_model(ModelSpec(task="change", arch="fc_siam_conc", in_bands=S2_4, num_classes=2))
    with pytest.raises(ValueError, match=r"\[B, 2, C, H, W\]"):
        model(torch.randn(1, 4, 64, 64))
