"""SatlasPretrain ResNet checkpoints (github allenai/satlaspretrain_models).

Published layout: the backbone is torchvision's ResNet-50 or ResNet-152 under
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
applied here): give TCI-scaled values for the first three bands, or your own
--mean/--std. Not done: the Swin-v2 backbones (torchvision ``features.*`` keys
with relative-position MLPs do not map onto timm's Swin-v2 one to one) and the
Landsat / Sentinel-1 / aerial checkpoints, which are Swin only. Licence:
ODC-BY (SatlasPretrain release; check the model card of the file you use).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from eoforge.models.importers.base import (
    CheckpointImporter,
    Converted,
    PublishedNormalization,
    with_prefix,
)
from eoforge.models.importers.timm_targets import resnet_target, under_encoder

SATLAS_S2_BANDS = ["S2.B04", "S2.B03", "S2.B02", "S2.B05", "S2.B06",
                   "S2.B07", "S2.B08", "S2.B11", "S2.B12"]  # fmt: skip
_STD = (255.0, 255.0, 255.0, 8160.0, 8160.0, 8160.0, 8160.0, 8160.0, 8160.0)
_STEM = "resnet.conv1.weight"


def _normalization(channels: int) -> PublishedNormalization:
    return PublishedNormalization(
        mean=(0.0,) * channels,
        std=_STD[:channels],
        note="SatlasPretrain: TCI (8-bit true colour) / 255, other bands (L1C digital numbers) "
        "/ 8160, clipped to [0, 1] in the published pipeline (not here)",
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
        for key, tensor in state.items():
            if not key.endswith(_STEM):
                continue
            outer = key[: -len(_STEM)]
            if outer.replace("backbone.", "") != "" or tensor.dim() != 4:
                continue
            if int(tensor.shape[1]) in (3, 9) and outer + "resnet.layer4.0.conv1.weight" in state:
                return outer + "resnet."
        return None

    def matches(self, state: Mapping[str, torch.Tensor]) -> bool:
        """``backbone.resnet.conv1.weight [64, 9 | 3, 7, 7]`` (``backbone.`` repeated or not)."""
        return self._prefix(state) is not None

    def convert(self, state: Mapping[str, torch.Tensor]) -> Converted:
        """The backbone under ``backbone.`` of a ``timm_encoder`` ResNet."""
        prefix = self._prefix(state)
        assert prefix is not None, "convert() called on a state dict that does not match"
        encoder = {k: v for k, v in with_prefix(state, prefix).items() if not k.startswith("fc.")}
        backbone, options = resnet_target(encoder)
        channels = int(encoder["conv1.weight"].shape[1])
        dropped = {
            k: ("feature pyramid" if k.startswith("intermediates.") else "head / not the backbone")
            for k in state
            if not (k.startswith(prefix) and k[len(prefix) :] in encoder)
        }
        return Converted(
            importer=self.name,
            arch="timm_encoder",
            backbone=backbone,
            options=options,
            state=under_encoder(encoder),
            bands=SATLAS_S2_BANDS[:channels],
            stem_key="backbone.conv1.weight",
            normalization=_normalization(channels),
            input_size=256,
            dropped=dropped,
            notes=["first three channels: TCI (8-bit true colour), named S2.B04, B03, B02"],
        )
