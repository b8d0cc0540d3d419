"""The field-boundary task: Tanimoto loss, per-pixel metrics and targets made from field numbers."""

from __future__ import annotations

import pytest
import torch

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model
from eoforge.tasks import build_task
from eoforge.tasks.field_boundaries import FieldPixelMetrics, tanimoto_complement


def test_tanimoto_is_zero_at_the_target_and_known_elsewhere() -> None:
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert float(tanimoto_complement(target, target)) == pytest.approx(0.0, abs=1e-6)
    # p = 0.5 everywhere, column 0 (l = 1, 0, 1): T = 1 / (0.75 + 2 - 1) = 4/7, complement
    # T(0.5, 1 - l) = 0.5 / (0.75 + 1 - 0.5) = 0.4; column 1 the same by symmetry of counts
    half = torch.full_like(target, 0.5)
    expected = 1 - (4 / 7 + 0.4) / 2
    assert float(tanimoto_complement(half, target)) == pytest.approx(expected, rel=1e-5)


def test_pixel_metrics_count_extent_boundary_and_distance() -> None:
    metric = FieldPixelMetrics()
    target = torch.tensor([[1, 1, 0.5], [1, 0, 1.0], [0, 0, 0.0], [0, 1, 0.0]])
    pred = torch.tensor([[0.9, 0.8, 0.5], [0.7, 0.6, 0.5], [0.6, 0.1, 0.0], [0.2, 0.2, 0.5]])
    metric.update(pred, target)
    out = metric.compute()
    # extent: tp 2, fp 1, fn 0 -> IoU 2/3; boundary: tp 1, fp 1, fn 1 -> F1 0.5
    assert float(out["extent_iou"]) == pytest.approx(2 / 3)
    assert float(out["boundary_f1"]) == pytest.approx(0.5)
    assert float(out["distance_mae"]) == pytest.approx((0 + 0.5 + 0 + 0.5) / 4)


def _task(**options: object) -> torch.nn.Module:
    spec = ModelSpec(
        task="field_boundaries",
        arch="field_unet",
        backbone="tu-resnet10t",
        in_bands=["S2.B04", "S2.B08"],
        num_classes=3,
        options={"encoder_depth": 3, "decoder_channels": [16, 8, 8], "head_channels": 4},
    )
    return build_task("field_boundaries", build_model(spec), model_spec=spec, **options)


def test_task_learns_from_field_numbers_and_skips_unlabelled_pixels() -> None:
    torch.manual_seed(0)
    task = _task(augment=False)
    image = torch.rand(2, 2, 32, 32)
    mask = torch.zeros(2, 32, 32, dtype=torch.long)
    mask[:, 4:16, 4:16], mask[:, 4:16, 16:28] = 5, 6  # two fields sharing an edge
    output = task(image).detach()
    assert output.shape == (2, 3, 32, 32) and 0 <= float(output.min()) <= float(output.max()) <= 1
    pred, target = task.select(output, {"image": image, "mask": mask})
    assert pred.shape == target.shape == (2 * 32 * 32, 3)
    assert float(target[:, 1].sum()) == 2 * 2 * 44  # two 12 x 12 rings of 44 px per sample
    unlabelled = mask.clone()
    unlabelled[:, :, :2] = -1
    valid = torch.ones(2, 32, 32, dtype=torch.bool)
    valid[0] = False
    pred, _ = task.select(output, {"image": image, "mask": unlabelled, "valid": valid})
    assert pred.shape[0] == 32 * 30


def test_task_refuses_wrong_outputs_and_losses() -> None:
    task = _task()
    with pytest.raises(ConfigError, match="does not fit field mask"):
        task.select(torch.rand(1, 2, 8, 8), {"mask": torch.zeros(1, 8, 8, dtype=torch.long)})
    with pytest.raises(ConfigError, match="unknown field-boundary loss 'ce'"):
        _task(loss="ce")
    spec = ModelSpec(task="field_boundaries", arch="field_unet", in_bands=["S2.B04"], num_classes=2)
    with pytest.raises(ConfigError, match="3 maps"):
        build_model(spec)
