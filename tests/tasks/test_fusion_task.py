"""FusionSegmentationTask: per-group normalisation, D4 over every grid, presence shares."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tests.models.fusion_specs import two_group_spec

from eoforge.errors import ConfigError
from eoforge.models import build_model
from eoforge.tasks import FusionSegmentationTask
from eoforge.tasks.fusion import d4_groups

S2 = ["S2.B04", "S2.B08"]
S1 = ["S1.VV"]
SPEC = two_group_spec(S2, S1, 2)
NORM = ([0.1, 0.3, -12.0], [0.05, 0.1, 4.0])


def multi_batch(size: int = 3, side: int = 8) -> dict[str, object]:
    """s2 holds pixel coordinates; s1 is its 2 x 2 mean; the mask is s2's first band."""
    coords = torch.arange(side * side, dtype=torch.float32).reshape(1, 1, side, side)
    s2 = coords.repeat(size, 2, 1, 1) + torch.arange(size).view(-1, 1, 1, 1)
    return {
        "inputs": {
            "s2": {"image": s2, "valid": torch.ones(size, side, side, dtype=torch.bool)},
            "s1": {"image": F.avg_pool2d(s2[:, :1], 2), "valid": s2[:, 0, ::2, ::2] > 3},
        },
        "present": {"s2": torch.ones(size, dtype=torch.bool), "s1": torch.tensor([1, 0, 1]) > 0},
        "mask": s2[:, 0].long(),
        "valid": torch.ones(size, side, side, dtype=torch.bool),
    }


def test_d4_turns_every_grid_of_a_sample_the_same_way() -> None:
    batch = multi_batch()
    for element in range(8):
        turned = d4_groups(batch, torch.full((3,), element))
        s2 = turned["inputs"]["s2"]["image"]
        assert torch.equal(F.avg_pool2d(s2[:, :1], 2), turned["inputs"]["s1"]["image"])
        assert torch.equal(turned["mask"], s2[:, 0].long())
    mixed = d4_groups(batch, torch.tensor([0, 1, 5]))
    assert torch.equal(mixed["mask"][0], batch["mask"][0])
    assert torch.equal(mixed["mask"][1], torch.rot90(batch["mask"][1], 1, (-2, -1)))


def test_each_group_is_standardised_with_its_own_statistics() -> None:
    model = build_model(SPEC).eval()
    task = FusionSegmentationTask(model, model_spec=SPEC, normalization=NORM, num_classes=2)
    task.eval()
    batch = multi_batch()
    inputs = batch["inputs"]
    with torch.no_grad():
        out = task.batch_output(batch)
        s2 = (inputs["s2"]["image"] - torch.tensor([0.1, 0.3]).view(-1, 1, 1)) / torch.tensor(
            [0.05, 0.1]
        ).view(-1, 1, 1)
        s1 = (inputs["s1"]["image"] + 12.0) / 4.0
        s1 = torch.where(inputs["s1"]["valid"][:, None], s1, torch.zeros(()))
        direct = model({"s2": s2, "s1": s1}, batch["present"])
    assert out.shape == (3, 2, 8, 8) and torch.allclose(out, direct, atol=1e-5)


def test_steps_count_the_samples_each_group_is_present_in() -> None:
    task = FusionSegmentationTask(build_model(SPEC), model_spec=SPEC, normalization=NORM)
    batch = multi_batch()
    batch["mask"] = batch["mask"] % 2
    task.validation_step(batch, 0)
    task.validation_step(batch, 1)
    task.on_validation_epoch_end()
    metrics = task.final_metrics()
    assert metrics["val/present_s1"] == pytest.approx(2 / 3)
    assert metrics["val/present_s2"] == 1.0 and "val/miou" in metrics


def test_normalisation_of_another_length_is_refused() -> None:
    with pytest.raises(ConfigError, match="normalization has 2 bands; the input groups hold 3"):
        FusionSegmentationTask(
            build_model(SPEC), model_spec=SPEC, normalization=([0.0, 0.0], [1.0, 1.0])
        )
