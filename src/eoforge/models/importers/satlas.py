"""SatlasPretrain checkpoints (github allenai/satlaspretrain_models): ResNet and Swin-v2.

ResNet layout: the backbone is torchvision's ResNet-50 or ResNet-152 under
``backbone.resnet.`` (its loader strips every ``backbone.`` and loads
``resnet.*``), ``conv1.weight [64, 9 | 3, 7, 7]``; the feature pyramid is under
``intermediates.0.fpn.*`` and task heads elsewhere. eoforge's target is timm's
ResNet of the same depth (identical key names below ``resnet.``); the FPN and
heads are dropped, and the embedding is layer 4 average-pooled. Multi-image
("MI") ResNet checkpoints have the same single-image backbone (the published
loader never wraps a ResNet in its temporal max-pooling), so they import the
same way for one image.

Bands (TorchGeo lists the same): 9 = Sentinel-2 TCI red, green, blue, then
B05, B06, B07, B08, B11, B12; 3 = TCI only. The first three channels were
trained on ESA's 8-bit true-colour image (TCI), not on reflectance; they are
named S2.B04, S2.B03, S2.B02 here. Published normalisation: TCI / 255 and the
other bands (L1C digital numbers) / 8160, clipped to [0, 1] (the clip is not
applied here). eoforge reads those Sentinel-2 bands as reflectance (``DN /
10000``, the registry's L1C scale), so the bundle stores the statistics
converted: std ``8160 / 10000 = 0.816`` for B05..B12, and for the TCI
channels std 0.3558, the L1C reflectance ESA's TCI maps to 255 (the TCI is
the reflectance coded linearly from 1 to 255 up to that level; its 8-bit
rounding and saturation are not reproduced, so reflectance bands given for
the TCI channels are an approximation). Sentinel-1 Swin checkpoints: no
normalisation is given here (the published 16-bit encoding is not eoforge's).

Swin-v2 layout: torchvision's ``swin_v2_b`` / ``swin_v2_t`` under
``backbone.backbone.`` (``backbone.backbone.backbone.`` for multi-image
checkpoints, whose temporal max-pooling reduces to the backbone for one
image): ``features.0.0`` patch convolution ``[D, C, 4, 4]``, ``features.0.2``
its LayerNorm, blocks ``features.{1,3,5,7}.{j}`` and patch merging
``features.{2,4,6}``, final ``norm``. eoforge's target is timm's
``swinv2_base_window8_256`` / ``swinv2_tiny_window8_256`` (same equations):
keys are renamed (``features.{2s+1}.{j}`` -> ``layers.{s}.blocks.{j}``,
``features.{2s+2}`` -> ``layers.{s+1}.downsample``, ``mlp.0/3`` ->
``mlp.fc1/fc2``), torchvision's packed ``attn.qkv.bias`` is split into timm's
``q_bias`` and ``v_bias`` (its key third is zeroed in torchvision's forward),
and the relative-position tables (recomputed by timm) are dropped. Channels:
9 = Sentinel-2 as above, 3 = Sentinel-2 TCI (aerial RGB checkpoints have the
same layout: give ``--bands RGB.red,RGB.green,RGB.blue``), 2 = Sentinel-1
VV, VH, 11 = Landsat 8/9 B1..B11 (published normalisation ``(x - 4000) /
16320`` on L1 digital numbers, clipped to [0, 1]). eoforge reads Landsat L1
reflective bands as TOA reflectance ``DN 2e-5 - 0.1`` (the registry's
default, without the sun-elevation correction an MTL adds), so B1..B9 get
mean -0.02 and std 0.3264; the thermal bands B10, B11 are read as brightness
temperature, which is not affine in DN: they get no published statistics
(give ``--mean/--std`` in kelvin for them, or leave them out).

Licence: ODC-BY (SatlasPretrain release; check the model card of the file you use).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from eoforge.errors import ConfigError
from eoforge.models.importers.base import (
    CheckpointImporter,
    Converted,
    PublishedNormalization,
    read_as,
    statistics_as_read,
    with_prefix,
)
from eoforge.models.importers.timm_targets import resnet_target, timm_converted
from eoforge.sensors import Radiometry

SATLAS_S2_BANDS = ["S2.B04", "S2.B03", "S2.B02", "S2.B05", "S2.B06",
                   "S2.B07", "S2.B08", "S2.B11", "S2.B12"]  # fmt: skip
_STD = (255.0, 255.0, 255.0, 8160.0, 8160.0, 8160.0, 8160.0, 8160.0, 8160.0)
TCI_L1C_SATURATION = 0.3558
"""L1C TOA reflectance coded as 255 in ESA's true-colour image (TCI), linear from 1."""
_TCI = Radiometry(scale=TCI_L1C_SATURATION / 255.0, unit="reflectance")
_STEM = "resnet.conv1.weight"
_SWIN_STEM = "features.0.0.weight"
SWIN_BANDS = {
    9: SATLAS_S2_BANDS,
    3: SATLAS_S2_BANDS[:3],
    2: ["S1.VV", "S1.VH"],
    11: [f"L8.B{i}" for i in range(1, 12)],
}
_SWINS: dict[tuple[int, tuple[int, ...]], str] = {
    (96, (2, 2, 6, 2)): "swinv2_tiny_window8_256",
    (128, (2, 2, 18, 2)): "swinv2_base_window8_256",
}


def _normalization(channels: int) -> PublishedNormalization:
    """TCI / 255 and DN / 8160, as statistics on the reflectance eoforge reads."""
    bands = SATLAS_S2_BANDS[:channels]
    reading = [_TCI] * 3 + read_as(bands[3:], "L1C")
    mean, std = statistics_as_read((0.0,) * channels, _STD[:channels], reading)
    return PublishedNormalization(
        mean=mean,
        std=std,
        note="SatlasPretrain: TCI (8-bit true colour) / 255, other bands (L1C digital numbers) "
        "/ 8160, clipped to [0, 1] in the published pipeline (not here); converted to the "
        f"reflectance eoforge reads: std {TCI_L1C_SATURATION} for the TCI channels (the "
        "reflectance ESA's TCI codes as 255; approximate), 0.816 for the others",
    )


class SatlasResNet(CheckpointImporter):
    """SatlasPretrain Sentinel-2 ResNet-50/152 backbone -> timm resnet."""

    name = "satlas_resnet"
    description = (
        "SatlasPretrain Sentinel-2 ResNet-50/152 (backbone.resnet.*, FPN intermediates.0.*), "
        "9 or 3 channels -> timm resnet"
    )
    licence = "ODC-BY (SatlasPretrain release; check the model card of the file you use)"

    def _prefix(self, state: Mapping[str, torch.Tensor]) -> str | None:
        """Key prefix of ``[backbone.]*resnet.conv1.weight [64, 9 | 3, 7, 7]``."""
        for key, tensor in state.items():
            if not key.endswith(_STEM):
                continue
            outer = key[: -len(_STEM)]
            if outer.replace("backbone.", "") != "" or tensor.dim() != 4:
                continue
            if int(tensor.shape[1]) in (3, 9) and outer + "resnet.layer4.0.conv1.weight" in state:
                return outer + "resnet."
        return None

    def convert(self, state: Mapping[str, torch.Tensor]) -> Converted:
        """The backbone under ``backbone.`` of a ``timm_encoder`` ResNet."""
        prefix = self._matched_prefix(state)
        encoder = {k: v for k, v in with_prefix(state, prefix).items() if not k.startswith("fc.")}
        channels = int(encoder["conv1.weight"].shape[1])
        dropped = {
            k: ("feature pyramid" if k.startswith("intermediates.") else "head / not the backbone")
            for k in state
            if not (k.startswith(prefix) and k[len(prefix) :] in encoder)
        }
        return timm_converted(
            self.name,
            encoder,
            resnet_target(encoder),
            stem="conv1.weight",
            bands=SATLAS_S2_BANDS[:channels],
            normalization=_normalization(channels),
            input_size=256,
            dropped=dropped,
            notes=["first three channels: TCI (8-bit true colour), named S2.B04, B03, B02"],
        )


SATLAS_S2_NORMALIZATION = _normalization(9)
"""The 9-band Sentinel-2 statistics (TCI red, green, blue, then B05..B12), in reflectance."""


def _swin_normalization(channels: int) -> PublishedNormalization | None:
    if channels in (9, 3):
        return _normalization(channels)
    if channels == 11:
        mean, std = statistics_as_read(
            (4000.0,) * 11, (16320.0,) * 11, read_as(SWIN_BANDS[11], "L1")
        )
        return PublishedNormalization(
            mean=mean,
            std=std,
            note="SatlasPretrain Landsat: (x - 4000) / 16320 on L1 digital numbers, clipped to "
            "[0, 1] in the published pipeline (not here); converted to the TOA reflectance "
            "eoforge reads by default (DN 2e-5 - 0.1, no sun-elevation correction): mean -0.02, "
            "std 0.3264 for B1..B9; none for the thermal B10, B11 (brightness temperature is not "
            "affine in DN: give --mean/--std in kelvin)",
        )
    return None


def swin_key(key: str) -> str:
    """The timm Swin-v2 name of a torchvision ``swin_v2_*`` key (``norm.*`` unchanged)."""
    found = re.match(r"features\.(\d+)\.(.*)", key)
    if found is None:
        return key
    index, rest = int(found.group(1)), found.group(2)
    if index == 0:
        return {"0": "patch_embed.proj", "2": "patch_embed.norm"}[rest.split(".")[0]] + rest[1:]
    if index % 2 == 1:
        block, inner = rest.split(".", 1)
        inner = re.sub(r"^mlp\.0\.", "mlp.fc1.", re.sub(r"^mlp\.3\.", "mlp.fc2.", inner))
        return f"layers.{(index - 1) // 2}.blocks.{block}.{inner}"
    return f"layers.{index // 2}.downsample.{rest}"


class SatlasSwin(CheckpointImporter):
    """SatlasPretrain Swin-v2 backbones (torchvision keys) -> timm Swin-v2."""

    name = "satlas_swin"
    description = (
        "SatlasPretrain Swin-v2-B/T (backbone.backbone.features.*), 9/3 S2, 2 S1 or 11 Landsat "
        "channels -> timm swinv2_*_window8_256"
    )
    licence = "ODC-BY (SatlasPretrain release; check the model card of the file you use)"

    def _prefix(self, state: Mapping[str, torch.Tensor]) -> str | None:
        """Key prefix of ``backbone.backbone.features.0.0.weight [D, 9|3|2|11, 4, 4]`` (Swin-v2)."""
        for key, tensor in state.items():
            if not key.endswith(_SWIN_STEM):
                continue
            outer = key[: -len(_SWIN_STEM)]
            if not outer or outer.replace("backbone.", "") != "" or tensor.dim() != 4:
                continue
            if (
                int(tensor.shape[1]) in SWIN_BANDS
                and outer + "features.1.0.attn.qkv.weight" in state
            ):
                return outer
        return None

    def convert(self, state: Mapping[str, torch.Tensor]) -> Converted:
        """The backbone under ``backbone.`` of a ``timm_encoder`` Swin-v2.

        Raises:
            ConfigError: A width or stage depths that are neither Swin-v2-T nor -B.
        """
        prefix = self._matched_prefix(state)
        raw = {
            k: v
            for k, v in with_prefix(state, prefix).items()
            if k.startswith(("features.", "norm."))
        }
        width = int(raw[_SWIN_STEM].shape[0])
        depths = tuple(
            len({k.split(".")[2] for k in raw if k.startswith(f"features.{2 * s + 1}.")})
            for s in range(4)
        )
        backbone = _SWINS.get((width, depths))
        if backbone is None:
            raise ConfigError(
                f"Satlas Swin-v2 of width {width} with stage depths {depths} is neither "
                "Swin-v2-T nor Swin-v2-B.",
                fix="convert the backbone to timm's Swin-v2 yourself.",
            )
        encoder: dict[str, torch.Tensor] = {}
        for key, tensor in raw.items():
            if key.endswith(("relative_coords_table", "relative_position_index")):
                continue  # timm recomputes them
            name = swin_key(key)
            if name.endswith("attn.qkv.bias"):
                third = tensor.numel() // 3
                encoder[name[: -len("qkv.bias")] + "q_bias"] = tensor[:third]
                encoder[name[: -len("qkv.bias")] + "v_bias"] = tensor[2 * third :]
                continue
            encoder[name] = tensor
        channels = int(raw[_SWIN_STEM].shape[1])
        used = {
            prefix + k
            for k in raw
            if not k.endswith(("relative_coords_table", "relative_position_index"))
        }
        return timm_converted(
            self.name,
            encoder,
            (backbone, {}),
            stem="patch_embed.proj.weight",
            bands=SWIN_BANDS[channels],
            normalization=_swin_normalization(channels),
            input_size=256,
            dropped={k: "feature pyramid / head / position tables" for k in state if k not in used},
            notes=[
                "torchvision Swin-v2 keys renamed to timm's; qkv bias split into q_bias, v_bias"
            ],
        )
