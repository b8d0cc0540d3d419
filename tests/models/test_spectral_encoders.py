"""Spectral encoders: one set of weights for any named bands (SpectralViT, SpectralResNet)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F
from affine import Affine
from safetensors.torch import load_file, save_file
from tests.helpers import write_tif
from tests.tasks.helpers import fit, loader
from torch import nn

from eoforge.errors import ConfigError
from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.models import ModelSpec, build_model, import_weights, list_models
from eoforge.models.encoders import (
    BandEmbedding,
    KernelGenerator,
    SpectralPatchEmbed,
    SpectralResNet,
    SpectralViT,
    describe_band,
    sincos_2d,
    spectral_vit,
)
from eoforge.predict import EmbeddingSpec, TilingOptions, predict_scene
from eoforge.sensors import Band, get_sensor
from eoforge.tasks import ClassificationTask

S2_12 = [f"S2.B{i:02d}" for i in range(1, 10)] + ["S2.B8A", "S2.B11", "S2.B12"]
L8_7 = [f"L8.B{i}" for i in range(1, 8)]
RGB = ["RGB.red", "RGB.green", "RGB.blue"]
S1 = ["S1.VV", "S1.VH"]
ENMAP_200 = [band.name for band in get_sensor("ENMAP").bands[:200]]
BAND_SETS = {"s2": S2_12, "l8": L8_7, "rgb": RGB, "s1": S1, "enmap200": ENMAP_200}


def _tiny_vit(**kwargs: object) -> SpectralViT:
    arguments: dict[str, object] = {
        "embed_dim": 64,
        "depth": 2,
        "num_heads": 2,
        "patch_size": 8,
        "band_dim": 32,
        "generator_hidden": 32,
        **kwargs,
    }
    return SpectralViT(**arguments)  # type: ignore[arg-type]


def _tiny_resnet(**kwargs: object) -> SpectralResNet:
    return SpectralResNet("resnet18", band_dim=32, generator_hidden=32, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- any band set


def test_same_vit_weights_run_on_every_sensor() -> None:
    vit = _tiny_vit().eval()
    with torch.no_grad():
        for bands in BAND_SETS.values():
            tokens = vit.forward_features(torch.randn(2, len(bands), 32, 24), bands)
            assert tuple(tokens.shape) == (2, 1 + 4 * 3, 64)
            pooled = vit(torch.randn(2, len(bands), 32, 24), bands)
            assert tuple(pooled.shape) == (2, 64)
            assert torch.isfinite(tokens).all() and torch.isfinite(pooled).all()
        mixed = ["S2.B04", "S2.B08", "S1.VV", "DEM.dtm"]
        assert torch.isfinite(vit(torch.randn(1, 4, 16, 16), mixed)).all()


def test_same_resnet_weights_run_on_every_sensor() -> None:
    net = _tiny_resnet().eval()
    with torch.no_grad():
        for bands in BAND_SETS.values():
            maps = net.forward_features(torch.randn(2, len(bands), 64, 64), bands)
            assert tuple(maps.shape) == (2, 512, 2, 2)
            pooled = net(torch.randn(2, len(bands), 64, 64), bands)
            assert tuple(pooled.shape) == (2, 512) and torch.isfinite(pooled).all()


def test_band_kinds_follow_the_registry() -> None:
    assert describe_band("S2.B05").kind == "spectral"
    assert describe_band("L8.B10").kind == "spectral"  # thermal: a wavelength in nm
    vv = describe_band("S1.VV")
    assert (vv.kind, vv.learned_key, vv.wavelength_nm) == ("radar", "radar_vv", None)
    assert describe_band("DEM.dem").learned_key == "elevation_dtm"  # alias of DEM.dtm
    rgb = describe_band("RGB.red")
    assert rgb.wavelength_nm == 640.0 and rgb.bandwidth_nm == 100.0  # registry has no width
    assert describe_band("S2.red").name == "S2.B04"


# --------------------------------------------------------------------------- smoothness


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_kernel_sits_near_its_spectral_neighbours(seed: int) -> None:
    """Measure: cosine similarity and L2 distance of flattened per-band kernels and vectors.

    At random initialisation this holds only because the wavelength Fourier
    features are smooth (frequencies capped): S2.B05 (704 nm) must be nearer
    to B04 (665 nm) and B06 (740 nm) than to B12 (2202 nm) and S1.VV (radar).
    """
    torch.manual_seed(seed)
    generator = KernelGenerator(out_channels=192, kernel_size=16)
    bands = ["S2.B05", "S2.B04", "S2.B06", "S2.B12", "S1.VV"]
    with torch.no_grad():
        kernels, _ = generator.band_kernels(bands)
        vectors = generator.band_embedding(bands)
    for values in (kernels.flatten(1), vectors):
        cosine = F.cosine_similarity(values[:1], values, dim=1)
        distance = (values - values[:1]).norm(dim=1)
        assert min(cosine[1], cosine[2]) > max(cosine[3], cosine[4]) + 0.2
        assert max(distance[1], distance[2]) < min(distance[3], distance[4])


def test_hyperspectral_kernels_change_smoothly_along_the_spectrum() -> None:
    generator = KernelGenerator(out_channels=64, kernel_size=8)
    bands = ENMAP_200[:60]
    with torch.no_grad():
        kernels = generator.band_kernels(bands)[0].flatten(1)
    cosine = F.cosine_similarity(kernels[:, None], kernels[None], dim=2)
    next_one = cosine.diagonal(1)
    ten_apart = cosine.diagonal(10)
    assert next_one.min() > 0.95
    assert (next_one[: len(ten_apart)] > ten_apart).all()


def test_a_band_record_from_a_product_table_is_embedded_by_its_wavelength() -> None:
    custom = Band(name="X.b1", sensor="X", id="b1", center_wavelength_nm=664.0, bandwidth_nm=31.0)
    generator = KernelGenerator(out_channels=32, kernel_size=4)
    with torch.no_grad():
        kernels = generator.band_kernels([custom, "S2.B04", "S2.B12"])[0].flatten(1)
    cosine = F.cosine_similarity(kernels[:1], kernels, dim=1)
    assert cosine[1] > 0.999 and cosine[2] < 0.9


# --------------------------------------------------------------------------- magnitude


def test_token_spread_does_not_grow_with_the_band_count() -> None:
    embed = SpectralPatchEmbed(embed_dim=192, patch_size=16)
    with torch.no_grad():
        rgb = embed(torch.randn(4, 3, 64, 64), RGB).std()
        cube = embed(torch.randn(4, 200, 64, 64), ENMAP_200).std()
        sar = embed(torch.randn(4, 2, 64, 64), S1).std()
    assert 0.8 < float(cube / rgb) < 1.25
    assert 0.8 < float(sar / rgb) < 1.25
    assert 0.5 < float(rgb) < 2.0


# --------------------------------------------------------------------------- band order


@pytest.mark.parametrize("make", [_tiny_vit, _tiny_resnet], ids=["vit", "resnet"])
def test_permuting_bands_with_their_names_keeps_the_output(make: Callable[..., nn.Module]) -> None:
    encoder = make().eval()
    image = torch.randn(2, 12, 32, 32)
    order = torch.randperm(12)
    with torch.no_grad():
        reference = encoder(image, S2_12)
        permuted = encoder(image[:, order], [S2_12[i] for i in order])
        swapped = encoder(image[:, order], S2_12)  # names not permuted: another input
    torch.testing.assert_close(permuted, reference, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(swapped, reference, atol=1e-3)


# --------------------------------------------------------------------------- weights


@pytest.mark.parametrize("make", [_tiny_vit, _tiny_resnet], ids=["vit", "resnet"])
def test_safetensors_round_trip_gives_identical_outputs(
    make: Callable[..., nn.Module], tmp_path: Path
) -> None:
    source = make(bands=L8_7).eval()
    save_file(source.state_dict(), str(tmp_path / "encoder.safetensors"))
    torch.manual_seed(123)
    target = make(bands=L8_7).eval()
    image = torch.randn(2, 7, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(target(image), source(image))
        target.load_state_dict(load_file(str(tmp_path / "encoder.safetensors")))
        assert torch.equal(target(image), source(image))
        assert torch.equal(target(image[:, :3], L8_7[:3]), source(image[:, :3], L8_7[:3]))


def test_spec_pretrained_loads_a_spectral_resnet_without_stem_adaptation(tmp_path: Path) -> None:
    spec = ModelSpec(task="classification", arch="spectral_resnet", in_bands=S2_12, num_classes=3)
    source = build_model(spec).eval()
    save_file(source.state_dict(), str(tmp_path / "w.safetensors"))
    torch.manual_seed(7)
    loaded = build_model(spec.model_copy(update={"pretrained": str(tmp_path / "w.safetensors")}))
    image = torch.randn(2, 12, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(image), source(image), atol=0, rtol=0)


def test_a_timm_resnet_trunk_loads_under_the_generated_stem(tmp_path: Path) -> None:
    trunk = timm.create_model("resnet18", pretrained=False).state_dict()
    save_file(trunk, str(tmp_path / "resnet18.safetensors"))
    spec = ModelSpec(
        task="classification",
        arch="spectral_resnet",
        in_bands=["S2.B04", "S2.B08", "S1.VV"],
        num_classes=3,
        pretrained=str(tmp_path / "resnet18.safetensors"),
    )
    model = build_model(spec)
    report = import_weights(model, trunk, None, [])
    assert report.unexpected == ["conv1.weight", "fc.bias", "fc.weight"]
    assert report.stem is None and not report.mismatched
    assert all(key.startswith(("encoder.stem.", "head.")) for key in report.missing)
    assert torch.equal(model.encoder.net.layer4[1].conv2.weight, trunk["layer4.1.conv2.weight"])


# --------------------------------------------------------------------------- bad input


def test_bands_the_encoder_cannot_embed_are_named() -> None:
    vit = _tiny_vit()
    with pytest.raises(ConfigError, match=r"cannot embed band 'S2\.B99'.*Fix:"):
        vit(torch.randn(1, 1, 16, 16), ["S2.B99"])
    with pytest.raises(ConfigError, match=r"L8\.QA_PIXEL: it has no wavelength.*drop it"):
        vit(torch.randn(1, 2, 16, 16), ["L8.B4", "L8.QA_PIXEL"])
    with pytest.raises(ConfigError, match=r"cannot embed band L8\.QA_PIXEL"):
        build_model(
            ModelSpec(
                task="embedding", arch="spectral_vit", in_bands=["L8.QA_PIXEL"], num_classes=1
            )
        )


def test_shapes_that_do_not_fit_are_refused() -> None:
    vit = _tiny_vit()
    with pytest.raises(ConfigError, match=r"3 channels but 2 bands"):
        vit(torch.randn(1, 3, 16, 16), ["S1.VV", "S1.VH"])
    with pytest.raises(ConfigError, match=r"not a multiple of the patch size 8"):
        vit(torch.randn(1, 3, 20, 16), RGB)
    with pytest.raises(ConfigError, match=r"not bound to bands"):
        vit(torch.randn(1, 3, 16, 16))
    with pytest.raises(ConfigError, match=r"needs a timm ResNet"):
        SpectralResNet("resnet50d")
    with pytest.raises(ConfigError, match=r"unknown SpectralViT size 'huge'"):
        spectral_vit("huge")


# --------------------------------------------------------------------------- training


def test_a_training_step_reduces_the_loss_through_the_generator() -> None:
    spec = ModelSpec(
        task="classification",
        arch="spectral_vit",
        in_bands=["S2.B04", "S2.B08", "S1.VV"],
        num_classes=2,
        options={"embed_dim": 32, "depth": 1, "num_heads": 2, "patch_size": 8},
    )
    model = build_model(spec).train()
    image = torch.randn(8, 3, 16, 16)
    target = (image[:, 1].mean(dim=(1, 2)) > image[:, 0].mean(dim=(1, 2))).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(image), target)
        loss.backward()
        if not losses:
            generator = model.encoder.patch_embed.generator
            assert generator.kernel_head.weight.grad.abs().sum() > 0
            assert generator.band_embedding.project.weight.grad.abs().sum() > 0
            assert generator.band_embedding.learned["radar_vv"].grad.abs().sum() > 0
            # an absent polarisation's vector gets a zero gradient (DDP needs one per parameter)
            assert generator.band_embedding.learned["radar_vh"].grad.abs().sum() == 0
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# --------------------------------------------------------------------------- registry


def test_registered_for_scene_embedding_and_dense_tasks() -> None:
    tasks = {info.name: set(info.tasks) for info in list_models()}
    assert {"classification", "multilabel", "embedding", "segmentation"} <= tasks["spectral_vit"]
    assert {"classification", "multilabel", "embedding", "segmentation"} <= tasks["spectral_resnet"]


@pytest.mark.parametrize("arch", ["spectral_vit", "spectral_resnet"])
def test_embedding_task_returns_vectors_and_takes_other_bands(arch: str) -> None:
    options = {"depth": 2} if arch == "spectral_vit" else {}
    spec = ModelSpec(task="embedding", arch=arch, in_bands=S2_12, num_classes=1, options=options)
    model = build_model(spec).eval()
    width = 192 if arch == "spectral_vit" else 512
    with torch.no_grad():
        bound = model(torch.randn(2, 12, 32, 32))
        other = model(torch.randn(2, 3, 32, 32), bands=RGB)
    assert tuple(bound.shape) == tuple(other.shape) == (2, width)


@pytest.mark.parametrize(
    ("arch", "task"),
    [("spectral_vit", "segmentation"), ("spectral_resnet", "pixel_regression")],
)
def test_dense_tasks_any_size_and_other_bands(arch: str, task: str) -> None:
    options = {"depth": 1, "decoder_channels": 32} if arch == "spectral_vit" else {}
    spec = ModelSpec(task=task, arch=arch, in_bands=S2_12, num_classes=4, options=options)
    model = build_model(spec).eval()
    with torch.no_grad():
        assert tuple(model(torch.randn(1, 12, 50, 70)).shape) == (1, 4, 50, 70)
        out = model(torch.randn(1, 2, 32, 32), bands=S1)
    assert tuple(out.shape) == (1, 4, 32, 32) and torch.isfinite(out).all()


def test_resnet_stages_end_with_the_feature_map() -> None:
    net = _tiny_resnet(bands=L8_7).eval()
    image = torch.randn(1, 7, 64, 96)
    with torch.no_grad():
        stages = net.forward_stages(image)
        last = net.forward_features(image)
    shapes = [tuple(stage.shape) for stage in stages]
    assert shapes == [(1, 64, 16, 24), (1, 128, 8, 12), (1, 256, 4, 6), (1, 512, 2, 3)]
    assert net.stage_channels == [64, 128, 256, 512]
    torch.testing.assert_close(stages[-1], last)


def test_mean_pooling_differs_from_cls_pooling() -> None:
    torch.manual_seed(0)
    cls = _tiny_vit(pool="cls").eval()
    torch.manual_seed(0)
    mean = _tiny_vit(pool="mean").eval()
    image = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        tokens = mean.forward_features(image, RGB)
        torch.testing.assert_close(mean(image, RGB), tokens[:, 1:].mean(dim=1))
        torch.testing.assert_close(cls(image, RGB), tokens[:, 0])


# --------------------------------------------------------------------------- positions


def test_sincos_positions_depend_on_patch_position_not_grid_size() -> None:
    small, large = sincos_2d(64, 2, 3), sincos_2d(64, 4, 5)
    # patch (row 1, col 2) is index 1 * 3 + 2 in the small grid and 1 * 5 + 2 in the large one
    torch.testing.assert_close(small[5], large[7])
    assert small[0, :16].abs().max() == 0  # sin(0) for column 0
    assert len(torch.unique(large, dim=0)) == 20
    r, c = 1.0, 2.0  # MAE's layout: column first, then row; sines then cosines; omega 1, 1/100
    expected = [np.sin(c), np.sin(c / 100), np.cos(c), np.cos(c / 100)]
    expected += [np.sin(r), np.sin(r / 100), np.cos(r), np.cos(r / 100)]
    torch.testing.assert_close(sincos_2d(8, 2, 3)[5], torch.tensor(expected, dtype=torch.float32))
    with pytest.raises(ConfigError, match="divisible by 4"):
        sincos_2d(30, 2, 2)


# --------------------------------------------------------------------------- prediction engine


def test_embeddings_of_a_scene_through_the_prediction_engine(tmp_path: Path) -> None:
    """The encoder is a window-embedding predictor: one [D] row per 32 x 32 window."""
    transform = Affine(10, 0, 600000, 0, -10, 5700000)
    rows, cols = np.mgrid[0:64, 0:96].astype(np.float32)
    data = np.stack([np.sin(rows / 7), np.cos(cols / 5), rows / 64]).astype(np.float32)
    bands = ["S2.B04", "S2.B08", "S2.B11"]
    scene = write_tif(tmp_path / "scene.tif", data, transform, "EPSG:32631", descriptions=bands)
    spec = ModelSpec(
        task="embedding", arch="spectral_vit", in_bands=bands, num_classes=1, options={"depth": 1}
    )
    model = build_model(spec).eval()

    def embed(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(images)

    paths = predict_scene(
        embed,
        source_from_file(scene),
        make_grid((64, 96), transform, "EPSG:32631"),
        bands,
        tmp_path / "out",
        spec=EmbeddingSpec(dim=192),
        options=TilingOptions(tile=32, overlap=0, multiple=1),
    )
    table = gpd.read_parquet(paths["embeddings"])
    assert len(table) == 2 * 3
    first = table.sort_values(["row", "col"]).iloc[0]
    with torch.no_grad():
        expected = model(torch.from_numpy(data[None, :, :32, :32]))[0].numpy()
    np.testing.assert_allclose(np.asarray(first.embedding), expected, rtol=1e-4, atol=1e-5)


def test_lightning_classification_learns_which_band_is_bright() -> None:
    """A real Lightning run: telling bands apart needs each band's own generated kernel."""

    def scenes(n: int) -> dict[str, torch.Tensor]:
        label = torch.arange(n) % 3
        image = torch.randn(n, 3, 16, 16)
        image[torch.arange(n), label] += 1.5
        return {"image": image, "label": label}

    spec = ModelSpec(
        task="classification",
        arch="spectral_vit",
        in_bands=["S2.B02", "S2.B08", "S2.B11"],
        num_classes=3,
        options={"embed_dim": 32, "depth": 1, "num_heads": 2, "patch_size": 8, "pool": "mean"},
    )
    task = ClassificationTask(build_model(spec), num_classes=3, lr=0.01)
    fit(task, loader(scenes(96), shuffle=True), epochs=6, val=loader(scenes(48)))
    assert task.history["val"][-1]["val/accuracy"] > 0.9


@pytest.mark.parametrize("bands", [S2_12, S1])
def test_every_parameter_gets_a_gradient_whatever_the_bands(bands: list[str]) -> None:
    """DDP's reducer needs a gradient for each parameter on every step: the radar vectors
    on a Sentinel-2 batch (and the spectral projection on a Sentinel-1 one) get zeros."""
    vit = spectral_vit("tiny", depth=1).train()
    vit(torch.randn(2, len(bands), 32, 32), bands=bands).sum().backward()
    missing = [name for name, p in vit.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == []
    embedding = vit.patch_embed.generator.band_embedding
    assert isinstance(embedding, BandEmbedding)
    hh = embedding.learned["radar_hh"].grad  # no band of either set is HH: exactly zero
    assert hh is not None and float(hh.abs().sum()) == 0.0
