"""What pretraining buys over a random encoder, over several pretraining seeds: mean ± std.

``benchmarks/probe_compare.py`` measures one pretrained bundle against one
random one. This driver pretrains the recipe ``--config`` once per seed
(``trainer.seed`` = 0, 1, ..., ``--seeds`` - 1, each run in its own folder
under ``--runs``), exports the random encoder once (``--random-seed``: the
recipe's encoder at the initialisation a run of that seed starts from, with
that run's normalisation statistics), probes every bundle alike on ``--data``
(kNN and linear by default, with each bundle's input size and statistics) and
writes, per probe and metric, the margin of each seed (pretrained - random)
and their mean and standard deviation (sample standard deviation, ``ddof=1``;
0 for one seed).

The random encoder is exported by ``eoforge.experiment.train`` itself: the
recipe with ``optim.lr=1e-12``, no scheduler and one epoch of one batch, so
its weights stay within about 1e-11 of the seeded initialisation (AdamW moves
each weight by about ``lr`` per step) while its data, statistics and bundle
come from the same code as the pretrained ones.

Each pretraining of ``configs/pretrain_synth.yaml`` takes 6-8 min of a 2-core
CPU; the full run (3 seeds, the default)::

    python benchmarks/bench_pretrain_margins.py --seeds 3 \\
        --out benchmarks/results/pretrain_margins.json

SoftCon instead: ``--config configs/pretrain_softcon_synth.yaml --runs
runs/pretrain_margins_softcon``. ``--set KEY=VALUE`` overrides the recipe as
``eoforge train --set`` does (a tiny budget for a smoke run). The JSON is
rewritten after every seed, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from eoforge.evaluate.probe_run import PROBES, ProbeOptions, run_probe
from eoforge.experiment import load_config, train
from eoforge.experiment.progress import framework_notes_hidden
from eoforge.predict.identity import bundle_identity

sys.path.insert(0, str(Path(__file__).resolve().parent))
from probe_compare import margins  # a sibling script of this folder, not a package module

RANDOM_OVERRIDES = ("optim.lr=1e-12", "optim.scheduler=null", "trainer.max_epochs=1")
"""Overrides that export the seeded initialisation (plus one batch per epoch)."""


def pretrain(config: Path, overrides: list[str], seed: int, run_dir: Path) -> tuple[Path, float]:
    """Train the recipe with ``trainer.seed = seed`` into ``run_dir``: (its bundle, seconds)."""
    items = [*overrides, f"trainer.seed={seed}", f"trainer.output_dir={run_dir}"]
    start = time.perf_counter()
    with framework_notes_hidden():  # Lightning's start-up notes, as eoforge train hides them
        result = train(load_config(config, items), progress=False)
    return result.bundle, time.perf_counter() - start


def random_encoder(config: Path, overrides: list[str], seed: int, run_dir: Path) -> Path:
    """The recipe's encoder at its ``seed`` initialisation, exported as a bundle."""
    batch = load_config(config, overrides).data.batch_size
    extra = [*RANDOM_OVERRIDES, f"data.samples_per_epoch={batch}"]
    return pretrain(config, [*overrides, *extra], seed, run_dir)[0]


def spread(values: list[float]) -> dict[str, Any]:
    """Mean, sample standard deviation (0 for one value) and the values; NaN-aware."""
    kept = [v for v in values if not math.isnan(v)]
    mean = statistics.fmean(kept) if kept else math.nan
    std = statistics.stdev(kept) if len(kept) > 1 else (0.0 if kept else math.nan)
    return {"mean": mean, "std": std, "n": len(kept), "values": values}


def summarise(
    random: dict[str, dict[str, Any]], pretrained: dict[int, dict[str, dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """Per probe and metric: each seed's margin over the random encoder, their mean ± std."""
    out: dict[str, dict[str, Any]] = {}
    for probe, reference in random.items():
        per_seed = [
            margins(runs[probe]["metrics"], reference["metrics"]) for runs in pretrained.values()
        ]
        names = list(per_seed[0]) if per_seed else []
        out[probe] = {name: spread([m[name] for m in per_seed]) for name in names}
    return out


def measure(
    config: Path,
    data: Path,
    seeds: list[int],
    *,
    random_seed: int = 0,
    probes: tuple[str, ...] = ("knn", "linear"),
    overrides: list[str] | None = None,
    runs: Path = Path("runs/pretrain_margins"),
    options: ProbeOptions | None = None,
    out: Path | None = None,
) -> dict[str, Any]:
    """Pretrain per seed, probe against one random encoder, and summarise the margins.

    Args:
        config: The pretraining recipe (``task.kind: pretrain``).
        data: The labelled probe data (config or class-folder root).
        seeds: Pretraining seeds.
        random_seed: Seed of the random encoder every seed is compared with.
        probes: Probes to run (``knn``, ``linear``, ``finetune``).
        overrides: ``KEY=VALUE`` overrides of the recipe, for every run.
        runs: Folder of the run folders (``seed_<s>``, ``random_<r>``).
        options: Probe options (default :class:`ProbeOptions`).
        out: JSON file rewritten after every seed (None: not written).

    Returns:
        The result written to ``out``: settings, the random encoder's and each
        seed's probe metrics, the blind baseline, and ``margins[probe][metric]``
        = ``{"mean", "std", "n", "values"}``.
    """
    items = list(overrides or [])
    chosen = options or ProbeOptions()
    result: dict[str, Any] = {
        "config": str(config),
        "overrides": items,
        "data": str(data),
        "probes": list(probes),
        "random_seed": random_seed,
        "seeds": [],
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    }
    bundle = random_encoder(config, items, random_seed, runs / f"random_{random_seed}")
    random = {p: run_probe(bundle, data, p, chosen) for p in probes}  # type: ignore[arg-type]
    result["random"] = {
        "bundle": str(bundle),
        "fingerprint": bundle_identity([bundle]).fingerprint,
        "metrics": {p: r["metrics"] for p, r in random.items()},
    }
    result["baseline"] = next(iter(random.values()))["baseline"] if random else {}
    pretrained: dict[int, dict[str, dict[str, Any]]] = {}
    result["pretrained"] = {}
    for seed in seeds:
        trained, seconds = pretrain(config, items, seed, runs / f"seed_{seed}")
        pretrained[seed] = {p: run_probe(trained, data, p, chosen) for p in probes}  # type: ignore[arg-type]
        result["seeds"].append(seed)
        result["pretrained"][str(seed)] = {
            "bundle": str(trained),
            "fingerprint": bundle_identity([trained]).fingerprint,
            "pretrain_seconds": seconds,
            "metrics": {p: r["metrics"] for p, r in pretrained[seed].items()},
        }
        result["margins"] = summarise(random, pretrained)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def table(result: dict[str, Any]) -> str:
    """The margins as aligned text lines: probe, metric, random, mean ± std over the seeds."""
    lines = [f"{'probe':<8} {'metric':<16} {'random':>8} {'margin mean ± std':>20} {'seeds':>5}"]
    for probe, metrics in result.get("margins", {}).items():
        for name, entry in metrics.items():
            reference = float(result["random"]["metrics"][probe][name])
            shown = f"{entry['mean']:+.4f} ± {entry['std']:.4f}"
            lines.append(f"{probe:<8} {name:<16} {reference:>8.4f} {shown:>20} {entry['n']:>5}")
    return "\n".join(lines)


def main() -> None:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path("configs/pretrain_synth.yaml"))
    parser.add_argument("--data", type=Path, default=Path("benchmarks/probe_landcover_synth.yaml"))
    parser.add_argument("--seeds", type=int, default=3, help="pretraining seeds 0..N-1")
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--probes", nargs="+", choices=PROBES, default=["knn", "linear"])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--runs", type=Path, default=Path("runs/pretrain_margins"))
    parser.add_argument("--presence", type=float, default=0.1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/pretrain_margins.json")
    )
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    result = measure(
        args.config,
        args.data,
        list(range(args.seeds)),
        random_seed=args.random_seed,
        probes=tuple(args.probes),
        overrides=args.overrides,
        runs=args.runs,
        options=ProbeOptions(presence=args.presence, device=args.device),
        out=args.out,
    )
    print(table(result))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
