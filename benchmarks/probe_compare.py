"""Pretrained versus random encoder: the same probes on both bundles' frozen features.

Given two embedding bundles (a pretrained encoder and the same architecture
randomly initialised, e.g. the recipe run with ``--set optim.lr=1e-12
optim.scheduler=null trainer.max_epochs=1``, whose weights stay at the seeded
initialisation; ``benchmarks/bench_pretrain_margins.py`` does this and repeats
the comparison over pretraining seeds) and a labelled data config (land
cover of synthetic scenes of an unseen seed: ``data.kind: geo`` with a
``landcover`` label layer; or BigEarthNet; or class folders), runs each probe
with the bundles' own input size and normalisation and prints, per metric,
both values and the margin (pretrained - random):

* ``knn``: ``accuracy`` (dominant class of a window), ``map`` (classes
  covering at least ``--presence`` of it) and ``precision_at_10``;
* ``linear``: ``accuracy`` and ``map``;
* ``finetune`` (only with ``--probes finetune``): the task's metrics;
* ``blind``: what a probe scores without the features (majority class,
  class frequencies), to read the others against.

The full reports (counts, input preparation, bundle fingerprints) and the
margins go to ``--out`` as JSON.

Example::

    python benchmarks/probe_compare.py runs/pretrain/bundle runs/random/bundle \\
        probe_landcover.yaml --out benchmarks/results/probe_compare.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from eoforge.evaluate.probe_run import PROBES, ProbeOptions, run_probe


def compare(
    pretrained: Path,
    random: Path,
    data: Path,
    probes: list[str],
    options: ProbeOptions,
) -> dict[str, Any]:
    """Both bundles' probe reports and the margins ``pretrained - random`` per metric.

    Returns:
        ``{"data", "probes": {probe: {"pretrained": report, "random": report,
        "margin": {metric: value}}}}``.
    """
    result: dict[str, Any] = {"data": str(data), "probes": {}}
    for probe in probes:
        first = run_probe(pretrained, data, probe, options)  # type: ignore[arg-type]
        second = run_probe(random, data, probe, options)  # type: ignore[arg-type]
        margin = margins(first["metrics"], second["metrics"])
        result["probes"][probe] = {"pretrained": first, "random": second, "margin": margin}
        result["baseline"] = first["baseline"]  # labels only: the same for both bundles
    return result


def margins(pretrained: dict[str, Any], random: dict[str, Any]) -> dict[str, float]:
    """``pretrained - random`` for every metric both probe reports hold (NaN stays NaN)."""
    return {
        name: float(value) - float(random[name])
        for name, value in pretrained.items()
        if name in random
    }


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def table(result: dict[str, Any]) -> str:
    """The comparison as aligned text lines."""
    lines = [f"{'probe':<9} {'metric':<16} {'pretrained':>10} {'random':>10} {'margin':>10}"]
    for probe, entry in result["probes"].items():
        for name, margin in entry["margin"].items():
            first = entry["pretrained"]["metrics"][name]
            second = entry["random"]["metrics"][name]
            lines.append(
                f"{probe:<9} {name:<16} {_fmt(first):>10} {_fmt(second):>10} {_fmt(margin):>10}"
            )
    for name, value in result.get("baseline", {}).items():
        lines.append(f"{'blind':<9} {name:<16} {_fmt(value):>10} {_fmt(value):>10} {'':>10}")
    return "\n".join(lines)


def main() -> None:
    """Command line: ``probe_compare.py PRETRAINED RANDOM DATA [--probes ...] [--out FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pretrained", type=Path, help="the pretrained embedding bundle")
    parser.add_argument("random", type=Path, help="the randomly initialised embedding bundle")
    parser.add_argument("data", type=Path, help="labelled data config (or class-folder root)")
    parser.add_argument("--probes", nargs="+", choices=PROBES, default=["knn", "linear"])
    parser.add_argument("--presence", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=3, help="finetune epochs")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    options = ProbeOptions(presence=args.presence, epochs=args.epochs, device=args.device)
    result = compare(args.pretrained, args.random, args.data, args.probes, options)
    print(table(result))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
