"""The reference-guided network: shapes, units, the reference's detail at the start, refusals."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model, list_models
from eoforge.models.sr_reference import ReferenceSR, takes_reference

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def _model(**options: object) -> ReferenceSR:
    spec = ModelSpec(
        task="super_resolution",
        arch="sr_reference",
        in_bands=BANDS,
        num_classes=4,
        options={"scale": 4, "features": 16, "blocks": 1, "ref_blocks": 1, **options},
    )
    model = build_model(spec)
    assert isinstance(model, ReferenceSR) and takes_reference(model)
    return model


def test_a_fresh_network_is_bicubic_plus_half_the_references_detail() -> None:
    torch.manual_seed(0)
    model = _model().eval()
    model.set_output_units(torch.tensor([0.1, 0.2, 0.3, 0.4]), torch.tensor([2.0] * 4))
    x, ref = torch.randn(2, 4, 12, 12), torch.randn(2, 4, 48, 48)
    with torch.no_grad():
        out = model(x, ref)
    assert out.shape == (2, 4, 48, 48)
    up = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    smooth = F.interpolate(F.avg_pool2d(ref, 4), scale_factor=4, mode="bicubic")
    expected = (up + 0.5 * (ref - smooth)) * 2.0 + torch.tensor([0.1, 0.2, 0.3, 0.4])[:, None, None]
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_every_part_learns_and_the_reference_reaches_the_output() -> None:
    torch.manual_seed(0)
    model = _model()
    x, ref = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 32, 32, requires_grad=True)
    model(x, ref).square().mean().backward()
    for name in ("lr_head", "ref_head", "gate", "detail_gate", "tail", "upsample"):
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(name)]
        assert grads and all(g is not None for g in grads), name
    assert ref.grad is not None and float(ref.grad.abs().sum()) > 0


def test_a_missing_or_misfitting_reference_and_unknown_options_are_refused() -> None:
    model = _model()
    with pytest.raises(ConfigError, match="needs a high-resolution reference"):
        model(torch.zeros(1, 4, 8, 8))
    with pytest.raises(ConfigError, match="needs 32x32 at x4"):
        model(torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 16, 16))
    with pytest.raises(ConfigError, match="takes no such option"):
        _model(depth=3)
    info = {m.name: m for m in list_models()}["sr_reference"]
    assert info.tasks == ("super_resolution",)
