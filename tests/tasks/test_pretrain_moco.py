"""MoCo-v2's fast step (fused momentum lerp, inference-mode keys, channels-last views, queue
written on the device) computes what the plain step computes, step after step."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eoforge.models.encoders import SpectralResNet
from eoforge.models.ssl import FeatureQueue, momentum_update
from eoforge.tasks import PretrainTask, build_task
from eoforge.tasks.pretrain import random_view

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def _images(n: int = 8, size: int = 32) -> Tensor:
    gen = torch.Generator().manual_seed(0)
    coarse = torch.randn(n, 4, size // 8, size // 8, generator=gen)
    return F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)


def _task(**options: Any) -> PretrainTask:
    torch.manual_seed(0)
    task = build_task(
        "pretrain",
        SpectralResNet("resnet18", bands=BANDS),
        method="moco",
        queue_size=20,
        momentum=0.9,
        **options,
    )
    assert isinstance(task, PretrainTask)
    return task.train()


# --- the implementation before the fast step, written out plainly ----------------------


@torch.no_grad()
def _plain_momentum(online: nn.Module, target: nn.Module, m: float) -> None:
    for t, o in zip(target.parameters(), online.parameters(), strict=True):
        t.mul_(m).add_(o, alpha=1 - m)
    for t, o in zip(target.buffers(), online.buffers(), strict=True):
        t.copy_(o)


def _plain_loss(query: Tensor, key: Tensor, queue: Tensor, temperature: float) -> Tensor:
    q, k = F.normalize(query, dim=1), F.normalize(key, dim=1)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long))


@torch.no_grad()
def _plain_push(queue: FeatureQueue, keys: Tensor) -> None:
    keys = F.normalize(keys, dim=1)
    start = int(queue.pointer)
    rows = (torch.arange(keys.shape[0]) + start) % queue.keys.shape[0]
    queue.keys[rows] = keys
    queue.pointer.fill_((start + keys.shape[0]) % queue.keys.shape[0])


def _plain_step(task: PretrainTask, x: Tensor, generator: torch.Generator) -> Tensor:
    assert task.momentum_encoder is not None and task.momentum_projector is not None
    assert task.projector is not None and task.queue is not None
    a, b = random_view(x, task.views, generator), random_view(x, task.views, generator)
    a, b = (v.contiguous(memory_format=torch.channels_last) for v in (a, b))
    _plain_momentum(task.model, task.momentum_encoder, task.momentum)
    _plain_momentum(task.projector, task.momentum_projector, task.momentum)
    query = task.projector(task.model(a))
    with torch.no_grad():
        key = task.momentum_projector(task.momentum_encoder(b))
    loss = _plain_loss(query, key, task.queue.keys, task.temperature)
    loss.backward()  # type: ignore[no-untyped-call]
    _plain_push(task.queue, key)
    return loss


def _fast_step(task: PretrainTask, x: Tensor, generator: torch.Generator) -> Tensor:
    loss = task.pretrain_loss({"image": x}, update=True, generator=generator)
    loss.backward()  # type: ignore[no-untyped-call]
    task.on_after_backward()  # Lightning's hook: the keys enter the queue
    return loss


def test_the_fast_step_gives_the_plain_steps_losses_queue_and_weights() -> None:
    """Each step starts both from the same state (weights, momentum copy, queue)."""
    fast, plain = _task(), _task()
    x = _images()
    tasks = {"fast": fast, "plain": plain}
    optimizers = {k: torch.optim.SGD(t.parameters(), lr=0.05) for k, t in tasks.items()}
    losses: dict[str, list[float]] = {"fast": [], "plain": []}
    assert fast.queue is not None and plain.queue is not None
    assert fast.momentum_encoder is not None and plain.momentum_encoder is not None
    for step in range(4):  # 4 x 8 keys: the 20-key queue wraps around
        for name, task in tasks.items():
            gen = torch.Generator().manual_seed(step)
            run = _fast_step if name == "fast" else _plain_step
            losses[name].append(float(run(task, x, gen).detach()))
            optimizers[name].step()
            optimizers[name].zero_grad(set_to_none=True)
        assert losses["fast"][-1] == pytest.approx(losses["plain"][-1], rel=1e-5, abs=1e-5)
        assert int(fast.queue.pointer) == int(plain.queue.pointer) == 8 * (step + 1) % 20
        torch.testing.assert_close(fast.queue.keys, plain.queue.keys, rtol=1e-5, atol=1e-5)
        for (name, p), q in zip(
            fast.momentum_encoder.state_dict().items(),
            plain.momentum_encoder.state_dict().values(),
            strict=True,
        ):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
        # float rounding compounds over training steps: restart the next one level
        fast.load_state_dict(plain.state_dict())
    assert len(set(losses["fast"])) == 4  # the steps moved the weights and the queue


def test_keys_come_from_an_inference_pass_as_normal_tensors() -> None:
    task = _task()
    assert task.momentum_encoder is not None
    seen: list[tuple[bool, bool]] = []

    def hook(module: nn.Module, inputs: tuple[Tensor, ...]) -> None:
        seen.append(
            (
                torch.is_inference_mode_enabled(),
                inputs[0].is_contiguous(memory_format=torch.channels_last),
            )
        )

    task.momentum_encoder.register_forward_pre_hook(hook)
    key = task.keys(random_view(_images(), task.views, channels_last=True))
    assert seen == [(True, True)]
    assert key.shape == (8, 128) and not key.is_inference() and not key.requires_grad


def test_channels_last_views_hold_the_same_values() -> None:
    task = _task()
    x = _images()
    plain = random_view(x, task.views, torch.Generator().manual_seed(3))
    fast = random_view(x, task.views, torch.Generator().manual_seed(3), channels_last=True)
    assert fast.is_contiguous(memory_format=torch.channels_last)
    assert plain.is_contiguous() and not torch.equal(plain, x)
    assert torch.equal(fast, plain)


def test_momentum_update_is_a_lerp_and_copies_buffers() -> None:
    torch.manual_seed(0)
    online = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    online(torch.randn(5, 3))  # running statistics and the batch counter move
    target = copy.deepcopy(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)))
    before = [p.detach().clone() for p in target.parameters()]
    momentum_update(online, target, 0.75)
    for t, b, o in zip(target.parameters(), before, online.parameters(), strict=True):
        torch.testing.assert_close(t, 0.75 * b + 0.25 * o.detach())
    for t, o in zip(target.buffers(), online.buffers(), strict=True):
        assert torch.equal(t, o)
    assert int(target[1].num_batches_tracked) == 1
    momentum_update(online, target, 0.0)  # 0 copies exactly
    assert all(
        torch.equal(t, o) for t, o in zip(target.parameters(), online.parameters(), strict=True)
    )
