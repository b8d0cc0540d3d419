"""Pretraining's fast kernels compute what the plain ones do: channels-last views into
convolutional encoders (SimCLR and MoCo's momentum encoder) and a fused AdamW step."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eoforge.models.encoders import SpectralResNet, spectral_vit
from eoforge.tasks import PretrainTask, build_task
from eoforge.tasks.pretrain.optim import ChannelsLastAdam, ChannelsLastAdamW

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def _images(n: int = 8, size: int = 32) -> Tensor:
    gen = torch.Generator().manual_seed(0)
    return F.interpolate(torch.randn(n, 4, 4, 4, generator=gen), size=(size, size))


def _task(method: str, **options: Any) -> PretrainTask:
    torch.manual_seed(0)
    task = build_task("pretrain", SpectralResNet("resnet18", bands=BANDS), method=method, **options)
    assert isinstance(task, PretrainTask)
    return task


def _stem_layouts(encoder: nn.Module, seen: list[bool]) -> None:
    """Record, on every forward, whether the encoder's input is channels-last."""

    def hook(module: nn.Module, inputs: tuple[Tensor, ...]) -> None:
        seen.append(inputs[0].is_contiguous(memory_format=torch.channels_last))

    encoder.register_forward_pre_hook(hook)


@pytest.mark.parametrize("method", ["simclr", "moco"])
def test_convolutional_encoders_see_channels_last_views_and_give_the_same_loss(
    method: str,
) -> None:
    fast, plain = _task(method), _task(method, channels_last=False)
    assert fast.channels_last and not plain.channels_last
    seen: list[bool] = []
    _stem_layouts(fast.model, seen)
    if fast.momentum_encoder is not None:
        _stem_layouts(fast.momentum_encoder, seen)
    batch = {"image": _images()}
    losses = []
    for task in (fast, plain):  # training mode: batch norm uses each pass's own statistics
        losses.append(task.pretrain_loss(batch, generator=torch.Generator().manual_seed(1)))
    assert seen == [True] * (2 if method == "moco" else 1)
    assert float(losses[0]) == pytest.approx(float(losses[1]), rel=1e-4)


def test_convolution_kernels_are_stored_channels_last() -> None:
    fast, plain = _task("moco"), _task("moco", channels_last=False)
    assert fast.momentum_encoder is not None
    for task, layout in ((fast, True), (plain, False)):
        # 1 x 1 kernels are both layouts at once: the others tell them apart
        kernels = [p for p in task.model.parameters() if p.dim() == 4 and p.shape[-1] > 1]
        assert kernels and all(
            p.is_contiguous(memory_format=torch.channels_last) is layout
            and p.is_contiguous() is not layout
            for p in kernels
        )
    kept = [p for p in fast.momentum_encoder.parameters() if p.dim() == 4]
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in kept)
    pairs = zip(fast.model.state_dict().values(), plain.model.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)  # the same weights, laid out apart


def test_a_vit_encoder_keeps_its_layout() -> None:
    encoder = spectral_vit("tiny", depth=1, patch_size=8, bands=BANDS)
    task = build_task("pretrain", encoder, method="simclr")
    assert isinstance(task, PretrainTask) and not task.channels_last


@pytest.mark.parametrize("optimizer", ["adamw", "adam", "sgd"])
def test_adam_steps_fused_and_moves_the_weights_as_the_plain_step(optimizer: str) -> None:
    task = _task("simclr", optimizer=optimizer, scheduler=None, lr=1e-2)
    fast = task.configure_optimizers()
    assert isinstance(fast, torch.optim.Optimizer)
    assert fast.param_groups[0].get("fused") is (True if optimizer != "sgd" else None)
    # channels-last kernels: stepped through contiguous views of the same memory
    steps = {"adamw": ChannelsLastAdamW, "adam": ChannelsLastAdam, "sgd": torch.optim.SGD}
    assert type(fast) is steps[optimizer]
    assert any(p.dim() == 4 and not p.is_contiguous() for p in task.parameters())
    params = [p for p in task.parameters() if p.requires_grad]
    start = [p.detach().clone() for p in params]
    grads = [torch.randn_like(p) for p in params]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    fast.step()
    fused = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, s in zip(params, start, strict=True):
            p.copy_(s)
    group = fast.param_groups[0]
    kind = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}
    plain = kind[optimizer](params, lr=group["lr"], weight_decay=group["weight_decay"])
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    plain.step()
    for a, b, s in zip(fused, params, start, strict=True):
        assert not torch.equal(a, s)
        torch.testing.assert_close(a, b.detach(), rtol=1e-5, atol=1e-6)
