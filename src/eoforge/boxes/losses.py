"""Regression losses of oriented boxes through 2-D Gaussians (mean over matched pairs).

An oriented box ``(cx, cy, w, h, angle)`` becomes the Gaussian with mean ``(cx, cy)`` and
covariance ``S = (w^2 u u^T + h^2 v v^T) / k`` with ``u = (cos a, -sin a)`` and
``v = (sin a, cos a)`` its side directions (see :mod:`eoforge.boxes.convert`). ``S`` does
not change when ``angle`` moves by ``pi`` or when ``w`` and ``h`` swap with ``angle +
pi/2``, so no loss here depends on how a box is encoded, and a square's loss does not
depend on its angle at all. ``k = 12`` (the covariance of a uniform box) for ProbIoU, as
in Llerena et al. 2021; ``k = 4`` (``S^(1/2) = R diag(w/2, h/2) R^T``) for KLD and GWD,
as in Yang et al. 2021.

The Gaussians are computed in float64 (differences of nearly equal covariances lose
float32 digits) and the loss returned in the dtype of ``pred``. Sizes are clamped to at
least ``1e-3`` pixels so that no covariance is singular. Where a square root meets 0
(identical boxes) it is continued linearly below ``1e-12`` so the gradient stays finite.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from eoforge.boxes.convert import _check

MIN_SIZE = 1e-3
"""Smallest side (pixels) used in the covariances."""

_TINY = 1e-12

Transform = Literal["sqrt", "log1p"]


def _gaussians(boxes: Tensor, k: float) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The Gaussians of ``[N, 5]`` boxes, in float64.

    Returns:
        Means ``[N, 2]``, covariance entries ``a = S_xx``, ``b = S_yy``, ``c = S_xy``
        (``[N]`` each, pixels squared) and determinants ``w^2 h^2 / k^2`` (``[N]``, exact,
        not from the entries).
    """
    wide = boxes.to(torch.promote_types(boxes.dtype, torch.float64))
    w = wide[:, 2].abs().clamp_min(MIN_SIZE)
    h = wide[:, 3].abs().clamp_min(MIN_SIZE)
    cos, sin = torch.cos(wide[:, 4]), torch.sin(wide[:, 4])
    alpha, beta = w * w / k, h * h / k
    a = alpha * cos * cos + beta * sin * sin
    b = alpha * sin * sin + beta * cos * cos
    c = (beta - alpha) * sin * cos
    return wide[:, :2], a, b, c, alpha * beta


def _safe_sqrt(x: Tensor) -> Tensor:
    """``sqrt(x)`` for ``x >= 0``, linear below ``1e-12`` (finite gradient at 0)."""
    x = x.clamp_min(0)
    big = x > _TINY
    return torch.where(big, torch.sqrt(torch.where(big, x, 1)), x / _TINY**0.5)


def _pairs(pred: Tensor, target: Tensor) -> None:
    _check(pred, 5, "pred")
    _check(target, 5, "target")
    if pred.ndim != 2 or pred.shape != target.shape:
        raise ValueError(
            f"pred and target must both be [N, 5], got {tuple(pred.shape)} and"
            f" {tuple(target.shape)}"
        )


def _mean(per_pair: Tensor, like: Tensor) -> Tensor:
    if len(per_pair) == 0:  # no matched boxes: a zero that still joins the graph
        return like.sum() * 0
    return per_pair.mean().to(like.dtype)


def _squash(distance: Tensor, tau: float, fun: Transform) -> Tensor:
    if fun == "sqrt":
        value = _safe_sqrt(distance)
    elif fun == "log1p":
        value = torch.log1p(distance.clamp_min(0))
    else:
        raise ValueError(f"fun must be 'sqrt' or 'log1p', got {fun!r}")
    return 1 - 1 / (tau + value)


def probiou_distance(pred: Tensor, target: Tensor) -> Tensor:
    """Hellinger distance between the boxes' Gaussians (ProbIoU = 1 - this), per pair.

    With ``S = (S1 + S2) / 2`` and ``d`` the difference of the means, the Bhattacharyya
    distance is ``B = d^T S^-1 d / 8 + ln(det S / sqrt(det S1 det S2)) / 2`` and the
    Hellinger distance ``sqrt(1 - exp(-B))``, in ``[0, 1]``; ``k = 12``.

    Args:
        pred: ``[N, 5]`` ``(cx, cy, w, h, angle)``, pixels and radians.
        target: ``[N, 5]`` likewise.

    Returns:
        ``[N]`` float64 distances; symmetric in ``pred`` and ``target``.
    """
    _pairs(pred, target)
    mean1, a1, b1, c1, det1 = _gaussians(pred, 12.0)
    mean2, a2, b2, c2, det2 = _gaussians(target, 12.0)
    a, b, c = (a1 + a2) / 2, (b1 + b2) / 2, (c1 + c2) / 2
    det = a * b - c * c
    dx, dy = (mean1 - mean2).unbind(-1)
    mahalanobis = (b * dx * dx - 2 * c * dx * dy + a * dy * dy) / det
    bhattacharyya = mahalanobis / 8 + (torch.log(det) - (torch.log(det1) + torch.log(det2)) / 2) / 2
    return _safe_sqrt(-torch.expm1(-bhattacharyya.clamp_min(0)))


def probiou_loss(pred: Tensor, target: Tensor) -> Tensor:
    """ProbIoU loss (Llerena et al. 2021, its ``L1``): the mean Hellinger distance.

    ``loss = mean(sqrt(1 - exp(-B)))``, ``B`` the Bhattacharyya distance between the
    boxes' Gaussians (see :func:`probiou_distance`): 0 for identical boxes, at most 1.

    Args:
        pred: ``[N, 5]`` predicted ``(cx, cy, w, h, angle)``, pixels and radians.
        target: ``[N, 5]`` matched targets likewise.

    Returns:
        Scalar, dtype of ``pred``.
    """
    return _mean(probiou_distance(pred, target), pred)


def kld_loss(pred: Tensor, target: Tensor, *, tau: float = 1.0, fun: Transform = "sqrt") -> Tensor:
    """Kullback–Leibler divergence loss of oriented boxes (Yang et al. 2021).

    ``D = KL(N_pred || N_target) = (d^T St^-1 d + tr(St^-1 Sp) + ln(det St / det Sp) - 2) / 2``
    with ``k = 4``, and ``loss = mean(1 - 1 / (tau + f(D)))``, ``f = sqrt`` (default) or
    ``log1p``; 0 for identical boxes, below 1. Not symmetric, as KL is not.

    Args:
        pred: ``[N, 5]`` predicted ``(cx, cy, w, h, angle)``, pixels and radians.
        target: ``[N, 5]`` matched targets likewise.
        tau: The offset ``tau`` (>= 1 keeps the loss in ``[0, 1)``).
        fun: ``f``: ``"sqrt"`` or ``"log1p"``.

    Returns:
        Scalar, dtype of ``pred``.
    """
    _pairs(pred, target)
    mean_p, ap, bp, cp, det_p = _gaussians(pred, 4.0)
    mean_t, at, bt, ct, det_t = _gaussians(target, 4.0)
    dx, dy = (mean_p - mean_t).unbind(-1)
    # St^-1 = [[bt, -ct], [-ct, at]] / det_t
    mahalanobis = (bt * dx * dx - 2 * ct * dx * dy + at * dy * dy) / det_t
    trace = (bt * ap - 2 * ct * cp + at * bp) / det_t
    divergence = (mahalanobis + trace + torch.log(det_t) - torch.log(det_p) - 2) / 2
    return _mean(_squash(divergence, tau, fun), pred)


def gwd_loss(pred: Tensor, target: Tensor, *, tau: float = 1.0, fun: Transform = "sqrt") -> Tensor:
    """Gaussian Wasserstein distance loss of oriented boxes (Yang et al. 2021).

    ``W2 = |d|^2 + tr Sp + tr St - 2 tr((Sp^1/2 St Sp^1/2)^1/2)``, with ``k = 4`` and the
    2x2 identity ``tr(M^1/2) = sqrt(tr M + 2 sqrt(det M))`` for ``M = Sp St``. It is made
    scale-free by the target's size, ``D = W2 / sqrt(det St) = 4 W2 / (w_t h_t)``, and
    ``loss = mean(1 - 1 / (tau + f(D)))``, ``f = sqrt`` (default) or ``log1p``; 0 for
    identical boxes, below 1.

    Args:
        pred: ``[N, 5]`` predicted ``(cx, cy, w, h, angle)``, pixels and radians.
        target: ``[N, 5]`` matched targets likewise.
        tau: The offset ``tau`` (>= 1 keeps the loss in ``[0, 1)``).
        fun: ``f``: ``"sqrt"`` or ``"log1p"``.

    Returns:
        Scalar, dtype of ``pred``.
    """
    _pairs(pred, target)
    mean_p, ap, bp, cp, det_p = _gaussians(pred, 4.0)
    mean_t, at, bt, ct, det_t = _gaussians(target, 4.0)
    centre = ((mean_p - mean_t) ** 2).sum(-1)
    product_trace = ap * at + 2 * cp * ct + bp * bt
    root_trace = _safe_sqrt(product_trace + 2 * torch.sqrt(det_p * det_t))
    shape = (ap + bp + at + bt - 2 * root_trace).clamp_min(0)
    distance = (centre + shape) / torch.sqrt(det_t)
    return _mean(_squash(distance, tau, fun), pred)
