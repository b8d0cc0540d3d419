"""fusion_classifier: one encoder per input group at its own size, pooled, one linear head."""

from __future__ import annotations

import pytest
import torch

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model
from eoforge.models.fusion_classifier import FusionClassifier

S2, S1 = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"], ["S1.VV", "S1.VH"]


def _spec(**options: object) -> ModelSpec:
    return ModelSpec(
        task="multilabel",
        arch="fusion_classifier",
        backbone="tu-resnet10t",
        in_bands=[*S2, *S1],
        num_classes=5,
        options={
            "inputs": {"s2": {"bands": S2, "gsd": 10.0}, "s1": {"bands": S1, "gsd": 20.0}},
            "encoder_depth": 3,
            **options,
        },
    )


def _batch(seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "s2": torch.randn(3, 4, 40, 40, generator=generator),
        "s1": torch.randn(3, 2, 20, 20, generator=generator),  # half the pixels: 20 m
    }


def test_groups_of_different_sizes_give_one_logit_vector_per_sample() -> None:
    model = build_model(_spec()).eval()
    assert isinstance(model, FusionClassifier)
    present = {"s2": torch.tensor([True] * 3), "s1": torch.tensor([True] * 3)}
    logits = model(_batch(0), present)
    assert logits.shape == (3, 5)
    # sides that are no multiple of the network's stride (60 m and 20 m patches) work too
    odd = {"s2": torch.randn(1, 4, 30, 30), "s1": torch.randn(1, 2, 15, 15)}
    assert model(odd, {"s2": torch.tensor([True]), "s1": torch.tensor([True])}).shape == (1, 5)


def test_an_absent_group_contributes_only_its_presence_flag() -> None:
    model = build_model(_spec()).eval()
    first, second = _batch(0), _batch(1)
    second["s2"] = first["s2"]  # the same S2, other S1 pixels
    absent = {"s2": torch.tensor([True] * 3), "s1": torch.tensor([False] * 3)}
    present = {"s2": torch.tensor([True] * 3), "s1": torch.tensor([True] * 3)}
    with torch.no_grad():
        assert torch.equal(model(first, absent), model(second, absent))
        assert not torch.allclose(model(first, present), model(second, present))
        assert not torch.allclose(model(first, absent), model(first, present))


def test_modality_dropout_never_drops_every_group_of_a_sample() -> None:
    model = build_model(_spec(modality_dropout=0.9)).train()
    present = {"s2": torch.tensor([True, False] * 50), "s1": torch.tensor([True, True] * 50)}
    images = {"s2": torch.zeros(100, 4, 8, 8), "s1": torch.zeros(100, 2, 4, 4)}
    flags = model.presence(images, present)
    assert bool((flags.sum(dim=1) >= 1).all())
    assert float(flags[:, 0].sum()) < 50  # some present S2 groups were dropped
    assert bool((flags[1::2, 0] == 0).all())  # an absent group is never brought back


def test_bad_options_and_missing_groups_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="modality_dropout"):
        build_model(_spec(modality_dropout=1.0))
    model = build_model(_spec()).eval()
    with pytest.raises(ConfigError, match=r"\['s1'\] not given"):
        model({"s2": torch.zeros(1, 4, 8, 8)}, {"s2": torch.tensor([True])})
