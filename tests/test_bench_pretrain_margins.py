"""``benchmarks/bench_pretrain_margins.py``: seeds against one random encoder, mean ± std."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
import torch
import yaml
from benchmarks.bench_pretrain_margins import (
    RANDOM_OVERRIDES,
    measure,
    pretrain,
    spread,
    summarise,
    table,
)
from safetensors.torch import load_file

from eoforge.models import load_bundle

ROOT = Path(__file__).resolve().parents[1]
TINY = [  # configs/pretrain_synth.yaml in seconds: a 128-px scene, 2 steps of a 1-block ViT
    "data.train.synthetic.size=128",
    "data.val_fraction=0.25",
    "data.patch_size=32",
    "data.samples_per_epoch=16",
    "data.batch_size=8",
    "data.stats_samples=4",
    "model.options.depth=1",
    "trainer.max_epochs=1",
    "trainer.checkpoint_every_n_steps=0",
]


def probe_data(folder: Path) -> Path:
    """benchmarks/probe_landcover_synth.yaml at 128 px: 32 training, 16 validation windows."""
    raw = yaml.safe_load((ROOT / "benchmarks/probe_landcover_synth.yaml").read_text())
    for split in ("train", "val"):
        raw["data"][split]["synthetic"]["size"] = 128
    raw["data"].update(patch_size=32, samples_per_epoch=32, stats_samples=4)
    raw["trainer"]["output_dir"] = str(folder / "probe_scenes")
    path = folder / "probe.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_spread_is_the_mean_and_sample_deviation() -> None:
    assert spread([0.1, 0.3]) == {
        "mean": pytest.approx(0.2),
        "std": pytest.approx(statistics.stdev([0.1, 0.3])),
        "n": 2,
        "values": [0.1, 0.3],
    }
    assert spread([0.5])["std"] == 0.0
    nan = spread([float("nan"), 0.2])
    assert nan["n"] == 1 and nan["mean"] == 0.2


def test_summarise_compares_every_seed_with_the_one_random_encoder() -> None:
    random = {"knn": {"metrics": {"accuracy": 0.5, "map": 0.4}}}
    pretrained = {
        0: {"knn": {"metrics": {"accuracy": 0.7, "map": 0.5}}},
        3: {"knn": {"metrics": {"accuracy": 0.6, "map": float("nan")}}},
    }
    summary = summarise(random, pretrained)
    accuracy = summary["knn"]["accuracy"]
    assert accuracy["values"] == pytest.approx([0.2, 0.1])
    assert accuracy["mean"] == pytest.approx(0.15)
    assert accuracy["std"] == pytest.approx(statistics.stdev([0.2, 0.1]))
    assert summary["knn"]["map"]["n"] == 1 and summary["knn"]["map"]["mean"] == pytest.approx(0.1)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_seeds_against_one_random_encoder(tmp_path: Path) -> None:
    out = tmp_path / "margins.json"
    result = measure(
        ROOT / "configs/pretrain_synth.yaml",
        probe_data(tmp_path),
        [0, 1],
        random_seed=0,
        overrides=TINY,
        runs=tmp_path / "runs",
        out=out,
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result["seeds"] == [0, 1] and set(result["margins"]) == {"knn", "linear"}
    assert set(result["margins"]["knn"]) == {"accuracy", "map", "precision_at_10"}
    assert set(result["margins"]["linear"]) == {"accuracy", "map"}
    random = result["random"]["metrics"]
    for probe, metrics in result["margins"].items():
        for name, entry in metrics.items():
            values = [
                result["pretrained"][str(seed)]["metrics"][probe][name] - random[probe][name]
                for seed in (0, 1)
            ]
            assert entry["values"] == pytest.approx(values)
            assert entry["mean"] == pytest.approx(statistics.fmean(values))
            assert entry["std"] == pytest.approx(statistics.stdev(values))
    fingerprints = {result["random"]["fingerprint"]}
    fingerprints |= {result["pretrained"][s]["fingerprint"] for s in ("0", "1")}
    assert len(fingerprints) == 3  # three different encoders

    # the random encoder is the seed-0 run's starting point: its statistics, barely moved weights
    runs = tmp_path / "runs"
    random_bundle = load_bundle(runs / "random_0/bundle").bundle
    seed_0 = load_bundle(runs / "seed_0/bundle").bundle
    assert random_bundle.normalization == seed_0.normalization
    assert random_bundle.model == seed_0.model
    initial = load_file(runs / "random_0/bundle/weights.safetensors")
    trained = load_file(runs / "seed_0/bundle/weights.safetensors")
    moved = max(float((initial[k] - trained[k]).abs().max()) for k in initial)
    assert moved > 1e-4  # pretraining seed 0 moved away from where it started
    # the same export with lr 1e-5 instead of 1e-12 lands about 1e-5 away (AdamW's first step
    # moves a weight by about lr): the learning rate is honoured, so at 1e-12 the weights are
    # the initialisation to float32 precision
    faster = [*TINY, *RANDOM_OVERRIDES, "optim.lr=1e-5", "data.samples_per_epoch=8"]
    other, _ = pretrain(ROOT / "configs/pretrain_synth.yaml", faster, 0, runs / "lr_1e-5")
    again = load_file(other / "weights.safetensors")
    assert 1e-6 < max(float((initial[k] - again[k]).abs().max()) for k in initial) < 1e-4
    text = table(result)
    assert len(text.splitlines()) == 1 + 3 + 2 and "±" in text
    assert torch.isfinite(
        torch.tensor([e["mean"] for m in result["margins"].values() for e in m.values()])
    ).all()
