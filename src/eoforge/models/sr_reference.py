"""Reference-guided super-resolution (``arch: sr_reference``): LR image + HR reference.

The reference is a high-resolution image of the same place at another date.
Deterministic (a feed-forward CNN, no diffusion sampling): the setting of
reference-guided methods such as CRefDiff, not their generative model.
Inputs, standardised per band like every super-resolution network
(:mod:`eoforge.models.sr_common`): ``x`` ``[B, C, h, w]`` and ``reference``
``[B, C, h s, w s]`` on the output grid. The network:

1. LR branch: a 3x3 head and ``blocks`` residual blocks (as ``sr_edsr``);
2. reference encoder: pixel-unshuffle by ``s`` (``[B, C s^2, h, w]``, every
   reference pixel kept), a 3x3 convolution and ``ref_blocks`` residual blocks,
   giving reference features at the LR feature resolution;
3. gated fusion: a per-pixel, per-channel sigmoid gate computed from both
   feature maps and the disagreement ``|avgpool_s(reference) - x|`` scales the
   reference features before they join the LR features (a changed reference
   is down-weighted where it disagrees with the input);
4. ``blocks`` residual blocks on the fused features, a pixel-shuffle
   upsampler and a 3x3 tail;
5. high-frequency injection at full resolution: the reference's detail
   ``reference - bicubic(avgpool_s(reference))`` times a per-band sigmoid gate
   computed from the upsampled features, that detail and the disagreement
   ``|reference - bicubic(x)|``;

added to the bicubic upsampling of ``x`` and mapped to physical units. Options:
``scale`` (2, 3, 4), ``features`` (32), ``blocks`` (4), ``ref_blocks`` (2),
``attention`` (true), ``reduction`` (8), ``res_scale`` (0.1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eoforge.errors import ConfigError
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec
from eoforge.models.sr_common import PixelShuffleUp, SRNetwork, option, sr_scale
from eoforge.models.sr_edsr import ResidualBlock

OPTIONS = ("scale", "features", "blocks", "ref_blocks", "attention", "reduction", "res_scale")
REFERENCE_ARCHS = ("sr_reference",)
"""Architectures whose forward takes a high-resolution reference."""


class ReferenceSR(SRNetwork):
    """LR branch + reference encoder, gated fusion, pixel-shuffle decoder, gated detail injection.

    Args:
        bands: Input, reference and output channels ``C``.
        scale: 2, 3 or 4.
        features: Feature channels.
        blocks: Residual blocks of the LR branch and of the fused body each.
        ref_blocks: Residual blocks of the reference encoder.
        attention: Channel attention in every residual block.
        reduction: Channel squeeze of the attention.
        res_scale: Residual scaling.
    """

    takes_reference = True

    def __init__(
        self,
        bands: int,
        scale: int = 4,
        features: int = 32,
        blocks: int = 4,
        ref_blocks: int = 2,
        attention: bool = True,
        reduction: int = 8,
        res_scale: float = 0.1,
    ) -> None:
        super().__init__(bands, scale)

        def residuals(n: int) -> list[nn.Module]:
            return [ResidualBlock(features, attention, reduction, res_scale) for _ in range(n)]

        self.lr_head = nn.Conv2d(bands, features, 3, padding=1)
        self.lr_body = nn.Sequential(*residuals(blocks))
        self.ref_head = nn.Sequential(
            nn.PixelUnshuffle(scale), nn.Conv2d(bands * scale * scale, features, 3, padding=1)
        )
        self.ref_body = nn.Sequential(*residuals(ref_blocks))
        self.gate = nn.Sequential(
            nn.Conv2d(2 * features + bands, features, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, features, 3, padding=1),
            nn.Sigmoid(),
        )
        self.fuse = nn.Conv2d(2 * features, features, 1)
        self.body = nn.Sequential(*residuals(blocks), nn.Conv2d(features, features, 3, padding=1))
        self.upsample = PixelShuffleUp(features, scale)
        self.tail = nn.Conv2d(features, bands, 3, padding=1)
        hidden = max(8, features // 2)
        self.detail_gate = nn.Sequential(
            nn.Conv2d(features + 2 * bands, hidden, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, bands, 3, padding=1),
        )
        nn.init.zeros_(self.tail.weight)  # starts as bicubic upsampling ...
        nn.init.zeros_(self.tail.bias)  # type: ignore[arg-type]  # Conv2d with bias=True
        last = self.detail_gate[-1]
        assert isinstance(last, nn.Conv2d)
        nn.init.zeros_(last.weight)  # ... plus half the reference's detail
        nn.init.zeros_(last.bias)  # type: ignore[arg-type]  # Conv2d with bias=True

    def reference_residual(self, x: Tensor, reference: Tensor) -> Tensor:
        """The residual over bicubic ``[B, C, h s, w s]``, standardised units.

        Args:
            x: Standardised input ``[B, C, h, w]``.
            reference: Standardised reference ``[B, C, h s, w s]``.
        """
        s = self.scale
        if reference.shape[-2:] != (x.shape[-2] * s, x.shape[-1] * s):
            raise ConfigError(
                f"the reference is {tuple(reference.shape[-2:])} px but the input "
                f"{tuple(x.shape[-2:])} px needs {x.shape[-2] * s}x{x.shape[-1] * s} at x{s}.",
                fix="read the reference on the output grid of the input's window.",
            )
        pooled = F.avg_pool2d(reference, s)
        lr = self.lr_head(x)
        lr = lr + self.lr_body(lr)
        ref = self.ref_head(reference)
        ref = ref + self.ref_body(ref)
        gate = self.gate(torch.cat([lr, ref, (pooled - x).abs()], dim=1))
        fused = lr + self.fuse(torch.cat([lr, gate * ref], dim=1))
        up = self.upsample(fused + self.body(fused))
        smooth = F.interpolate(pooled, scale_factor=s, mode="bicubic", align_corners=False)
        detail = reference - smooth
        upsampled = F.interpolate(x, scale_factor=s, mode="bicubic", align_corners=False)
        weight = torch.sigmoid(
            self.detail_gate(torch.cat([up, detail, (reference - upsampled).abs()], dim=1))
        )
        out: Tensor = self.tail(up) + weight * detail
        return out

    def forward(self, x: Tensor, reference: Tensor | None = None) -> Tensor:
        """Standardised ``x`` and ``reference`` to physical ``[B, C, h s, w s]``.

        Raises:
            ConfigError: No reference, or one that is not ``scale`` times the input's size.
        """
        if reference is None:
            raise ConfigError(
                "sr_reference needs a high-resolution reference of the place.",
                fix="give data items a reference (training) or --reference (eoforge predict).",
            )
        skip = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        out = skip + self.reference_residual(x, reference)
        return out * self.output_std[:, None, None] + self.output_mean[:, None, None]


def takes_reference(model: nn.Module) -> bool:
    """Whether ``model``'s forward reads a high-resolution reference as its second input."""
    return bool(getattr(model, "takes_reference", False))


@register_model(
    "sr_reference",
    ("super_resolution",),
    "reference-guided SR: LR branch + HR reference encoder, gated fusion, pixel-shuffle "
    "decoder, gated reference detail, bicubic skip (options: scale, features, blocks, "
    "ref_blocks, attention, reduction, res_scale)",
)
def _sr_reference(spec: ModelSpec) -> nn.Module:
    return ReferenceSR(
        spec.in_channels,
        sr_scale(spec),
        features=int(option(spec, "features", 32, OPTIONS)),
        blocks=int(option(spec, "blocks", 4, OPTIONS)),
        ref_blocks=int(option(spec, "ref_blocks", 2, OPTIONS)),
        attention=bool(option(spec, "attention", True, OPTIONS)),
        reduction=int(option(spec, "reduction", 8, OPTIONS)),
        res_scale=float(option(spec, "res_scale", 0.1, OPTIONS)),
    )
