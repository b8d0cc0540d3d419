"""U-TAE and the per-pixel L-TAE: shapes, masked dates never attend, date dropout, bad specs."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model
from eoforge.models.temporal import LTAE, drop_dates

BANDS = ["S2.B04", "S2.B08", "S2.B11"]


def spec(arch: str, **group: Any) -> ModelSpec:
    inputs = {"s2": {"bands": BANDS, "gsd": 10.0, "dates": 4, "composite": None, **group}}
    options = {"inputs": inputs, "widths": [8, 16, 16], "d_model": 16, "heads": 2}
    return ModelSpec(
        arch=arch,
        task="segmentation",
        backbone="none",
        in_bands=BANDS,
        num_classes=5,
        options=options,
    )


def batch(seed: int = 0) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Two samples, 4 slots: sample 1's last slot is padding, date 2 of sample 0 all cloudy."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 4, 3, 22, 26, generator=gen)
    valid = torch.rand(2, 4, 22, 26, generator=gen) > 0.2
    valid[0, 2] = False
    valid[1, 3] = False
    doy = torch.tensor([[61.0, 142.0, 224.0, 305.0], [70.0, 150.0, 230.0, 0.0]])
    present = {"s2": torch.tensor([True, True])}
    return {"s2": x}, present, {"s2": {"doy": doy, "valid": valid}}


@pytest.mark.parametrize("arch", ["utae", "ltae"])
def test_logits_on_the_input_grid_and_unusable_dates_change_nothing(arch: str) -> None:
    torch.manual_seed(0)
    model = build_model(spec(arch)).eval()
    images, present, series = batch()
    with torch.no_grad():
        out = model(images, present, series)
        assert out.shape == (2, 5, 22, 26) and bool(torch.isfinite(out).all())
        changed = {"s2": images["s2"].clone()}
        changed["s2"][0, 2] += 5.0  # the all-cloudy date
        changed["s2"][1, 3] -= 3.0  # padding
        moved = {"s2": {**series["s2"], "doy": series["s2"]["doy"].clone()}}
        moved["s2"]["doy"][0, 2] = 10.0
        moved["s2"]["doy"][1, 3] = 200.0
        assert torch.allclose(model(changed, present, moved), out, atol=1e-5)
        # a usable date's day of year matters (the encoding reaches the attention)
        shifted = {"s2": {**series["s2"], "doy": series["s2"]["doy"] + 60.0}}
        assert not torch.allclose(model(images, present, shifted), out, atol=1e-4)


def test_ltae_gives_masked_dates_no_weight_and_empty_sequences_none() -> None:
    torch.manual_seed(0)
    tae = LTAE(3, 16, 4, 8, 8)
    x, doy = torch.randn(3, 5, 3), torch.tensor([[10.0, 40, 80, 120, 160]]).expand(3, 5)
    mask = torch.tensor([[1, 1, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], dtype=torch.bool)
    with torch.no_grad():
        _, attention = tae(x, doy, mask)
    assert attention.shape == (3, 4, 5)
    assert float(attention[~mask[:, None, :].expand_as(attention)].abs().max()) == 0.0
    assert torch.allclose(attention[:2].sum(dim=-1), torch.ones(2, 4))
    assert torch.allclose(attention[1, :, 4], torch.ones(4))  # the one usable date
    assert float(attention[2].sum()) == 0.0


def test_date_dropout_drops_dates_in_training_only_never_all() -> None:
    torch.manual_seed(0)
    valid = torch.ones(64, 6, 4, 4, dtype=torch.bool)
    valid[:, 3:] = False  # three usable dates each
    dropped = drop_dates(valid, 0.6)
    kept = dropped.flatten(2).any(dim=2)
    assert bool(kept.any(dim=1).all()) and not bool(kept[:, 3:].any())
    assert 0.2 < float(kept[:, :3].float().mean()) < 0.7
    model = build_model(spec("utae", **{}))
    model.dropout = 0.5
    images, present, series = batch()
    model.train()
    first, second = model(images, present, series), model(images, present, series)
    assert not torch.allclose(first, second)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(images, present, series), model(images, present, series))


@pytest.mark.parametrize(
    ("group", "words"),
    [
        ({"dates": None}, "reads a time series, but data.inputs.s2 is one date"),
        ({"composite": "median"}, "data.inputs.s2 is a composite"),
    ],
)
def test_a_spec_without_a_series_group_is_refused(group: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        build_model(spec("utae", **group))


def test_two_groups_are_refused_and_bad_options_named() -> None:
    two = spec("ltae")
    two.options["inputs"]["s1"] = {"bands": ["S1.VV"], "gsd": 20.0}
    two = two.model_copy(update={"in_bands": [*BANDS, "S1.VV"]})
    with pytest.raises(ConfigError, match="takes one time-series input group"):
        build_model(two)
    odd = spec("utae")
    odd.options["d_model"] = 15
    with pytest.raises(ConfigError, match="d_model 15 must be even"):
        build_model(odd)
