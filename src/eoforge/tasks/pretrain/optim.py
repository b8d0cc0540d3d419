"""Fused Adam/AdamW steps over channels-last convolution kernels without copies.

Convolution kernels ``[O, I, kh, kw]`` stored channels-last are dense but not
contiguous, and the fused CPU Adam kernel makes contiguous copies of such
tensors (and writes them back) on every step: about as much time again as the
step itself for a ResNet-18. The update is elementwise, so it may as well run
on the contiguous ``[O, kh, kw, I]`` view of the same memory: that is all
these optimisers change. Values and state are those of ``torch.optim.Adam`` /
``AdamW`` (the state keeps the parameters' shapes and layout).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor


def _channels_last_only(t: Tensor) -> bool:
    """A 4-d tensor laid out channels-last and not also plainly contiguous."""
    return (
        t.dim() == 4
        and t.is_contiguous(memory_format=torch.channels_last)
        and not t.is_contiguous()
    )


class _ContiguousViews:
    """Adam's ``_init_group``, with channels-last kernels handed on as contiguous views."""

    def _init_group(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        exp_avgs: list[Tensor],
        exp_avg_sqs: list[Tensor],
        max_exp_avg_sqs: list[Tensor],
        state_steps: list[Tensor],
    ) -> Any:
        found = super()._init_group(  # type: ignore[misc]
            group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps
        )
        lists = [params, grads, exp_avgs, exp_avg_sqs]
        if group.get("amsgrad"):
            lists.append(max_exp_avg_sqs)
        for i in range(len(params)):
            if all(_channels_last_only(each[i]) for each in lists):
                for each in lists:  # [O, I, kh, kw] channels-last == [O, kh, kw, I] contiguous
                    each[i] = each[i].permute(0, 2, 3, 1)
        return found


class ChannelsLastAdam(_ContiguousViews, torch.optim.Adam):
    """``torch.optim.Adam`` stepping channels-last kernels in place (see the module)."""


class ChannelsLastAdamW(_ContiguousViews, torch.optim.AdamW):
    """``torch.optim.AdamW`` stepping channels-last kernels in place (see the module)."""


_INIT_GROUP = [
    "group",
    "params_with_grad",
    "grads",
    "exp_avgs",
    "exp_avg_sqs",
    "max_exp_avg_sqs",
    "state_steps",
]
"""The private ``Adam._init_group`` arguments this module was written against (torch 2.14)."""


def _init_group_known() -> bool:
    """Whether this torch's ``Adam``/``AdamW._init_group`` take the arguments above."""
    try:
        return all(
            list(inspect.signature(kind._init_group).parameters)[1:] == _INIT_GROUP
            for kind in (torch.optim.Adam, torch.optim.AdamW)
        )
    except (AttributeError, TypeError, ValueError):
        return False


def contiguous_steps(optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """Make a fused ``Adam``/``AdamW`` step channels-last kernels without copies, in place.

    Only the class changes (param groups, state and any scheduler attached to
    the optimiser stay as they are); other optimisers are returned untouched,
    and so is every optimiser when this torch's private ``_init_group`` does not
    take the arguments it was written against (the plain fused step then makes
    its copies: slower, same values).

    Args:
        optimizer: The optimiser.

    Returns:
        ``optimizer``.
    """
    fused = all(group.get("fused") for group in optimizer.param_groups)
    kinds: dict[type, type] = {
        torch.optim.Adam: ChannelsLastAdam,
        torch.optim.AdamW: ChannelsLastAdamW,
    }
    target = kinds.get(type(optimizer))
    if fused and target is not None and _init_group_known():
        optimizer.__class__ = target  # same instance layout: a subclass adding one method
    return optimizer
