"""What the ViTs implemented for published checkpoints share (DOFA, SatMAE).

Both are timm ViTs with another input: transformer ``blocks`` (timm
:class:`~timm.models.vision_transformer.Block`, LayerNorm eps 1e-6, qkv bias),
then either the mean patch token through ``fc_norm`` (pool ``avg``) or the
class token of ``norm(x)`` (pool ``cls``). :class:`PooledViT` holds these
modules under those key names, so published tensors load as they are, and
:func:`vit_options` reads their sizes back from a checkpoint's tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from timm.models.vision_transformer import Block
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.spec import ModelSpec

POOLS = ("avg", "cls")
_HEADS = {384: 6, 768: 12, 1024: 16, 1280: 16}


class LayerNorm6(nn.LayerNorm):
    """LayerNorm with the eps of 1e-6 that DOFA and SatMAE use."""

    def __init__(self, dim: int, **factory: Any) -> None:
        super().__init__(dim, eps=1e-6, **factory)


def check_pool(pool: str) -> None:
    """Raise :class:`ConfigError` unless ``pool`` is ``avg`` or ``cls``."""
    if pool not in POOLS:
        raise ConfigError(f"model.options.pool: {pool!r}.", fix="use avg or cls.")


class PooledViT(nn.Module):
    """Transformer blocks and the final pooling of a ViT: tokens ``[B, 1 + N, D]`` -> ``[B, D]``.

    A subclass builds its input modules, then calls :meth:`_add_blocks` (so
    the parameters are created in the published model's order) and ends its
    forward with :meth:`_blocks_and_pool`.
    """

    pool: str
    blocks: nn.ModuleList
    norm: nn.Module
    fc_norm: nn.Module

    def _add_blocks(
        self, embed_dim: int, depth: int, num_heads: int, mlp_ratio: float, pool: str
    ) -> None:
        """Adds ``blocks`` and ``fc_norm`` (pool ``avg``) or ``norm`` (pool ``cls``).

        Args:
            embed_dim: Token width ``D``.
            depth: Transformer blocks.
            num_heads: Attention heads.
            mlp_ratio: Hidden width of the block MLPs over ``D``.
            pool: ``avg`` or ``cls`` (checked by :func:`check_pool`).
        """
        self.pool = pool
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias=True, norm_layer=LayerNorm6)
            for _ in range(depth)
        )
        if pool == "avg":
            self.fc_norm = LayerNorm6(embed_dim)
        else:
            self.norm = LayerNorm6(embed_dim)

    def _blocks_and_pool(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings ``[B, D]`` of tokens ``[B, 1 + N, D]`` (class token first)."""
        for block in self.blocks:
            x = block(x)
        if self.pool == "avg":
            pooled: torch.Tensor = self.fc_norm(x[:, 1:].mean(dim=1))
            return pooled
        token: torch.Tensor = self.norm(x)[:, 0]
        return token


def vit_options(
    raw: Mapping[str, torch.Tensor], embed_dim: int, patch: int, pool: str
) -> dict[str, Any]:
    """The :meth:`PooledViT._add_blocks` sizes and image size of a checkpoint.

    Args:
        raw: The encoder's tensors (``pos_embed [1, 1 + g g, .]``,
            ``blocks.N.*``), prefix removed.
        embed_dim: Token width ``D``.
        patch: Patch side ``p``, pixels.
        pool: ``avg`` or ``cls``.

    Returns:
        ``embed_dim``, ``depth``, ``num_heads`` (the standard count for the
        width, else ``D / 64``), ``mlp_ratio``, ``img_size`` (``g p``),
        ``patch_size`` and ``pool``.
    """
    grid = math.isqrt(int(raw["pos_embed"].shape[1]) - 1)
    return {
        "embed_dim": embed_dim,
        "depth": 1 + max(int(k.split(".")[1]) for k in raw if k.startswith("blocks.")),
        "num_heads": _HEADS.get(embed_dim, max(1, embed_dim // 64)),
        "mlp_ratio": int(raw["blocks.0.mlp.fc1.weight"].shape[0]) / embed_dim,
        "img_size": grid * patch,
        "patch_size": patch,
        "pool": pool,
    }


def final_norm(pool: str) -> str:
    """Key prefix of the final norm a ``pool`` model has: ``fc_norm.`` or ``norm.``."""
    return "fc_norm." if pool == "avg" else "norm."


def build_bound(
    arch: str, network: Callable[..., nn.Module], spec: ModelSpec, known: str
) -> nn.Module:
    """``network(spec.in_bands, **spec.options)``, a wrong option raising :class:`ConfigError`.

    Args:
        arch: Registered architecture name, for the message.
        network: The model class (bands first, then keyword options).
        spec: The model spec.
        known: The options ``network`` takes, for the fix.
    """
    try:
        return network(spec.in_bands, **spec.options)
    except TypeError as error:
        raise ConfigError(
            f"model.options: {arch} rejects {sorted(spec.options)}: {error}.",
            fix=f"use {known}.",
        ) from None
