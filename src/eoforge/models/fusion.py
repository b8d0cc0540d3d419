"""Multi-input segmentation: one encoder per input group at its own resolution, one decoder.

Samples with several inputs (``data.inputs``: e.g. Sentinel-2 at 10 m, Sentinel-1
at 20 m, a DSM at 1 m) hold one image per group on the group's own grid over the
same footprint. :class:`FusionUNet` runs one encoder per group on its native
pixels, brings every level of every group's feature pyramid to the reference
group's scale (the grid of the labels and the output; bilinear resizing), fuses
the groups level by level and decodes once:

* ``fuse: concat`` concatenates the groups' features and one presence plane per
  group (1 where the group is present, 0 where not);
* ``fuse: gated`` weighs the groups per pixel by a softmax over gate logits
  computed from all groups' features and presence planes, absent groups
  excluded, and sums them (every group needs the same feature widths, which one
  backbone for all groups gives);
* ``fuse: late`` decodes every group on its own (one U-Net decoder and head
  per group, on its features brought to the reference scale) and averages the
  groups' logits over the groups present in each sample, weighted by a softmax
  of one learned weight per group (``late_weights: learned``, starting equal)
  or equally (``late_weights: mean``).

A group absent from a sample (no raster covers the footprint) arrives as zeros
with ``present`` False; its features are zeroed, so it contributes nothing but
its presence flag. ``modality_dropout: p`` drops each present group of each
training sample with probability ``p`` the same way (never every group of a
sample), so the network learns to do without any one input.

Contract: ``forward(images, present)`` with ``images`` a dict of standardised
``[B, C_g, H_g, W_g]`` tensors (one per group, channels in the group's band
order) and ``present`` a dict of bool ``[B]``; returns logits ``[B, K, H, W]``
on the reference group's grid (``H, W`` of its image).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.backbones import feature_channels, smp_encoder
from eoforge.models.decoder import DEFAULT_DECODER_CHANNELS, UNetDecoder
from eoforge.models.layers import pad_to_multiple
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec

Fuse = Literal["concat", "gated", "late"]
FUSIONS = ("concat", "gated", "late")
LATE_WEIGHTS = ("learned", "mean")
FUSION_ARCHS = ("fusion_unet",)
"""Architectures taking several input groups (``data.inputs``)."""
GATE_OFF = -1.0e4
"""Gate logit of an absent group (its softmax weight underflows to 0)."""


def input_groups(spec: ModelSpec) -> dict[str, dict[str, Any]]:
    """The spec's input groups, ``{name: {"bands": [...], "gsd": float}}``, checked.

    Raises:
        ConfigError: No groups, or their bands (in group order) are not ``spec.in_bands``.
    """
    groups = spec.options.get("inputs")
    if not isinstance(groups, dict) or not groups:
        raise ConfigError(
            f"model.arch {spec.arch!r} needs input groups (options.inputs), and none were given.",
            fix="name the groups in data.inputs (training fills options.inputs from them).",
        )
    joined = [band for group in groups.values() for band in group["bands"]]
    if joined != list(spec.in_bands):
        raise ConfigError(
            f"options.inputs lists the bands {joined}, but in_bands is {list(spec.in_bands)}.",
            fix="give in_bands as the groups' bands, group after group.",
        )
    return groups


def reference_name(groups: dict[str, dict[str, Any]], given: str | None) -> str:
    """The reference group: ``given``, else the finest (first of ties).

    Raises:
        ConfigError: ``given`` is not a group.
    """
    if given is None:
        return min(groups, key=lambda name: float(groups[name]["gsd"]))
    if given not in groups:
        raise ConfigError(
            f"options.reference {given!r} is not an input group ({', '.join(groups)}).",
            fix="name one of the groups.",
        )
    return given


def require_groups(
    names: list[str], images: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
) -> None:
    """Refuse a forward call missing a group's image or presence flag (ConfigError)."""
    missing = [n for n in names if n not in images or n not in present]
    if missing:
        raise ConfigError(
            f"the network takes the input groups {names}; {missing} not given.",
            fix="pass one image and one presence flag per group.",
        )


def presence_flags(
    like: torch.Tensor, present: dict[str, torch.Tensor], names: list[str], dropout: float
) -> torch.Tensor:
    """Presence ``[B, G]`` of the groups ``names``, as ``like``'s dtype and device.

    Args:
        like: Any ``[B, ...]`` input tensor (batch size, device, dtype).
        present: Per group, bool ``[B]``.
        names: Group order of the columns.
        dropout: Probability of dropping each present group (modality dropout; 0 in
            evaluation); a sample never loses every group: its first present one stays.
    """
    batch, device = like.shape[0], like.device
    flags = torch.stack(
        [present[n].to(device=device, dtype=torch.bool).reshape(batch) for n in names], dim=1
    )
    if dropout > 0:
        kept = flags & (torch.rand(flags.shape, device=device) >= dropout)
        lost = ~kept.any(dim=1) & flags.any(dim=1)
        first = torch.zeros_like(flags)
        first[torch.arange(batch, device=device), flags.int().argmax(dim=1)] = True
        flags = torch.where(lost[:, None], flags & first, kept)
    return flags.to(like.dtype)


def _resized(feature: torch.Tensor, extent: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
    """``feature`` cut to its unpadded ``extent`` and resized to ``size`` (bilinear)."""
    cut = feature[..., : extent[0], : extent[1]]
    if tuple(cut.shape[-2:]) == size:
        return cut
    return F.interpolate(cut, size=size, mode="bilinear", align_corners=False)


class FusionUNet(nn.Module):
    """Per-group encoders at native resolution, features fused at a common scale, one U-Net decoder.

    Args:
        spec: Model spec. ``options``: ``inputs`` (``{name: {bands, gsd}}``,
            filled from ``data.inputs``), ``reference`` (the group of the output
            grid; default the finest), ``fuse`` (``concat`` or ``gated``),
            ``late_weights`` (``learned`` or ``mean``, late fusion only),
            ``modality_dropout`` (probability, training only), ``encoder_depth``
            (default 5) and ``decoder_channels`` (deep to shallow). ``backbone``
            is any smp encoder or ``tu-<timm model>``; each group's encoder
            takes its own band count.

    Raises:
        ConfigError: Bad groups or options.
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        options = spec.options
        groups = input_groups(spec)
        self.names = list(groups)
        self.reference = reference_name(groups, options.get("reference"))
        fuse = str(options.get("fuse", "concat"))
        if fuse not in FUSIONS:
            raise ConfigError(
                f"model.options.fuse: unknown fusion {fuse!r}.", fix=f"use one of {FUSIONS}."
            )
        self.fuse: Fuse = "gated" if fuse == "gated" else "late" if fuse == "late" else "concat"
        late_weights = str(options.get("late_weights", "learned"))
        if late_weights not in LATE_WEIGHTS:
            raise ConfigError(
                f"model.options.late_weights: unknown weighting {late_weights!r}.",
                fix=f"use one of {LATE_WEIGHTS}.",
            )
        self.dropout = float(options.get("modality_dropout", 0.0))
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(
                f"model.options.modality_dropout: {self.dropout} is not a probability in [0, 1).",
                fix="use e.g. 0.2 (or 0 for none).",
            )
        depth = int(options.get("encoder_depth", 5))
        self.multiple = 2**depth
        self.encoders = nn.ModuleDict(
            {name: smp_encoder(spec.backbone, len(groups[name]["bands"]), depth) for name in groups}
        )
        widths = {name: feature_channels(self.encoders[name]) for name in self.names}
        count = len(self.names)
        if self.fuse == "gated":
            if len({tuple(w) for w in widths.values()}) != 1:
                raise ConfigError(
                    "model.options.fuse: gated fusion sums the groups' features, but their "
                    f"widths differ ({widths}).",
                    fix="use one backbone for every group, or fuse: concat.",
                )
            levels = widths[self.names[0]]
            self.gates = nn.ModuleList(nn.Conv2d(c * count + count, count, 1) for c in levels)
            fused = list(levels)
        else:
            fused = [sum(w[i] for w in widths.values()) + count for i in range(depth)]
        decoder = tuple(options.get("decoder_channels", DEFAULT_DECODER_CHANNELS))
        if self.fuse == "late":
            decoders = {name: UNetDecoder(widths[name], decoder) for name in self.names}
            self.decoders = nn.ModuleDict(decoders)
            self.heads = nn.ModuleDict(
                {
                    name: nn.Conv2d(decoders[name].out_channels, spec.num_classes, 3, padding=1)
                    for name in self.names
                }
            )
            # one logit per group; a fixed zero vector (equal weights) for `mean`
            self.late_logits = nn.Parameter(
                torch.zeros(count), requires_grad=late_weights == "learned"
            )
            return
        self.decoder = UNetDecoder(fused, decoder)
        self.head = nn.Conv2d(self.decoder.out_channels, spec.num_classes, 3, padding=1)

    def _presence(
        self, images: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Presence ``[B, G]`` (float), with modality dropout applied in training."""
        drop = self.dropout if self.training else 0.0
        return presence_flags(images[self.reference], present, self.names, drop)

    def forward(
        self, images: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Logits ``[B, K, H, W]`` on the reference group's grid.

        Args:
            images: Per group, standardised ``[B, C_g, H_g, W_g]`` (zeros where absent).
            present: Per group, bool ``[B]``.
        """
        require_groups(self.names, images, present)
        flags = self._presence(images, present)
        height, width = images[self.reference].shape[-2:]
        padded_h = math.ceil(height / self.multiple) * self.multiple
        padded_w = math.ceil(width / self.multiple) * self.multiple
        pyramids: list[list[torch.Tensor]] = []
        for g, name in enumerate(self.names):
            on = flags[:, g].view(-1, 1, 1, 1)
            x = images[name] * on
            group_h, group_w = x.shape[-2:]
            padded, _ = pad_to_multiple(x, self.multiple)
            levels = []
            for i, feature in enumerate(self.encoders[name](padded)[1:]):
                stride = 2 ** (i + 1)
                extent = (math.ceil(group_h / stride), math.ceil(group_w / stride))
                size = (math.ceil(height / stride), math.ceil(width / stride))
                scaled = _resized(feature, extent, size)
                pad = (0, padded_w // stride - size[1], 0, padded_h // stride - size[0])
                levels.append(F.pad(scaled, pad) * on)
            pyramids.append(levels)
        if self.fuse == "late":
            return self._late(pyramids, flags)[..., :height, :width]
        fused = [self._fuse(i, [p[i] for p in pyramids], flags) for i in range(len(pyramids[0]))]
        decoded = self.decoder(fused)
        logits: torch.Tensor = self.head(decoded)
        return logits[..., :height, :width]

    def _late(self, pyramids: list[list[torch.Tensor]], flags: torch.Tensor) -> torch.Tensor:
        """Each group decoded alone; logits ``[B, K, h, w]`` averaged over the present groups.

        The weights are a softmax of :attr:`late_logits` over the groups present
        in each sample (an absent group weighs 0; a sample with no group gets 0).
        """
        weights = self.group_weights(flags > 0)  # [B, G]
        out: torch.Tensor | None = None
        for g, name in enumerate(self.names):
            logits = self.heads[name](self.decoders[name](pyramids[g]))
            term = weights[:, g].view(-1, 1, 1, 1) * logits
            out = term if out is None else out + term
        assert out is not None
        return out

    def group_weights(self, present: torch.Tensor) -> torch.Tensor:
        """Late fusion's weight of each group ``[B, G]`` for presence flags ``[B, G]`` (bool)."""
        flags = present.to(self.late_logits.dtype)
        masked = torch.where(flags > 0, self.late_logits[None, :], torch.full_like(flags, GATE_OFF))
        return torch.softmax(masked, dim=1) * flags

    def _fuse(self, level: int, features: list[torch.Tensor], flags: torch.Tensor) -> torch.Tensor:
        """Level ``level``: ``G`` maps ``[B, C, h, w]`` and presence ``[B, G]`` -> the fused map."""
        planes = flags[:, :, None, None].expand(-1, -1, *features[0].shape[-2:])
        if self.fuse == "concat":
            return torch.cat([*features, planes], dim=1)
        if features[0].shape[1] == 0:
            return features[0]
        logits = self.gates[level](torch.cat([*features, planes], dim=1))
        logits = torch.where(planes > 0, logits, torch.full_like(logits, GATE_OFF))
        weights = torch.softmax(logits, dim=1) * planes
        stacked = torch.stack(features, dim=1)  # [B, G, C, h, w]
        return (weights.unsqueeze(2) * stacked).sum(dim=1)


@register_model(
    "fusion_unet",
    ("segmentation",),
    "several input groups (data.inputs), one encoder each at its native resolution, features "
    "fused (concat or gated) at the label grid's scale, one U-Net decoder, or decoded per "
    "group and their logits averaged (late); modality dropout",
)
def _fusion_unet(spec: ModelSpec) -> nn.Module:
    return FusionUNet(spec)
