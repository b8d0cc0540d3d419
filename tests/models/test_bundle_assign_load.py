"""Loading a bundle builds the network without initial values and takes the file's tensors
as its weights; networks that keep tensors the file lacks, or share tensors, are built for
real and copied into, and either way the loaded model computes what the saved one did."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tests.models.conftest import S2_4
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models import Bundle, ModelSpec, Normalization, build_model, load_bundle, save_bundle
from eoforge.models.bundle import _assign_weights


def _save(folder: Path, spec: ModelSpec, patch: int) -> nn.Module:
    model = build_model(spec).eval()
    bundle = Bundle(
        task=spec.task,
        model=spec,
        bands=list(spec.in_bands),
        normalization=Normalization(mean=[0.1] * 4, std=[0.05] * 4),
        gsd=10.0,
        patch_size=patch,
    )
    save_bundle(folder, model, bundle)
    return model


def test_a_timm_encoder_takes_the_files_tensors_without_drawing_initial_values(
    tmp_path: Path,
) -> None:
    spec = ModelSpec(
        task="embedding", arch="timm_encoder", backbone="resnet18", in_bands=S2_4, num_classes=1
    )
    saved = _save(tmp_path / "enc", spec, 64)
    rng = torch.get_rng_state()
    loaded = load_bundle(tmp_path / "enc").model
    # a real build would have drawn every layer's initial weights from the generator
    assert torch.equal(torch.get_rng_state(), rng)
    params = dict(loaded.named_parameters())
    stored = load_file(str(tmp_path / "enc" / "weights.safetensors"))
    assert params.keys() <= stored.keys()
    assert all(torch.equal(params[k], stored[k]) for k in params)
    assert all(p.requires_grad and p.device.type == "cpu" for p in params.values())
    assert not any(t.is_meta for t in [*loaded.parameters(), *loaded.buffers()])
    x = torch.randn(2, 4, 64, 64)
    with torch.inference_mode():
        assert torch.equal(loaded(x), saved(x))


def test_a_network_with_buffers_outside_the_file_is_built_for_real(tmp_path: Path) -> None:
    # the spectral ViT's band embedding keeps its frequencies as non-persistent buffers
    spec = ModelSpec(
        task="embedding",
        arch="spectral_vit",
        in_bands=S2_4,
        num_classes=1,
        options={"depth": 1, "patch_size": 8},
    )
    saved = _save(tmp_path / "vit", spec, 32)
    loaded = load_bundle(tmp_path / "vit").model
    assert not any(t.is_meta for t in [*loaded.parameters(), *loaded.buffers()])
    x = torch.randn(2, 4, 32, 32)
    with torch.inference_mode():
        assert torch.equal(loaded(x), saved(x))


class _Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.b = nn.Linear(3, 3)
        self.b.weight = self.a.weight


class _Kept(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.register_buffer("scale", torch.ones(3), persistent=False)


def test_tied_or_unsaved_tensors_are_not_assigned() -> None:
    for net in (_Tied, _Kept):
        weights = {k: v.clone() for k, v in net().state_dict().items()}
        with torch.device("meta"):
            skeleton = net()
        assert _assign_weights(skeleton, weights, Path("w.safetensors")) is None
    with torch.device("meta"):
        plain = nn.Linear(3, 3)
    weights = {"weight": torch.ones(3, 3, dtype=torch.float64), "bias": torch.zeros(3)}
    got = _assign_weights(plain, weights, Path("w.safetensors"))
    assert got is plain and plain.weight.dtype == torch.float32  # the model's dtype kept
    with torch.device("meta"):
        other = nn.Linear(3, 3)
    with pytest.raises(ConfigError, match="missing bias"):
        _assign_weights(other, {"weight": torch.ones(3, 3)}, Path("w.safetensors"))
