"""The super-resolution task: D4 keeps input and target aligned, the loss terms, the metrics,
outputs in physical units, and what it refuses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from eoforge.errors import ConfigError
from eoforge.evaluate.sr_metrics import cpsnr, psnr
from eoforge.models import ModelSpec, build_model
from eoforge.tasks import build_task
from eoforge.tasks.super_resolution import ImageQuality, SuperResolutionTask, d4_pairs

BANDS = ["S2.B04", "S2.B08"]


def _task(**options: object) -> SuperResolutionTask:
    spec = ModelSpec(
        task="super_resolution", arch="sr_edsr", in_bands=BANDS, num_classes=2,
        options={"scale": 2, "features": 8, "blocks": 1},
    )  # fmt: skip
    task = build_task(
        "super_resolution", build_model(spec), normalization=([0.1, 0.3], [0.05, 0.1]), **options
    )
    assert isinstance(task, SuperResolutionTask)
    return task


def test_d4_moves_the_target_with_its_input() -> None:
    image = torch.rand(8, 2, 5, 5)
    target = image.repeat_interleave(3, dim=-1).repeat_interleave(3, dim=-2)  # x3 nearest
    out = d4_pairs({"image": image, "target": target}, torch.arange(8))
    again = out["image"].repeat_interleave(3, dim=-1).repeat_interleave(3, dim=-2)
    torch.testing.assert_close(out["target"], again)
    assert not torch.equal(out["image"][1], image[1])  # element 1 turned it


def test_outputs_are_physical_and_the_loss_terms_add_up() -> None:
    task = _task()
    image = torch.full((1, 2, 6, 6), 0.2)
    with torch.no_grad():
        out = task(image)
    # the untrained network is bicubic: a flat 0.2 input stays 0.2 after de-standardising
    torch.testing.assert_close(out, torch.full((1, 2, 12, 12), 0.2))
    pred = torch.rand(2, 2, 16, 16)
    target = torch.rand(2, 2, 16, 16)
    std = torch.tensor([0.05, 0.1])[:, None, None]
    l1 = F.l1_loss(pred / std, target / std)
    assert float(task.loss_fn(pred, target)) == pytest.approx(float(l1), rel=1e-5)
    edged = _task(edge_weight=0.5, ssim_weight=0.2)
    assert float(edged.loss_fn(pred, target)) > float(l1) + 0.1
    assert float(edged.loss_fn(target, target)) == pytest.approx(0.0, abs=1e-5)


def test_image_quality_averages_per_band_scores_over_images() -> None:
    metric = ImageQuality(2, data_range=1.0, border=2)
    torch.manual_seed(0)
    target = torch.rand(3, 2, 24, 24)
    pred = target + 0.02 * torch.randn_like(target)
    metric.update(pred, target)
    result = metric.compute()
    expected = torch.tensor([psnr(p, t).bands for p, t in zip(pred, target, strict=True)]).mean(0)
    torch.testing.assert_close(result["psnr_band"], expected.float(), rtol=1e-5, atol=1e-5)
    c = torch.tensor([cpsnr(p, t, border=2).mean for p, t in zip(pred, target, strict=True)])
    assert float(result["cpsnr"]) == pytest.approx(float(c.mean()), rel=1e-5)
    assert 0 < float(result["ssim"]) < 1


def test_refusals() -> None:
    with pytest.raises(ConfigError, match="normalisation"):
        build_task("super_resolution", build_model(ModelSpec(
            task="super_resolution", arch="sr_edsr", in_bands=BANDS, num_classes=2,
            options={"scale": 2, "features": 8, "blocks": 1},
        )))  # fmt: skip
    with pytest.raises(ConfigError, match="not a super-resolution network"):
        SuperResolutionTask(torch.nn.Conv2d(2, 2, 1), normalization=([0.0] * 2, [1.0] * 2))
    with pytest.raises(ConfigError, match="unknown super-resolution loss"):
        _task(loss="mse")
    task = _task()
    with pytest.raises(ConfigError, match="does not fit the model output"):
        task.select(torch.zeros(1, 2, 8, 8), {"target": torch.zeros(1, 2, 4, 4)})
