"""eoforge targets for timm-shaped checkpoints: ``timm_encoder`` and key mapping.

``timm_encoder`` (task ``embedding``) is a timm model built without a head
(``num_classes=0``), so its forward gives the pooled features ``[B, D]``:
global average pooling for a ResNet, the class token (or ``options.global_pool``)
for a ViT. Its keys are the timm model's under ``backbone.``, as in
:class:`~eoforge.models.classification.TimmClassifier`, so an imported encoder's
tensors also fit a ``timm_classifier`` of the same backbone.

:func:`resnet_target` and :func:`vit_target` read the architecture from the
tensors (block counts, width, patch size, depth, position-grid size) and give
the timm name and options that rebuild it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.backbones import timm_model
from eoforge.models.importers.base import Converted, PublishedNormalization, StateDict
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec

ENCODER_PREFIX = "backbone."

_RESNETS: dict[tuple[tuple[int, ...], bool], str] = {
    ((2, 2, 2, 2), False): "resnet18",
    ((3, 4, 6, 3), False): "resnet34",
    ((3, 4, 6, 3), True): "resnet50",
    ((3, 4, 23, 3), True): "resnet101",
    ((3, 8, 36, 3), True): "resnet152",
}

# (width, patch, layer scale) -> timm name; heads and MLP ratio are the name's.
_VITS = {
    (192, 16, False): "vit_tiny_patch16_224",
    (384, 16, False): "vit_small_patch16_224",
    (768, 16, False): "vit_base_patch16_224",
    (1024, 16, False): "vit_large_patch16_224",
    (1280, 14, False): "vit_huge_patch14_224",
    (384, 14, True): "vit_small_patch14_dinov2",
    (768, 14, True): "vit_base_patch14_dinov2",
    (1024, 14, True): "vit_large_patch14_dinov2",
}


class TimmEncoder(nn.Module):
    """A headless timm model: images ``[B, C, H, W]`` -> pooled features ``[B, D]``.

    Args:
        spec: Model spec; ``spec.options`` go to ``timm.create_model``
            (``img_size``, ``depth``, ``layers``, ``global_pool``, ...).
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.backbone = timm_model(spec.backbone, spec.in_channels, num_classes=0, **spec.options)
        self.num_features = int(getattr(self.backbone, "num_features", 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``[B, D]`` for images ``[B, C, H, W]``."""
        features: torch.Tensor = self.backbone(x)
        return features


@register_model(
    "timm_encoder",
    ("embedding",),
    "headless timm model (ResNet, ViT, ...) giving pooled features; imported checkpoints",
)
def _timm_encoder(spec: ModelSpec) -> nn.Module:
    return TimmEncoder(spec)


def _count(state: Mapping[str, torch.Tensor], pattern: str) -> int:
    regex = re.compile(pattern)
    found = {int(m.group(1)) for k in state if (m := regex.match(k))}
    return max(found) + 1 if found else 0


def resnet_target(encoder: Mapping[str, torch.Tensor]) -> tuple[str, dict[str, Any]]:
    """The timm name and options of a torchvision/timm-keyed ResNet ``encoder``.

    Args:
        encoder: Keys ``conv1.weight``, ``layer1.0.conv1.weight``, ... (no prefix).

    Returns:
        The timm name of the standard ResNet with these block counts, and
        ``{"layers": [...]}`` when the counts are not a standard depth.
    """
    counts = tuple(_count(encoder, rf"layer{i}\.(\d+)\.") for i in range(1, 5))
    bottleneck = "layer1.0.conv3.weight" in encoder
    name = _RESNETS.get((counts, bottleneck))
    if name is not None:
        return name, {}
    return ("resnet50" if bottleneck else "resnet18"), {"layers": list(counts)}


def vit_target(
    encoder: Mapping[str, torch.Tensor], patch_weight: torch.Tensor
) -> tuple[str, dict[str, Any]]:
    """The timm name and options of a timm/DINO/MAE-keyed ViT ``encoder``.

    Args:
        encoder: Keys ``cls_token``, ``pos_embed``, ``blocks.N....`` (no prefix).
        patch_weight: The 2-D patch embedding ``[D, C, p, p]``.

    Returns:
        The timm name of the width/patch family, with ``depth`` and
        ``img_size`` (from the position grid) always, ``mlp_ratio`` /
        ``qkv_bias`` when they differ from the family's, and ``global_pool:
        avg`` for an encoder with ``fc_norm`` instead of ``norm``.

    Raises:
        ConfigError: No timm family has this width and patch size.
    """
    width, patch = int(patch_weight.shape[0]), int(patch_weight.shape[-1])
    layer_scale = "blocks.0.ls1.gamma" in encoder
    name = _VITS.get((width, patch, layer_scale))
    if name is None:
        raise ConfigError(
            f"no timm ViT has width {width} with patch {patch}"
            f"{' and layer scale' if layer_scale else ''}.",
            fix="convert the checkpoint to a timm layout yourself and give it as model.pretrained.",
        )
    tokens = int(encoder["pos_embed"].shape[1]) - (1 if "cls_token" in encoder else 0)
    grid = math.isqrt(tokens)
    options: dict[str, Any] = {
        "depth": _count(encoder, r"blocks\.(\d+)\."),
        "img_size": grid * patch,
    }
    hidden = int(encoder["blocks.0.mlp.fc1.weight"].shape[0])
    if hidden != 4 * width:
        options["mlp_ratio"] = hidden / width
    if "blocks.0.attn.qkv.bias" not in encoder:
        options["qkv_bias"] = False
    if "fc_norm.weight" in encoder and "norm.weight" not in encoder:
        options["global_pool"] = "avg"  # fine-tuned with global pooling: mean token, fc_norm
    return name, options


def under_encoder(state: Mapping[str, torch.Tensor]) -> StateDict:
    """``state`` with every key under the encoder's ``backbone.`` module."""
    return {ENCODER_PREFIX + k: v for k, v in state.items()}


def timm_converted(
    importer: str,
    encoder: Mapping[str, torch.Tensor],
    target: tuple[str, dict[str, Any]],
    *,
    stem: str,
    bands: Sequence[str],
    normalization: PublishedNormalization | None,
    input_size: int,
    dropped: dict[str, str],
    notes: list[str],
) -> Converted:
    """A conversion to ``timm_encoder``: ``encoder``'s tensors under ``backbone.``.

    Args:
        importer: Name of the importer.
        encoder: The timm model's tensors (no prefix).
        target: The timm name and options (:func:`resnet_target`, :func:`vit_target`).
        stem: Key of the per-band input weight in ``encoder``.
        bands: The checkpoint's input bands in channel order.
        normalization: Published per-band statistics, or None.
        input_size: Image side the checkpoint was trained on, pixels.
        dropped: Source keys not used, with the reason.
        notes: What the conversion changed or assumed.
    """
    backbone, options = target
    return Converted(
        importer=importer,
        arch="timm_encoder",
        backbone=backbone,
        options=options,
        state=under_encoder(encoder),
        bands=list(bands),
        stem_key=ENCODER_PREFIX + stem,
        normalization=normalization,
        input_size=input_size,
        dropped=dropped,
        notes=notes,
    )
