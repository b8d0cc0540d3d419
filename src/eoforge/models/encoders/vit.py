"""SpectralViT: a Vision Transformer whose patch embedding is generated per band set.

Images ``[B, C, H, W]`` of any named bands (H and W multiples of the patch
size ``p``) -> :class:`~eoforge.models.encoders.patch_embed.SpectralPatchEmbed`
tokens ``[B, N, D]`` + fixed 2-D sin-cos positions + a class token -> timm
transformer blocks -> final LayerNorm. Positions are computed for the actual
patch grid in patch units (MAE's formula, so MAE-style checkpoints line up at
their training size), hence any input size works without interpolating a
stored table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import torch
from timm.models.vision_transformer import Block
from torch import nn

from eoforge.errors import ConfigError, available_list
from eoforge.models.encoders.binding import call_bands, canonical_bands
from eoforge.models.encoders.patch_embed import SpectralPatchEmbed
from eoforge.sensors import Band

Pool = Literal["cls", "mean"]


@dataclass(frozen=True)
class ViTSize:
    """Width, depth and heads of a named ViT size."""

    embed_dim: int
    depth: int
    num_heads: int


VIT_SIZES: dict[str, ViTSize] = {
    "tiny": ViTSize(192, 12, 3),
    "small": ViTSize(384, 12, 6),
    "base": ViTSize(768, 12, 12),
}
"""ViT-Ti/S/B widths, depths and heads."""


def _sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
    angles = positions.reshape(-1, 1).to(torch.float64) * omega[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_2d(dim: int, rows: int, cols: int) -> torch.Tensor:
    """Fixed 2-D sin-cos position table ``[rows * cols, dim]`` (row-major patches).

    As in MAE: the first ``dim / 2`` entries encode the column, the last the
    row, each as sines then cosines of ``pos / 10000 ** (2i / (dim / 2))``.

    Raises:
        ConfigError: ``dim`` not a multiple of 4.
    """
    if dim % 4:
        raise ConfigError(
            f"sin-cos positions need a width divisible by 4, got {dim}.",
            fix="use an embed_dim that is a multiple of 4.",
        )
    return _sincos_table(dim, rows, cols).clone()


@lru_cache(maxsize=32)
def _sincos_table(dim: int, rows: int, cols: int) -> torch.Tensor:
    row, col = torch.meshgrid(
        torch.arange(rows, dtype=torch.float64),
        torch.arange(cols, dtype=torch.float64),
        indexing="ij",
    )
    table = torch.cat([_sincos_1d(dim // 2, col), _sincos_1d(dim // 2, row)], dim=1)
    return table.to(torch.float32)


class SpectralViT(nn.Module):
    """Channel-flexible ViT: one set of weights for any list of named bands.

    Args:
        embed_dim: Token width ``D`` (multiple of 4 and of ``num_heads``).
        depth: Transformer blocks.
        num_heads: Attention heads.
        patch_size: Patch side ``p`` in pixels.
        mlp_ratio: MLP width over ``D`` in each block.
        pool: ``"cls"`` (the class token) or ``"mean"`` (mean of the patch
            tokens) for :meth:`forward`.
        band_dim: Length of the band conditioning vectors.
        generator_hidden: Width of the patch-kernel generator MLP.
        drop_path_rate: Stochastic depth of the last block (linear from 0).
        bands: Bands the encoder is bound to: used when ``forward`` gets no
            ``bands``. None: every call must name its bands.

    Attributes:
        bands: The bound canonical band names, or None.
        num_features: ``D``, the length of the pooled vector.
    """

    stem_bands: tuple[str, ...] = ()
    """No per-band stem weights: importing weights adapts nothing."""

    def __init__(
        self,
        embed_dim: int = 192,
        depth: int = 12,
        num_heads: int = 3,
        patch_size: int = 16,
        mlp_ratio: float = 4.0,
        pool: Pool = "cls",
        band_dim: int = 128,
        generator_hidden: int = 128,
        drop_path_rate: float = 0.0,
        bands: Sequence[str | Band] | None = None,
    ) -> None:
        super().__init__()
        if pool not in ("cls", "mean"):
            raise ConfigError(f"unknown pool {pool!r}.", fix="use 'cls' or 'mean'.")
        if embed_dim % 4 or embed_dim % num_heads or depth < 1 or patch_size < 1:
            raise ConfigError(
                f"SpectralViT: embed_dim {embed_dim} must be a multiple of 4 and of num_heads "
                f"{num_heads}; depth {depth} and patch_size {patch_size} must be positive.",
                fix="pick a size from VIT_SIZES or consistent numbers.",
            )
        self.bands = None if bands is None else canonical_bands(bands)
        self.num_features = embed_dim
        self.patch_size = patch_size
        self.pool: Pool = pool
        self.patch_embed = SpectralPatchEmbed(embed_dim, patch_size, band_dim, generator_hidden)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        rates = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.Sequential(
            *(
                Block(embed_dim, num_heads, mlp_ratio, qkv_bias=True, drop_path=rate)
                for rate in rates
            )
        )
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        nn.init.normal_(self.cls_token, std=0.02)
        self.blocks.apply(_init_block_weights)

    def forward_features(
        self, image: torch.Tensor, bands: Sequence[str | Band] | None = None
    ) -> torch.Tensor:
        """Normalised tokens ``[B, 1 + N, D]``: the class token, then the patches row-major.

        Args:
            image: ``[B, C, H, W]``, H and W multiples of the patch size.
            bands: Names of the ``C`` channels; default the bound bands.

        Raises:
            ConfigError: Bands not given nor bound, a band the encoder cannot
                embed, or a shape that does not fit.
        """
        tokens = self.patch_embed(image, call_bands(bands, self.bands))
        rows, cols = self.patch_embed.grid_size(image)
        positions = sincos_2d(self.num_features, rows, cols).to(tokens.device, tokens.dtype)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1).to(tokens.dtype)
        tokens = torch.cat([cls, tokens + positions], dim=1)
        out: torch.Tensor = self.norm(self.blocks(tokens))
        return out

    def feature_map(
        self, image: torch.Tensor, bands: Sequence[str | Band] | None = None
    ) -> torch.Tensor:
        """Patch tokens as a map ``[B, D, H / p, W / p]`` (class token dropped)."""
        tokens = self.forward_features(image, bands)[:, 1:]
        rows, cols = self.patch_embed.grid_size(image)
        return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, rows, cols)

    def forward(
        self, image: torch.Tensor, bands: Sequence[str | Band] | None = None
    ) -> torch.Tensor:
        """Pooled features ``[B, D]`` (class token, or mean of patch tokens)."""
        tokens = self.forward_features(image, bands)
        return tokens[:, 0] if self.pool == "cls" else tokens[:, 1:].mean(dim=1)


def _init_block_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def spectral_vit(size: str = "tiny", **kwargs: Any) -> SpectralViT:
    """A :class:`SpectralViT` of a named size.

    Args:
        size: ``"tiny"`` (192 wide, 12 blocks, 3 heads), ``"small"`` (384, 12,
            6) or ``"base"`` (768, 12, 12).
        **kwargs: Other :class:`SpectralViT` arguments; ``embed_dim``,
            ``depth`` or ``num_heads`` override the size's.

    Raises:
        ConfigError: Unknown size or bad arguments.
    """
    if size not in VIT_SIZES:
        raise ConfigError(
            f"unknown SpectralViT size {size!r}. Available: {available_list(VIT_SIZES)}.",
            fix="use one of the listed sizes.",
        )
    shape = VIT_SIZES[size]
    arguments: dict[str, Any] = {
        "embed_dim": shape.embed_dim,
        "depth": shape.depth,
        "num_heads": shape.num_heads,
        **kwargs,
    }
    try:
        return SpectralViT(**arguments)
    except TypeError as error:
        raise ConfigError(
            f"SpectralViT rejects the arguments {sorted(kwargs)}: {error}.",
            fix="use the arguments of SpectralViT (patch_size, pool, drop_path_rate, ...).",
        ) from None
