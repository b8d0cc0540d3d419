"""image_to_image task: per-band target standardisation, physical outputs, counted pixels,
the bundle fold of the per-band scale, refusals."""

from __future__ import annotations

import pytest
import torch
from tests.tasks.helpers import fit, loader, validate
from torch import Tensor, nn

from eoforge.errors import ConfigError
from eoforge.experiment.export import fold_target_scale
from eoforge.tasks import build_task
from eoforge.tasks.image_to_image import ImageToImageTask

MEAN, STD = [0.05, 0.3], [0.02, 0.1]


def _pairs(n: int, size: int = 16) -> dict[str, Tensor]:
    """Two target bands of very different scale, each a linear mix of the three inputs."""
    image = torch.randn(n, 3, size, size)
    blue = MEAN[0] + STD[0] * (image[:, 0] - 0.5 * image[:, 2])
    nir = MEAN[1] + STD[1] * (image[:, 1] + 0.5 * image[:, 2])
    return {"image": image, "target": torch.stack([blue, nir], 1)}


def test_learns_each_band_in_its_own_units() -> None:
    task = build_task(
        "image_to_image", nn.Conv2d(3, 2, 1), lr=0.05, target_normalization=(MEAN, STD),
        target_bands=["S2.B02", "S2.B08"], num_classes=2,
    )  # fmt: skip
    assert isinstance(task, ImageToImageTask) and task.loss_name == "l1"
    fit(task, loader(_pairs(64), shuffle=True), epochs=6, val=loader(_pairs(16)))
    val = task.history["val"]
    assert val[-1]["val/r2"] > 0.9 and val[-1]["val/mae"] < 0.5 * val[0]["val/mae"]
    batch = _pairs(4)
    with torch.no_grad():
        out = task(batch["image"])
    error = (out - batch["target"]).abs().mean((0, 2, 3))
    assert (error < 0.2 * torch.tensor(STD)).all()  # both bands, though 5x apart in scale
    assert out[:, 1].mean() > 3 * out[:, 0].mean()  # physical units, not standardised


def test_only_finite_targets_on_valid_pixels_count() -> None:
    batch = _pairs(4)
    batch["target"][:, 0, :4] = torch.nan
    batch["valid"] = torch.ones(4, 16, 16, dtype=torch.bool)
    batch["valid"][:, -3:] = False
    task = ImageToImageTask(nn.Conv2d(3, 2, 1), target_normalization=(MEAN, STD), num_classes=2)
    with torch.no_grad():
        out = task(batch["image"], batch["valid"])
    keep = torch.isfinite(batch["target"]) & batch["valid"][:, None]
    std = torch.tensor(STD).view(1, 2, 1, 1).expand_as(out)
    expected = ((out - batch["target"]) / std)[keep].abs().mean().item()
    garbage = dict(batch)
    garbage["target"] = torch.where(batch["valid"][:, None], batch["target"], 1e6)
    first, second = validate(task, loader(batch)), validate(task, loader(garbage))
    assert first == second
    assert first["val/mae"] == pytest.approx(expected, rel=1e-5)


def test_folding_the_band_scale_into_the_head_gives_the_task_output() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 1))
    task = ImageToImageTask(net, target_normalization=(MEAN, STD), num_classes=2)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        expected = task(x)
        fold_target_scale(net, MEAN, STD)
        assert torch.allclose(net(x), expected, atol=1e-6)
    scalar = nn.Conv2d(3, 1, 1)
    with torch.no_grad():
        before = scalar(x)
        fold_target_scale(scalar, 10.0, 3.0)
        assert torch.allclose(scalar(x), 3.0 * before + 10.0, atol=1e-5)


def test_refusals() -> None:
    with pytest.raises(ConfigError, match="2 means and 1 stds"):
        ImageToImageTask(nn.Conv2d(3, 2, 1), target_normalization=([0, 1], [1]), num_classes=2)
    with pytest.raises(ConfigError, match="must be positive"):
        ImageToImageTask(nn.Conv2d(3, 2, 1), target_normalization=([0, 1], [1, 0]), num_classes=2)
    task = ImageToImageTask(nn.Conv2d(3, 2, 1), num_classes=2)
    batch = {"image": torch.randn(2, 3, 8, 8), "target": torch.randn(2, 8, 8)}
    with pytest.raises(ConfigError, match="one target band per model output"):
        validate(task, loader(batch))
    with pytest.raises(ConfigError, match="unknown"):
        ImageToImageTask(nn.Conv2d(3, 2, 1), num_classes=2, loss="dice")
