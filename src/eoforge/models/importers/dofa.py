"""DOFA (Dynamic One-For-All): its wavelength-conditioned ViT and its checkpoints.

eoforge's own :class:`~eoforge.models.encoders.SpectralViT` shares DOFA's idea
(input kernels generated from each band's wavelength) but not its generator
(Fourier features + MLP there), so DOFA weights cannot be placed in it. This
module implements DOFA's encoder so that the published tensors load exactly
(github zhu-xlab/DOFA; TorchGeo ``dofa_*_patch16_224`` uses the same keys):

* wavelengths ``lambda_c`` in µm -> ``s_c = sincos_128(1000 lambda_c)`` (1-D
  sine-cosine embedding of the wavelength in nm: ``omega_i = 10000^(-i/64)``,
  ``[sin(pos omega), cos(pos omega)]``), then ``f_c = s_c + relu(W2 relu(W1 s_c))``
  (``patch_embed.fclayer.w1/w2``);
* a one-layer post-norm transformer (4 heads, feed-forward 2048, GELU;
  ``patch_embed.weight_generator.transformer_encoder``) over the sequence
  [128 ``weight_tokens``; ``f_1..f_C``; ``bias_token``] gives ``z``;
* kernel rows ``fc_weight(z_c + f_c)`` ``[C, k k D]``, viewed (a plain reshape, as
  published) as ``[D, C, k, k]`` and times 0.01; bias ``0.01 fc_bias(z_last)``;
* convolution with stride ``k`` and padding 1, then the class token, the
  fixed 2-D sine-cosine ``pos_embed`` (stored in the checkpoint) and timm
  ``blocks``; the embedding is the mean of the patch tokens through
  ``fc_norm`` (DOFA's ``global_pool``) or, for a checkpoint with ``norm``, the
  normalised class token.

The published MAE checkpoint has neither ``fc_norm`` nor ``norm``; ``fc_norm``
then stays at its initial identity (weight 1, bias 0). Normalisation is
sensor-dependent and not published with the weights. Licence: MIT (the DOFA
repository's licence; the repository ships the base checkpoint).

Shapes: images ``[B, C, H, W]`` (``H``, ``W`` multiples of the patch size;
another grid than the checkpoint's resamples ``pos_embed`` bicubically) ->
``[B, D]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from timm.layers.pos_embed import resample_abs_pos_embed
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.importers.base import CheckpointImporter, Converted, find_prefix, with_prefix
from eoforge.models.importers.vit_parts import (
    PooledViT,
    build_bound,
    check_pool,
    final_norm,
    vit_options,
)
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec
from eoforge.sensors import get_band

WAVE_DIM = 128
WEIGHT_TOKENS = 128
SCALER = 0.01
RADAR_NM = 1e6  # registry wavelengths from 1 mm up are microwave (SAR)
PREFIXES = ("", "module.", "model.", "encoder.", "backbone.")


def wavelength_embedding(wavelengths_nm: torch.Tensor, dim: int = WAVE_DIM) -> torch.Tensor:
    """DOFA's 1-D sine-cosine embedding ``[C, dim]`` of wavelengths ``[C]`` in nm."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float32) / (dim / 2.0))
    angles = wavelengths_nm.float().reshape(-1, 1) * omega.to(wavelengths_nm.device)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class FCResLayer(nn.Module):
    """``x + relu(w2(relu(w1(x))))`` on ``[..., dim]``."""

    def __init__(self, dim: int = WAVE_DIM) -> None:
        super().__init__()
        self.w1 = nn.Linear(dim, dim)
        self.w2 = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same shape as ``x``."""
        out: torch.Tensor = x + F.relu(self.w2(F.relu(self.w1(x))))
        return out


class WeightGenerator(nn.Module):
    """Transformer over weight tokens, band embeddings and a bias token.

    Args:
        kernel_numel: ``k * k * D``, one kernel row per band.
        embed_dim: ``D``, the bias length.
        dim: Band embedding width (128).
        heads: Attention heads of the transformer layer (4).
    """

    def __init__(self, kernel_numel: int, embed_dim: int, dim: int = WAVE_DIM, heads: int = 4):
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            d_model=dim, nhead=heads, dim_feedforward=2048, dropout=0.0, activation="gelu"
        )
        self.transformer_encoder = nn.TransformerEncoder(
            layer, num_layers=1, enable_nested_tensor=False
        )
        self.fc_weight = nn.Linear(dim, kernel_numel)
        self.fc_bias = nn.Linear(dim, embed_dim)
        self.weight_tokens = nn.Parameter(torch.randn(WEIGHT_TOKENS, dim) * 0.02)
        self.bias_token = nn.Parameter(torch.randn(1, dim) * 0.02)

    def forward(self, bands: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Kernel rows ``[C, k k D]`` and bias ``[D]`` for band embeddings ``[C, dim]``."""
        sequence = torch.cat([self.weight_tokens, bands, self.bias_token], dim=0)
        out = self.transformer_encoder(sequence)
        weights: torch.Tensor = self.fc_weight(out[WEIGHT_TOKENS:-1] + bands)
        bias: torch.Tensor = self.fc_bias(out[-1])
        return weights, bias


class DOFAPatchEmbed(nn.Module):
    """Images ``[B, C, H, W]`` and wavelengths ``[C]`` (µm) -> tokens ``[B, N, D]``."""

    def __init__(self, embed_dim: int, patch_size: int) -> None:
        super().__init__()
        self.embed_dim, self.patch_size = embed_dim, patch_size
        self.weight_generator = WeightGenerator(patch_size * patch_size * embed_dim, embed_dim)
        self.fclayer = FCResLayer()

    def forward(self, image: torch.Tensor, wavelengths_um: torch.Tensor) -> torch.Tensor:
        """Patch tokens ``[B, (H / p) (W / p), D]``."""
        waves = self.fclayer(wavelength_embedding(wavelengths_um * 1000))
        rows, bias = self.weight_generator(waves)
        p = self.patch_size
        kernel = rows.reshape(self.embed_dim, wavelengths_um.numel(), p, p) * SCALER
        out = F.conv2d(image, kernel, bias=bias * SCALER, stride=p, padding=1)
        return out.flatten(2).transpose(1, 2)


def band_wavelengths_um(bands: Sequence[str]) -> list[float]:
    """Centre wavelengths in µm of optical ``bands`` (registry names).

    Raises:
        ConfigError: A band without an optical wavelength (SAR, DEM).
    """
    values = []
    for name in bands:
        nm = get_band(name).center_wavelength_nm
        if nm is None or nm >= RADAR_NM:
            raise ConfigError(
                f"band {name} has no optical centre wavelength for DOFA's kernel generator.",
                fix="give the wavelengths (model.options.wavelengths_um, or --wavelengths of "
                "eoforge models import: one value in µm per band; DOFA's release lists the "
                "values it used for SAR).",
            )
        values.append(nm / 1000.0)
    return values


class DOFAViT(PooledViT):
    """DOFA's encoder bound to bands: ``[B, C, H, W] -> [B, D]``.

    Args:
        bands: Input band names (their wavelengths condition the kernels).
        embed_dim: Token width ``D``.
        depth: Transformer blocks.
        num_heads: Attention heads.
        mlp_ratio: Hidden width of the block MLPs over ``D``.
        img_size: Image side of the stored position embedding.
        patch_size: Patch side ``p``.
        pool: ``avg`` (mean patch token, ``fc_norm``) or ``cls`` (``norm``).
        wavelengths_um: Per-band wavelengths overriding the registry's.
    """

    def __init__(
        self,
        bands: Sequence[str],
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        img_size: int = 224,
        patch_size: int = 16,
        pool: str = "avg",
        wavelengths_um: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        check_pool(pool)
        waves = list(wavelengths_um) if wavelengths_um is not None else band_wavelengths_um(bands)
        if len(waves) != len(bands):
            raise ConfigError(
                f"model.options.wavelengths_um has {len(waves)} values for {len(bands)} bands.",
                fix="give one wavelength in µm per input band.",
            )
        self.register_buffer("wavelengths_um", torch.tensor(waves), persistent=False)
        self.num_features, self.grid = embed_dim, img_size // patch_size
        self.patch_embed = DOFAPatchEmbed(embed_dim, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(
            torch.zeros(1, 1 + self.grid * self.grid, embed_dim), requires_grad=False
        )
        self._add_blocks(embed_dim, depth, num_heads, mlp_ratio, pool)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Embeddings ``[B, D]`` of images ``[B, C, H, W]``."""
        tokens = self.patch_embed(image, self.wavelengths_um)
        size = (
            image.shape[-2] // self.patch_embed.patch_size,
            image.shape[-1] // self.patch_embed.patch_size,
        )
        pos = self.pos_embed
        if size != (self.grid, self.grid):
            pos = resample_abs_pos_embed(pos, new_size=list(size), num_prefix_tokens=1)
        tokens = tokens + pos[:, 1:]
        cls = (self.cls_token + pos[:, :1]).expand(tokens.shape[0], -1, -1)
        return self._blocks_and_pool(torch.cat([cls, tokens], dim=1))


@register_model(
    "dofa_vit",
    ("embedding",),
    "DOFA's wavelength-conditioned ViT (its transformer kernel generator), for DOFA weights",
)
def _dofa_vit(spec: ModelSpec) -> nn.Module:
    return build_bound(
        "dofa_vit",
        DOFAViT,
        spec,
        "embed_dim, depth, num_heads, mlp_ratio, img_size, patch_size, pool, wavelengths_um",
    )


class DOFAImporter(CheckpointImporter):
    """DOFA ViT checkpoints -> eoforge's ``dofa_vit`` (exact)."""

    name = "dofa"
    description = (
        "DOFA ViT (patch_embed.weight_generator.*, patch_embed.fclayer.*) -> dofa_vit, "
        "any optical bands by wavelength"
    )
    licence = "MIT (the DOFA repository's licence; it ships the base checkpoint)"

    def _prefix(self, state: Mapping[str, torch.Tensor]) -> str | None:
        """Key prefix of DOFA's generator keys with a stored ``pos_embed``."""
        prefix = find_prefix(state, "patch_embed.weight_generator.weight_tokens", PREFIXES)
        if prefix is None or prefix + "patch_embed.fclayer.w1.weight" not in state:
            return None
        return prefix if prefix + "pos_embed" in state else None

    def convert(self, state: Mapping[str, torch.Tensor]) -> Converted:
        """The encoder's tensors under ``dofa_vit``'s (identical) key names."""
        prefix = self._matched_prefix(state)
        raw = with_prefix(state, prefix)
        embed_dim = int(raw["patch_embed.weight_generator.fc_bias.weight"].shape[0])
        patch = math.isqrt(
            int(raw["patch_embed.weight_generator.fc_weight.weight"].shape[0]) // embed_dim
        )
        pool = "cls" if "norm.weight" in raw and "fc_norm.weight" not in raw else "avg"
        options = vit_options(raw, embed_dim, patch, pool)
        parts = ("patch_embed.", "cls_token", "pos_embed", "blocks.", final_norm(pool))
        kept = {k: v for k, v in raw.items() if k.startswith(parts)}
        notes = [f"pool {pool}"]
        if pool == "avg" and "fc_norm.weight" not in raw:
            notes.append("the checkpoint has no fc_norm: left at identity (weight 1, bias 0)")
        return Converted(
            importer=self.name,
            arch="dofa_vit",
            backbone="dofa",
            options=options,
            state=kept,
            bands=[],
            stem_key=None,
            normalization=None,
            input_size=int(options["img_size"]),
            optional_keys=frozenset({"fc_norm.weight", "fc_norm.bias"}),
            dropped={prefix + k: "head / not in the encoder" for k in raw if k not in kept},
            notes=notes,
        )
