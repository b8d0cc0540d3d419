"""Gaussian losses of oriented boxes: hand-computed values, invariances, monotony, gradients."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from eoforge.boxes.losses import gwd_loss, kld_loss, probiou_distance, probiou_loss

F64 = torch.float64
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES: list[Loss] = [probiou_loss, kld_loss, gwd_loss]
TARGET = torch.tensor([[10.0, 20.0, 20.0, 8.0, 0.3]], dtype=F64)


def shifted(dx: float = 0.0, dangle: float = 0.0) -> torch.Tensor:
    return TARGET + torch.tensor([[dx, 0.0, 0.0, 0.0, dangle]], dtype=F64)


@pytest.mark.parametrize("loss", LOSSES)
def test_identical_boxes_give_zero(loss: Loss) -> None:
    boxes = torch.tensor(
        [
            [10.0, 20.0, 20.0, 8.0, 0.3],
            [5.0, 5.0, 4.0, 4.0, -math.pi / 2],
            [0.0, 0.0, 300.0, 2.0, 1.5],
        ],
        dtype=F64,
    )
    assert abs(float(loss(boxes, boxes))) < 1e-6
    single = boxes.float()
    value = loss(single, single)
    assert value.dtype == torch.float32 and abs(float(value)) < 1e-6


@pytest.mark.parametrize("loss", LOSSES)
def test_the_encoding_of_a_box_does_not_matter(loss: Loss) -> None:
    turned = TARGET + torch.tensor([[0.0, 0.0, 0.0, 0.0, math.pi]], dtype=F64)
    swapped = torch.tensor([[10.0, 20.0, 8.0, 20.0, 0.3 + math.pi / 2]], dtype=F64)
    assert abs(float(loss(turned, TARGET))) < 1e-6
    assert abs(float(loss(swapped, TARGET))) < 1e-6
    other = shifted(3.0, 0.4)
    assert float(loss(other, swapped)) == pytest.approx(float(loss(other, TARGET)), abs=1e-9)
    # a square's angle does not matter at all
    square = torch.tensor([[1.0, 2.0, 5.0, 5.0, 0.0]], dtype=F64)
    assert abs(float(loss(square + torch.tensor([[0, 0, 0, 0, 0.7]], dtype=F64), square))) < 1e-6


def test_probiou_is_symmetric() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.cat(
        [
            torch.rand(20, 2, generator=g, dtype=F64) * 10,
            torch.rand(20, 3, generator=g, dtype=F64) * 8 + 1,
        ],
        1,
    )
    b = torch.cat(
        [
            torch.rand(20, 2, generator=g, dtype=F64) * 10,
            torch.rand(20, 3, generator=g, dtype=F64) * 8 + 1,
        ],
        1,
    )
    torch.testing.assert_close(probiou_distance(a, b), probiou_distance(b, a))
    assert float(probiou_distance(a, b).min()) > 0


def test_hand_computed_values() -> None:
    # the same 20 x 8 box moved 4 px along its w side (angle 0 keeps the algebra short)
    target = torch.tensor([[0.0, 0.0, 20.0, 8.0, 0.0]], dtype=F64)
    pred = torch.tensor([[4.0, 0.0, 20.0, 8.0, 0.0]], dtype=F64)
    # ProbIoU: B = dx^2 / (8 w^2 / 12) = 16 * 12 / 3200 = 0.06; H = sqrt(1 - exp(-B))
    assert float(probiou_loss(pred, target)) == pytest.approx(
        math.sqrt(1 - math.exp(-0.06)), abs=1e-12
    )
    # KLD: D = dx^2 / (w^2 / 4) / 2 = 0.08; loss = 1 - 1 / (1 + sqrt(D))
    assert float(kld_loss(pred, target)) == pytest.approx(1 - 1 / (1 + math.sqrt(0.08)), abs=1e-12)
    assert float(kld_loss(pred, target, fun="log1p")) == pytest.approx(
        1 - 1 / (1 + math.log1p(0.08)), abs=1e-12
    )
    # GWD: W2 = dx^2 = 16, over sqrt(det St) = w h / 4 = 40: D = 0.4
    assert float(gwd_loss(pred, target)) == pytest.approx(1 - 1 / (1 + math.sqrt(0.4)), abs=1e-12)
    # KLD of a box twice as long: tr(St^-1 Sp) = 4 + 1, ln(det St / det Sp) = -ln 4
    longer = torch.tensor([[0.0, 0.0, 40.0, 8.0, 0.0]], dtype=F64)
    divergence = (5 - math.log(4) - 2) / 2
    assert float(kld_loss(longer, target)) == pytest.approx(
        1 - 1 / (1 + math.sqrt(divergence)), abs=1e-12
    )
    # GWD of the same: W2 = (20 - 10)^2 (the sides' half lengths differ by 10), D = 100 / 40
    assert float(gwd_loss(longer, target)) == pytest.approx(1 - 1 / (1 + math.sqrt(2.5)), abs=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_grow_with_centre_offset_and_angle_difference(loss: Loss) -> None:
    by_offset = torch.stack([loss(shifted(dx=d), TARGET) for d in range(0, 12, 2)])
    by_angle = torch.stack(
        [loss(shifted(dangle=a), TARGET) for a in torch.linspace(0, math.pi / 2, 7).tolist()]
    )
    assert (by_offset.diff() > 0).all(), by_offset
    assert (by_angle.diff() > 0).all(), by_angle
    assert float(by_offset.max()) < 1 and float(by_angle.max()) < 1


@pytest.mark.parametrize("loss", LOSSES)
def test_gradients_are_finite(loss: Loss) -> None:
    pred = torch.tensor(
        [
            [5.0, 5.0, 4.0, 4.0, math.pi / 2],  # squares
            [5.0, 5.0, 4.0, 4.0, -math.pi / 2],
            [1.0, 2.0, 6.0, 3.0, -math.pi / 2],  # angle at the ends of the range
            [10.0, 20.0, 20.0, 8.0, 0.3],  # identical to its target
            [0.0, 0.0, 1e-4, 3.0, 0.0],  # degenerate size
        ],
        dtype=F64,
        requires_grad=True,
    )
    target = torch.tensor(
        [
            [5.0, 5.0, 4.0, 4.0, 0.0],
            [6.0, 5.0, 4.0, 4.0, 0.2],
            [1.0, 2.0, 6.0, 3.0, math.pi / 2],
            [10.0, 20.0, 20.0, 8.0, 0.3],
            [0.5, 0.0, 2.0, 3.0, 0.1],
        ],
        dtype=F64,
    )
    loss(pred, target).backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    single = pred.detach().float().requires_grad_(True)
    loss(single, target.float()).backward()
    assert single.grad is not None and torch.isfinite(single.grad).all()


@pytest.mark.parametrize("loss", LOSSES)
def test_a_gradient_step_reduces_the_loss(loss: Loss) -> None:
    pred = shifted(3.0, 0.5).requires_grad_(True)
    before = loss(pred, TARGET)
    before.backward()
    assert pred.grad is not None
    after = loss(pred.detach() - 0.5 * pred.grad / pred.grad.norm(), TARGET)
    assert float(after) < float(before.detach())


def test_no_pairs_and_wrong_shapes() -> None:
    pred = torch.zeros(0, 5, requires_grad=True)
    value = kld_loss(pred, torch.zeros(0, 5))
    assert float(value.detach()) == 0.0
    value.backward()
    with pytest.raises(ValueError, match=r"\[N, 5\]"):
        gwd_loss(torch.zeros(3, 5), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="sqrt"):
        kld_loss(TARGET, TARGET, fun="log")  # type: ignore[arg-type]
