"""bench_ssl's contenders are like for like: same backbone and head, same windows, same vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
import torch
from benchmarks.bench_ssl import (
    BATCH,
    MEAN,
    PATCH,
    STD,
    embed_bundle,
    eoforge_config,
    judge_pretrain,
    main,
    scene_windows,
    torchgeo_task,
)
from benchmarks.bench_train import make_geo, write_config

from eoforge.embeddings import embed
from eoforge.experiment import load_config
from eoforge.experiment.data import build_data
from eoforge.experiment.pretrain import pretrain_spec, pretrain_task
from eoforge.transforms.normalize import Normalize


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    image, _ = make_geo(tmp_path_factory.mktemp("geo"), 256)
    return image


def test_windows_are_the_scene_tiles_and_embed_gives_the_bare_vectors(
    scene: Path, tmp_path: Path
) -> None:
    windows = scene_windows(scene, PATCH)
    with rasterio.open(scene) as ds:
        pixels = ds.read().astype(np.float32)
    assert windows.shape == (16, 4, PATCH, PATCH)
    # window k is row k // 4, column k % 4 of the 4 x 4 lattice
    assert np.array_equal(windows[6].numpy(), pixels[:, 64:128, 128:192])
    folder, model = embed_bundle(tmp_path / "bundle")
    results = embed(folder, scene, tmp_path / "out", window=PATCH, stride=PATCH, batch=BATCH)
    table = pq.read_table(results[0].paths["embeddings"]).to_pydict()
    assert len(table["row"]) == 16
    with torch.inference_mode():
        bare = model(Normalize(MEAN, STD)(windows)).numpy()
    for row, col, vector in zip(table["row"], table["col"], table["embedding"], strict=True):
        k = (row // PATCH) * 4 + col // PATCH
        np.testing.assert_allclose(np.asarray(vector), bare[k], rtol=1e-4, atol=1e-4)


def linears(module: torch.nn.Module) -> list[tuple[int, int]]:
    return [
        (m.in_features, m.out_features) for m in module.modules() if isinstance(m, torch.nn.Linear)
    ]


@pytest.mark.parametrize("method", ["simclr", "moco"])
def test_eoforge_and_torchgeo_train_the_same_backbone_and_head(
    scene: Path, tmp_path: Path, method: str
) -> None:
    pytest.importorskip("torchgeo", reason="torchgeo is the bench extra's peer (make bench)")
    raw = eoforge_config(scene, tmp_path / "run", method, "timm_encoder", 64)
    raw["data"]["val_fraction"] = 0.3  # a 77-px strip of this small scene holds 64-px windows
    config = load_config(write_config(raw, tmp_path / "c.yaml"))
    data = build_data(config, tmp_path / "run")
    spec = pretrain_spec(config, data)
    ours = pretrain_task(config, spec, (np.zeros(4), np.ones(4)))
    theirs = torchgeo_task(method)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(ours.model) == count(theirs.backbone) == 11_179_648  # headless resnet18, 4 bands
    # the same 512 -> 512 -> 128 linear layers (BatchNorm placement differs: lightly's own)
    assert linears(ours.projector) == linears(theirs.projection_head) == [(512, 512), (512, 128)]
    x = torch.randn(2, 4, PATCH, PATCH)
    assert ours.model(x).shape == theirs.backbone(x).shape == (2, 512)
    assert theirs.projection_head(theirs.backbone(x)).shape == (2, 128)
    if method == "moco":
        assert ours.queue is not None and ours.queue.keys.shape[0] == 4096
        assert theirs.hparams["memory_bank_size"] == 4096


def test_judge_names_noise_as_noise_and_the_floor_only_when_it_bounds() -> None:
    def entry(eo: list[float], tg: list[float]) -> dict[str, Any]:
        med = {"eoforge": sum(eo) / len(eo), "torchgeo": sum(tg) / len(tg)}
        return {
            "images_per_s": med,
            "rounds": {"eoforge": eo, "torchgeo": tg},
            "vs_torchgeo": med["eoforge"] / med["torchgeo"],
        }

    steady = {"simclr": entry([30.0, 30.0], [25.0, 25.0])}  # 1.2x, rounds agree
    out = judge_pretrain(steady, 32.0)
    assert out["goals_met"] == {"simclr_vs_torchgeo>=1.3": False}
    assert "1.28x TorchGeo" in out["why"]["simclr"]  # 32 / 25
    assert steady["simclr"]["spread"] == 1.0
    noisy = {"moco": entry([10.0, 7.0], [12.0, 9.0])}
    out = judge_pretrain(noisy, 32.0)
    assert "differ 1.43x" in out["why"]["moco"] and noisy["moco"]["spread"] == 1.429
    fast = {"simclr": entry([40.0, 40.0], [25.0, 25.0])}
    assert "why" not in judge_pretrain(fast, 32.0)


@pytest.mark.slow
def test_quick_run_writes_all_figures(tmp_path: Path) -> None:
    out = tmp_path / "ssl.json"
    result = main(["--quick", "--steps", "5", "--data", str(tmp_path / "data"), "--out", str(out)])
    pre = result["pretrain"]
    assert set(pre["simclr"]["images_per_s"]) == {"eoforge", "eoforge_spectral_resnet", "torchgeo"}
    assert all(v > 0 for v in pre["simclr"]["images_per_s"].values())
    assert result["embed"]["windows"] == 1024 and result["embed"]["efficiency"] > 0
    assert out.read_text().strip().startswith("{")
