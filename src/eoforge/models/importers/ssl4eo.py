"""SSL4EO-S12 checkpoints (ResNet MoCo/DINO, ViT-S/16 DINO/MAE) and SoftCon ViTs.

Published layouts (github zhu-xlab/SSL4EO-S12 and zhu-xlab/softcon):

* ResNet, MoCo-v2/v3: ``module.encoder_q.conv1.weight [64, C, 7, 7]``, the
  torchvision ResNet keys (``bn1``, ``layerN.M.convK``, ``downsample.0/1``),
  a projection MLP ``module.encoder_q.fc.*``, the momentum encoder
  ``module.encoder_k.*`` and ``module.queue``. DINO: the same ResNet under
  ``module.backbone.`` (or ``backbone.``) in the ``teacher`` entry, with
  ``module.head.*``. TorchGeo's copies are bare timm keys. SoftCon's ResNet-50
  has the same keys. The momentum encoder, heads and queue are dropped.
* ViT-S/16, DINO (``teacher``: ``module.backbone.``) or MAE (``model``: bare
  keys plus ``decoder_*`` and ``mask_token``): timm's ViT keys,
  ``patch_embed.proj.weight [384, C, 16, 16]``, ``pos_embed [1, 197, 384]``.
  The MAE decoder is dropped.
* SoftCon ViT-S/14 and ViT-B/14: DINOv2 keys (timm's, with layer scale
  ``blocks.N.ls1.gamma``, ``mask_token [1, D]``), ``patch_embed.proj.weight
  [D, C, 14, 14]``, ``pos_embed [1, 257, D]`` (224 px input). ``mask_token``
  is dropped; DINOv2's chunked blocks (``blocks.0.3.``) are renumbered.

Channels: 13 = Sentinel-2 L1C in SSL4EO-S12's order B01, B02, B03, B04, B05,
B06, B07, B08, B8A, B09, B10, B11, B12; 12 = L2A, the same without B10;
2 = Sentinel-1 GRD VV, VH (dB). Three-channel (RGB) checkpoints are left to
the plain timm import (``model.pretrained``): their layout is ImageNet's.

Normalisation published for the 13-band and the S1 data (SSL4EO-S12's band
statistics; TorchGeo lists the same values): S2 L1C digital numbers ``x`` are
mapped ``(x - (mean - 2 std)) / (4 std)`` and clipped to [0, 1] (eoforge does
not clip), with the source values (DN) ``mean`` = 1612.9, 1397.6, 1322.3,
1373.1, 1561.0, 2108.4, 2390.7, 2318.7, 2581.0, 837.7, 22.0, 2195.2, 1537.4
and ``std`` = 791.0, 854.3, 878.7, 1144.9, 1127.5, 1164.2, 1276.0, 1249.5,
1345.9, 577.5, 47.5, 1340.0, 1142.9. eoforge reads Sentinel-2 as reflectance
(``DN / 10000``, the registry's L1C scale; SSL4EO-S12 was sampled before
processing baseline 04.00, so without its -1000 DN offset), so the bundle
stores them converted: mean ``(mean - 2 std) / 10000``, std
``4 std / 10000``, the same normalised input. S1 dB values are standardised
with mean (-12.59, -20.26), std (5.26, 5.91): eoforge keeps dB backscatter
as stored (level ``DB``), so these need no conversion; linear backscatter
needs ``--mean/--std`` of its own.

Licence: not stated in the SSL4EO-S12 repository files read (its dataset is
CC-BY-4.0); SoftCon: see its release. Check the release of the file you use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch

from eoforge.models.importers.base import (
    CheckpointImporter,
    Converted,
    PublishedNormalization,
    StateDict,
    find_prefix,
    read_as,
    statistics_as_read,
    with_prefix,
)
from eoforge.models.importers.timm_targets import resnet_target, timm_converted, vit_target

S2_L1C_BANDS = [
    "S2.B01", "S2.B02", "S2.B03", "S2.B04", "S2.B05", "S2.B06", "S2.B07",
    "S2.B08", "S2.B8A", "S2.B09", "S2.B10", "S2.B11", "S2.B12",
]  # fmt: skip
S2_L2A_BANDS = [b for b in S2_L1C_BANDS if b != "S2.B10"]
S1_BANDS = ["S1.VV", "S1.VH"]
BANDS_BY_CHANNELS = {13: S2_L1C_BANDS, 12: S2_L2A_BANDS, 2: S1_BANDS}

_S2_MEAN = (1612.9, 1397.6, 1322.3, 1373.1, 1561.0, 2108.4, 2390.7,
            2318.7, 2581.0, 837.7, 22.0, 2195.2, 1537.4)  # fmt: skip
_S2_STD = (791.0, 854.3, 878.7, 1144.9, 1127.5, 1164.2, 1276.0,
           1249.5, 1345.9, 577.5, 47.5, 1340.0, 1142.9)  # fmt: skip
_S2_MEAN_READ, _S2_STD_READ = statistics_as_read(
    [m - 2 * s for m, s in zip(_S2_MEAN, _S2_STD, strict=True)],
    [4 * s for s in _S2_STD],
    read_as(S2_L1C_BANDS, "L1C"),
)
S2_L1C_NORMALIZATION = PublishedNormalization(
    mean=_S2_MEAN_READ,
    std=_S2_STD_READ,
    note="SSL4EO-S12 band statistics: x' = (x - (mean - 2 std)) / (4 std) on L1C digital "
    "numbers, converted to reflectance (DN / 10000) as eoforge reads Sentinel-2: mean "
    "(mean - 2 std) / 10000, std 4 std / 10000; the published pipeline also clips to [0, 1], "
    "which is not applied here",
)
S1_NORMALIZATION = PublishedNormalization(
    mean=(-12.59, -20.26),
    std=(5.26, 5.91),
    note="SSL4EO-S12 Sentinel-1 band statistics on backscatter in dB (as eoforge reads dB "
    "data; not for linear backscatter)",
)
NORMALIZATION_BY_CHANNELS = {13: S2_L1C_NORMALIZATION, 2: S1_NORMALIZATION}

RESNET_PREFIXES = (
    "module.encoder_q.",
    "encoder_q.",
    "module.backbone.",
    "backbone.",
    "module.",
    "",
)
VIT_PREFIXES = ("module.backbone.", "backbone.", "module.", "")
LICENCE = (
    "not stated in the SSL4EO-S12 repository files read (its dataset is CC-BY-4.0); "
    "check the release of the file you use"
)


def _dropped(state: Mapping[str, torch.Tensor], prefix: str, kept: StateDict) -> dict[str, str]:
    reasons = {
        "encoder_k.": "momentum encoder",
        "queue": "MoCo queue",
        "head": "SSL head",
        "fc.": "projection head",
        "decoder": "MAE decoder",
        "mask_token": "MAE/DINOv2 mask token",
    }
    dropped: dict[str, str] = {}
    for key in state:
        inner = key[len(prefix) :] if key.startswith(prefix) else None
        if inner is not None and inner in kept:
            continue
        text = key if inner is None else inner
        dropped[key] = next(
            (why for part, why in reasons.items() if part in text), "not in the encoder"
        )
    return dropped


def _converted(
    name: str,
    encoder: StateDict,
    target: tuple[str, dict[str, Any]],
    stem: str,
    *,
    input_size: int,
    dropped: dict[str, str],
    notes: list[str],
) -> Converted:
    """The ``timm_encoder`` conversion, bands and statistics by the stem's channel count."""
    channels = int(encoder[stem].shape[1])
    return timm_converted(
        name,
        encoder,
        target,
        stem=stem,
        bands=BANDS_BY_CHANNELS[channels],
        normalization=NORMALIZATION_BY_CHANNELS.get(channels),
        input_size=input_size,
        dropped=dropped,
        notes=notes,
    )


class SSL4EOResNet(CheckpointImporter):
    """SSL4EO-S12 (and SoftCon) ResNet: MoCo ``encoder_q``, DINO ``backbone``, timm copies."""

    name = "ssl4eo_resnet"
    description = (
        "SSL4EO-S12 / SoftCon ResNet-18/50 (MoCo module.encoder_q., DINO module.backbone., "
        "TorchGeo timm keys), 13 S2 L1C, 12 L2A or 2 S1 channels -> timm resnet"
    )
    licence = LICENCE

    def _prefix(self, state: Mapping[str, torch.Tensor]) -> str | None:
        """Key prefix of a ResNet stem ``conv1.weight [64, 13|12|2, 7, 7]`` under a known prefix."""
        prefix = find_prefix(state, "conv1.weight", RESNET_PREFIXES)
        if prefix is None or prefix + "layer4.0.conv1.weight" not in state:
            return None
        weight = state[prefix + "conv1.weight"]
        if weight.dim() != 4 or tuple(weight.shape[2:]) != (7, 7):
            return None
        return prefix if int(weight.shape[1]) in BANDS_BY_CHANNELS else None

    def convert(self, state: Mapping[str, torch.Tensor]) -> Converted:
        """Encoder tensors under ``backbone.`` of a ``timm_encoder`` ResNet."""
        prefix = self._matched_prefix(state)
        encoder = {k: v for k, v in with_prefix(state, prefix).items() if not k.startswith("fc.")}
        if prefix == "":  # bare keys: only the ResNet's own
            encoder = {k: v for k, v in encoder.items() if re.match(r"(conv1|bn1|layer\d)\.", k)}
        return _converted(
            self.name,
            encoder,
            resnet_target(encoder),
            "conv1.weight",
            input_size=224,
            dropped=_dropped(state, prefix, encoder),
            notes=[f"encoder keys under {prefix or '<root>'!r}"],
        )


def _unchunk(encoder: StateDict) -> StateDict:
    """DINOv2's chunked ``blocks.<chunk>.<i>.`` keys as ``blocks.<i>.``."""
    chunked = re.compile(r"blocks\.\d+\.(\d+)\.")
    if not any(chunked.match(k) for k in encoder):
        return encoder
    return {chunked.sub(r"blocks.\1.", k, count=1): v for k, v in encoder.items()}


def _vit_prefix(state: Mapping[str, torch.Tensor], patch: int, layer_scale: bool) -> str | None:
    prefix = find_prefix(state, "patch_embed.proj.weight", VIT_PREFIXES)
    if prefix is None or prefix + "pos_embed" not in state:
        return None
    weight = state[prefix + "patch_embed.proj.weight"]
    if weight.dim() != 4 or int(weight.shape[-1]) != patch:
        return None
    if int(weight.shape[1]) not in BANDS_BY_CHANNELS:
        return None
    has_scale = any(re.match(re.escape(prefix) + r"blocks\.(\d+\.)+ls1\.gamma$", k) for k in state)
    return prefix if has_scale == layer_scale else None


def _convert_vit(
    name: str, state: Mapping[str, torch.Tensor], prefix: str, licence_note: str
) -> Converted:
    raw = with_prefix(state, prefix)
    encoder = _unchunk(
        {k: v for k, v in raw.items() if not k.startswith(("decoder", "mask_token", "head"))}
    )
    encoder = {
        k: v
        for k, v in encoder.items()
        if re.match(r"(cls_token|pos_embed|patch_embed\.|blocks\.|norm\.|fc_norm\.)", k)
    }
    kept_raw = {
        k
        for k in raw
        if re.match(r"(cls_token|pos_embed|patch_embed\.|blocks\.|norm\.|fc_norm\.)", k)
    }
    target = vit_target(encoder, encoder["patch_embed.proj.weight"])
    return _converted(
        name,
        encoder,
        target,
        "patch_embed.proj.weight",
        input_size=int(target[1]["img_size"]),
        dropped=_dropped(state, prefix, {k: raw[k] for k in kept_raw}),
        notes=[f"encoder keys under {prefix or '<root>'!r}", licence_note],
    )


class SSL4EOViT(CheckpointImporter):
    """SSL4EO-S12 ViT-S/16, DINO (``module.backbone.``) or MAE (bare keys + decoder)."""

    name = "ssl4eo_vit"
    description = (
        "SSL4EO-S12 ViT/16 (DINO module.backbone., MAE with decoder_*), 13/12/2 channels "
        "-> timm vit_*_patch16_224"
    )
    licence = LICENCE

    def _prefix(self, state: Mapping[str, torch.Tensor]) -> str | None:
        """Key prefix of ``patch_embed.proj.weight [D, 13|12|2, 16, 16]`` without layer scale."""
        return _vit_prefix(state, 16, layer_scale=False)

    def convert(self, state: Mapping[str, torch.Tensor]) -> Converted:
        """Encoder tensors under ``backbone.`` of a ``timm_encoder`` ViT."""
        prefix = self._matched_prefix(state)
        return _convert_vit(self.name, state, prefix, "SSL4EO-S12 ViT")


class SoftConViT(CheckpointImporter):
    """SoftCon ViT-S/14, ViT-B/14: DINOv2 keys with 13 (S2 L1C) or 2 (S1) channels."""

    name = "softcon_vit"
    description = (
        "SoftCon ViT-S/14 / ViT-B/14 (DINOv2 keys with layer scale, pos_embed for 224 px), "
        "13 or 2 channels -> timm vit_*_patch14_dinov2"
    )
    licence = "see the SoftCon release (github zhu-xlab/softcon); not stated in the checkpoint"

    def _prefix(self, state: Mapping[str, torch.Tensor]) -> str | None:
        """Key prefix of ``patch_embed.proj.weight [D, 13|12|2, 14, 14]`` with layer scale."""
        return _vit_prefix(state, 14, layer_scale=True)

    def convert(self, state: Mapping[str, torch.Tensor]) -> Converted:
        """Encoder tensors under ``backbone.`` of a ``timm_encoder`` DINOv2 ViT."""
        prefix = self._matched_prefix(state)
        converted = _convert_vit(self.name, state, prefix, "SoftCon ViT (DINOv2 layout)")
        converted.notes.append(
            "normalisation: SSL4EO-S12 band statistics, assumed (SoftCon pretrains on "
            "SSL4EO-S12; its own statistics were not checked)"
        )
        return converted
