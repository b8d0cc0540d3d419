"""Object detectors for any band set: torchvision Faster R-CNN, RetinaNet and FCOS.

Every architecture is a :class:`Detector`: a torchvision detector on a timm
backbone (``spec.backbone``: ``resnet18``, ``resnet34``, ``resnet50``, or any
timm model with ``features_only`` support such as ``mobilenetv3_large_100``)
whose first convolution takes ``len(spec.in_bands)`` channels, followed by a
torchvision feature pyramid. Nothing is pretrained and nothing downloads.

Conventions (shared with the data, metrics and prediction code):

* Images ``[B, C, H, W]`` float32, already normalised by eoforge; non-finite
  values (NaN where invalid) are set to 0 before the network sees them.
* Boxes ``[N, 4]`` ``(xmin, ymin, xmax, ymax)`` in pixels of the input chip,
  on pixel edges; labels ``[N]`` int64 in ``0..K-1`` (``K = spec.num_classes``).
  Faster R-CNN needs a background class: it is built with ``K + 1`` classes,
  labels are shifted by +1 going in and by -1 coming out.
* torchvision's ``GeneralizedRCNNTransform`` neither resizes nor normalises
  here: chips keep their pixel size (``image_mean = [0] * C``,
  ``image_std = [1] * C`` and a resize that returns the image unchanged), so
  boxes come back in the chip's own pixels. Images are zero-padded at the
  bottom and right to a multiple of 32 inside the network, as torchvision does.

Pyramids: Faster R-CNN uses backbone strides 4, 8, 16, 32 plus a max-pooled
level (64); RetinaNet and FCOS use strides 8, 16, 32 plus P6 and P7 (64, 128).

Architectures (``spec.options`` in brackets, all optional):

* ``faster_rcnn``, ``retinanet``, ``fcos``: the three torchvision detectors
  [``fpn_channels`` (256), ``anchor_sizes`` (one base size in pixels per
  pyramid level, 5 values), ``aspect_ratios`` (height / width ratios),
  ``score_thresh``, ``nms_thresh``, ``detections_per_img``, ``head_convs``
  (FCOS only: convolutions per head tower, 4), ``rpn_batch_size_per_image``
  and ``box_batch_size_per_image`` (Faster R-CNN only: anchors and proposals
  sampled per image for the losses, 256 and 512)].
* ``small_sar``: FCOS with a slim pyramid (``fpn_channels`` 64, ``head_convs``
  1) for large SAR scenes; with :data:`SMALL_SAR_BACKBONE` (see
  :func:`small_sar_spec`), two bands (VV, VH) and one class it costs 4.48
  GFLOPs (2.24 G multiply-adds, counted by
  :func:`~eoforge.models.detection_profile.profile`) per 800 x 800 tile and
  has 1.23 M parameters; the same bands on ``fcos`` with ``resnet18`` and 256
  pyramid channels cost 188 GFLOPs.
* ``two_stream_fcos``: FCOS on two backbones, one for the optical bands and
  one for the SAR bands, whose pyramid levels are fused (concatenation and a
  1 x 1 convolution per level) before the shared head [``sar_bands`` (the SAR
  group by name; by default the bands whose centre wavelength is at least
  1 mm, i.e. radar), ``sar_backbone`` (``spec.backbone``), and the FCOS
  options].

FCOS's head normalises in 32 groups, so its ``fpn_channels`` is a multiple of
32 (64 or more for chips whose P7 level is 1 x 1 pixel, i.e. up to 128 px).
Targets' keys other than ``boxes`` and ``labels`` (``difficult``) are ignored
in training.

Forward contract (:meth:`Detector.forward`): in training mode, images and
targets give a dict of scalar losses whose sum is the loss; in evaluation
mode, images give one dict per image of ``boxes`` ``[N, 4]`` float32,
``scores`` ``[N]`` float32 and ``labels`` ``[N]`` int64 in ``0..K-1``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import nn
from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.fcos import FCOSHead
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops.feature_pyramid_network import (
    ExtraFPNBlock,
    FeaturePyramidNetwork,
    LastLevelMaxPool,
    LastLevelP6P7,
)

from eoforge.errors import ConfigError, available_list
from eoforge.models.backbones import feature_channels, is_channels_last, timm_model
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec, Task
from eoforge.sensors import get_band

DETECTION_TASKS: tuple[Task, ...] = ("detection",)

SMALL_SAR_BACKBONE = "mobilenetv3_small_100"
"""Backbone of the small SAR profile (:func:`small_sar_spec`)."""

RADAR_MIN_WAVELENGTH_NM = 1e6
"""Bands with a centre wavelength of at least 1 mm are radar (SAR) bands."""

Kind = Literal["faster_rcnn", "retinanet", "fcos"]
Extra = Literal["pool", "p6p7"]

_STRIDES: dict[Kind, tuple[int, ...]] = {
    "faster_rcnn": (4, 8, 16, 32),
    "retinanet": (8, 16, 32),
    "fcos": (8, 16, 32),
}
_EXTRA: dict[Kind, Extra] = {"faster_rcnn": "pool", "retinanet": "p6p7", "fcos": "p6p7"}
_DEFAULT_SIZES: dict[Kind, tuple[int, ...]] = {
    "faster_rcnn": (32, 64, 128, 256, 512),
    "retinanet": (32, 64, 128, 256, 512),
    "fcos": (8, 16, 32, 64, 128),
}
_LEVELS = 5
_COMMON_OPTIONS = (
    "fpn_channels",
    "anchor_sizes",
    "aspect_ratios",
    "score_thresh",
    "nms_thresh",
    "detections_per_img",
)
_OPTIONS: dict[Kind, tuple[str, ...]] = {
    "faster_rcnn": (*_COMMON_OPTIONS, "rpn_batch_size_per_image", "box_batch_size_per_image"),
    "retinanet": _COMMON_OPTIONS,
    "fcos": (*_COMMON_OPTIONS, "head_convs"),
}
TWO_STREAM_OPTIONS = ("sar_bands", "sar_backbone")
"""Options of the two-stream detectors: the SAR group by name and its backbone."""


class FeaturePyramid(nn.Module):
    """A timm backbone's feature maps at chosen strides through a torchvision FPN.

    Args:
        backbone: timm model name (built with ``features_only=True``, no weights).
        in_channels: Input channels (bands).
        strides: Backbone strides to take, shallow to deep (e.g. ``(8, 16, 32)``).
        fpn_channels: Channels of every pyramid level.
        extra: ``"pool"`` adds a max-pooled level (Faster R-CNN), ``"p6p7"``
            adds P6 and P7 computed from P5 (RetinaNet, FCOS), None adds no level
            (a light oriented pyramid whose objects fit the backbone's strides).

    Raises:
        ConfigError: Unknown backbone, or one without feature maps at ``strides``.
    """

    def __init__(
        self,
        backbone: str,
        in_channels: int,
        strides: Sequence[int],
        fpn_channels: int,
        extra: Extra | None,
    ) -> None:
        super().__init__()
        self.body = timm_model(backbone, in_channels, features_only=True)
        info: Any = self.body.feature_info
        reductions = [int(r) for r in info.reduction()]
        missing = [s for s in strides if s not in reductions]
        if missing:
            raise ConfigError(
                f"model.backbone: {backbone} has feature maps at strides {reductions}, "
                f"not at {missing}.",
                fix="use a backbone with feature maps at strides 4, 8, 16 and 32 (a ResNet, "
                "MobileNetV3, EfficientNet, ConvNeXt).",
            )
        # The deepest feature map at each stride.
        self.indices = [max(i for i, r in enumerate(reductions) if r == s) for s in strides]
        channels = feature_channels(self.body)
        self.channels_last = is_channels_last(self.body)
        extra_block: ExtraFPNBlock | None = None
        if extra == "pool":
            extra_block = LastLevelMaxPool()
        elif extra == "p6p7":
            extra_block = LastLevelP6P7(fpn_channels, fpn_channels)
        self.fpn = FeaturePyramidNetwork(
            [channels[i] for i in self.indices], fpn_channels, extra_blocks=extra_block
        )
        self.out_channels = fpn_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        """Levels ``[B, fpn_channels, H / s, W / s]``, finest first, for ``[B, C, H, W]``."""
        maps = self.body(x)
        picked: OrderedDict[str, torch.Tensor] = OrderedDict()
        for level, index in enumerate(self.indices):
            feature = maps[index]
            picked[str(level)] = feature.permute(0, 3, 1, 2) if self.channels_last else feature
        levels: OrderedDict[str, torch.Tensor] = self.fpn(picked)
        return levels


class TwoStreamPyramid(nn.Module):
    """Two feature pyramids, optical and SAR, fused level by level.

    Each level is ``conv1x1(cat(optical_level, sar_level))``: ``2 * F -> F``
    channels. The input holds both groups; each stream takes its own channels.

    Args:
        optical: Pyramid of the optical bands.
        sar: Pyramid of the SAR bands (same strides and ``out_channels``).
        optical_channels: Input channel indices of the optical bands.
        sar_channels: Input channel indices of the SAR bands.
        levels: Number of pyramid levels (strides plus extra levels).
    """

    def __init__(
        self,
        optical: FeaturePyramid,
        sar: FeaturePyramid,
        optical_channels: Sequence[int],
        sar_channels: Sequence[int],
        levels: int,
    ) -> None:
        super().__init__()
        self.optical = optical
        self.sar = sar
        self.optical_channels: torch.Tensor
        self.sar_channels: torch.Tensor
        self.register_buffer(
            "optical_channels", torch.tensor(list(optical_channels)), persistent=False
        )
        self.register_buffer("sar_channels", torch.tensor(list(sar_channels)), persistent=False)
        width = optical.out_channels
        self.fuse = nn.ModuleList(nn.Conv2d(2 * width, width, 1) for _ in range(levels))
        self.out_channels = width

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        """Fused levels ``[B, F, H / s, W / s]``, finest first, for ``[B, C, H, W]``."""
        optical = self.optical(x.index_select(1, self.optical_channels))
        sar = self.sar(x.index_select(1, self.sar_channels))
        fused: OrderedDict[str, torch.Tensor] = OrderedDict()
        for fuse, name in zip(self.fuse, optical, strict=True):
            fused[name] = fuse(torch.cat([optical[name], sar[name]], dim=1))
        return fused


# torchvision ships no type information, so its classes are Any to mypy.
class _NoResizeTransform(GeneralizedRCNNTransform):  # type: ignore[misc]
    """torchvision's detection transform without resizing: chips keep their pixel size."""

    def resize(
        self, image: torch.Tensor, target: dict[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """``image`` and ``target`` unchanged."""
        return image, target


COARSEST_STRIDE = 128
"""Stride of the coarsest pyramid level (P7), pixels. A lone image no larger than this
would give that level one cell, and FCOS's GroupNorm heads one value per group (an
error): such an image is zero-padded on the right to twice the stride first (boxes
unchanged)."""


class Detector(nn.Module):
    """A torchvision detector behind eoforge's detection forward contract.

    Args:
        network: A torchvision ``FasterRCNN``, ``RetinaNet`` or ``FCOS``.
        label_offset: Added to target labels going in and subtracted from
            predicted labels coming out (1 for Faster R-CNN's background class).
    """

    def __init__(self, network: nn.Module, label_offset: int) -> None:
        super().__init__()
        self.network = network
        self.label_offset = label_offset

    def forward(
        self, images: torch.Tensor, targets: Sequence[dict[str, torch.Tensor]] | None = None
    ) -> dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]:
        """Losses (training) or detections (evaluation).

        Args:
            images: ``[B, C, H, W]`` normalised images; non-finite values count as 0.
            targets: In training, one dict per image with ``boxes`` ``[N, 4]``
                ``(xmin, ymin, xmax, ymax)`` in pixels and ``labels`` ``[N]``
                in ``0..K-1``; ``N`` may be 0. Other keys are ignored.
                Ignored in evaluation.

        Returns:
            Training: scalar losses by name (their sum is the loss).
            Evaluation: per image, ``boxes`` ``[N, 4]`` float32 in pixels,
            ``scores`` ``[N]`` float32 and ``labels`` ``[N]`` int64 in ``0..K-1``.

        Raises:
            ConfigError: Training without targets, or targets with oriented
                ``[N, 5]`` boxes.
        """
        images = torch.where(torch.isfinite(images), images, torch.zeros_like(images))
        height, width = images.shape[-2:]
        lone = images.shape[0] == 1 and max(height, width) <= COARSEST_STRIDE
        if lone and isinstance(self.network, FCOS):
            # one value per group in FCOS's GroupNorm heads at the 1 x 1 coarsest level
            images = torch.nn.functional.pad(images, (0, 2 * COARSEST_STRIDE - width))
        batch = list(images.unbind(0))
        if not self.training:
            detections: list[dict[str, torch.Tensor]] = self.network(batch)
            return [
                {
                    "boxes": d["boxes"].float(),
                    "scores": d["scores"].float(),
                    "labels": d["labels"].long() - self.label_offset,
                }
                for d in detections
            ]
        if targets is None:
            raise ConfigError(
                "a detector in training mode needs targets (boxes and labels per image).",
                fix="pass targets, or call model.eval() to get detections.",
            )
        losses: dict[str, torch.Tensor] = self.network(batch, [self._target(t) for t in targets])
        return losses

    def _target(self, target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        boxes = target["boxes"]
        if boxes.dim() != 2 or boxes.shape[1] != 4:
            raise ConfigError(
                f"a horizontal detector takes boxes [N, 4] (xmin, ymin, xmax, ymax), "
                f"got {tuple(boxes.shape)}.",
                fix="use task detection data with axis-aligned boxes, or an oriented "
                "architecture for oriented boxes [N, 5].",
            )
        return {
            "boxes": boxes.float(),
            "labels": target["labels"].long() + self.label_offset,
        }


def _check_options(spec: ModelSpec, allowed: Sequence[str]) -> dict[str, Any]:
    unknown = sorted(set(spec.options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"model.options: {spec.arch} does not take {unknown}. "
            f"It takes {available_list(sorted(allowed))}.",
            fix="remove or rename the unknown options.",
        )
    return dict(spec.options)


def _anchor_generator(kind: Kind, options: dict[str, Any]) -> AnchorGenerator:
    bases = [int(s) for s in options.get("anchor_sizes", _DEFAULT_SIZES[kind])]
    if len(bases) != _LEVELS:
        raise ConfigError(
            f"model.options.anchor_sizes: {len(bases)} sizes for {_LEVELS} pyramid levels.",
            fix=f"give one base anchor size in pixels per level, {_LEVELS} values "
            f"(default {list(_DEFAULT_SIZES[kind])}).",
        )
    default_ratios = (1.0,) if kind == "fcos" else (0.5, 1.0, 2.0)
    ratios = tuple(float(r) for r in options.get("aspect_ratios", default_ratios))
    if kind == "retinanet":
        sizes = tuple(tuple(round(b * 2 ** (i / 3)) for i in range(3)) for b in bases)
    else:
        sizes = tuple((b,) for b in bases)
    return AnchorGenerator(sizes, (ratios,) * _LEVELS)


def _thresholds(kind: Kind, options: dict[str, Any]) -> dict[str, Any]:
    names = {"score_thresh": float, "nms_thresh": float, "detections_per_img": int}
    given = {name: cast(options[name]) for name, cast in names.items() if name in options}
    if kind == "faster_rcnn":
        sampled: dict[str, Any] = {
            name: int(options[name])
            for name in ("rpn_batch_size_per_image", "box_batch_size_per_image")
            if name in options
        }
        return {**{f"box_{name}": value for name, value in given.items()}, **sampled}
    return given


def _width(kind: Kind, options: dict[str, Any], default: int) -> int:
    width = int(options.get("fpn_channels", default))
    if width < 1 or (kind == "fcos" and width % 32):
        raise ConfigError(
            f"model.options.fpn_channels: {width} pyramid channels; FCOS's head normalises "
            "them in 32 groups.",
            fix="use a positive multiple of 32 (64 is the smallest that trains on any chip size).",
        )
    return width


def _network(kind: Kind, backbone: nn.Module, spec: ModelSpec, options: dict[str, Any]) -> Detector:
    channels = spec.in_channels
    width: Any = backbone.out_channels
    common: dict[str, Any] = {
        "min_size": 800,  # unused: the transform below never resizes
        "max_size": 1333,
        "image_mean": [0.0] * channels,
        "image_std": [1.0] * channels,
        **_thresholds(kind, options),
    }
    anchors = _anchor_generator(kind, options)
    network: FasterRCNN | RetinaNet | FCOS
    if kind == "faster_rcnn":
        network = FasterRCNN(
            backbone, num_classes=spec.num_classes + 1, rpn_anchor_generator=anchors, **common
        )
    elif kind == "retinanet":
        network = RetinaNet(
            backbone, num_classes=spec.num_classes, anchor_generator=anchors, **common
        )
    else:
        head = FCOSHead(
            width,
            anchors.num_anchors_per_location()[0],
            spec.num_classes,
            num_convs=int(options.get("head_convs", 4)),
        )
        network = FCOS(
            backbone, num_classes=spec.num_classes, anchor_generator=anchors, head=head, **common
        )
    network.transform = _NoResizeTransform(
        800, 1333, common["image_mean"], common["image_std"], size_divisible=32
    )
    return Detector(network, label_offset=1 if kind == "faster_rcnn" else 0)


def build_detector(spec: ModelSpec, kind: Kind, *, fpn_channels: int = 256) -> Detector:
    """A single-stream detector of ``kind`` for ``spec``.

    Args:
        spec: Model spec (backbone, bands, classes, options; see the module docstring).
        kind: Which torchvision detector.
        fpn_channels: Pyramid width unless ``spec.options["fpn_channels"]`` says otherwise.

    Raises:
        ConfigError: Unknown options, backbone or anchor sizes.
    """
    options = _check_options(spec, _OPTIONS[kind])
    backbone = FeaturePyramid(
        spec.backbone,
        spec.in_channels,
        _STRIDES[kind],
        _width(kind, options, fpn_channels),
        _EXTRA[kind],
    )
    return _network(kind, backbone, spec, options)


def sar_band_indices(bands: Sequence[str], sar_bands: Sequence[str] | None = None) -> list[int]:
    """Input channel indices of the SAR bands among ``bands``.

    Args:
        bands: Canonical band names in input channel order.
        sar_bands: The SAR group by name; None takes the radar bands
            (centre wavelength of at least :data:`RADAR_MIN_WAVELENGTH_NM`).

    Raises:
        ConfigError: A named SAR band that is not an input band.
    """
    if sar_bands is None:
        return [
            i
            for i, name in enumerate(bands)
            if (get_band(name).center_wavelength_nm or 0.0) >= RADAR_MIN_WAVELENGTH_NM
        ]
    wanted = [get_band(name).name for name in sar_bands]
    absent = [name for name in wanted if name not in bands]
    if absent:
        raise ConfigError(
            f"model.options.sar_bands: {absent} are not among model.in_bands {list(bands)}.",
            fix="name SAR bands that are input bands.",
        )
    return [i for i, name in enumerate(bands) if name in wanted]


def two_stream_pyramid(
    spec: ModelSpec, options: dict[str, Any], strides: Sequence[int], width: int
) -> TwoStreamPyramid:
    """The optical and SAR pyramids of ``spec``'s bands, fused per level (P3 ... P7).

    Args:
        spec: The model spec; ``in_bands`` hold both groups.
        options: Checked model options (``sar_bands``, ``sar_backbone`` read here).
        strides: Backbone strides of the pyramid's first levels, pixels.
        width: Channels per pyramid level.

    Raises:
        ConfigError: A band group is empty.
    """
    sar = sar_band_indices(spec.in_bands, options.get("sar_bands"))
    optical = [i for i in range(spec.in_channels) if i not in sar]
    if not sar or not optical:
        raise ConfigError(
            f"model.in_bands: {spec.arch} needs optical and SAR bands; SAR bands are "
            f"{[spec.in_bands[i] for i in sar]} of {spec.in_bands}.",
            fix="give both optical and SAR bands (e.g. S2.B04 and S1.VV), or name the SAR "
            "group in model.options.sar_bands.",
        )
    return TwoStreamPyramid(
        FeaturePyramid(spec.backbone, len(optical), strides, width, "p6p7"),
        FeaturePyramid(
            str(options.get("sar_backbone", spec.backbone)), len(sar), strides, width, "p6p7"
        ),
        optical,
        sar,
        levels=_LEVELS,
    )


def build_two_stream_fcos(spec: ModelSpec) -> Detector:
    """FCOS on an optical and a SAR pyramid fused per level (M4-SAR-style pairs).

    Raises:
        ConfigError: Unknown options, or a band group that is empty.
    """
    options = _check_options(spec, (*_OPTIONS["fcos"], *TWO_STREAM_OPTIONS))
    pyramid = two_stream_pyramid(spec, options, _STRIDES["fcos"], _width("fcos", options, 256))
    return _network("fcos", pyramid, spec, options)


def small_sar_spec(in_bands: Sequence[str], num_classes: int, **options: Any) -> ModelSpec:
    """The small SAR detector's spec: ``small_sar`` on :data:`SMALL_SAR_BACKBONE`.

    Args:
        in_bands: Input bands (one or two SAR polarisations, e.g. ``S1.VV``, ``S1.VH``).
        num_classes: Number of object classes.
        **options: Options overriding the profile's (see the module docstring).
    """
    return ModelSpec(
        task="detection",
        arch="small_sar",
        backbone=SMALL_SAR_BACKBONE,
        in_bands=list(in_bands),
        num_classes=num_classes,
        options=options,
    )


@register_model(
    "faster_rcnn", DETECTION_TASKS, "torchvision Faster R-CNN + FPN on a timm backbone, any bands"
)
def _faster_rcnn(spec: ModelSpec) -> nn.Module:
    return build_detector(spec, "faster_rcnn")


@register_model(
    "retinanet", DETECTION_TASKS, "torchvision RetinaNet + FPN on a timm backbone, any bands"
)
def _retinanet(spec: ModelSpec) -> nn.Module:
    return build_detector(spec, "retinanet")


@register_model("fcos", DETECTION_TASKS, "torchvision FCOS + FPN on a timm backbone, any bands")
def _fcos(spec: ModelSpec) -> nn.Module:
    return build_detector(spec, "fcos")


@register_model(
    "small_sar",
    DETECTION_TASKS,
    "FCOS with a slim pyramid (64 channels, one conv per head tower) for large SAR scenes",
)
def _small_sar(spec: ModelSpec) -> nn.Module:
    if "head_convs" not in spec.options:
        spec = spec.model_copy(update={"options": {**spec.options, "head_convs": 1}})
    return build_detector(spec, "fcos", fpn_channels=64)


@register_model(
    "two_stream_fcos",
    DETECTION_TASKS,
    "FCOS on optical and SAR backbones whose pyramids are fused per level (M4-SAR style)",
)
def _two_stream_fcos(spec: ModelSpec) -> nn.Module:
    return build_two_stream_fcos(spec)
