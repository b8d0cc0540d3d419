"""fusion_unet with ``fuse: late``: one decoder per group, logits averaged over present groups."""

from __future__ import annotations

import pytest
import torch
from tests.models.fusion_specs import two_group_spec

from eoforge.errors import ConfigError
from eoforge.models import build_model
from eoforge.models.fusion import FusionUNet

S2 = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
S1 = ["S1.VV", "S1.VH"]


def late_model(**options: object) -> FusionUNet:
    model = build_model(two_group_spec(S2, S1, 3, (16, 8, 8), fuse="late", **options))
    assert isinstance(model, FusionUNet)
    return model


def images(seed: int = 0, size: int = 2, side: int = 40) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "s2": torch.randn(size, 4, side, side, generator=generator),
        "s1": torch.randn(size, 2, side // 2, side // 2, generator=generator),
    }


def present(s2: bool, s1: bool, size: int = 2) -> dict[str, torch.Tensor]:
    return {"s2": torch.full((size,), s2), "s1": torch.full((size,), s1)}


def test_logits_are_the_mean_of_each_group_decoded_alone() -> None:
    torch.manual_seed(0)
    model = late_model().eval()
    x = images()
    with torch.no_grad():
        both = model(x, present(True, True))
        only_s2 = model(x, present(True, False))
        only_s1 = model(x, present(False, True))
    assert both.shape == (2, 3, 40, 40)  # on the finer (reference) group's grid
    # equal learned weights at the start: the fused logits are the two groups' average
    torch.testing.assert_close(both, (only_s2 + only_s1) / 2, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(only_s2, only_s1)


def test_an_absent_group_has_no_effect_and_weight_zero() -> None:
    torch.manual_seed(0)
    model = late_model().eval()
    x = images()
    other = dict(x, s1=x["s1"] * 40 + 7)  # whatever an absent group holds
    with torch.no_grad():
        first = model(x, present(True, False))
        second = model(other, present(True, False))
    assert torch.equal(first, second)
    flags = torch.tensor([[True, True], [True, False], [False, True]])
    weights = model.group_weights(flags)
    torch.testing.assert_close(weights, torch.tensor([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]]))


def test_learned_weights_train_and_mean_weights_stay_equal() -> None:
    torch.manual_seed(0)
    learned, mean = late_model(), late_model(late_weights="mean")
    assert learned.late_logits.requires_grad and not mean.late_logits.requires_grad
    x, target = images(size=4), torch.randint(0, 3, (4, 40, 40))
    optimiser = torch.optim.SGD([p for p in learned.parameters() if p.requires_grad], lr=0.5)
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(learned(x, present(True, True, 4)), target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert float(learned.late_logits.detach().abs().max()) > 0  # the per-group weights moved
    weights = learned.group_weights(torch.tensor([[True, True]]))
    assert float(weights.detach().sum()) == pytest.approx(1.0)
    assert torch.equal(mean.group_weights(torch.tensor([[True, True]])), torch.tensor([[0.5, 0.5]]))


def test_modality_dropout_with_late_fusion_keeps_one_group() -> None:
    torch.manual_seed(0)
    model = late_model(modality_dropout=0.9)
    out = model(images(size=8), present(True, True, 8))
    assert out.shape == (8, 3, 40, 40) and bool(torch.isfinite(out).all())
    assert float(out.abs().amax(dim=(1, 2, 3)).min()) > 0  # no sample lost every group


def test_unknown_late_weighting_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="late_weights: unknown weighting 'median'"):
        late_model(late_weights="median")
