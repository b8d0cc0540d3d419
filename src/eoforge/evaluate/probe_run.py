"""``run_probe``: score an embedding bundle's frozen features on labelled data, as a report.

The report (also written as JSON) holds the probe and its options, the
metrics, what a probe blind to the features would score (``baseline``: the
majority class's accuracy, the map of class frequencies), the number of
training and validation windows, the feature width, how the inputs were
prepared (size, resampling, the normalisation actually applied with its
statistics) and the bundle's identity (the fingerprint of its weights, bands
and normalisation), so two probe results can be told apart by what produced
them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from eoforge.errors import ConfigError
from eoforge.evaluate.features import Features, extract_features
from eoforge.evaluate.finetune import finetune_probe
from eoforge.evaluate.probe import chance_baseline, knn_probe, linear_probe
from eoforge.evaluate.probe_data import NormName, probe_input, probe_splits
from eoforge.models import load_bundle
from eoforge.predict.identity import bundle_identity

ProbeName = Literal["knn", "linear", "finetune"]
PROBES: tuple[ProbeName, ...] = ("knn", "linear", "finetune")


@dataclass(frozen=True)
class ProbeOptions:
    """Options of the probes (each reads its own).

    Attributes:
        size: Input side in pixels (None: the bundle's patch size).
        norm: ``bundle`` (default), ``none`` or ``dataset``.
        k: k-NN: neighbours that vote.
        temperature: k-NN: vote weight ``exp(similarity / temperature)``.
        c: Linear: inverse L2 regularisation.
        epochs: Fine-tuning epochs.
        lr: Fine-tuning learning rate.
        batch_size: Windows per forward pass (fine-tuning steps take at most 16).
        presence: Geo windows: least class fraction for a multi-label positive.
        seed: Seed of the linear solver and the fine-tuning.
        device: Where features are computed (``cpu``, ``cuda``; ``auto``: a GPU if any).
    """

    size: int | None = None
    norm: NormName = "bundle"
    k: int = 20
    temperature: float = 0.07
    c: float = 1.0
    epochs: int = 3
    lr: float = 1e-4
    batch_size: int = 32
    presence: float = 0.1
    seed: int = 0
    device: str = "cpu"


def _device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def run_probe(
    bundle_dir: str | Path,
    data: str | Path,
    probe: ProbeName,
    options: ProbeOptions | None = None,
    out: str | Path | None = None,
) -> dict[str, Any]:
    """Probe the bundle's frozen features on ``data`` and return (and write) the report.

    Args:
        bundle_dir: An embedding bundle folder.
        data: An experiment config (its data section) or a class-folder root.
        probe: ``knn``, ``linear`` or ``finetune``.
        options: Probe options (defaults: the bundle's size and normalisation).
        out: JSON file to write, or None.

    Returns:
        The report (see the module doc); ``report["metrics"]`` maps names to floats.

    Raises:
        ConfigError: Not an embedding bundle, an unknown probe, or bad data.
    """
    opts = options or ProbeOptions()
    if probe not in PROBES:
        raise ConfigError(f"unknown probe {probe!r}.", fix="use --probe knn, linear or finetune.")
    folder = Path(bundle_dir)
    loaded = load_bundle(folder)
    bundle = loaded.bundle
    if bundle.task != "embedding":
        raise ConfigError(
            f"--probe scores embedding bundles; this is a {bundle.task} bundle.",
            path=folder,
            fix="drop --probe to score it with its task's own metrics, or pass an "
            "embedding bundle.",
        )
    splits = probe_splits(data, bundle, opts.presence)
    prepared = probe_input(splits, bundle, opts.size, opts.norm)
    device = _device(opts.device)
    keep = probe == "finetune"

    def features(split: Literal["train", "val"]) -> Features:
        return extract_features(
            loaded.model, splits, split, prepared,
            batch_size=opts.batch_size, device=device, keep_images=keep,
        )  # fmt: skip

    train, val = features("train"), features("val")
    count = len(splits.class_names)
    settings: dict[str, Any]
    if probe == "knn":
        settings = {"k": opts.k, "temperature": opts.temperature}
        metrics = knn_probe(train, val, count, k=opts.k, temperature=opts.temperature)
    elif probe == "linear":
        settings = {"c": opts.c, "seed": opts.seed, "solver": "lbfgs", "standardised": True}
        metrics = linear_probe(train, val, count, c=opts.c, seed=opts.seed)
    else:
        settings = {"epochs": opts.epochs, "lr": opts.lr, "batch_size": opts.batch_size}
        settings["seed"] = opts.seed
        metrics = finetune_probe(
            loaded.model.cpu(), train, val, splits.class_names,
            epochs=opts.epochs, lr=opts.lr, batch_size=min(opts.batch_size, 16),
            seed=opts.seed, accelerator="gpu" if device.startswith("cuda") else "cpu",
        )  # fmt: skip
    report: dict[str, Any] = {
        "probe": probe,
        "settings": settings,
        "metrics": metrics,
        "baseline": chance_baseline(train, val),
        "n_train": len(train),
        "n_val": len(val),
        "feature_dim": int(train.vectors.shape[1]),
        "labels": _labels(train, splits.kind, opts.presence),
        "classes": splits.class_names,
        "input": prepared.to_dict(),
        "bundle_patch_size": bundle.patch_size,
        "bundle": bundle_identity([folder]).to_dict(),
        "data": splits.described,
    }
    if out is not None:
        write_report(Path(out), report)
    return report


def _labels(features: Features, kind: str, presence: float) -> dict[str, Any]:
    described: dict[str, Any] = {
        "single": features.single is not None,
        "multi": features.multi is not None,
    }
    if kind == "geo":
        described["single_from"] = "dominant class of the window's labelled pixels"
        described["multi_from"] = f"classes covering at least {presence} of them"
    return described


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Write the report as JSON through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    os.replace(staging, path)
