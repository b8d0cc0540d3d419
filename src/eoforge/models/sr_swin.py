"""A small SwinIR-like window-attention network for single-frame super-resolution (``sr_swin``).

A 3x3 shallow convolution, ``stages`` residual stages of ``depth``
transformer blocks each (multi-head self-attention within ``window x window``
windows with a learnt relative-position bias, then an MLP; every second
block's windows are offset by half a window) closed by a 3x3 convolution,
then a pixel-shuffle upsampler and a 3x3 tail added to the bicubic
upsampling of the input (:class:`~eoforge.models.sr_common.SRNetwork`).
Offset windows are made by zero-padding the top-left edge, not by SwinIR's
cyclic roll, so no window joins opposite image edges; inputs of any size are
padded to whole windows and cropped back. Window positions follow the tile's
origin, so unlike the CNN its tiled predictions differ slightly from untiled
ones. Options: ``scale`` (2, 3, 4), ``dim`` (48), ``stages`` (2), ``depth``
(2), ``heads`` (4), ``window`` (8), ``mlp_ratio`` (2.0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eoforge.errors import ConfigError
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec
from eoforge.models.sr_common import PixelShuffleUp, SRNetwork, option, sr_scale

OPTIONS = ("scale", "dim", "stages", "depth", "heads", "window", "mlp_ratio")


class WindowAttention(nn.Module):
    """Multi-head self-attention over the tokens of each window, with relative-position bias.

    Args:
        dim: Token width.
        heads: Attention heads (``dim`` must be a multiple).
        window: Window side, tokens.
    """

    relative_index: Tensor

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        coords = torch.stack(
            torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
        ).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("relative_index", rel[..., 0] * (2 * window - 1) + rel[..., 1])

    def forward(self, x: Tensor) -> Tensor:
        """``[N, T, D]`` tokens of ``N`` windows to the same shape."""
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.bias_table[self.relative_index.reshape(-1)].reshape(t, t, -1)
        out = F.scaled_dot_product_attention(
            qkv[0], qkv[1], qkv[2], attn_mask=bias.permute(2, 0, 1)[None]
        )
        result: Tensor = self.proj(out.transpose(1, 2).reshape(n, t, d))
        return result


class SwinBlock(nn.Module):
    """LayerNorm-attention and LayerNorm-MLP, each with a residual, on ``[B, D, H, W]`` maps."""

    def __init__(self, dim: int, heads: int, window: int, offset: bool, mlp_ratio: float) -> None:
        super().__init__()
        self.window = window
        self.offset = window // 2 if offset else 0
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        """``[B, D, H, W]`` to the same shape."""
        b, d, h, w = x.shape
        ws, o = self.window, self.offset
        pad_h, pad_w = (-(h + o)) % ws, (-(w + o)) % ws
        y = F.pad(self.norm1(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), (o, pad_w, o, pad_h))
        hh, ww = y.shape[-2:]
        tokens = (
            y.reshape(b, d, hh // ws, ws, ww // ws, ws)
            .permute(0, 2, 4, 3, 5, 1)
            .reshape(-1, ws * ws, d)
        )
        attended = self.attn(tokens).reshape(b, hh // ws, ww // ws, ws, ws, d)
        attended = attended.permute(0, 5, 1, 3, 2, 4).reshape(b, d, hh, ww)
        x = x + attended[:, :, o : o + h, o : o + w]
        z = x.permute(0, 2, 3, 1)
        out: Tensor = (z + self.mlp(self.norm2(z))).permute(0, 3, 1, 2)
        return out


class SwinStage(nn.Module):
    """``depth`` blocks (alternately offset) and a 3x3 convolution, with a residual."""

    def __init__(self, dim: int, depth: int, heads: int, window: int, mlp_ratio: float) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            *(SwinBlock(dim, heads, window, i % 2 == 1, mlp_ratio) for i in range(depth))
        )
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        """``[B, D, H, W]`` to the same shape."""
        out: Tensor = x + self.conv(self.blocks(x))
        return out


class SwinSR(SRNetwork):
    """The SwinIR-like network (see the module docstring for the options)."""

    def __init__(
        self,
        bands: int,
        scale: int = 4,
        dim: int = 48,
        stages: int = 2,
        depth: int = 2,
        heads: int = 4,
        window: int = 8,
        mlp_ratio: float = 2.0,
    ) -> None:
        super().__init__(bands, scale)
        if dim % heads:
            raise ConfigError(
                f"model.options.dim {dim} is not a multiple of heads {heads}.",
                fix="make dim a multiple of heads.",
            )
        self.head = nn.Conv2d(bands, dim, 3, padding=1)
        self.stages = nn.Sequential(
            *(SwinStage(dim, depth, heads, window, mlp_ratio) for _ in range(stages))
        )
        self.body_conv = nn.Conv2d(dim, dim, 3, padding=1)
        self.upsample = PixelShuffleUp(dim, scale)
        self.tail = nn.Conv2d(dim, bands, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # starts as bicubic upsampling
        nn.init.zeros_(self.tail.bias)  # type: ignore[arg-type]  # Conv2d with bias=True

    def residual(self, x: Tensor) -> Tensor:
        """Standardised ``[B, C, h, w]`` to the residual ``[B, C, h s, w s]``."""
        f = self.head(x)
        out: Tensor = self.tail(self.upsample(f + self.body_conv(self.stages(f))))
        return out


@register_model(
    "sr_swin",
    ("super_resolution",),
    "small SwinIR-like window-attention network with pixel-shuffle upsampler and bicubic skip "
    "(options: scale, dim, stages, depth, heads, window, mlp_ratio)",
)
def _sr_swin(spec: ModelSpec) -> nn.Module:
    return SwinSR(
        spec.in_channels,
        sr_scale(spec),
        dim=int(option(spec, "dim", 48, OPTIONS)),
        stages=int(option(spec, "stages", 2, OPTIONS)),
        depth=int(option(spec, "depth", 2, OPTIONS)),
        heads=int(option(spec, "heads", 4, OPTIONS)),
        window=int(option(spec, "window", 8, OPTIONS)),
        mlp_ratio=float(option(spec, "mlp_ratio", 2.0, OPTIONS)),
    )
