"""Prithvi (NASA/IBM, HLS) checkpoints: a ViT with a 3-D patch embedding.

Published layout (Prithvi-100M, ``Prithvi_100M.pt``; Prithvi-EO-2.0 puts the
same encoder under ``encoder.``): ``patch_embed.proj.weight [D, 6, t, p, p]``
(a Conv3d over ``t`` frames, tubelet ``t = 1`` in the published models),
``cls_token``, ``pos_embed [1, 1 + T g g, D]`` (fixed 3-D sine-cosine, frames
outermost, ``T`` frames of ``g x g`` patches), timm ``blocks.N.*`` and
``norm``; the MAE decoder (``decoder_*``, ``mask_token``, or ``decoder.``) is
dropped, as are Prithvi-EO-2.0's temporal/location encoders (they add nothing
when no dates or coordinates are given).

eoforge's target is timm's ViT of the same width for single-date images
(``T = 1``), a documented 2-D reduction:

* the patch kernel is the 3-D kernel summed over its ``t`` frames, which is
  exact for ``t = 1`` (the published models) and, for ``t > 1``, equals the
  3-D convolution of the image repeated over the tubelet;
* the position embedding keeps the class token's and the first frame's
  ``g x g`` rows, the ones Prithvi itself adds to a one-frame input.

Bands: HLS Blue, Green, Red, Narrow NIR, SWIR 1, SWIR 2, named by their
Sentinel-2 (HLS S30) bands: S2.B02, S2.B03, S2.B04, S2.B8A, S2.B11, S2.B12;
Landsat (HLS L30) inputs L8.B2..B7 map to them by name/wavelength through the
stem adaptation. Normalisation of Prithvi-100M: its config's ``data_mean`` =
775.23, 1080.99, 1228.59, 2497.20, 2204.21, 1610.83 and ``data_std`` =
1281.53, 1270.03, 1399.48, 1368.34, 1291.68, 1154.51 are HLS surface
reflectance x 10000; eoforge reads the Sentinel-2 bands they are named by as
reflectance (``DN / 10000``, the registry's L2A scale), so the bundle stores
them divided by 10000. Landsat bands (adapted stem) get no published
statistics: give ``--mean/--std`` in reflectance. Prithvi-EO-2.0's
statistics are left to the user.
Prithvi's LayerNorm eps (1e-5 in its model code unless set) may differ from
timm's 1e-6. Licence: Apache-2.0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from eoforge.errors import ConfigError
from eoforge.models.importers.base import (
    CheckpointImporter,
    Converted,
    PublishedNormalization,
    find_prefix,
    read_as,
    statistics_as_read,
    with_prefix,
)
from eoforge.models.importers.timm_targets import timm_converted, vit_target

PRITHVI_BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B8A", "S2.B11", "S2.B12"]
# Prithvi-100M's config: data_mean / data_std, HLS surface reflectance x 10000
PRITHVI_100M_MEAN = (775.2290211032589, 1080.992780391705, 1228.5855250417867,
                     2497.2022620507532, 2204.2139147975554, 1610.8324823273745)  # fmt: skip
PRITHVI_100M_STD = (1281.526139861424, 1270.0297974547493, 1399.4802505642526,
                    1368.3446143747644, 1291.6764008585435, 1154.505683480695)  # fmt: skip
_MEAN_READ, _STD_READ = statistics_as_read(
    PRITHVI_100M_MEAN, PRITHVI_100M_STD, read_as(PRITHVI_BANDS, "L2A")
)
PRITHVI_100M_NORMALIZATION = PublishedNormalization(
    mean=_MEAN_READ,
    std=_STD_READ,
    note="Prithvi-100M data_mean / data_std (HLS surface reflectance x 10000), divided by "
    "10000: eoforge reads the bands as reflectance",
)
PREFIXES = ("encoder.", "model.encoder.", "")
_ENCODER_PARTS = ("cls_token", "pos_embed", "patch_embed.", "blocks.", "norm.")


def _frames_and_grid(tokens: int, patch: int) -> tuple[int, int]:
    """``(T, g)`` with ``T g² = tokens``: a grid covering 224 px if any, else fewest frames."""
    options = [
        (frames, math.isqrt(tokens // frames))
        for frames in range(1, tokens + 1)
        if tokens % frames == 0 and math.isqrt(tokens // frames) ** 2 == tokens // frames
    ]
    return next((o for o in options if o[1] * patch == 224), options[0])


class PrithviViT(CheckpointImporter):
    """Prithvi-100M / Prithvi-EO-2.0 encoder -> timm ViT for single-date HLS images."""

    name = "prithvi"
    description = (
        "Prithvi-100M / EO-2.0 (3-D patch_embed.proj.weight [D, 6, t, p, p], encoder. or bare "
        "keys) -> timm ViT, single date (kernel summed over t)"
    )
    licence = "Apache-2.0"

    def _prefix(self, state: Mapping[str, torch.Tensor]) -> str | None:
        """Key prefix of a 5-D ``patch_embed.proj.weight [D, 6, t, p, p]`` with timm blocks."""
        prefix = find_prefix(state, "patch_embed.proj.weight", PREFIXES)
        if prefix is None or prefix + "blocks.0.attn.qkv.weight" not in state:
            return None
        weight = state[prefix + "patch_embed.proj.weight"]
        return prefix if weight.dim() == 5 and int(weight.shape[1]) == len(PRITHVI_BANDS) else None

    def convert(self, state: Mapping[str, torch.Tensor]) -> Converted:
        """The single-date encoder under ``backbone.`` of a ``timm_encoder`` ViT.

        Raises:
            ConfigError: The checkpoint has no ``pos_embed`` to take the rows from.
        """
        prefix = self._matched_prefix(state)
        raw = with_prefix(state, prefix)
        if "pos_embed" not in raw:
            raise ConfigError(
                f"the Prithvi checkpoint has no {prefix}pos_embed (it is computed at run time "
                "in this release); eoforge takes the first frame's rows from the stored one.",
                fix="re-save the model's state dict including pos_embed, or pass --importer "
                "with a timm-layout copy of the encoder.",
            )
        encoder = {k: v for k, v in raw.items() if k.startswith(_ENCODER_PARTS)}
        weight3d = encoder["patch_embed.proj.weight"]
        tubelet, patch = int(weight3d.shape[2]), int(weight3d.shape[-1])
        encoder["patch_embed.proj.weight"] = weight3d.sum(dim=2)
        pos = encoder["pos_embed"]
        frames, grid = _frames_and_grid(int(pos.shape[1]) - 1, patch)
        encoder["pos_embed"] = pos[:, : 1 + grid * grid].clone()
        dropped = {k: "decoder / not in the encoder" for k in state if not (
            k.startswith(prefix) and k[len(prefix):] in encoder)}  # fmt: skip
        return timm_converted(
            self.name,
            encoder,
            vit_target(encoder, encoder["patch_embed.proj.weight"]),
            stem="patch_embed.proj.weight",
            bands=PRITHVI_BANDS,
            normalization=PRITHVI_100M_NORMALIZATION if prefix == "" else None,
            input_size=grid * patch,
            dropped=dropped,
            notes=[
                f"3-D patch kernel (tubelet {tubelet}) summed over time"
                + (" (exact: tubelet 1)" if tubelet == 1 else " (image repeated over the tubelet)"),
                f"position rows of frame 1 of {frames} kept ({grid}x{grid} patches)",
                "HLS bands named as Sentinel-2 S30 bands",
            ],
        )
