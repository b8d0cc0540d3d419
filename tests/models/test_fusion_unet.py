"""fusion_unet: one encoder per input group at its own resolution, fused, one decoder."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from tests.models.fusion_specs import two_group_spec

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model, list_models
from eoforge.models.fusion import FusionUNet

S2 = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
S1 = ["S1.VV", "S1.VH"]


def fusion_spec(fuse: str = "concat", **options: Any) -> ModelSpec:
    """Two groups: s2 at 10 m, s1 at 20 m; a small 3-level network."""
    return two_group_spec(S2, S1, 3, (16, 8, 8), fuse=fuse, **options)


def batch(size: int = 2, side: int = 40) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        "s2": torch.randn(size, 4, side, side, generator=generator),
        "s1": torch.randn(size, 2, side // 2, side // 2, generator=generator),
    }


def flags(*values: bool) -> torch.Tensor:
    return torch.tensor(values)


@pytest.mark.parametrize("fuse", ["concat", "gated"])
def test_logits_on_the_finest_grid_for_any_size(fuse: str) -> None:
    model = build_model(fusion_spec(fuse)).eval()
    assert isinstance(model, FusionUNet) and model.reference == "s2"
    for side in (40, 64):  # 40 is no multiple of the network's stride 8
        out = model(batch(side=side), {"s2": flags(True, True), "s1": flags(True, False)})
        assert out.shape == (2, 3, side, side) and bool(torch.isfinite(out).all())
    assert "fusion_unet" in {info.name for info in list_models()}


@pytest.mark.parametrize("fuse", ["concat", "gated"])
def test_an_absent_group_contributes_nothing_but_its_flag(fuse: str) -> None:
    model = build_model(fusion_spec(fuse)).eval()
    images = batch()
    other = dict(images, s1=images["s1"] * 50 + 3)  # whatever an absent group holds
    present = {"s2": flags(True, True), "s1": flags(False, False)}
    with torch.no_grad():
        first, second = model(images, present), model(other, present)
        seen = model(images, {"s2": flags(True, True), "s1": flags(True, True)})
    assert torch.equal(first, second)
    assert not torch.allclose(first, seen)  # present, the group changes the output


def test_a_group_of_another_size_is_brought_to_the_reference_scale() -> None:
    spec = fusion_spec(reference="s1")  # output on the coarser grid
    model = build_model(spec).eval()
    out = model(batch(side=32), {"s2": flags(True, True), "s1": flags(True, True)})
    assert out.shape == (2, 3, 16, 16)


def test_modality_dropout_drops_groups_in_training_only_never_all() -> None:
    model = build_model(fusion_spec(modality_dropout=0.9))
    images = {"s2": torch.zeros(64, 4, 8, 8), "s1": torch.zeros(64, 2, 4, 4)}
    both = {"s2": torch.ones(64, dtype=torch.bool), "s1": torch.ones(64, dtype=torch.bool)}
    torch.manual_seed(0)
    kept = model._presence(images, both)
    assert bool((kept.sum(dim=1) >= 1).all())  # every sample keeps a group
    assert float(kept.mean()) < 0.7  # and many groups are dropped at p = 0.9
    only_s1 = dict(both, s2=torch.zeros(64, dtype=torch.bool))
    assert torch.equal(model._presence(images, only_s1)[:, 1], torch.ones(64))  # its only group
    model.eval()
    assert bool((model._presence(images, both) == 1).all())


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"fuse": "attention"}, "unknown fusion 'attention'"),
        ({"modality_dropout": 1.0}, "not a probability"),
        ({"reference": "dsm"}, "options.reference 'dsm' is not an input group"),
        ({"inputs": {}}, "needs input groups"),
        ({"inputs": {"s1": {"bands": S1, "gsd": 20}, "s2": {"bands": S2, "gsd": 10}}}, "in_bands"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        build_model(fusion_spec(**options))


def test_missing_groups_in_the_call_are_named() -> None:
    model = build_model(fusion_spec()).eval()
    with pytest.raises(ConfigError, match=r"\['s1'\] not given"):
        model({"s2": batch()["s2"]}, {"s2": flags(True, True)})
