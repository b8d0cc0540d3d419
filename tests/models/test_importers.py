"""Published checkpoint importers: state dicts built to each published layout.

Each test builds random tensors under a family's published key names and
shapes (widths and depths kept small where the importer reads them from the
tensors), imports them, checks that every model tensor came from the
checkpoint, and compares the forward pass with a reference written here from
the raw tensors (or torchvision's independent ResNet).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
import torch
import torch.nn.functional as F
import torchvision
from pydantic import ValidationError
from safetensors.torch import save_file
from tests.cli.test_info import run_main
from tests.embeddings.windows import BANDS, write_scene

from eoforge.embeddings import embed
from eoforge.errors import ConfigError, EoforgeError, UnsafeModelFileError
from eoforge.experiment.config import ModelConfig
from eoforge.models import (
    ModelSpec,
    build_model,
    import_checkpoint,
    import_state_dict,
    load_bundle,
    save_imported_bundle,
)
from eoforge.models.importers import detect_importer, list_importers
from eoforge.models.importers.base import PublishedNormalization, read_as
from eoforge.models.importers.load import build_imported
from eoforge.models.importers.prithvi import PRITHVI_100M_NORMALIZATION, PRITHVI_BANDS
from eoforge.models.importers.satlas import (
    SATLAS_S2_BANDS,
    SATLAS_S2_NORMALIZATION,
    SWIN_BANDS,
    SatlasSwin,
)
from eoforge.models.importers.satmae import SATMAE_BANDS, SATMAE_NORMALIZATION
from eoforge.models.importers.ssl4eo import S2_L1C_BANDS, S2_L1C_NORMALIZATION
from eoforge.sensors import default_radiometry

StateDict = dict[str, torch.Tensor]


def _rand(gen: torch.Generator, *shape: int, scale: float = 0.05) -> torch.Tensor:
    return torch.randn(*shape, generator=gen) * scale


def vit_layout(width: int, depth: int, channels: int, patch: int, grid: int, *,
               layer_scale: bool = False, seed: int = 0) -> StateDict:  # fmt: skip
    """timm/DINO/MAE ViT encoder keys (``patch_embed.proj``, ``blocks.N.*``, ``norm``)."""
    g = torch.Generator().manual_seed(seed)
    d = width
    state = {
        "cls_token": _rand(g, 1, 1, d, scale=0.5),
        "pos_embed": _rand(g, 1, 1 + grid * grid, d, scale=0.5),
        "patch_embed.proj.weight": _rand(g, d, channels, patch, patch),
        "patch_embed.proj.bias": _rand(g, d),
        "norm.weight": 1 + _rand(g, d),
        "norm.bias": _rand(g, d),
    }
    for i in range(depth):
        b = f"blocks.{i}."
        state |= {
            b + "norm1.weight": 1 + _rand(g, d),
            b + "norm1.bias": _rand(g, d),
            b + "attn.qkv.weight": _rand(g, 3 * d, d),
            b + "attn.qkv.bias": _rand(g, 3 * d),
            b + "attn.proj.weight": _rand(g, d, d),
            b + "attn.proj.bias": _rand(g, d),
            b + "norm2.weight": 1 + _rand(g, d),
            b + "norm2.bias": _rand(g, d),
            b + "mlp.fc1.weight": _rand(g, 4 * d, d),
            b + "mlp.fc1.bias": _rand(g, 4 * d),
            b + "mlp.fc2.weight": _rand(g, d, 4 * d),
            b + "mlp.fc2.bias": _rand(g, d),
        }
        if layer_scale:
            state |= {b + "ls1.gamma": 1 + _rand(g, d), b + "ls2.gamma": 1 + _rand(g, d)}
    return state


def _ln(x: torch.Tensor, s: StateDict, key: str, eps: float = 1e-6) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], s[key + ".weight"], s[key + ".bias"], eps)


def _linear(x: torch.Tensor, s: StateDict, key: str) -> torch.Tensor:
    return x @ s[key + ".weight"].T + s[key + ".bias"]


def _attention(x: torch.Tensor, qkv: torch.Tensor, heads: int) -> torch.Tensor:
    """Softmax attention from packed ``qkv [B, N, 3D]`` -> ``[B, N, D]``."""
    b, n, three_d = qkv.shape
    d = three_d // 3
    q, k, v = qkv.reshape(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
    weights = (q @ k.transpose(-1, -2) / math.sqrt(d // heads)).softmax(dim=-1)
    return (weights @ v).transpose(1, 2).reshape(b, n, d)


def vit_blocks_reference(x: torch.Tensor, s: StateDict, depth: int, heads: int) -> torch.Tensor:
    """Pre-norm ViT blocks (with layer scale when the keys are there) on tokens ``[B, N, D]``."""
    for i in range(depth):
        b = f"blocks.{i}."
        y = _linear(_attention(x, _linear(_ln(x, s, b + "norm1"), s, b + "attn.qkv"), heads),
                    s, b + "attn.proj")  # fmt: skip
        x = x + (y * s[b + "ls1.gamma"] if b + "ls1.gamma" in s else y)
        y = _linear(F.gelu(_linear(_ln(x, s, b + "norm2"), s, b + "mlp.fc1")), s, b + "mlp.fc2")
        x = x + (y * s[b + "ls2.gamma"] if b + "ls2.gamma" in s else y)
    return x


def vit_reference(image: torch.Tensor, s: StateDict, depth: int, heads: int) -> torch.Tensor:
    """Class token after the final norm of a 2-D patch-embedding ViT."""
    p = s["patch_embed.proj.weight"].shape[-1]
    tokens = F.conv2d(image, s["patch_embed.proj.weight"], s["patch_embed.proj.bias"], stride=p)
    tokens = tokens.flatten(2).transpose(1, 2)
    cls = s["cls_token"].expand(image.shape[0], -1, -1)
    x = torch.cat([cls, tokens], dim=1) + s["pos_embed"]
    return _ln(vit_blocks_reference(x, s, depth, heads), s, "norm")[:, 0]


def _assert_all_from(
    imported_state: StateDict, source: StateDict, prefix: str = "backbone."
) -> None:
    for key, tensor in source.items():
        assert torch.equal(imported_state[prefix + key], tensor), key


# --------------------------------------------------------------------------- SSL4EO ResNet


def _torchvision_resnet50_13() -> torch.nn.Module:
    net = torchvision.models.resnet50()
    net.conv1 = torch.nn.Conv2d(13, 64, 7, 2, 3, bias=False)
    net.fc = torch.nn.Sequential(
        torch.nn.Linear(2048, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, 128)
    )
    for module in net.modules():  # non-trivial batch-norm statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
    return net.eval()


@pytest.fixture(scope="module")
def moco_resnet50() -> tuple[torch.nn.Module, StateDict]:
    """SSL4EO-S12 MoCo layout: module.encoder_q.* (MLP fc), module.encoder_k.*, module.queue."""
    torch.manual_seed(1)
    net = _torchvision_resnet50_13()
    query = net.state_dict()
    state = {"module.encoder_q." + k: v for k, v in query.items()}
    state |= {"module.encoder_k." + k: v + 1 for k, v in query.items() if v.is_floating_point()}
    state["module.queue"] = torch.randn(128, 16)
    state["module.queue_ptr"] = torch.zeros(1, dtype=torch.long)
    return net, state


def test_ssl4eo_moco_resnet50_loads_every_encoder_tensor_and_matches_torchvision(
    moco_resnet50: tuple[torch.nn.Module, StateDict],
) -> None:
    net, state = moco_resnet50
    imported = import_state_dict(state)
    assert imported.importer == "ssl4eo_resnet"
    assert (imported.spec.arch, imported.spec.backbone) == ("timm_encoder", "resnet50")
    assert imported.spec.in_bands == S2_L1C_BANDS and imported.stem == "as published"
    assert imported.left_initial == []
    query = {k: v for k, v in net.state_dict().items() if not k.startswith("fc.")}
    _assert_all_from(imported.model.state_dict(), query)
    assert all(
        k.startswith(("module.encoder_k.", "module.queue", "module.encoder_q.fc."))
        for k in imported.dropped
    )
    assert "module.encoder_q.fc.0.weight" in imported.dropped
    assert imported.normalization is not None
    # SSL4EO-S12's L1C DN statistics, as the reflectance eoforge reads (DN / 10000)
    assert imported.normalization.mean[10] == pytest.approx((22.0 - 2 * 47.5) / 1e4)
    assert imported.normalization.std[8] == pytest.approx(4 * 1345.9 / 1e4)
    net.fc = torch.nn.Identity()
    image = torch.randn(2, 13, 64, 64)
    with torch.no_grad():
        expected, got = net(image), imported.model(image)
    assert got.shape == (2, 2048)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_ssl4eo_resnet_for_a_band_subset_selects_the_stem_columns_exactly(
    moco_resnet50: tuple[torch.nn.Module, StateDict],
) -> None:
    net, state = moco_resnet50
    imported = import_state_dict(state, bands=["S2.B04", "S2.B03", "S2.B02"])
    stem = imported.model.state_dict()["backbone.conv1.weight"]
    assert imported.stem == "selected" and imported.spec.in_bands == ["S2.B04", "S2.B03", "S2.B02"]
    assert torch.equal(stem, net.conv1.weight.detach()[:, [3, 2, 1]])
    assert imported.normalization is not None
    assert imported.normalization.std == pytest.approx([0.45796, 0.35148, 0.34172])  # 4 std / 1e4
    # A band the checkpoint lacks goes through the stem adaptation (nearest: B8A for L8 NIR)
    adapted = import_state_dict(state, bands=["S2.B04", "L8.B5"])
    assert adapted.stem == "adapted" and adapted.normalization is None
    assert adapted.model.state_dict()["backbone.conv1.weight"].shape == (64, 2, 7, 7)


def test_dino_resnet_teacher_layout_is_recognised() -> None:
    """DINO: the ResNet under module.backbone. with module.head.*; here a two-channel S1 one."""
    tv = torchvision.models.resnet18()
    tv.conv1 = torch.nn.Conv2d(2, 64, 7, 2, 3, bias=False)
    state = {
        "module.backbone." + k: v for k, v in tv.state_dict().items() if not k.startswith("fc.")
    }
    state["module.head.mlp.0.weight"] = torch.randn(16, 512)
    imported = import_state_dict(state, kind="ssl4eo_resnet")
    assert imported.spec.backbone == "resnet18" and imported.spec.in_bands == ["S1.VV", "S1.VH"]
    assert imported.normalization is not None and imported.normalization.mean == [-12.59, -20.26]
    assert list(imported.dropped) == ["module.head.mlp.0.weight"]


# --------------------------------------------------------------------------- SSL4EO / SoftCon ViTs


def test_ssl4eo_dino_vit_from_a_pth_teacher_entry_matches_the_reference(tmp_path) -> None:
    encoder = vit_layout(192, 1, 13, 16, grid=2)
    teacher = {"module.backbone." + k: v for k, v in encoder.items()}
    teacher["module.head.last_layer.weight_v"] = torch.randn(8, 16)
    path = tmp_path / "B13_vits16_dino.pth"
    torch.save({"teacher": teacher, "student": {"x": torch.zeros(1)}, "epoch": 99}, path)
    assert path.stat().st_size < 5e6
    imported = import_checkpoint(path)
    assert imported.importer == "ssl4eo_vit"
    assert imported.spec.backbone == "vit_tiny_patch16_224"
    assert imported.spec.options == {"depth": 1, "img_size": 32}
    _assert_all_from(imported.model.state_dict(), encoder)
    assert imported.left_initial == [] and list(imported.dropped) == [
        "module.head.last_layer.weight_v"
    ]
    image = torch.randn(2, 13, 32, 32)
    with torch.no_grad():
        got = imported.model(image)
    torch.testing.assert_close(got, vit_reference(image, encoder, 1, heads=3), rtol=1e-4, atol=1e-4)


def test_ssl4eo_mae_vit_drops_the_decoder() -> None:
    encoder = vit_layout(384, 1, 13, 16, grid=2)
    state = dict(encoder) | {
        "mask_token": torch.zeros(1, 1, 64),
        "decoder_embed.weight": torch.randn(64, 384),
        "decoder_pos_embed": torch.zeros(1, 5, 64),
        "decoder_blocks.0.norm1.weight": torch.ones(64),
        "decoder_norm.weight": torch.ones(64),
        "decoder_pred.weight": torch.randn(13 * 256, 64),
    }
    imported = import_state_dict(state)
    assert imported.importer == "ssl4eo_vit" and imported.spec.backbone == "vit_small_patch16_224"
    assert set(imported.dropped) == set(state) - set(encoder)
    image = torch.randn(1, 13, 32, 32)
    with torch.no_grad():
        got = imported.model(image)
    torch.testing.assert_close(got, vit_reference(image, encoder, 1, heads=6), rtol=1e-4, atol=1e-4)


def test_softcon_dinov2_vit_with_layer_scale_and_chunked_blocks() -> None:
    encoder = vit_layout(384, 2, 13, 14, grid=2, layer_scale=True)
    chunked = {k.replace("blocks.", "blocks.0.", 1): v for k, v in encoder.items()}
    state = chunked | {"mask_token": torch.zeros(1, 384)}
    assert detect_importer(state).name == "softcon_vit"
    imported = import_state_dict(state, bands=["S2.B02", "S2.B03", "S2.B04", "S2.B08"])
    assert imported.spec.backbone == "vit_small_patch14_dinov2"
    assert imported.spec.options == {"depth": 2, "img_size": 28}
    assert imported.stem == "selected" and list(imported.dropped) == ["mask_token"]
    image = torch.randn(2, 4, 28, 28)
    reference_state = dict(encoder)
    reference_state["patch_embed.proj.weight"] = encoder["patch_embed.proj.weight"][:, [1, 2, 3, 7]]
    with torch.no_grad():
        got = imported.model(image)
    torch.testing.assert_close(
        got, vit_reference(image, reference_state, 2, 6), rtol=1e-4, atol=1e-4
    )


# --------------------------------------------------------------------------- Prithvi


def _prithvi_layout(prefix: str, tubelet: int = 1, frames: int = 3) -> tuple[StateDict, StateDict]:
    encoder = vit_layout(192, 2, 6, 16, grid=2)
    g = torch.Generator().manual_seed(3)
    encoder["patch_embed.proj.weight"] = _rand(g, 192, 6, tubelet, 16, 16)
    encoder["pos_embed"] = _rand(g, 1, 1 + frames * 4, 192, scale=0.5)
    state = {prefix + k: v for k, v in encoder.items()}
    decoder = "decoder." if prefix else "decoder_"
    state |= {prefix.replace("encoder.", "") + decoder + "embed.weight": torch.randn(32, 192),
              "mask_token": torch.zeros(1, 1, 32)}  # fmt: skip
    return encoder, state


def test_prithvi_single_date_matches_the_3d_reference() -> None:
    encoder, state = _prithvi_layout("")
    imported = import_state_dict(state)
    assert imported.importer == "prithvi" and imported.spec.in_bands == PRITHVI_BANDS
    assert imported.spec.options == {"depth": 2, "img_size": 32} and imported.input_size == 32
    assert imported.normalization is not None
    assert imported.normalization.mean == list(PRITHVI_100M_NORMALIZATION.mean)
    assert imported.normalization.mean[3] == pytest.approx(0.24972022620507532)  # HLS x 1e4 / 1e4
    image = torch.randn(2, 6, 32, 32)
    # Prithvi's forward on one frame: Conv3d patches, the first frame's 3-D position rows
    tokens = F.conv3d(image[:, :, None], encoder["patch_embed.proj.weight"],
                      encoder["patch_embed.proj.bias"], stride=(1, 16, 16))  # fmt: skip
    tokens = tokens.flatten(2).transpose(1, 2) + encoder["pos_embed"][:, 1:5]
    cls = (encoder["cls_token"] + encoder["pos_embed"][:, :1]).expand(2, -1, -1)
    x = vit_blocks_reference(torch.cat([cls, tokens], dim=1), encoder, 2, heads=3)
    expected = _ln(x, encoder, "norm")[:, 0]
    with torch.no_grad():
        got = imported.model(image)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    assert set(imported.dropped) == {"decoder_embed.weight", "mask_token"}


def test_prithvi_v2_encoder_prefix_and_a_tubelet_sum() -> None:
    encoder, state = _prithvi_layout("encoder.", tubelet=2, frames=2)
    imported = import_state_dict(state, kind="prithvi")
    assert imported.normalization is None  # only Prithvi-100M's statistics are published here
    weight = imported.model.state_dict()["backbone.patch_embed.proj.weight"]
    image = torch.randn(1, 6, 32, 32)
    repeated = image[:, :, None].expand(-1, -1, 2, -1, -1)
    conv3d = F.conv3d(repeated, encoder["patch_embed.proj.weight"], stride=(2, 16, 16))[:, :, 0]
    torch.testing.assert_close(F.conv2d(image, weight, stride=16), conv3d, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- detection and errors


def test_each_layout_is_recognised_by_exactly_its_importer(
    moco_resnet50: tuple[torch.nn.Module, StateDict],
) -> None:
    layouts = {
        "ssl4eo_resnet": moco_resnet50[1],
        "ssl4eo_vit": vit_layout(192, 1, 12, 16, grid=2),
        "softcon_vit": vit_layout(384, 1, 2, 14, grid=2, layer_scale=True),
        "prithvi": _prithvi_layout("")[1],
        "dofa": dofa_layout(),
        "satmae": satmae_layout(),
    }
    for name, state in layouts.items():
        matching = [i.name for i in list_importers() if i.matches(state)]
        assert matching == [name]


def test_an_unrelated_state_dict_is_refused_naming_the_importers_and_keys() -> None:
    rgb = torchvision.models.resnet18().state_dict()  # ImageNet layout: plain model.pretrained
    with pytest.raises(ConfigError) as caught:
        import_state_dict(rgb, source="rgb.pth")
    text = str(caught.value)
    for importer in list_importers():
        assert importer.name in text
    assert "conv1.weight [64, 3, 7, 7]" in text and "--importer NAME" in text and "rgb.pth" in text
    with pytest.raises(ConfigError, match="does not have the prithvi layout"):
        import_state_dict(vit_layout(192, 1, 13, 16, grid=2), kind="prithvi")
    with pytest.raises(ConfigError, match="unknown checkpoint importer 'satlas'"):
        import_state_dict(rgb, kind="satlas")


def test_a_checkpoint_needing_unpickling_is_refused(tmp_path) -> None:
    path = tmp_path / "dino_with_args.pth"
    encoder = {"module.backbone." + k: v for k, v in vit_layout(192, 1, 13, 16, grid=2).items()}
    torch.save({"teacher": encoder, "args": argparse.Namespace(arch="vit_small")}, path)
    with pytest.raises(UnsafeModelFileError, match="re-save only the tensors"):
        import_checkpoint(path)


# --------------------------------------------------------------------------- DOFA


def dofa_layout(width: int = 64, patch: int = 4, depth: int = 1, grid: int = 2, *,
                norm: str | None = None) -> StateDict:  # fmt: skip
    """DOFA keys: patch_embed.weight_generator.* / fclayer.*, cls_token, pos_embed, blocks."""
    g = torch.Generator().manual_seed(5)
    w = "patch_embed.weight_generator."
    t = w + "transformer_encoder.layers.0."
    state = {k: v for k, v in vit_layout(width, depth, 1, patch, grid).items()
             if not k.startswith(("patch_embed.", "norm."))}  # fmt: skip
    state |= {
        w + "weight_tokens": _rand(g, 128, 128, scale=0.5),
        w + "bias_token": _rand(g, 1, 128, scale=0.5),
        t + "self_attn.in_proj_weight": _rand(g, 384, 128, scale=0.1),
        t + "self_attn.in_proj_bias": _rand(g, 384),
        t + "self_attn.out_proj.weight": _rand(g, 128, 128, scale=0.1),
        t + "self_attn.out_proj.bias": _rand(g, 128),
        t + "linear1.weight": _rand(g, 2048, 128),
        t + "linear1.bias": _rand(g, 2048),
        t + "linear2.weight": _rand(g, 128, 2048),
        t + "linear2.bias": _rand(g, 128),
        t + "norm1.weight": 1 + _rand(g, 128),
        t + "norm1.bias": _rand(g, 128),
        t + "norm2.weight": 1 + _rand(g, 128),
        t + "norm2.bias": _rand(g, 128),
        w + "fc_weight.weight": _rand(g, patch * patch * width, 128, scale=0.5),
        w + "fc_weight.bias": _rand(g, patch * patch * width),
        w + "fc_bias.weight": _rand(g, width, 128),
        w + "fc_bias.bias": _rand(g, width),
        "patch_embed.fclayer.w1.weight": _rand(g, 128, 128, scale=0.1),
        "patch_embed.fclayer.w1.bias": _rand(g, 128),
        "patch_embed.fclayer.w2.weight": _rand(g, 128, 128, scale=0.1),
        "patch_embed.fclayer.w2.bias": _rand(g, 128),
    }
    if norm is not None:
        state |= {norm + ".weight": 1 + _rand(g, width), norm + ".bias": _rand(g, width)}
    return state


def dofa_reference(image: torch.Tensor, s: StateDict, wavelengths_um: list[float], heads: int,
                   pool: str) -> torch.Tensor:  # fmt: skip
    """DOFA's published equations on the raw tensors (see eoforge.models.importers.dofa)."""
    w = "patch_embed.weight_generator."
    t = w + "transformer_encoder.layers.0."
    positions = torch.tensor(wavelengths_um) * 1000
    omega = 1.0 / 10000 ** (torch.arange(64, dtype=torch.float32) / 64)
    angles = positions[:, None] * omega[None]
    waves = torch.cat([angles.sin(), angles.cos()], dim=1)
    hidden = F.relu(
        _linear(F.relu(_linear(waves, s, "patch_embed.fclayer.w1")), s, "patch_embed.fclayer.w2")
    )
    f = waves + hidden
    seq = torch.cat([s[w + "weight_tokens"], f, s[w + "bias_token"]], dim=0)[None]
    qkv = seq @ s[t + "self_attn.in_proj_weight"].T + s[t + "self_attn.in_proj_bias"]
    attn = _linear(_attention(seq, qkv, 4), s, t + "self_attn.out_proj")
    z = F.layer_norm(seq + attn, (128,), s[t + "norm1.weight"], s[t + "norm1.bias"], 1e-5)
    ff = _linear(F.gelu(_linear(z, s, t + "linear1")), s, t + "linear2")
    z = F.layer_norm(z + ff, (128,), s[t + "norm2.weight"], s[t + "norm2.bias"], 1e-5)[0]
    rows = _linear(z[128:-1] + f, s, w + "fc_weight")
    d = s["cls_token"].shape[-1]
    p = math.isqrt(rows.shape[1] // d)
    kernel = rows.reshape(d, len(wavelengths_um), p, p) * 0.01
    bias = _linear(z[-1], s, w + "fc_bias") * 0.01
    tokens = F.conv2d(image, kernel, bias, stride=p, padding=1).flatten(2).transpose(1, 2)
    tokens = tokens + s["pos_embed"][:, 1:]
    cls = (s["cls_token"] + s["pos_embed"][:, :1]).expand(image.shape[0], -1, -1)
    x = vit_blocks_reference(torch.cat([cls, tokens], dim=1), s, 1, heads)
    if pool == "cls":
        return _ln(x, s, "norm")[:, 0]
    mean = x[:, 1:].mean(dim=1)
    if "fc_norm.weight" in s:
        return _ln(mean, s, "fc_norm")
    return F.layer_norm(mean, (d,), eps=1e-6)


@pytest.mark.parametrize("norm", [None, "fc_norm", "norm"])
def test_dofa_loads_exactly_and_matches_the_published_equations(tmp_path, norm: str | None) -> None:
    state = dofa_layout(norm=norm)
    path = tmp_path / "dofa.safetensors"
    save_file(state, str(path))
    assert path.stat().st_size < 5e6
    bands = ["S2.B04", "S2.B03", "S2.B02", "S2.B08"]
    imported = import_checkpoint(path, bands=bands)
    assert imported.importer == "dofa" and imported.spec.arch == "dofa_vit"
    assert imported.stem == "generated" and imported.normalization is None
    pool = "cls" if norm == "norm" else "avg"
    assert imported.spec.options["pool"] == pool and imported.spec.options["patch_size"] == 4
    assert imported.left_initial == ([] if norm else ["fc_norm.bias", "fc_norm.weight"])
    _assert_all_from(imported.model.state_dict(), state, prefix="")
    waves = [0.6646, 0.5598, 0.4924, 0.8328]  # S2A centre wavelengths (registry), µm
    image = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        got = imported.model(image)
    expected = dofa_reference(image, state, waves, heads=1, pool=pool)
    torch.testing.assert_close(got, expected, rtol=2e-4, atol=2e-4)


def test_dofa_without_bands_or_on_sar_says_what_to_give() -> None:
    state = dofa_layout()
    with pytest.raises(ConfigError, match="--bands"):
        import_state_dict(state)
    with pytest.raises(ConfigError, match="wavelengths_um"):
        import_state_dict(state, bands=["S1.VV", "S1.VH"])


# --------------------------------------------------------------------------- CLI and bundles


def test_cli_import_writes_an_embedding_bundle_that_loads_back(
    tmp_path, capsys, monkeypatch
) -> None:
    encoder = vit_layout(192, 1, 13, 16, grid=2)
    path = tmp_path / "mae.safetensors"
    save_file(encoder | {"decoder_embed.weight": torch.randn(8, 192)}, str(path))
    out = tmp_path / "bundle"
    code, stdout, err = run_main(
        ["models", "import", str(path), "--out", str(out), "--bands", "S2.B04,S2.B03,S2.B02"],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    assert f"wrote {out}" in stdout
    loaded = load_bundle(out)
    assert loaded.bundle.task == "embedding" and loaded.bundle.patch_size == 32
    assert loaded.bundle.bands == ["S2.B04", "S2.B03", "S2.B02"]
    index = [S2_L1C_BANDS.index(b) for b in loaded.bundle.bands]
    assert loaded.bundle.normalization.mean == [S2_L1C_NORMALIZATION.mean[i] for i in index]
    record = json.loads((out / "imported.json").read_text())
    assert record["importer"] == "ssl4eo_vit" and record["stem"] == "selected"
    assert record["dropped"] == {"decoder_embed.weight": "MAE decoder"}
    image = torch.randn(1, 3, 32, 32)
    reference = dict(encoder)
    reference["patch_embed.proj.weight"] = encoder["patch_embed.proj.weight"][:, index]
    with torch.no_grad():
        got = loaded.model(image)
    torch.testing.assert_close(got, vit_reference(image, reference, 1, 3), rtol=1e-4, atol=1e-4)


def test_cli_import_needs_statistics_where_none_are_published(
    tmp_path, capsys, monkeypatch
) -> None:
    path = tmp_path / "dofa.safetensors"
    save_file(dofa_layout(), str(path))
    args = ["models", "import", str(path), "--out", str(tmp_path / "b"), "--bands", "S2.B04,S2.B08"]
    code, _, err = run_main(args, capsys, monkeypatch)
    assert code == 2 and "--mean and --std" in err
    code, _, err = run_main([*args, "--mean", "0,0", "--std", "1e4,1e4"], capsys, monkeypatch)
    assert code == 0, err
    assert load_bundle(tmp_path / "b").bundle.normalization.std == [1e4, 1e4]


# --------------------------------------------------------------------------- model.importer


def test_spec_importer_converts_pretrained_for_a_classifier(tmp_path) -> None:
    """model.importer: the DINO file initialises a timm_classifier on three of its bands."""
    encoder = vit_layout(192, 1, 13, 16, grid=2)
    path = tmp_path / "dino.pth"
    torch.save({"teacher": {"module.backbone." + k: v for k, v in encoder.items()}}, path)
    spec = ModelSpec(
        task="classification",
        arch="timm_classifier",
        backbone="vit_tiny_patch16_224",
        in_bands=["S2.B08", "S2.B04", "S2.B03"],
        num_classes=4,
        pretrained=str(path),
        importer="auto",
        options={"img_size": 32, "depth": 1},
    )
    model = build_model(spec)
    state = model.state_dict()
    stem = encoder["patch_embed.proj.weight"][:, [7, 3, 2]]
    assert torch.equal(state["backbone.patch_embed.proj.weight"], stem)
    assert torch.equal(
        state["backbone.blocks.0.attn.qkv.weight"], encoder["blocks.0.attn.qkv.weight"]
    )
    # Without the importer the teacher entry is not a state dict eoforge can read
    with pytest.raises(EoforgeError):
        build_model(spec.model_copy(update={"importer": None}))
    with pytest.raises(ConfigError, match="does not have the dofa layout"):
        build_model(spec.model_copy(update={"importer": "dofa"}))


def test_model_config_names_known_importers(tmp_path) -> None:
    path = tmp_path / "w.safetensors"
    save_file({"x": torch.zeros(1)}, str(path))
    config = ModelConfig(arch="timm_classifier", pretrained=path, importer="ssl4eo_vit")
    assert config.importer == "ssl4eo_vit"
    with pytest.raises(ValidationError, match="unknown checkpoint importer 'satlas'"):
        ModelConfig(arch="timm_classifier", pretrained=path, importer="satlas")


def test_model_config_spec_carries_importer_bands_and_options(tmp_path) -> None:
    path = tmp_path / "w.safetensors"
    save_file({"x": torch.zeros(1)}, str(path))
    config = ModelConfig(
        arch="timm_classifier", pretrained=path, importer="ssl4eo_vit",
        pretrained_bands=["S2.B04", "S2.B03"], options={"drop_rate": 0.1},
    )  # fmt: skip
    spec = config.spec("classification", ["S2.B04", "S2.B08"], 3)
    assert (spec.task, spec.arch, spec.num_classes) == ("classification", "timm_classifier", 3)
    assert spec.in_bands == ["S2.B04", "S2.B08"] and spec.importer == "ssl4eo_vit"
    assert spec.pretrained == str(path) and spec.pretrained_bands == ["S2.B04", "S2.B03"]
    assert spec.options == {"drop_rate": 0.1}
    assert config.spec("embedding", ["S2.B04"], 1, {"pool": "cls"}).options == {"pool": "cls"}
    bare = ModelConfig(arch="timm_classifier").spec("classification", ["S2.B04"], 2)
    assert bare.importer is None and bare.pretrained is None


# --------------------------------------------------------------------------- SatMAE


def satmae_layout(width: int = 128, channel: int = 32, patch: int = 8, grid: int = 2, *,
                  finetuned: bool = False) -> StateDict:  # fmt: skip
    """SatMAE keys: patch_embed.{0,1,2}.proj, pos_embed [1, 1+L, D-c], channel_embed [1, 3, c]."""
    g = torch.Generator().manual_seed(7)
    state = {k: v for k, v in vit_layout(width, 1, 1, patch, grid).items()
             if not k.startswith(("patch_embed.", "pos_embed"))}  # fmt: skip
    for i, size in enumerate((4, 4, 2)):
        state[f"patch_embed.{i}.proj.weight"] = _rand(g, width, size, patch, patch)
        state[f"patch_embed.{i}.proj.bias"] = _rand(g, width)
    pos = _rand(g, 1, 1 + grid * grid, width - channel, scale=0.5)
    pos[:, 0] = 0  # the sine-cosine table's class-token row
    state |= {"pos_embed": pos, "channel_embed": _rand(g, 1, 3, channel, scale=0.5)}
    if finetuned:
        state["channel_cls_embed"] = _rand(g, 1, 1, channel, scale=0.5)
        state["fc_norm.weight"], state["fc_norm.bias"] = (
            state.pop("norm.weight"),
            state.pop("norm.bias"),
        )
        state["head.weight"] = torch.randn(62, width)
    else:
        state["mask_token"] = torch.zeros(1, 1, 16)
        state["decoder_channel_embed"] = torch.zeros(1, 4, 8)
        state["decoder_pred.0.weight"] = torch.randn(4 * patch * patch, 16)
    return state


def satmae_reference(image: torch.Tensor, s: StateDict, heads: int) -> torch.Tensor:
    """SatMAE's group-channel forward on the raw tensors (image in SatMAE's 10-band order)."""
    groups = [[0, 1, 2, 6], [3, 4, 5, 7], [8, 9]]
    p = s["patch_embed.0.proj.weight"].shape[-1]
    tokens = []
    for i, group in enumerate(groups):
        t = F.conv2d(
            image[:, group],
            s[f"patch_embed.{i}.proj.weight"],
            s[f"patch_embed.{i}.proj.bias"],
            stride=p,
        )
        t = t.flatten(2).transpose(1, 2)
        length = t.shape[1]
        add = torch.cat(
            [s["pos_embed"][0, 1:], s["channel_embed"][0, i].expand(length, -1)], dim=-1
        )
        tokens.append(t + add)
    cls_add = torch.cat(
        [
            s["pos_embed"][:, :1],
            s.get("channel_cls_embed", torch.zeros(1, 1, s["channel_embed"].shape[-1])),
        ],
        dim=-1,
    )
    cls = (s["cls_token"] + cls_add).expand(image.shape[0], -1, -1)
    x = vit_blocks_reference(torch.cat([cls, *tokens], dim=1), s, 1, heads)
    if "fc_norm.weight" in s:
        return _ln(x[:, 1:].mean(dim=1), s, "fc_norm")
    return _ln(x, s, "norm")[:, 0]


@pytest.mark.parametrize("finetuned", [False, True], ids=["mae", "finetuned"])
def test_satmae_group_channel_vit_matches_the_published_forward(finetuned: bool) -> None:
    state = satmae_layout(finetuned=finetuned)
    assert [i.name for i in list_importers() if i.matches(state)] == ["satmae"]
    imported = import_state_dict(state)
    assert imported.spec.arch == "group_channel_vit" and imported.spec.in_bands == SATMAE_BANDS
    assert imported.spec.options["pool"] == ("avg" if finetuned else "cls")
    assert imported.left_initial == ([] if finetuned else ["channel_cls_embed"])
    _assert_all_from(imported.model.state_dict(), imported_state_subset(state, imported), prefix="")
    assert imported.normalization is not None
    assert imported.normalization.mean[0] == pytest.approx((1184.3824625 - 2 * 650.2842772) / 1e4)
    assert imported.normalization.std[9] == pytest.approx(4 * 1087.6020813 / 1e4)  # B12
    image = torch.randn(2, 10, 16, 16)
    with torch.no_grad():
        got = imported.model(image)
    torch.testing.assert_close(got, satmae_reference(image, state, heads=2), rtol=1e-4, atol=1e-4)
    # The same weights on the bands in another order: each group takes its channels by name
    order = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    shuffled = import_state_dict(state, bands=[SATMAE_BANDS[i] for i in order])
    with torch.no_grad():
        torch.testing.assert_close(shuffled.model(image[:, order]), got, rtol=1e-5, atol=1e-5)
    with pytest.raises(ConfigError, match="need bands"):
        import_state_dict(state, bands=SATMAE_BANDS[:8])


def imported_state_subset(state: StateDict, imported) -> StateDict:
    """The checkpoint tensors the model holds (all but the dropped ones)."""
    return {k: v for k, v in state.items() if k not in imported.dropped}


# --------------------------------------------------------------------------- SatlasPretrain


def test_satlas_resnet50_backbone_matches_torchvision_and_drops_the_fpn() -> None:
    torch.manual_seed(2)
    net = torchvision.models.resnet50()
    net.conv1 = torch.nn.Conv2d(9, 64, 7, 2, 3, bias=False)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    net.eval()
    state = {"backbone.resnet." + k: v for k, v in net.state_dict().items()}
    state["intermediates.0.fpn.inner_blocks.0.weight"] = torch.randn(128, 256, 1, 1)
    assert [i.name for i in list_importers() if i.matches(state)] == ["satlas_resnet"]
    imported = import_state_dict(state)
    assert imported.spec.backbone == "resnet50" and imported.spec.in_bands == SATLAS_S2_BANDS
    assert imported.normalization is not None  # TCI / 255 and DN / 8160, on reflectance
    assert imported.normalization.std == pytest.approx([0.3558] * 3 + [0.816] * 6)
    assert imported.normalization.mean == [0.0] * 9
    assert imported.dropped["intermediates.0.fpn.inner_blocks.0.weight"] == "feature pyramid"
    assert "backbone.resnet.fc.weight" in imported.dropped and imported.left_initial == []
    net.fc = torch.nn.Identity()
    image = torch.randn(1, 9, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(imported.model(image), net(image), rtol=1e-4, atol=1e-4)


def test_a_vit_finetuned_with_global_pooling_keeps_its_fc_norm() -> None:
    encoder = vit_layout(192, 1, 13, 16, grid=2)
    encoder["fc_norm.weight"], encoder["fc_norm.bias"] = (
        encoder.pop("norm.weight"),
        encoder.pop("norm.bias"),
    )
    imported = import_state_dict(encoder | {"head.weight": torch.randn(10, 192)})
    assert imported.spec.options["global_pool"] == "avg" and imported.left_initial == []
    image = torch.randn(1, 13, 32, 32)
    p = encoder["patch_embed.proj.weight"]
    tokens = (
        F.conv2d(image, p, encoder["patch_embed.proj.bias"], stride=16).flatten(2).transpose(1, 2)
    )
    x = torch.cat([encoder["cls_token"], tokens], dim=1) + encoder["pos_embed"]
    expected = _ln(vit_blocks_reference(x, encoder, 1, 3)[:, 1:].mean(dim=1), encoder, "fc_norm")
    with torch.no_grad():
        torch.testing.assert_close(imported.model(image), expected, rtol=1e-4, atol=1e-4)


def test_an_imported_bundle_embeds_a_scene_window_by_window(tmp_path) -> None:
    """eoforge embed on the imported bundle: each window's row is the encoder on its pixels."""
    encoder = vit_layout(192, 1, 13, 16, grid=2)
    imported = import_state_dict(encoder, bands=BANDS)  # S2.B04, S2.B08, S2.B11
    bundle = save_imported_bundle(imported, tmp_path / "bundle")
    scene = write_scene(tmp_path / "scene.tif")  # 64 x 96 px -> 2 x 3 windows of 32 px
    embed(bundle, scene, tmp_path / "emb")
    table = pq.read_table(tmp_path / "emb" / "scene_embeddings.parquet").to_pandas()
    assert len(table) == 6 and len(table["embedding"][0]) == 192
    with rasterio.open(scene) as ds:
        pixels = torch.from_numpy(ds.read(window=((32, 64), (64, 96))))
    assert imported.normalization is not None
    mean = torch.tensor(imported.normalization.mean).reshape(3, 1, 1)
    std = torch.tensor(imported.normalization.std).reshape(3, 1, 1)
    row = table[(table["row"] == 32) & (table["col"] == 64)]["embedding"].iloc[0]
    reference = dict(encoder)
    reference["patch_embed.proj.weight"] = encoder["patch_embed.proj.weight"][:, [3, 7, 11]]
    expected = vit_reference(((pixels - mean) / std)[None].float(), reference, 1, 3)[0]
    torch.testing.assert_close(torch.tensor(list(row)), expected, rtol=1e-3, atol=1e-3)


def test_satlas_swin_v2_backbone_matches_torchvision_exactly() -> None:
    torch.manual_seed(4)
    net = torchvision.models.swin_v2_t()
    net.features[0][0] = torch.nn.Conv2d(9, 96, 4, 4)
    net.head = torch.nn.Identity()
    net.eval()
    state = {"backbone.backbone." + k: v for k, v in net.state_dict().items()}
    state["intermediates.0.fpn.layer_blocks.0.0.weight"] = torch.randn(8, 8, 3, 3)
    assert [i.name for i in list_importers() if i.matches(state)] == ["satlas_swin"]
    imported = import_state_dict(state, bands=["S2.B08", "S2.B04", "S2.B03"])
    assert imported.spec.backbone == "swinv2_tiny_window8_256" and imported.stem == "selected"
    assert imported.left_initial == []
    assert "backbone.backbone.features.1.0.attn.relative_position_index" in imported.dropped
    weight = imported.model.state_dict()["backbone.patch_embed.proj.weight"]
    assert torch.equal(weight, net.features[0][0].weight.detach()[:, [6, 0, 1]])
    full = import_state_dict(state)
    image = torch.randn(1, 9, 256, 256)
    with torch.no_grad():
        torch.testing.assert_close(full.model(image), net(image), rtol=1e-4, atol=1e-4)


def test_dofa_on_sar_takes_wavelengths_from_the_command_line(tmp_path, capsys, monkeypatch) -> None:
    path = tmp_path / "dofa.safetensors"
    save_file(dofa_layout(), str(path))
    out = tmp_path / "sar"
    args = ["models", "import", str(path), "--out", str(out), "--bands", "S1.VV,S1.VH"]
    args += ["--wavelengths", "3.75,3.75", "--mean", "-12,-20", "--std", "5,6"]
    code, _, err = run_main(args, capsys, monkeypatch)
    assert code == 0, err
    loaded = load_bundle(out)
    assert loaded.bundle.model.options["wavelengths_um"] == [3.75, 3.75]
    assert loaded.model.wavelengths_um.tolist() == [3.75, 3.75]


# --------------------------------------------------------------------------- statistics' units

# The published values, in the stored units they were computed on (digital numbers)
SSL4EO_DN_MEAN = [1612.9, 1397.6, 1322.3, 1373.1, 1561.0, 2108.4, 2390.7,
                  2318.7, 2581.0, 837.7, 22.0, 2195.2, 1537.4]  # fmt: skip
SSL4EO_DN_STD = [791.0, 854.3, 878.7, 1144.9, 1127.5, 1164.2, 1276.0,
                 1249.5, 1345.9, 577.5, 47.5, 1340.0, 1142.9]  # fmt: skip
PRITHVI_DN_MEAN = [775.2290211032589, 1080.992780391705, 1228.5855250417867,
                   2497.2022620507532, 2204.2139147975554, 1610.8324823273745]  # fmt: skip
PRITHVI_DN_STD = [1281.526139861424, 1270.0297974547493, 1399.4802505642526,
                  1368.3446143747644, 1291.6764008585435, 1154.505683480695]  # fmt: skip
SATMAE_DN_MEAN = [1184.3824625, 1120.77120066, 1136.26026392, 1263.73947144, 1645.40315151,
                  1846.87040806, 1762.59530783, 1972.62420416, 1732.16362238,
                  1247.91870117]  # fmt: skip
SATMAE_DN_STD = [650.2842772, 712.12507725, 965.23119807, 948.9819932, 1108.06650639,
                 1258.36394548, 1233.1492281, 1364.38688993, 1310.36996126,
                 1087.6020813]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "published", "dn_mean", "dn_std", "bands", "level"),
    [
        ("ssl4eo S2 L1C", S2_L1C_NORMALIZATION,
         [m - 2 * s for m, s in zip(SSL4EO_DN_MEAN, SSL4EO_DN_STD, strict=True)],
         [4 * s for s in SSL4EO_DN_STD], S2_L1C_BANDS, "L1C"),
        ("prithvi-100M", PRITHVI_100M_NORMALIZATION, PRITHVI_DN_MEAN, PRITHVI_DN_STD,
         PRITHVI_BANDS, "L2A"),
        ("satmae fMoW-Sentinel", SATMAE_NORMALIZATION,
         [m - 2 * s for m, s in zip(SATMAE_DN_MEAN, SATMAE_DN_STD, strict=True)],
         [4 * s for s in SATMAE_DN_STD], SATMAE_BANDS, "L1C"),
        ("satlas S2 B05..B12", PublishedNormalization(SATLAS_S2_NORMALIZATION.mean[3:],
         SATLAS_S2_NORMALIZATION.std[3:], ""), [0.0] * 6, [8160.0] * 6, SATLAS_S2_BANDS[3:], "L1C"),
    ],
)  # fmt: skip
def test_published_statistics_give_the_published_input_on_what_eoforge_reads(
    name: str,
    published: PublishedNormalization,
    dn_mean: list[float],
    dn_std: list[float],
    bands: list[str],
    level: str,
) -> None:
    """The bundle's normalisation of the values eoforge reads (reflectance) equals the
    published normalisation of the stored digital numbers, pixel for pixel."""
    dn = np.random.default_rng(0).integers(1, 12000, size=(len(bands), 64)).astype(np.uint16)
    published_input = (dn - np.array(dn_mean)[:, None]) / np.array(dn_std)[:, None]
    read = np.stack([rad.apply(row) for rad, row in zip(read_as(bands, level), dn, strict=True)])
    assert default_radiometry(bands[0], level).unit == "reflectance"
    mean = np.array(published.mean, dtype=np.float64)[:, None]
    std = np.array(published.std, dtype=np.float64)[:, None]
    np.testing.assert_allclose((read - mean) / std, published_input, rtol=1e-4, atol=1e-4)
    assert float(np.abs(read).max()) < 1.3, name  # reflectance, not DN


def test_satlas_landsat_statistics_are_reflectance_and_none_for_the_thermal_bands(
    tmp_path: Path,
) -> None:
    torch.manual_seed(5)
    net = torchvision.models.swin_v2_t()
    net.features[0][0] = torch.nn.Conv2d(11, 96, 4, 4)
    state = {"backbone.backbone." + k: v for k, v in net.state_dict().items()}
    converted = SatlasSwin().convert(state)
    assert converted.bands == SWIN_BANDS[11] and converted.normalization is not None
    mean, std = converted.normalization.mean, converted.normalization.std
    # (DN - 4000) / 16320 with TOA reflectance = DN 2e-5 - 0.1: (r + 0.02) / 0.3264
    assert mean[:9] == pytest.approx([-0.02] * 9) and std[:9] == pytest.approx([0.3264] * 9)
    assert mean[9:] == (None, None) and std[9:] == (None, None)  # B10, B11: kelvin, not affine
    reflective = build_imported(converted, ["L8.B4", "L8.B3", "L8.B2"])
    assert reflective.normalization is not None
    assert reflective.normalization.std == pytest.approx([0.3264] * 3)
    thermal = build_imported(converted, ["L8.B4", "L8.B10"])
    assert thermal.normalization is None
    with pytest.raises(ConfigError, match="kelvin"):
        save_imported_bundle(thermal, tmp_path / "b")
