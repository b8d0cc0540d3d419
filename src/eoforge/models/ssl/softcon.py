"""Soft contrastive learning: embedding similarity regressed onto land-cover similarity.

SoftCon (Wang et al., 2024) replaces the one-positive targets of contrastive
learning with soft similarities between samples derived from multi-label
land-cover supervision. What is implemented here, exactly:

* target ``T[i, j]`` = similarity of the land-cover vectors ``f_i`` and
  ``f_j`` (class fractions ``[K]`` of each window, or multi-hot labels):
  ``cosine`` (``f_i·f_j / (|f_i| |f_j|)``, 0 when either is all zero) or
  ``jaccard`` (weighted Jaccard ``Σ min(f_i, f_j) / Σ max(f_i, f_j)``); with
  non-negative vectors both lie in [0, 1]. The diagonal is set to 1: row
  ``i`` of both views is the same window.
* prediction ``P[i, j] = (1 + cos(z^a_i, z^b_j)) / 2`` between the
  projections of view ``a`` and view ``b`` (cross-view ``B x B`` matrix).
* loss: binary cross-entropy ``BCE(P, T)`` (default) or mean squared error,
  averaged over the ``B²`` entries.

This is not the authors' code: their exact loss form and their Siamese
masking are not reproduced.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from eoforge.errors import ConfigError

Similarity = Literal["cosine", "jaccard"]
SoftLoss = Literal["bce", "mse"]


def fraction_similarity(fractions: Tensor, kind: Similarity = "cosine") -> Tensor:
    """Pairwise similarity ``[B, B]`` in [0, 1] of non-negative vectors ``[B, K]``.

    Args:
        fractions: Class fractions or multi-hot labels ``[B, K]``, ``>= 0``.
        kind: ``cosine`` or ``jaccard`` (weighted Jaccard).

    Returns:
        ``T`` with ``T[i, i] = 1`` for every row.

    Raises:
        ConfigError: Unknown kind, or negative entries.
    """
    f = fractions.float()
    if bool((f < 0).any()):
        raise ConfigError(
            "land-cover vectors for soft contrastive targets must be non-negative.",
            fix="pass class fractions or multi-hot labels.",
        )
    if kind == "cosine":
        unit = F.normalize(f, dim=1)
        target = unit @ unit.T
    elif kind == "jaccard":
        low = torch.minimum(f[:, None, :], f[None, :, :]).sum(-1)
        high = torch.maximum(f[:, None, :], f[None, :, :]).sum(-1)
        target = torch.where(high > 0, low / high.clamp_min(1e-12), torch.zeros_like(low))
    else:
        raise ConfigError(f"unknown similarity {kind!r}.", fix="use 'cosine' or 'jaccard'.")
    eye = torch.eye(f.shape[0], dtype=torch.bool, device=f.device)
    return target.clamp(0.0, 1.0).masked_fill(eye, 1.0)


def soft_contrastive(a: Tensor, b: Tensor, target: Tensor, loss: SoftLoss = "bce") -> Tensor:
    """Soft contrastive loss of two views against a target similarity matrix.

    Args:
        a: First view's projections ``[B, d]``.
        b: Second view's projections ``[B, d]``.
        target: ``[B, B]`` in [0, 1] (see :func:`fraction_similarity`).
        loss: ``bce`` or ``mse``.

    Returns:
        Scalar loss (mean over the ``B x B`` cross-view pairs).

    Raises:
        ConfigError: Unknown loss or mismatched shapes.
    """
    n = a.shape[0]
    if b.shape != a.shape or target.shape != (n, n):
        raise ConfigError(
            f"soft contrastive loss needs views [B, d] and targets [B, B], got "
            f"{tuple(a.shape)}, {tuple(b.shape)}, {tuple(target.shape)}.",
            fix="give one land-cover vector per window of the batch.",
        )
    cosine = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T
    predicted = (1.0 + cosine) / 2.0
    goal = target.to(predicted.dtype)
    if loss == "bce":  # written out: F.binary_cross_entropy refuses autocast
        eps = 1e-6
        p = predicted.float().clamp(eps, 1.0 - eps)
        t = goal.float()
        return -(t * p.log() + (1.0 - t) * (1.0 - p).log()).mean()
    if loss == "mse":
        return F.mse_loss(predicted, goal)
    raise ConfigError(f"unknown soft contrastive loss {loss!r}.", fix="use 'bce' or 'mse'.")
