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

Spectral grouping (SatMAE's, kept by SatMAE++): with ``groups`` the bands
are split into groups (e.g. by wavelength: visible, red edge, NIR, SWIR;
:func:`wavelength_groups`), each group's patches become their own tokens
(the encoder's band-generated patch embedding run on the group's bands, plus
the position and a learned group embedding), ``G·N`` tokens in all, masked
independently (a patch may be hidden in one group and visible in another),
and each group's pixels are predicted from its own tokens. Without groups
there is one token per patch of all bands (plain MAE). The exported encoder
runs as usual (one token per patch of all bands): grouping shapes the
pretraining only.

SatMAE++ reconstructs finer scales from a downsampled input through
convolutional upsampling; here the input keeps its resolution and the extra
scales are coarser ones.

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
from eoforge.sensors import Band, get_band

WAVELENGTH_GROUPS: tuple[tuple[str, float, float], ...] = (
    ("visible", 0.0, 700.0),
    ("red_edge", 700.0, 800.0),
    ("nir", 800.0, 1000.0),
    ("swir", 1000.0, 1.0e6),
)
"""Spectral groups by centre wavelength (nm): ``(name, low, high)``, low inclusive."""


def wavelength_groups(bands: Sequence[str | Band]) -> list[list[int]]:
    """Channel indices of ``bands`` grouped visible / red edge / NIR / SWIR, empty groups dropped.

    Bands without an optical wavelength (SAR, elevation: centre wavelength
    missing or 1 mm and more) form one further group.

    Example: Sentinel-2's B02, B03, B04, B05, B06, B07, B08, B8A, B11, B12 ->
    ``[[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]`` (SatMAE groups B8A with the red
    edge and B08 with the visible bands; here the split is by wavelength alone).
    """
    found: list[list[int]] = [[] for _ in WAVELENGTH_GROUPS]
    other: list[int] = []
    for index, band in enumerate(bands):
        centre = get_band(band).center_wavelength_nm
        if centre is None or centre >= 1.0e6:
            other.append(index)
            continue
        for slot, (_, low, high) in enumerate(WAVELENGTH_GROUPS):
            if low <= centre < high:
                found[slot].append(index)
    return [group for group in [*found, other] if group]


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
        groups: Channel indices of each spectral group (a partition of
            ``range(num_bands)``), or None for one token per patch of all bands.

    Raises:
        ConfigError: Bad ratio, scales, widths or groups.
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
        groups: Sequence[Sequence[int]] | None = None,
    ) -> None:
        super().__init__()
        p = encoder.patch_size
        parts = [list(range(num_bands))] if groups is None else [list(g) for g in groups]
        if sorted(i for g in parts for i in g) != list(range(num_bands)) or not all(parts):
            raise ConfigError(
                f"spectral groups {parts} must split the {num_bands} bands, each band once.",
                fix="give non-empty groups of channel indices covering every band once.",
            )
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
        self.groups = parts
        # head [scale i, group g] at i * G + g: (p / s)² values of each of the group's bands
        self.heads = nn.ModuleList(
            nn.Linear(decoder_dim, (p // s) ** 2 * len(g)) for s in self.scales for g in parts
        )
        self.group_embed: nn.Parameter | None = None
        self.decoder_group_embed: nn.Parameter | None = None
        if len(parts) > 1:
            self.group_embed = nn.Parameter(torch.zeros(len(parts), encoder.num_features))
            self.decoder_group_embed = nn.Parameter(torch.zeros(len(parts), decoder_dim))
            nn.init.normal_(self.group_embed, std=0.02)
            nn.init.normal_(self.decoder_group_embed, std=0.02)
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

        ``generator`` draws the mask (None: torch's global generator). With
        ``G`` spectral groups there are ``G·N`` tokens, group by group.

        Returns:
            ``(tokens, mask [B, G·N], restore [B, G·N])`` as :func:`random_masking` gives them.
        """
        enc = self.encoder
        names = call_bands(bands, enc.bands)
        rows, cols = enc.patch_embed.grid_size(image)
        parts = []
        for g, channels in enumerate(self.groups):
            picked = image if len(self.groups) == 1 else image[:, channels]
            part = enc.patch_embed(picked, [names[c] for c in channels])
            if self.group_embed is not None:
                part = part + self.group_embed[g].to(part.dtype)
            parts.append(part)
        tokens = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        positions = sincos_2d(enc.num_features, rows, cols).to(tokens.device, tokens.dtype)
        positions = positions.repeat(len(self.groups), 1)
        visible, mask, restore = random_masking(tokens + positions, self.mask_ratio, generator)
        cls = enc.cls_token.expand(tokens.shape[0], -1, -1).to(tokens.dtype)
        encoded: Tensor = enc.norm(enc.blocks(torch.cat([cls, visible], dim=1)))
        return encoded, mask, restore

    def decode(self, encoded: Tensor, restore: Tensor, rows: int, cols: int) -> Tensor:
        """Decoder tokens of every patch (of every group) ``[B, G·N, decoder_dim]``, in order."""
        x = self.decoder_embed(encoded)
        b, n = restore.shape
        hidden = self.mask_token.to(x.dtype).expand(b, n - (x.shape[1] - 1), -1)
        patches = torch.cat([x[:, 1:], hidden], dim=1)
        patches = patches.gather(1, restore[..., None].expand(-1, -1, self.decoder_dim))
        positions = sincos_2d(self.decoder_dim, rows, cols).to(x.device, x.dtype)
        positions = positions.repeat(len(self.groups), 1)
        if self.decoder_group_embed is not None:
            embed = self.decoder_group_embed.to(x.dtype)
            positions = positions + embed.repeat_interleave(rows * cols, dim=0)
        x = torch.cat([x[:, :1], patches + positions], dim=1)
        out: Tensor = self.decoder_norm(self.decoder_blocks(x))[:, 1:]
        return out

    def targets(self, image: Tensor, scale: int, group: int | None = None) -> Tensor:
        """Target values of each patch at ``scale``: ``[B, N, (p/s)²·C_g]``.

        ``C_g`` are the bands of spectral group ``group`` (all bands when None).
        """
        if group is not None and len(self.groups) > 1:
            image = image[:, self.groups[group]]
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
            (mean squared error over the masked patches' values; with groups,
            over the masked group tokens of all groups).
        """
        encoded, mask, restore = self.encode_visible(image, bands, generator)
        rows, cols = self.encoder.patch_embed.grid_size(image)
        n, count = rows * cols, len(self.groups)
        decoded = self.decode(encoded, restore, rows, cols)
        per_scale: dict[int, Tensor] = {}
        total = image.new_zeros(())
        for i, (scale, weight) in enumerate(zip(self.scales, self.scale_weights, strict=True)):
            errors = [
                squared_errors(
                    self.heads[i * count + g](decoded[:, g * n : (g + 1) * n]),
                    self.targets(image, scale, g),
                )
                for g in range(count)
            ]
            loss = masked_mean(torch.cat(errors, dim=1), mask)
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
    return masked_mean(squared_errors(prediction, target), mask)


def squared_errors(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean squared error of each patch ``[B, N]`` over its values (float32)."""
    return (prediction.float() - target.float()).pow(2).mean(dim=-1)


def masked_mean(per_patch: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``per_patch`` ``[B, N]`` over the entries where ``mask`` is 1."""
    weights = mask.float()
    return (per_patch * weights).sum() / weights.sum().clamp_min(1.0)
