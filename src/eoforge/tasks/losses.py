"""Losses on selected samples or pixels.

Every task first selects what counts (valid, labelled, not ignored) and flattens
it, so these losses see only ``logits [N, K]`` and ``target [N]``: pixels
that must not count are gone before any arithmetic touches them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from eoforge.errors import ConfigError, available_list

ClassLoss = Callable[[Tensor, Tensor], Tensor]
"""``loss(logits [N, K], target int64 [N]) -> scalar``."""


def soft_dice_loss(logits: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Multi-class soft Dice loss, ``1 - mean_k dice_k`` (weighted mean with ``weight``).

    Args:
        logits: Scores ``[N, K]``.
        target: Class ids ``[N]``.
        weight: Per-class weights ``[K]`` or None.

    Returns:
        Scalar loss in ``[0, 1]``; classes absent from both prediction and
        target score a perfect Dice.
    """
    probs = logits.softmax(dim=1)
    onehot = F.one_hot(target, logits.shape[1]).to(probs.dtype)
    inter = (probs * onehot).sum(dim=0)
    total = probs.sum(dim=0) + onehot.sum(dim=0)
    dice = (2 * inter + 1.0) / (total + 1.0)
    if weight is None:
        return 1 - dice.mean()
    return 1 - (dice * weight).sum() / weight.sum()


def focal_loss(
    logits: Tensor, target: Tensor, weight: Tensor | None = None, gamma: float = 2.0
) -> Tensor:
    """Multi-class focal loss ``-(1 - p_t)^gamma log p_t``, mean over samples.

    Args:
        logits: Scores ``[N, K]``.
        target: Class ids ``[N]``.
        weight: Per-class weights ``[K]`` (alpha) or None.
        gamma: Focusing exponent.

    Returns:
        Scalar loss.
    """
    log_p = logits.log_softmax(dim=1).gather(1, target[:, None]).squeeze(1)
    loss = -((1 - log_p.exp()) ** gamma) * log_p
    if weight is not None:
        loss = loss * weight[target]
    return loss.mean()


def _cross_entropy(weight: Tensor | None) -> ClassLoss:
    return lambda logits, target: F.cross_entropy(logits, target, weight=weight)


def _dice(weight: Tensor | None) -> ClassLoss:
    return lambda logits, target: soft_dice_loss(logits, target, weight)


def _focal(weight: Tensor | None) -> ClassLoss:
    return lambda logits, target: focal_loss(logits, target, weight)


def _ce_dice(weight: Tensor | None) -> ClassLoss:
    ce, dice = _cross_entropy(weight), _dice(weight)
    return lambda logits, target: ce(logits, target) + dice(logits, target)


CLASS_LOSSES: dict[str, Callable[[Tensor | None], ClassLoss]] = {
    "ce": _cross_entropy,
    "dice": _dice,
    "focal": _focal,
    "ce+dice": _ce_dice,
}


def class_loss(name: str, weight: Tensor | None = None) -> ClassLoss:
    """The named single-label loss (``ce``, ``dice``, ``focal``, ``ce+dice``).

    Args:
        name: Loss name.
        weight: Per-class weights ``[K]``, or None.

    Raises:
        ConfigError: Unknown name.
    """
    if name not in CLASS_LOSSES:
        raise ConfigError(
            f"unknown loss {name!r}.", fix=f"use one of {available_list(CLASS_LOSSES)}."
        )
    return CLASS_LOSSES[name](weight)


REGRESSION_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "mse": F.mse_loss,
    "l1": F.l1_loss,
    "huber": F.smooth_l1_loss,
}


def regression_loss(name: str) -> Callable[[Tensor, Tensor], Tensor]:
    """The named regression loss (``mse``, ``l1``, ``huber``) on 1-D tensors.

    Raises:
        ConfigError: Unknown name.
    """
    if name not in REGRESSION_LOSSES:
        raise ConfigError(
            f"unknown regression loss {name!r}.",
            fix=f"use one of {available_list(REGRESSION_LOSSES)}.",
        )
    return REGRESSION_LOSSES[name]


def empty_loss(output: Tensor) -> Tensor:
    """A zero loss still connected to ``output`` (a batch where nothing counts)."""
    return torch.zeros((), device=output.device) + output.sum() * 0.0
