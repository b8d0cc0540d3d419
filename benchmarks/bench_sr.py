"""Super-resolution prediction at scale: eoforge predict vs the bare model; memory per scene size.

Two measurements, each in one process run:

* **Speed** (``efficiency``): output megapixels/s of :func:`eoforge.predict.run`
  (what ``eoforge predict`` runs: read the 10 m input, standardise, infer, blend
  on the 2.5 m grid, publish the COG) on an SR bundle, against the bare network
  on the same tiles already in memory: the tiles the engine plans for the scene
  (same tile size, overlap, batch and their order per block), standardised
  beforehand, one forward pass per batch under ``torch.inference_mode``. Both
  rates are the scene's output pixels over the time taken, so
  ``efficiency = bare seconds / eoforge seconds`` measures everything eoforge adds
  around the network (reads, blending, the work store, the COG). The network is
  ``configs/sr_synth_x4.yaml``'s (``sr_edsr``, x4, 32 features, 6 residual blocks
  with channel attention), randomly initialised with seed 0 (its speed does not
  depend on its weights), 2 torch threads. Warm-up (one batch) excluded on both
  sides; the bare model is timed before and after eoforge and averaged.
  ``efficiency_cpu`` is the same ratio of process CPU seconds (user + system,
  all threads): on a shared, loaded machine wall times mostly measure the other
  processes, CPU seconds what each side costs. ``efficiency_paired``: each eoforge
  run against the mean of the bare runs just before and after it (their median
  too): the host's speed drifts between rounds by up to a fifth.
* **Memory** (``rss_growth``): peak RSS of the real ``eoforge predict`` command, a
  child process per scene (kernel accounting through ``wait4``), on a 2,000² and an
  8,000² 10 m input at x4: the outputs are 8,000² and 32,000² px COGs (1.02
  gigapixels per band), written streaming. The network is a cheap one-band
  ``sr_edsr`` (4 features, no residual block) so the large run takes minutes; the
  work it does per pixel (reading, the network's upsampler, blending, the work
  store, the COG) is what any SR bundle does. Inputs are tiled deflate float32
  GeoTIFFs of smooth random texture plus fine noise (not constant: compression and
  the network do real work), kept under ``benchmarks/.data/sr/``.

* **Stages** (``--only stages``, not run by default): one more :func:`eoforge.predict.run`
  on the speed scene with the wall seconds spent in each stage (the engine's stage
  functions wrapped by this script): reads (reader thread), forward passes, blending,
  storing and finalising blocks (writer thread: finished pixels cut into the COG's
  tiles and encoded with their overview tiles, ``encode_s`` of it), then publishing:
  writing the file around the encoded tiles (``write_file_s``), with process CPU
  seconds of the serial publishing step.
* **Overhead** (``--only overhead``, not run by default): process CPU seconds of the
  engine itself on the speed scene, :func:`eoforge.predict.predict_scene` with the
  same tiling and output spec but a free predictor (nearest-neighbour x4 of the
  input), best of 3 runs after a warm-up: reads, blending, the work store, the COG.
  CPU seconds, not wall: comparable between runs on a loaded machine, where wall
  times mostly measure the other processes.

``--quick``: small scenes (seconds). The last line of stdout is one JSON
object; ``--out`` also writes it (default ``benchmarks/results/sr.json``, quick
runs write ``sr_quick.json``; ``--only stages`` alone writes ``sr_stages.json``).

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_sr.py [--quick]``; the speed part
alone: ``--only speed --rounds 3``; the stage profile: ``--only stages``; the engine's
own CPU: ``--only overhead`` (``sr_overhead.json``); the memory check on other sizes:
``--only memory --sizes 500 1500`` (minutes instead of ~40).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
import torch
import yaml
from affine import Affine
from rasterio.windows import Window
from scipy.ndimage import zoom

import eoforge.predict.blocks as blocks
import eoforge.predict.cog_tiles as cog_tiles
import eoforge.predict.raster as raster
from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.models import Bundle, ModelSpec, Normalization, build_model, save_bundle
from eoforge.predict import BundleModel, OutputSpec, TilingOptions, predict_scene
from eoforge.predict import run as predict_run
from eoforge.predict.memory import tune_allocator
from eoforge.predict.plan import BlockPlan

sys.path.insert(0, str(Path(__file__).parent))
from bench_predict import peak_rss_mb  # a sibling script, not a package

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "sr_synth_x4.yaml"
CRS = "EPSG:32631"
GSD = 10.0
MEAN, STD = 0.15, 0.08
"""Reflectance statistics of the generated inputs (the bundles' normalisation)."""
EOFORGE = Path(sys.executable).with_name("eoforge")
MEMORY_MODEL = {"scale": 4, "features": 4, "blocks": 0}
FLAT_TOLERANCE = 0.10
"""Peak RSS counts as flat when the 16x larger scene needs at most 10 % more (the process's
own ~1.1 GB of libraries and model dominate both)."""


def make_input(path: Path, size: int, bands: list[str], seed: int = 0) -> Path:
    """A ``size``² float32 reflectance GeoTIFF at 10 m (tiled, deflate), written in strips.

    Content: a smooth random field (32-px features) plus fine Gaussian texture, so
    neither compression nor the network sees a constant image. Reused when a file
    of the same size and bands exists.
    """
    if path.exists():
        with rasterio.open(path) as ds:
            if ds.shape == (size, size) and list(ds.descriptions) == bands:
                return path
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": len(bands),
        "dtype": "float32",
        "crs": CRS,
        "transform": Affine(GSD, 0, 500000, 0, -GSD, 5600000),
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
    }
    tmp = path.with_suffix(".tmp.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        for row in range(0, size, 512):
            h = min(512, size - row)
            coarse = rng.random((len(bands), h // 32 + 2, size // 32 + 2), dtype=np.float32)
            smooth = zoom(coarse, (1, 32, 32), order=1)[:, :h, :size]
            fine = rng.normal(0.0, 0.02, (len(bands), h, size)).astype(np.float32)
            block = (MEAN + 0.2 * (smooth - 0.5) + fine).astype(np.float32)
            dst.write(block, window=Window(0, row, size, h))
        for b, name in enumerate(bands, start=1):
            dst.set_band_description(b, name)
    tmp.rename(path)
    return path


def save_sr_bundle(folder: Path, bands: list[str], options: dict[str, Any]) -> torch.nn.Module:
    """A randomly initialised (seed 0) ``sr_edsr`` saved as a super-resolution bundle."""
    torch.manual_seed(0)
    spec = ModelSpec(
        task="super_resolution",
        arch="sr_edsr",
        in_bands=bands,
        num_classes=len(bands),
        options=options,
    )
    net = build_model(spec).eval()
    net.set_output_units([MEAN] * len(bands), [STD] * len(bands))  # type: ignore[operator]
    bundle = Bundle(
        task="super_resolution",
        model=spec,
        bands=bands,
        normalization=Normalization(mean=[MEAN] * len(bands), std=[STD] * len(bands)),
        patch_size=24,
        gsd=GSD,
    )
    save_bundle(folder, net, bundle)
    return net


def planned_batches(scene: Path, size: int, opts: TilingOptions, scale: int) -> list[torch.Tensor]:
    """The engine's tiles of ``scene``, standardised, in its batches (per block, in order)."""
    spec = OutputSpec("values", names=("b",), scale=scale)
    scaling = spec.scaling
    grid = make_grid((size, size), Affine(GSD, 0, 500000, 0, -GSD, 5600000), CRS)
    plan = BlockPlan(
        scaling.plan_grid(grid),
        scaling.to_plan(opts.tile),
        scaling.to_plan(opts.overlap, round_up=True),
        scaling.to_plan(opts.block),
        scaling.to_plan(opts.multiple, round_up=True),
    )
    with rasterio.open(scene) as ds:
        image = (ds.read().astype(np.float32) - MEAN) / STD
    batches = []
    for block in plan.blocks:
        tiles = [image[:, r : r + h, c : c + w] for r, c, h, w in (t.window for t in block.tiles)]
        for i in range(0, len(tiles), opts.batch):
            batches.append(torch.from_numpy(np.stack(tiles[i : i + opts.batch])))
    return batches


def bare_seconds(net: torch.nn.Module, batches: list[torch.Tensor]) -> tuple[float, float]:
    """Wall and CPU seconds of the bare network over ``batches`` (after one warm-up batch)."""
    with torch.inference_mode():
        net(batches[0])
        start, cpu = time.perf_counter(), time.process_time()
        for x in batches:
            net(x)
    return time.perf_counter() - start, time.process_time() - cpu


def eoforge_seconds(
    bundle: Path, scene: Path, opts: TilingOptions, out: Path
) -> tuple[float, float]:
    """Wall and CPU seconds of :func:`eoforge.predict.run` (model loaded and warmed up before).

    A previous round's output folder is deleted first (untimed): the run writes a new
    COG, not one replacing a file of the same name (freeing the old file's 150 MB took
    0.14 s inside the timed rename).
    """
    shutil.rmtree(out, ignore_errors=True)
    start, cpu = time.perf_counter(), time.process_time()
    predict_run(bundle, scene, out, tiling=opts)
    return time.perf_counter() - start, time.process_time() - cpu


def speed(data: Path, size: int, opts: TilingOptions, rounds: int) -> dict[str, Any]:
    """Output MP/s of eoforge and of the bare network on the same tiles, and their ratio."""
    model = yaml.safe_load(RECIPE.read_text())["model"]
    bands = yaml.safe_load(RECIPE.read_text())["data"]["bands"]
    scale = int(model["options"]["scale"])
    folder = data / "bundle_recipe"
    net = save_sr_bundle(folder, bands, dict(model["options"]))
    scene = make_input(data / f"speed_{size}.tif", size, bands)
    batches = planned_batches(scene, size, opts, scale)
    built = BundleModel((str(folder),)).build()  # the engine's predictor, loaded and cached
    with torch.inference_mode():
        built(batches[0] * STD + MEAN)  # warm-up of eoforge's side
    out_px = (size * scale) ** 2
    bare, pipe = [bare_seconds(net, batches)], []
    for i in range(rounds):
        pipe.append(eoforge_seconds(folder, scene, opts, data / f"speed_out{i}"))
        bare.append(bare_seconds(net, batches))
        times = f"bare {bare[-2][0]:.1f}/{bare[-1][0]:.1f} s, eoforge {pipe[-1][0]:.1f} s wall"
        print(f"speed round {i + 1}: {times}", file=sys.stderr)
    with rasterio.open(data / "speed_out0" / f"speed_{size}_values.tif") as ds:
        assert ds.shape == (size * scale, size * scale), ds.shape
        assert ds.transform.a == GSD / scale
    bare_s, bare_cpu = (float(np.mean([b[i] for b in bare])) for i in (0, 1))
    pipe_s, pipe_cpu = (float(np.mean([p[i] for p in pipe])) for i in (0, 1))
    # each eoforge run against the bare runs just before and after it: the machine's speed
    # drifts between rounds (a shared host), so pairs are compared, and their median reported
    paired = [(bare[i][0] + bare[i + 1][0]) / 2 / pipe[i][0] for i in range(len(pipe))]
    tile_px = sum(x.shape[0] * x.shape[2] * x.shape[3] for x in batches) * scale * scale
    return {
        "speed_input_px": size,
        "speed_output_px": size * scale,
        "model": model,
        "tiling": {
            "tile": opts.tile,
            "overlap": opts.overlap,
            "batch": opts.batch,
            "block": opts.block,
            "tiles": sum(x.shape[0] for x in batches),
        },
        "bare_output_mpix_per_s": round(out_px / 1e6 / bare_s, 4),
        "eoforge_output_mpix_per_s": round(out_px / 1e6 / pipe_s, 4),
        "efficiency": round(bare_s / pipe_s, 3),
        "efficiency_cpu": round(bare_cpu / pipe_cpu, 3),
        "efficiency_paired": [round(e, 3) for e in paired],
        "efficiency_paired_median": round(float(np.median(paired)), 3),
        "bare_s": [round(b[0], 2) for b in bare],
        "eoforge_s": [round(p[0], 2) for p in pipe],
        "bare_cpu_s": [round(b[1], 2) for b in bare],
        "eoforge_cpu_s": [round(p[1], 2) for p in pipe],
        "tile_output_mpix_per_scene_mpix": round(tile_px / out_px, 3),
    }


def stages(data: Path, size: int, opts: TilingOptions) -> dict[str, Any]:
    """Wall seconds per stage of one :func:`eoforge.predict.run` on the speed scene."""
    recipe = yaml.safe_load(RECIPE.read_text())
    bands = recipe["data"]["bands"]
    folder = data / "bundle_recipe"
    save_sr_bundle(folder, bands, dict(recipe["model"]["options"]))
    scene = make_input(data / f"speed_{size}.tif", size, bands)
    predict_run(folder, scene, data / "stages_out", tiling=opts)  # warm-up (model, caches)
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    originals: list[tuple[Any, str, Any]] = []

    def timed(owner: Any, name: str, key: str) -> None:
        original = getattr(owner, name)
        originals.append((owner, name, original))

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                wall[key] = wall.get(key, 0.0) + time.perf_counter() - start
                cpu[key] = cpu.get(key, 0.0) + time.process_time() - start_cpu

        setattr(owner, name, wrapper)

    timed(blocks, "read_group", "read")
    timed(blocks, "predict_tiles", "forward")
    timed(raster.OutputSpec, "add", "blend")
    timed(raster.OutputSpec, "store", "store")
    timed(raster.OutputSpec, "finalize", "finalize")
    timed(raster.OutputSpec, "publish", "publish")
    timed(cog_tiles.TiledCog, "add", "encode")  # inside store/finalize: tiles and fragments
    timed(cog_tiles, "write_tiled_tiff", "write_file")
    try:
        start = time.perf_counter()
        predict_run(folder, scene, data / "stages_out", tiling=opts)
        total = time.perf_counter() - start
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    result = {f"{k}_s": round(v, 3) for k, v in wall.items()}
    result |= {"total_s": round(total, 3)}
    result |= {f"{k}_cpu_s": round(cpu[k], 3) for k in ("publish", "write_file") if k in cpu}
    print(f"stages: {result}", file=sys.stderr)
    return {"stages": result}


def overhead(data: Path, size: int, opts: TilingOptions, rounds: int = 3) -> dict[str, Any]:
    """Process CPU seconds of the engine around a free x4 predictor on the speed scene."""
    bands = yaml.safe_load(RECIPE.read_text())["data"]["bands"]
    scene = make_input(data / f"speed_{size}.tif", size, bands)
    grid = make_grid((size, size), Affine(GSD, 0, 500000, 0, -GSD, 5600000), CRS)
    spec = OutputSpec("values", names=tuple(bands), scale=4)

    def nearest(x: torch.Tensor) -> torch.Tensor:
        return x.repeat_interleave(4, -1).repeat_interleave(4, -2)

    def once() -> float:
        cpu = time.process_time()
        predict_scene(
            nearest,
            source_from_file(scene),
            grid,
            bands,
            data / "overhead_out" / "s",
            spec=spec,
            options=opts,
        )
        return time.process_time() - cpu

    once()  # warm-up
    seconds = [once() for _ in range(rounds)]
    print(f"overhead: engine CPU {[round(c, 2) for c in seconds]} s", file=sys.stderr)
    return {
        "overhead_cpu_s": round(min(seconds), 3),
        "overhead_cpu_s_all": [round(c, 3) for c in seconds],
    }


def memory(data: Path, sizes: tuple[int, int], opts: TilingOptions) -> dict[str, Any]:
    """Peak RSS of ``eoforge predict`` (cheap one-band x4 bundle) per input size."""
    bands = ["S2.B04"]
    folder = data / "bundle_memory"
    save_sr_bundle(folder, bands, MEMORY_MODEL)
    result: dict[str, Any] = {"memory_model": MEMORY_MODEL, "memory_bands": bands}
    for size in sizes:
        scene = make_input(data / f"memory_{size}.tif", size, bands, seed=1)
        out = data / f"memory_out_{size}"
        cmd = [str(EOFORGE), "--quiet", "predict", str(folder), str(scene), "--out", str(out)]
        cmd += ["--tile", str(opts.tile), "--overlap", str(opts.overlap)]
        cmd += ["--batch", str(opts.batch), "--block", str(opts.block)]
        start = time.perf_counter()
        rss = peak_rss_mb(cmd)
        seconds = time.perf_counter() - start
        written = out / f"memory_{size}_values.tif"
        with rasterio.open(written) as ds:
            assert ds.shape == (size * 4, size * 4), ds.shape
            overviews = ds.overviews(1)
        mb = written.stat().st_size / 1e6
        print(
            f"memory {size}² -> {size * 4}²: peak RSS {rss:.0f} MB, {seconds:.0f} s, "
            f"COG {mb:.0f} MB",
            file=sys.stderr,
        )
        result[f"rss_{size}_mb"] = round(rss, 1)
        result[f"seconds_{size}"] = round(seconds, 1)
        result[f"cog_{size}_mb"] = round(mb, 1)
        result[f"overviews_{size}"] = overviews
        written.unlink()  # the 32,000² COG is GBs: not kept
    small, large = sizes
    result["rss_sizes_input_px"] = list(sizes)
    result["rss_growth"] = round(result[f"rss_{large}_mb"] / result[f"rss_{small}_mb"], 3)
    result["rss_flat_tolerance"] = FLAT_TOLERANCE
    result["rss_flat"] = result["rss_growth"] <= 1 + FLAT_TOLERANCE
    return result


def _cpu() -> str:
    """The CPU's model name and widest vector extension (the network's speed depends on both)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    name = next(
        (line.split(":", 1)[1].strip() for line in info.splitlines() if "model name" in line), ""
    )
    vector = "AVX-512" if "avx512f" in info else "AVX2" if "avx2" in info else "no AVX2"
    return f"{name} ({vector})"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the parts asked for; print and write the JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scenes (seconds)")
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / ".data" / "sr")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--tile", type=int, default=256, help="tile side, 10 m input pixels")
    parser.add_argument("--overlap", type=int, default=16, help="input pixels")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--block", type=int, default=512, help="input pixels")
    parser.add_argument("--rounds", type=int, default=None, help="eoforge runs for speed")
    parser.add_argument(
        "--sizes",
        type=int,
        nargs=2,
        default=None,
        metavar=("SMALL", "LARGE"),
        help="memory: the two input sides (default 2000 8000; --quick 64 256)",
    )
    parser.add_argument(
        "--only",
        nargs="*",
        default=["speed", "memory"],
        help="parts: speed, memory, stages, overhead",
    )
    args = parser.parse_args(argv)
    tune_allocator()  # as `eoforge predict` does for itself: both sides run with it
    torch.set_num_threads(2)
    quick = args.quick
    opts = TilingOptions(args.tile, args.overlap, args.batch, args.block)
    if quick:
        opts = TilingOptions(64, 8, args.batch, 128)
    args.data.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"quick": quick}
    start = time.perf_counter()
    load = os.getloadavg()
    if "speed" in args.only:
        size = 96 if quick else 768
        result |= speed(args.data, size, opts, args.rounds or (1 if quick else 2))
    if "stages" in args.only:
        result |= stages(args.data, 96 if quick else 768, opts)
    if "overhead" in args.only:
        result |= overhead(args.data, 96 if quick else 768, opts)
    if "memory" in args.only:
        sizes = tuple(args.sizes) if args.sizes else ((64, 256) if quick else (2000, 8000))
        result |= memory(args.data, sizes, opts)
    result["machine"] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": _cpu(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),  # unset: OpenMP's default
        "load_avg_1m_at_start": round(load[0], 2),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "wall_s": round(time.perf_counter() - start, 1),
    }
    # sr.json keeps speed and memory; the diagnostics alone go to their own files
    name = {("stages",): "sr_stages", ("overhead",): "sr_overhead"}.get(tuple(args.only), "sr")
    out = args.out or ROOT / "benchmarks" / "results" / f"{name}{'_quick' if quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
