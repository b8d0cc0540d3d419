"""Multi-frame against single-frame x4 super-resolution on the same synthetic scenes, unseen scene.

Steps (everything under ``--work``):

1. the scenes of ``bench_sr_synth.py`` (2.5 m, Sentinel-2-like bands, no
   clouds): training seeds 0 and 1 (1024 px), validation seed 2 (384 px) and
   an unseen test seed 9 (768 px);
2. each degraded into 8 revisits at 10 m by the same sensor model, every
   revisit of every scene its own sub-pixel shift and noise (:func:`revisit_seed`;
   the test scene's revisit 0 is exactly the single-frame benchmark's test input);
3. ``configs/sr_synth_x4.yaml`` trained on revisit 0 of each training scene and
   the multi-frame recipe (``--multi-recipe``, default
   ``configs/sr_synth_multiframe_fit_x4.yaml``: shifts estimated per revisit and
   a per-pixel fit of the sampling phases; ``configs/sr_synth_multiframe_x4.yaml``:
   the HighRes-net-like attention model) on all 8, CPU time of each training
   measured in this process;
4. the unseen scene predicted whole through the engine (``eoforge.predict.run``:
   the single-frame bundle on revisit 0, and on each revisit for the best single
   view, the multi-frame bundle on the 8 revisits, grouped into one scene) and
   scored against the target: cPSNR, cSSIM, PSNR, SSIM per band, with bicubic
   upsamplings of revisit 0 and of the per-pixel median of the 8 revisits as baselines.

Writes ``benchmarks/results/sr_multiframe_fit.json`` (the attention recipe:
``sr_multiframe.json``). Run: ``nice -n 10 .venv/bin/python
benchmarks/bench_sr_multiframe.py`` (``--epochs 1`` for a quick check; ``--only
multi`` keeps the single-frame numbers of ``--out``; ``--only multi --single-from
benchmarks/results/sr_synth.json`` takes them from that benchmark's run instead: its test
input is revisit 0 here, bit for bit, which the JSON checks by comparing the two bicubic
scores, though its training revisits are other draws than this bench's).
Other settings: ``--max-shift`` (the sensor's revisit misregistration, 2.5 m pixels),
``--train-revisits 32`` (more revisits per training scene, so more sets of sampling phases;
``--single-all`` trains the single-frame model on every one of them too), ``--multi-option
KEY=VALUE`` (the multi-frame model's options, ``lr=`` its learning rate), ``--max-time``
(wall minutes; raise it on a loaded machine, where the recipes' 10 cut training short).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
import torch.nn.functional as F
import yaml

from eoforge.evaluate.sr_metrics import cpsnr, cssim, psnr, ssim
from eoforge.experiment.loading import validate_config
from eoforge.experiment.train import train
from eoforge.predict import run
from eoforge.synth import generate_scene
from eoforge.synth.degrade import SensorModel
from eoforge.synth.sr_pairs import write_sr_pair

ROOT = Path(__file__).resolve().parents[1]
SINGLE = ROOT / "configs" / "sr_synth_x4.yaml"
MULTI = ROOT / "configs" / "sr_synth_multiframe_fit_x4.yaml"
ATTENTION = ROOT / "configs" / "sr_synth_multiframe_x4.yaml"
RESULTS = {MULTI: "sr_multiframe_fit.json", ATTENTION: "sr_multiframe.json"}
"""Default ``--out`` (under benchmarks/results) of each multi-frame recipe."""
SENSOR = SensorModel(scale=4, mtf=0.3, max_shift=0.5, noise_std=0.002)
SCENES = {"train0": (0, 1024), "train1": (1, 1024), "val": (2, 384), "test": (9, 768)}
"""Item name -> (synth seed, size in 2.5 m pixels), as in bench_sr_synth.py."""
REVISITS = 8
METRICS = {"psnr": psnr, "ssim": ssim, "cpsnr": cpsnr, "cssim": cssim}


def revisit_seed(name: str, seed: int) -> int:
    """Seed of revisit 0 of scene ``name`` (revisit ``n``: ``+ n``).

    The test scene's revisits are ``seed + 100 ..`` (``109 .. 116``: revisit 0 is then
    bench_sr_synth.py's test input, bit for bit); the training and validation scenes' start
    at ``10,000 + 1,000 seed``, so that every revisit of every scene has its own shift and noise
    (with ``seed + 100`` the training scenes shared 7 of their 8).
    """
    return seed + 100 if name == "test" else 10_000 + 1_000 * seed


def prepare(
    work: Path, bands: tuple[str, ...], sensor: SensorModel = SENSOR, train_revisits: int = REVISITS
) -> dict[str, tuple[list[Path], Path]]:
    """Render the scenes and write their revisits (kept when already there, for ``sensor``).

    The training scenes get ``train_revisits`` revisits, the others ``REVISITS``.
    """
    items = {}
    for name, (seed, size) in SCENES.items():
        folder = work / name
        pair = folder / "pair"
        written = pair / "sensor.json"
        count = train_revisits if name.startswith("train") else REVISITS
        if written.is_file():
            meta = json.loads(written.read_text())
            if (
                meta.get("sensor") != sensor.describe()
                or len(meta["shifts_hr_px"]) != count
                or meta.get("seed") != revisit_seed(name, seed)
            ):
                shutil.rmtree(pair)  # revisits of another sensor model, count or seed
        if not (folder / "scene").is_dir():
            generate_scene(
                folder / "scene", size=size, sensors=("s2",), dates=1, clouds=0.0, gsd=2.5,
                s2_native=False, vectors=False, seed=seed,
            )  # fmt: skip
        if not written.is_file():
            write_sr_pair(
                folder / "scene", pair, sensor, bands=bands, revisits=count,
                seed=revisit_seed(name, seed),
            )  # fmt: skip
        items[name] = ([pair / f"lr_{n}.tif" for n in range(count)], pair / "hr.tif")
    return items


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system, all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def read(path: Path) -> torch.Tensor:
    """A raster as float64 ``[C, H, W]``."""
    with rasterio.open(path) as src:
        return torch.from_numpy(src.read().astype(np.float64))


def scores(image: torch.Tensor, target: torch.Tensor, bands: list[str]) -> dict[str, Any]:
    """PSNR, SSIM, cPSNR, cSSIM (border 3, range 1) per band and mean."""
    out: dict[str, Any] = {}
    for name, metric in METRICS.items():
        kwargs = {"border": 3} if name.startswith("c") else {}
        s = metric(image, target, 1.0, **kwargs)
        out[name] = {"mean": s.mean, "bands": dict(zip(bands, s.bands, strict=True))}
    return out


def predict(bundle: Path, inputs: list[Path], work: Path) -> tuple[torch.Tensor, float, float]:
    """The engine's prediction of ``inputs`` (one scene) with its wall and CPU seconds."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    with tempfile.TemporaryDirectory(prefix=".mf-eval-", dir=work) as out:
        results = run(bundle, inputs, out)
        assert len(results) == 1, [r.name for r in results]
        image = read(results[0].paths["values"])
    return image, time.perf_counter() - wall, cpu_seconds() - cpu


def each_revisit(bundle: Path, inputs: list[Path], target: torch.Tensor, work: Path) -> list[float]:
    """Mean cPSNR of the single-frame ``bundle`` on each test revisit (the best single view)."""
    h, w = target.shape[-2:]
    return [
        cpsnr(predict(bundle, [path], work)[0][:, :h, :w], target, 1.0, border=3).mean
        for path in inputs
    ]


def fit(recipe: Path, items: dict[str, tuple[list[Path], Path]], frames: bool, work: Path,
        epochs: int | None, max_time: int | None,
        options: dict[str, Any] | None = None,
        single_all: bool = False) -> tuple[Path, dict[str, Any]]:  # fmt: skip
    """Train ``recipe`` on the items, ``options`` overriding the recipe's ``model.options``
    (and ``lr`` its ``optim.lr``).

    Multi-frame (``frames``): each training scene's revisits in items of ``REVISITS``;
    single-frame: revisit 0 of each scene, or every revisit of the training scenes as its own
    pair (``single_all``), so both models learn from the same views.
    """
    raw: dict[str, Any] = yaml.safe_load(recipe.read_text())
    options = dict(options or {})
    if "lr" in options:
        raw["optim"]["lr"] = options.pop("lr")
    raw["model"]["options"].update(options)

    def item(name: str) -> list[dict[str, Any]]:
        """Multi-frame: one item per ``REVISITS`` revisits; single-frame: revisit 0 (or each)."""
        lrs, hr = items[name]
        if frames:
            groups = [lrs[i : i + REVISITS] for i in range(0, len(lrs), REVISITS)]
            return [{"lr": [str(p) for p in g], "hr": str(hr)} for g in groups]
        chosen = lrs if single_all and name.startswith("train") else lrs[:1]
        return [{"lr": str(p), "hr": str(hr)} for p in chosen]

    raw["data"]["train"] = [*item("train0"), *item("train1")]
    raw["data"]["val"] = item("val")
    raw["trainer"]["output_dir"] = str(work)
    if epochs is not None:
        raw["trainer"]["max_epochs"] = epochs
    if max_time is not None:
        raw["trainer"]["max_time"] = max_time
    config = validate_config(raw, recipe)
    shutil.rmtree(work, ignore_errors=True)  # a fresh run each time (a checkpoint there is refused)
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = train(config, progress=False)
    return result.bundle, {
        "recipe": str(recipe.relative_to(ROOT)),
        "wall_s": round(time.perf_counter() - wall, 1),
        "cpu_s": round(cpu_seconds() - cpu, 1),
        "epochs": config.trainer.max_epochs,
        "train_items": len(raw["data"]["train"]),
        "model_options": raw["model"]["options"],
        "lr": raw["optim"]["lr"],
        "val_metrics": result.metrics,
    }


def main() -> None:
    """Prepare, train both, score; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "sr_multiframe")
    parser.add_argument("--epochs", type=int, default=None, help="override trainer.max_epochs")
    parser.add_argument(
        "--single-epochs",
        type=int,
        default=None,
        help="override the single-frame recipe's trainer.max_epochs (an equal CPU budget)",
    )
    parser.add_argument(
        "--max-time", type=int, default=None, help="override trainer.max_time (wall minutes)"
    )
    parser.add_argument("--only", choices=("both", "multi"), default="both")
    parser.add_argument(
        "--multi-recipe",
        type=Path,
        default=MULTI,
        help="the multi-frame recipe (configs/sr_synth_multiframe_x4.yaml: the attention model)",
    )
    parser.add_argument(
        "--single-from",
        type=Path,
        default=None,
        help="with --only multi: bench_sr_synth.py's JSON (default: this bench's last run)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="the JSON (default: per recipe, see RESULTS)"
    )
    parser.add_argument(
        "--max-shift",
        type=float,
        default=SENSOR.max_shift,
        help="largest sub-pixel shift of a revisit, 2.5 m pixels (4 = one 10 m pixel)",
    )
    parser.add_argument(
        "--multi-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override the multi-frame recipe's model.options[KEY] (YAML value; lr=...: optim.lr)",
    )
    parser.add_argument(
        "--train-revisits",
        type=int,
        default=REVISITS,
        help=f"revisits per training scene (a multiple of {REVISITS}; each its own shift): the "
        f"multi-frame model trains on items of {REVISITS}, so more revisits are more shift sets",
    )
    parser.add_argument(
        "--single-all",
        action="store_true",
        help="the single-frame model trains on every training revisit (default: revisit 0)",
    )
    args = parser.parse_args()
    if args.train_revisits % REVISITS or args.train_revisits < REVISITS:
        parser.error(f"--train-revisits must be a multiple of {REVISITS}")
    overrides = {k: yaml.safe_load(v) for k, _, v in (o.partition("=") for o in args.multi_option)}
    sensor = dataclasses.replace(SENSOR, max_shift=args.max_shift)
    multi_recipe = args.multi_recipe.resolve()
    if args.out is None:
        if multi_recipe not in RESULTS:
            parser.error(f"give --out for {multi_recipe.name}")
        args.out = ROOT / "benchmarks" / "results" / RESULTS[multi_recipe]
    bands = list(yaml.safe_load(multi_recipe.read_text())["data"]["bands"])
    items = prepare(args.work, tuple(bands), sensor, args.train_revisits)
    test_lrs, test_hr = items["test"]
    target = read(test_hr)
    frames = torch.stack([read(p) for p in test_lrs])
    baselines = {
        "bicubic_revisit0": scores(F.interpolate(frames[:1], scale_factor=4, mode="bicubic",
                                                 align_corners=False)[0], target, bands),
        "bicubic_median": scores(F.interpolate(frames.median(dim=0).values[None], scale_factor=4,
                                               mode="bicubic", align_corners=False)[0],
                                 target, bands),
    }  # fmt: skip
    previous: dict[str, Any] = (
        json.loads(args.out.read_text()) if args.only == "multi" and args.out.is_file() else {}
    )
    if args.only == "multi" and args.single_from is not None:
        other = json.loads(args.single_from.read_text())
        bicubic = other["test"]["bicubic"]["cpsnr"]["mean"]
        same = abs(bicubic - baselines["bicubic_revisit0"]["cpsnr"]["mean"]) < 1e-6
        previous = {
            "single": {
                "from": str(args.single_from),
                "same_input_bicubic_cpsnr_matches": same,
                "train": {"recipe": other["recipe"], **other["train"]},
                "test": other["test"]["model"],
            }
        }
        if not same:
            raise SystemExit(f"{args.single_from} scored another input (bicubic {bicubic:.4f} dB)")
    out: dict[str, Any] = {
        "sensor": sensor.describe(),
        "revisits": REVISITS,
        "train_revisits": args.train_revisits,
        "single_trained_on": "every training revisit" if args.single_all else "revisit 0",
        "scenes": {n: {"seed": s, "size_2_5m_px": z} for n, (s, z) in SCENES.items()},
        "baselines": baselines,
    }
    runs = {"multi": (multi_recipe, True, test_lrs)}
    if args.only == "both":
        runs = {"single": (SINGLE, False, test_lrs[:1]), **runs}
    else:
        out["single"] = previous.get("single")
    for name, (recipe, stacked, inputs) in runs.items():
        print(f"training {name} ({recipe.name}) ...", flush=True)
        epochs = args.single_epochs if name == "single" and args.single_epochs else args.epochs
        bundle, trained = fit(
            recipe, items, stacked, args.work / f"run_{name}", epochs, args.max_time,
            overrides if name == "multi" else None, args.single_all,
        )  # fmt: skip
        image, wall, cpu = predict(bundle, inputs, args.work)
        h, w = target.shape[-2:]
        out[name] = {
            "train": trained,
            "test": scores(image[:, :h, :w], target, bands),
            "predict": {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1)},
        }
        if name == "single":
            out[name]["test_cpsnr_each_revisit"] = each_revisit(bundle, test_lrs, target, args.work)
    single, multi = out.get("single"), out["multi"]
    base = baselines["bicubic_revisit0"]["cpsnr"]["mean"]
    out["gain_db"] = {
        "multi_over_bicubic": multi["test"]["cpsnr"]["mean"] - base,
        "single_over_bicubic": None if single is None else single["test"]["cpsnr"]["mean"] - base,
        "multi_over_single": None
        if single is None
        else multi["test"]["cpsnr"]["mean"] - single["test"]["cpsnr"]["mean"],
    }
    if single is not None and "test_cpsnr_each_revisit" in single:
        out["gain_db"]["multi_over_best_single_revisit"] = multi["test"]["cpsnr"]["mean"] - max(
            single["test_cpsnr_each_revisit"]
        )
    out["goal"] = {
        "multi_over_single_db": 0.5,
        "met": None if single is None else out["gain_db"]["multi_over_single"] >= 0.5,
    }
    out["machine"] = {
        "platform": platform.platform(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_avg_1_5_15": list(os.getloadavg()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(
        f"cPSNR bicubic {base:.2f} dB, single "
        f"{'-' if single is None else format(single['test']['cpsnr']['mean'], '.2f')} dB, multi "
        f"{multi['test']['cpsnr']['mean']:.2f} dB; gains {out['gain_db']}; wrote {args.out}"
    )


if __name__ == "__main__":
    main()
