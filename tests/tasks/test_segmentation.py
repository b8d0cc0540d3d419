from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.tasks.helpers import fit, loader, trainer, validate
from torch import Tensor, nn

from eoforge.errors import ConfigError
from eoforge.tasks import SegmentationTask, build_task


def _scenes(n: int, size: int = 32) -> dict[str, Tensor]:
    """Three classes separable per pixel from two bands."""
    image = torch.randn(n, 2, size, size)
    mask = (image[:, 0] > 0).long() + (image[:, 1] > 0.8).long()
    return {"image": image, "mask": mask, "valid": torch.ones(n, size, size, dtype=torch.bool)}


@pytest.mark.parametrize("loss", ["ce", "dice", "focal", "ce+dice"])
def test_segmentation_loss_falls_and_miou_rises(loss: str) -> None:
    task = SegmentationTask(nn.Conv2d(2, 3, 1), num_classes=3, loss=loss, lr=0.05)
    fit(task, loader(_scenes(64), shuffle=True), epochs=5, val=loader(_scenes(32)))
    train, val = task.history["train"], task.history["val"]
    assert train[-1]["train/loss"] < train[0]["train/loss"]
    assert val[-1]["val/miou"] > val[0]["val/miou"]
    assert val[-1]["val/accuracy"] > 0.6 > 1 / 3
    assert {"val/iou_0", "val/iou_1", "val/iou_2", "val/kappa", "val/f1_macro"} <= set(val[-1])


def _with_garbage(batch: dict[str, Tensor], where: Tensor, seed: int) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {k: v.clone() for k, v in batch.items()}
    noise = torch.randn(out["image"].shape, generator=g) * 1e3
    out["image"] = torch.where(where[:, None], noise, out["image"])
    out["mask"] = torch.where(where, torch.randint(0, 3, where.shape, generator=g), out["mask"])
    return out


def test_invalid_pixels_never_count_even_with_spatial_context() -> None:
    batch = _scenes(8)
    invalid = torch.rand(batch["mask"].shape, generator=torch.Generator().manual_seed(3)) < 0.3
    batch["valid"] = ~invalid
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 3, padding=1))
    task = SegmentationTask(model, num_classes=3, class_weights=[1.0, 2.0, 3.0])
    first = validate(task, loader(_with_garbage(batch, invalid, seed=1)))
    second = validate(task, loader(_with_garbage(batch, invalid, seed=2)))
    assert first == second
    # and the garbage really differs where it is invalid
    assert not torch.equal(
        _with_garbage(batch, invalid, 1)["mask"], _with_garbage(batch, invalid, 2)["mask"]
    )


def test_ignore_index_pixels_never_count() -> None:
    batch = _scenes(8)
    task = SegmentationTask(nn.Conv2d(2, 3, 1), num_classes=3, ignore_index=255)
    ignored = torch.zeros_like(batch["mask"], dtype=torch.bool)
    ignored[:, :, :10] = True
    batch["mask"] = torch.where(ignored, 255, batch["mask"])
    first = validate(task, loader(_with_garbage(batch, ignored, seed=1) | {"mask": batch["mask"]}))
    second = validate(task, loader(_with_garbage(batch, ignored, seed=2) | {"mask": batch["mask"]}))
    assert first == second
    with torch.no_grad():
        predicted = task(batch["image"]).argmax(1)
    kept = ~ignored
    expected = (predicted[kept] == batch["mask"][kept]).float().mean().item()
    assert first["val/accuracy"] == pytest.approx(expected, abs=1e-6)


def test_normalization_travels_in_the_state_dict() -> None:
    norm = ([10.0, 20.0], [2.0, 4.0])
    task = SegmentationTask(nn.Conv2d(2, 3, 1), num_classes=3, normalization=norm)
    state = task.state_dict()
    assert torch.equal(state["normalize.mean"], torch.tensor([10.0, 20.0]))
    other = SegmentationTask(nn.Conv2d(2, 3, 1), num_classes=3, normalization=([0.0, 0.0], [1, 1]))
    other.load_state_dict(state)
    image = torch.randn(1, 2, 8, 8) * 4 + 15
    torch.testing.assert_close(other(image), task(image))
    assert task.hparams["normalization"] == [[10.0, 20.0], [2.0, 4.0]]


def test_out_of_range_class_ids_are_a_clear_error() -> None:
    batch = _scenes(2)
    batch["mask"][0, 0, 0] = 5
    task = SegmentationTask(nn.Conv2d(2, 3, 1), num_classes=3)
    with pytest.raises(ConfigError, match=r"class ids \[5\] but the task has 3 classes"):
        validate(task, loader(batch))
    batch["valid"][0, 0, 0] = False  # an invalid pixel may hold anything
    validate(task, loader(batch))


def test_augmentation_only_in_training() -> None:
    task = SegmentationTask(nn.Conv2d(2, 3, 1), num_classes=3)
    batch = _scenes(4)
    assert task.on_after_batch_transfer(batch, 0) is batch  # no trainer: not training


def test_configuration_errors_are_clear() -> None:
    with pytest.raises(ConfigError, match="needs the number of classes"):
        SegmentationTask(nn.Conv2d(2, 3, 1))
    with pytest.raises(ConfigError, match="unknown loss"):
        SegmentationTask(nn.Conv2d(2, 3, 1), num_classes=3, loss="hinge")
    with pytest.raises(ConfigError, match="2 class weights given for 3 classes"):
        SegmentationTask(nn.Conv2d(2, 3, 1), num_classes=3, class_weights=[1.0, 2.0])
    with pytest.raises(ConfigError, match="unknown task"):
        build_task("detection3d", nn.Conv2d(2, 3, 1))
    with pytest.raises(ConfigError, match="unknown optimizer"):
        SegmentationTask(nn.Conv2d(2, 3, 1), num_classes=3, optimizer="lbfgs")


def test_checkpoint_reloads_without_unpickling(tmp_path: Path) -> None:
    norm = ([0.5, -0.5], [2.0, 3.0])
    task = SegmentationTask(
        nn.Conv2d(2, 3, 1), num_classes=3, normalization=norm, class_names=["a", "b", "c"]
    )
    run = trainer(max_epochs=1)
    run.fit(task, loader(_scenes(16)))
    run.save_checkpoint(tmp_path / "last.ckpt")
    again = SegmentationTask.load_from_checkpoint(
        tmp_path / "last.ckpt", model=nn.Conv2d(2, 3, 1), weights_only=True
    )
    image = torch.randn(2, 2, 8, 8)
    torch.testing.assert_close(again(image), task(image))
    assert again.class_names == ["a", "b", "c"] and again.kind == "segmentation"
