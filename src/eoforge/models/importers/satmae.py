"""SatMAE group-channel ViT checkpoints, and the ViT they need.

SatMAE (github sustainlab-group/SatMAE, ``models_vit_group_channels.py`` and
``models_mae_group_channels.py``) embeds each *group* of bands with its own
patch embedding and gives every group its own tokens; timm's ViT has no such
input, and eoforge's SpectralViT generates its kernels instead of storing them,
so this module implements SatMAE's encoder for the published tensors:

* ``patch_embed.{g}.proj.weight [D, |group g|, p, p]`` (and bias) per group;
* ``pos_embed [1, 1 + L, D - c]`` (fixed 2-D sine-cosine) and
  ``channel_embed [1, G, c]`` (1-D sine-cosine over the groups): token
  ``(g, l)`` gets ``[pos_l, channel_g]`` added; tokens are group-major;
* the class token gets ``[pos_0, channel_cls_embed]`` (the fine-tuning model's
  key; the MAE encoder adds nothing, which is the same because ``pos_0`` is the
  zero row of the sine-cosine table and ``channel_cls_embed`` starts at zero,
  so a checkpoint without it leaves it at zero);
* timm ``blocks`` (LayerNorm eps 1e-6), then ``norm`` and the class token, or
  (fine-tuned with global pooling) the mean patch token through ``fc_norm``.

Bands: SatMAE's fMoW-Sentinel models take the 13 Sentinel-2 bands without
B01, B09 and B10: S2.B02, B03, B04, B05, B06, B07, B08, B8A, B11, B12, in
groups (B02, B03, B04, B08), (B05, B06, B07, B8A), (B11, B12) (their default
``channel_groups`` ``((0, 1, 2, 6), (3, 4, 5, 7), (8, 9))``). The bands can be
given in any order (each group picks its channels by name); every band of
every group is needed. Normalisation: SatMAE's ``SentinelNormalize`` with the
fMoW-Sentinel band statistics (its ``util/datasets.py``, L1C digital numbers
of the 13 bands, listed below as ``_MEAN_13``/``_STD_13``),
``(x - (mean - 2 std)) / (4 std)`` clipped to [0, 1] (the clip is not applied
here). eoforge reads Sentinel-2 as reflectance (``DN / 10000``, the registry's
L1C scale), so the bundle stores mean ``(mean - 2 std) / 10000`` and std
``4 std / 10000``: the same normalised input (for products before processing
baseline 04.00, whose DNs carry no offset; eoforge removes that offset from
later ones). SatMAE++ (github techmn/satmae_pp)
fine-tunes the same group-channel encoder (its ``models_vit_group_channels.py``
has the same modules and forward), so its fine-tuned multispectral checkpoints
import the same way; its pretraining checkpoints were not checked. Other band
groupings are refused: not done. Licence: none found in the SatMAE repository
files read; check the release of the file you use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

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
from eoforge.models.importers.vit_parts import (
    PooledViT,
    build_bound,
    check_pool,
    final_norm,
    vit_options,
)
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec

SATMAE_BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B05", "S2.B06",
                "S2.B07", "S2.B08", "S2.B8A", "S2.B11", "S2.B12"]  # fmt: skip
SATMAE_GROUPS = [["S2.B02", "S2.B03", "S2.B04", "S2.B08"],
                 ["S2.B05", "S2.B06", "S2.B07", "S2.B8A"],
                 ["S2.B11", "S2.B12"]]  # fmt: skip
# fMoW-Sentinel statistics of the 13 bands (B01..B12 with B8A), SatMAE's util/datasets.py
_MEAN_13 = (1370.19151926, 1184.3824625, 1120.77120066, 1136.26026392, 1263.73947144,
            1645.40315151, 1846.87040806, 1762.59530783, 1972.62420416, 582.72633433,
            14.77112979, 1732.16362238, 1247.91870117)  # fmt: skip
_STD_13 = (633.15169573, 650.2842772, 712.12507725, 965.23119807, 948.9819932,
           1108.06650639, 1258.36394548, 1233.1492281, 1364.38688993, 472.37967789,
           14.3114637, 1310.36996126, 1087.6020813)  # fmt: skip
_KEPT = (1, 2, 3, 4, 5, 6, 7, 8, 11, 12)  # B01, B09, B10 dropped
_MEAN_READ, _STD_READ = statistics_as_read(
    [_MEAN_13[i] - 2 * _STD_13[i] for i in _KEPT],
    [4 * _STD_13[i] for i in _KEPT],
    read_as(SATMAE_BANDS, "L1C"),
)
SATMAE_NORMALIZATION = PublishedNormalization(
    mean=_MEAN_READ,
    std=_STD_READ,
    note="SatMAE SentinelNormalize with fMoW-Sentinel statistics: x' = (x - (mean - 2 std)) "
    "/ (4 std) on L1C digital numbers, converted to reflectance (DN / 10000) as eoforge reads "
    "Sentinel-2; the published pipeline also clips to [0, 1], which is not applied here",
)
PREFIXES = ("", "module.", "model.", "encoder.", "backbone.")


class GroupChannelViT(PooledViT):
    """SatMAE's group-channel encoder bound to bands: ``[B, C, H, W] -> [B, D]``.

    Args:
        bands: Input band names, in channel order.
        groups: Band names of each group, in the order of the group's kernel.
        embed_dim: Token width ``D``.
        channel_dim: Width ``c`` of the group embedding (``pos_embed`` has ``D - c``).
        depth: Transformer blocks.
        num_heads: Attention heads.
        mlp_ratio: Hidden width of the block MLPs over ``D``.
        img_size: Image side of the position grid (``H = W = img_size``).
        patch_size: Patch side ``p``.
        pool: ``cls`` (``norm``, class token) or ``avg`` (mean patch token, ``fc_norm``).

    Raises:
        ConfigError: A group band is not an input band, an input band is in no
            group, or ``pool`` is unknown.
    """

    def __init__(
        self,
        bands: Sequence[str],
        groups: Sequence[Sequence[str]] = tuple(SATMAE_GROUPS),
        embed_dim: int = 768,
        channel_dim: int = 256,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        img_size: int = 96,
        patch_size: int = 8,
        pool: str = "cls",
    ) -> None:
        super().__init__()
        check_pool(pool)
        names = list(bands)
        missing = [b for group in groups for b in group if b not in names]
        extra = [b for b in names if all(b not in group for group in groups)]
        if missing or extra:
            raise ConfigError(
                f"SatMAE's groups need bands {missing or 'none'} and have no place for "
                f"{extra or 'none'} (groups: {[list(g) for g in groups]}).",
                fix="give exactly the bands of the groups, in any order.",
            )
        self.group_index = [[names.index(b) for b in group] for group in groups]
        self.num_features, self.patch_size = embed_dim, patch_size
        grid = img_size // patch_size
        self.patch_embed = nn.ModuleList(_PatchConv(len(g), embed_dim, patch_size) for g in groups)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, embed_dim - channel_dim))
        self.channel_embed = nn.Parameter(torch.zeros(1, len(groups), channel_dim))
        self.channel_cls_embed = nn.Parameter(torch.zeros(1, 1, channel_dim))
        self._add_blocks(embed_dim, depth, num_heads, mlp_ratio, pool)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Embeddings ``[B, D]`` of images ``[B, C, H, W]`` (``H = W = img_size``)."""
        per_group = [
            embed(image[:, index])
            for embed, index in zip(self.patch_embed, self.group_index, strict=True)
        ]
        x = torch.stack(per_group, dim=1)  # [B, G, L, D]
        b, groups, length, _ = x.shape
        pos = self.pos_embed[:, 1:].unsqueeze(1).expand(-1, groups, -1, -1)
        channel = self.channel_embed.unsqueeze(2).expand(-1, -1, length, -1)
        x = (x + torch.cat([pos, channel], dim=-1)).reshape(b, groups * length, -1)
        cls = self.cls_token + torch.cat([self.pos_embed[:, :1], self.channel_cls_embed], dim=-1)
        return self._blocks_and_pool(torch.cat([cls.expand(b, -1, -1), x], dim=1))


class _PatchConv(nn.Module):
    """timm PatchEmbed's keys: ``proj`` convolution, ``[B, C, H, W] -> [B, L, D]``."""

    def __init__(self, channels: int, dim: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(channels, dim, patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens ``[B, (H / p) (W / p), D]``."""
        out: torch.Tensor = self.proj(x).flatten(2).transpose(1, 2)
        return out


@register_model(
    "group_channel_vit",
    ("embedding",),
    "SatMAE's group-channel ViT (one patch embedding and token set per band group)",
)
def _group_channel_vit(spec: ModelSpec) -> nn.Module:
    return build_bound(
        "group_channel_vit",
        GroupChannelViT,
        spec,
        "groups, embed_dim, channel_dim, depth, num_heads, mlp_ratio, img_size, patch_size, pool",
    )


class SatMAEImporter(CheckpointImporter):
    """SatMAE group-channel ViT (fine-tuned or MAE encoder) -> ``group_channel_vit``."""

    name = "satmae"
    description = (
        "SatMAE group-channel ViT (patch_embed.{0,1,2}.proj, channel_embed; MAE or fine-tuned) "
        "-> group_channel_vit, 10 S2 bands in 3 groups"
    )
    licence = "none found in the SatMAE repository files read; check the release"

    def _prefix(self, state: Mapping[str, torch.Tensor]) -> str | None:
        """Key prefix of per-group ``patch_embed.{g}.proj.weight`` with ``channel_embed``."""
        prefix = find_prefix(state, "patch_embed.0.proj.weight", PREFIXES)
        if prefix is None or prefix + "channel_embed" not in state:
            return None
        return prefix if prefix + "pos_embed" in state else None

    def convert(self, state: Mapping[str, torch.Tensor]) -> Converted:
        """The encoder's tensors under ``group_channel_vit``'s (identical) key names.

        Raises:
            ConfigError: Group sizes other than SatMAE's (4, 4, 2), or no final norm.
        """
        prefix = self._matched_prefix(state)
        raw = with_prefix(state, prefix)
        count = 1 + max(int(k.split(".")[1]) for k in raw if k.startswith("patch_embed."))
        sizes = [int(raw[f"patch_embed.{g}.proj.weight"].shape[1]) for g in range(count)]
        if sizes != [len(g) for g in SATMAE_GROUPS]:
            raise ConfigError(
                f"SatMAE checkpoint with band groups of sizes {sizes}; eoforge knows the "
                f"published grouping of sizes 4, 4, 2 only.",
                fix="other groupings are not supported yet; convert the encoder yourself.",
            )
        pool = "avg" if "fc_norm.weight" in raw else "cls"
        if pool == "cls" and "norm.weight" not in raw:
            raise ConfigError(
                "the SatMAE checkpoint has neither norm nor fc_norm.",
                fix="give the encoder's full state dict.",
            )
        weight = raw["patch_embed.0.proj.weight"]
        embed_dim, patch = int(weight.shape[0]), int(weight.shape[-1])
        options: dict[str, Any] = {
            "groups": [list(g) for g in SATMAE_GROUPS],
            "channel_dim": int(raw["channel_embed"].shape[-1]),
            **vit_options(raw, embed_dim, patch, pool),
        }
        parts = (
            "patch_embed.",
            "cls_token",
            "pos_embed",
            "channel_embed",
            "channel_cls_embed",
            "blocks.",
            final_norm(pool),
        )
        kept = {k: v for k, v in raw.items() if k.startswith(parts)}
        notes = [f"pool {pool}", f"{count} band groups"]
        if "channel_cls_embed" not in raw:
            notes.append("MAE encoder: channel_cls_embed left at zero (the MAE adds none)")
        return Converted(
            importer=self.name,
            arch="group_channel_vit",
            backbone="satmae",
            options=options,
            state=kept,
            bands=list(SATMAE_BANDS),
            stem_key=None,
            normalization=SATMAE_NORMALIZATION,
            input_size=int(options["img_size"]),
            optional_keys=frozenset({"channel_cls_embed"}),
            dropped={prefix + k: "decoder / head" for k in raw if k not in kept},
            notes=notes,
        )
