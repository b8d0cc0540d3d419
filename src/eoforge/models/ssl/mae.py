"""Masked autoencoder on a SpectralViT, with multi-scale reconstruction (SatMAE++'s idea).

The encoder sees only the visible patches (a random ``1 - mask_ratio`` share
per sample); a light transformer decoder fills the masked positions with a
learned mask token and predicts, for every patch, its pixels at each
reconstruction scale: scale 1 is the input resolution (``p²·C`` values per
patch), scale ``s`` the image average-pooled by ``s`` (``(p/s)²·C`` values),
each from its own linear head. The loss is the mean squared error on the
masked patches only, per scale, summed with the scale weights; with
``norm_pix`` each target patch is standardised by its own mean and variance
(MAE's normalised-pixel loss).

SatMAE++ reconstructs finer scales from a downsampled input through
convolutional upsampling; here the input keeps its resolution and the extra
scales are coarser ones. SatMAE's spectral grouping (one token per band
group and patch) is not implemented.

Shapes: images ``[B, C, H, W]`` (standardised), H and W multiples of the
patch size ``p``; ``N = H W / p²`` patches.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from timm.models.vision_transformer import Block
from torch import Tensor, nn

from eoforge.errors import ConfigError
from eoforge.models.encoders import SpectralViT, call_bands, sincos_2d
from eoforge.sensors import Band


def random_masking(
    tokens: Tensor, ratio: float, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Keep a random ``1 - ratio`` share of each sample's tokens.

    Args:
        tokens: ``[B, N, D]``.
        ratio: Share of tokens masked, in [0, 1); at least one token stays visible.
        generator: Random generator (None: torch's global one).

    Returns:
        ``(visible [B, n_keep, D], mask [B, N], restore [B, N])``: ``mask`` is 1
        on masked tokens; ``restore`` puts ``[visible, masked]`` back in patch order.
    """
    b, n, d = tokens.shape
    keep = max(1, round(n * (1.0 - ratio)))
    noise = torch.rand(b, n, device=tokens.device, generator=generator)
    shuffle = noise.argsort(dim=1)
    restore = shuffle.argsort(dim=1)
    kept = shuffle[:, :keep]
    visible = tokens.gather(1, kept[..., None].expand(-1, -1, d))
    mask = torch.ones(b, n, device=tokens.device, dtype=tokens.dtype)
    mask[:, :keep] = 0
    return visible, mask.gather(1, restore), restore


def patchify(image: Tensor, patch: int) -> Tensor:
    """``[B, C, H, W] -> [B, N, p²·C]``, patches row-major, values ordered (row, col, band)."""
    b, c, h, w = image.shape
    rows, cols = h // patch, w // patch
    x = image.reshape(b, c, rows, patch, cols, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, rows * cols, patch * patch * c)


class MaskedAutoencoder(nn.Module):
    """MAE pretraining of a :class:`SpectralViT` (the encoder is kept, the decoder discarded).

    Args:
        encoder: The ViT to pretrain (bound to its bands, or called with ``bands``).
        num_bands: Channels ``C`` of the images it will reconstruct.
        mask_ratio: Share of patches masked per sample.
        decoder_dim: Decoder width.
        decoder_depth: Decoder transformer blocks.
        decoder_heads: Decoder attention heads.
        scales: Reconstruction scales, each dividing the patch size (1: input
            resolution, 2: half...).
        scale_weights: Weight of each scale's loss (default 1 each).
        norm_pix: Standardise each target patch (per scale).

    Raises:
        ConfigError: Bad ratio, scales or widths.
    """

    def __init__(
        self,
        encoder: SpectralViT,
        num_bands: int,
        *,
        mask_ratio: float = 0.75,
        decoder_dim: int = 128,
        decoder_depth: int = 2,
        decoder_heads: int = 4,
        scales: Sequence[int] = (1, 2),
        scale_weights: Sequence[float] | None = None,
        norm_pix: bool = True,
    ) -> None:
        super().__init__()
        p = encoder.patch_size
        if not 0.0 <= mask_ratio < 1.0:
            raise ConfigError(
                f"mask_ratio must lie in [0, 1), got {mask_ratio}.", fix="use e.g. 0.75."
            )
        bad = [s for s in scales if s < 1 or p % s]
        if not scales or bad or len(set(scales)) != len(scales):
            raise ConfigError(
                f"MAE scales {list(scales)} must be distinct divisors of the patch size {p}.",
                fix=f"use e.g. [1, 2] (each must divide {p}).",
            )
        weights = (
            [1.0] * len(scales) if scale_weights is None else [float(w) for w in scale_weights]
        )
        if len(weights) != len(scales):
            raise ConfigError(
                f"{len(weights)} scale weights for {len(scales)} scales.",
                fix="give one weight per scale.",
            )
        if decoder_dim % 4 or decoder_dim % decoder_heads:
            raise ConfigError(
                f"decoder_dim {decoder_dim} must be a multiple of 4 and of decoder_heads "
                f"{decoder_heads}.",
                fix="use e.g. decoder_dim 128 with 4 heads.",
            )
        self.encoder = encoder
        self.mask_ratio = mask_ratio
        self.scales = [int(s) for s in scales]
        self.scale_weights = weights
        self.norm_pix = norm_pix
        self.decoder_dim = decoder_dim
        self.decoder_embed = nn.Linear(encoder.num_features, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        self.decoder_blocks = nn.Sequential(
            *(Block(decoder_dim, decoder_heads, 4.0, qkv_bias=True) for _ in range(decoder_depth))
        )
        self.decoder_norm = nn.LayerNorm(decoder_dim, eps=1e-6)
        self.heads = nn.ModuleList(
            nn.Linear(decoder_dim, (p // s) ** 2 * num_bands) for s in self.scales
        )
        nn.init.normal_(self.mask_token, std=0.02)
        for module in [self.decoder_embed, *self.decoder_blocks.modules(), *self.heads]:
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def encode_visible(
        self,
        image: Tensor,
        bands: Sequence[str | Band] | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Encoder tokens of the visible patches ``[B, 1 + n_keep, D]`` (class token first).

        ``generator`` draws the mask (None: torch's global generator).

        Returns:
            ``(tokens, mask [B, N], restore [B, N])`` as :func:`random_masking` gives them.
        """
        enc = self.encoder
        tokens = enc.patch_embed(image, call_bands(bands, enc.bands))
        rows, cols = enc.patch_embed.grid_size(image)
        positions = sincos_2d(enc.num_features, rows, cols).to(tokens.device, tokens.dtype)
        visible, mask, restore = random_masking(tokens + positions, self.mask_ratio, generator)
        cls = enc.cls_token.expand(tokens.shape[0], -1, -1).to(tokens.dtype)
        encoded: Tensor = enc.norm(enc.blocks(torch.cat([cls, visible], dim=1)))
        return encoded, mask, restore

    def decode(self, encoded: Tensor, restore: Tensor, rows: int, cols: int) -> Tensor:
        """Decoder tokens of every patch ``[B, N, decoder_dim]`` (patch order)."""
        x = self.decoder_embed(encoded)
        b, n = restore.shape
        hidden = self.mask_token.to(x.dtype).expand(b, n - (x.shape[1] - 1), -1)
        patches = torch.cat([x[:, 1:], hidden], dim=1)
        patches = patches.gather(1, restore[..., None].expand(-1, -1, self.decoder_dim))
        positions = sincos_2d(self.decoder_dim, rows, cols).to(x.device, x.dtype)
        x = torch.cat([x[:, :1], patches + positions], dim=1)
        out: Tensor = self.decoder_norm(self.decoder_blocks(x))[:, 1:]
        return out

    def targets(self, image: Tensor, scale: int) -> Tensor:
        """Target values of each patch at ``scale``: ``[B, N, (p/s)²·C]``."""
        pooled = image if scale == 1 else F.avg_pool2d(image, scale)
        target = patchify(pooled, self.encoder.patch_size // scale)
        if self.norm_pix:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True, unbiased=False)
            target = (target - mean) / (var + 1e-6).sqrt()
        return target

    def forward(
        self,
        image: Tensor,
        bands: Sequence[str | Band] | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, dict[int, Tensor]]:
        """Masked-patch reconstruction loss of a batch.

        Args:
            image: Standardised images ``[B, C, H, W]``.
            bands: Band names (default: the encoder's bound bands).
            generator: Draws the mask (None: torch's global generator).

        Returns:
            ``(loss, per_scale)``: the weighted sum, and each scale's loss
            (mean squared error over the masked patches' values).
        """
        encoded, mask, restore = self.encode_visible(image, bands, generator)
        rows, cols = self.encoder.patch_embed.grid_size(image)
        decoded = self.decode(encoded, restore, rows, cols)
        per_scale: dict[int, Tensor] = {}
        total = image.new_zeros(())
        for scale, head, weight in zip(self.scales, self.heads, self.scale_weights, strict=True):
            loss = masked_mse(head(decoded), self.targets(image, scale), mask)
            per_scale[scale] = loss.detach()
            total = total + weight * loss
        return total, per_scale


def masked_mse(prediction: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over the masked patches only.

    Args:
        prediction: ``[B, N, V]``.
        target: ``[B, N, V]``.
        mask: ``[B, N]``, 1 where a patch was masked (counts), 0 where visible.

    Returns:
        ``Σ_masked mean_V (prediction - target)² / number of masked patches``.
    """
    per_patch = (prediction.float() - target.float()).pow(2).mean(dim=-1)
    weights = mask.float()
    return (per_patch * weights).sum() / weights.sum().clamp_min(1.0)
