"""Spectral benchmarks: the CH4 matched filter, eoforge vs a plain NumPy implementation.

Cube: 1000 x 1000 px x 250 channels evenly spaced over 400-2500 nm (FWHM 1.2 x the
spacing), at-sensor radiance rendered as synth renders it (synth's ground and
surface reflectance, sun, simple atmosphere, per-column gains, noise; see
``eoforge.synth.render.hyperspectral``) with 6 plumes of known enhancement, built
in memory strip by strip.

Contenders, both given the whole cube ``[250, H, W]`` and the band centres and
FWHMs, both returning the enhancement ``[H, W]`` in ppm·m with background
statistics per detector column (the same algorithm, the same window of
2,100-2,450 nm, the same unit absorption spectrum):

* ``eoforge``: :func:`eoforge.methane.filter.matched_filter` (window bands taken,
  per-column moments accumulated strip by strip with batched matrix products,
  one batched solve for every column, the filter applied per strip);
* ``numpy``: the textbook implementation: for each column, ``np.cov`` of its
  pixels, ``np.linalg.inv``, the target and the estimate, one column at a time;
* ``numpy_batched``: NumPy written for speed, every column at once in float64
  (batched ``matmul`` and ``solve``), the whole window cube in memory.

Two filters are timed: ``classic`` (one background, no albedo correction) and
``adaptive`` (4 background passes leaving out enhanced pixels, albedo
correction). Rounds alternate the contenders' order in one process; the headline
is the median time per contender and the ratios ``numpy / eoforge`` and
``numpy_batched / eoforge`` (> 1: eoforge faster). The outputs are compared with the
float64 textbook one (median, 99th percentile and largest difference, ppm·m; eoforge
forms its strip products in float32 on centred values, and an adaptive pass may keep
or drop a pixel near the threshold differently). With ``--scene``
(default on) the cube is also written as a band-interleaved GeoTIFF and mapped
end to end by :func:`eoforge.methane.scene.map_methane` (background passes reading
the file strip by strip, then the prediction engine writing the COG).

Speckle filters (``speckle``): megapixels per second of each filter of
:mod:`eoforge.transforms.speckle` (7 x 7, 4.4 looks) on a 2,000² one-band image in
memory, Lee beside the same filter written with SciPy's ``uniform_filter`` (its
result compared), and refined Lee end to end through the prediction engine
(GeoTIFF in, COG out: what ``eoforge despeckle`` runs). ``--only speckle`` or
``--only matched_filter`` runs one part.

Run: ``python benchmarks/bench_spectral.py [--quick] [--out benchmarks/results/spectral.json]``.
The last line of stdout is the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine

from eoforge.methane.absorption import METHANE_WINDOW_NM, air_mass_factor, unit_absorption
from eoforge.methane.filter import FilterOptions, matched_filter
from eoforge.methane.scene import map_methane
from eoforge.synth.hyperspectral import HyperspectralOptions, scene_grid
from eoforge.synth.render.hyperspectral import (
    COLUMN_GAIN_SD,
    at_sensor,
    radiance_factor,
    sensor_response,
)
from eoforge.synth.render.reflectance import surface
from eoforge.synth.world.landcover import design, ground
from eoforge.synth.world.plumes import draw_plumes, enhancement

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

CHANNELS = 250
SUN_ZENITH = 35.0
SHRINKAGE = 1e-5
FILTERS = {
    "classic": FilterOptions(iterations=1, albedo=False, shrinkage=SHRINKAGE),
    "adaptive": FilterOptions(iterations=4, albedo=True, shrinkage=SHRINKAGE),
}


def render_cube(size: int, seed: int = 0) -> tuple[F32, F64, F64, F32]:
    """Radiance ``[250, size, size]``, centres, FWHMs (nm) and the true enhancement."""
    options = HyperspectralOptions(height=size, width=size, seed=seed, bands=CHANNELS, plumes=6)
    centers = np.linspace(400.0, 2500.0, CHANNELS)
    fwhm = np.full(CHANNELS, 1.2 * (centers[1] - centers[0]))
    air_mass = air_mass_factor(SUN_ZENITH)
    k = unit_absorption(centers, fwhm)
    factor = radiance_factor(centers, fwhm, SUN_ZENITH, air_mass)
    plumes = draw_plumes(options.plumes, size, size, seed)
    layout = design(seed, size * options.gsd, size * options.gsd, options.gsd)
    rng = np.random.default_rng([seed, 1])
    gains = (1.0 + COLUMN_GAIN_SD * rng.standard_normal((CHANNELS, size))).astype(np.float32)
    cube = np.empty((CHANNELS, size, size), dtype=np.float32)
    x: F64 = ((np.arange(size) + 0.5) * options.gsd)[None, :].astype(np.float64)
    for row0 in range(0, size, 50):
        row1 = min(size, row0 + 50)
        y: F64 = ((np.arange(row0, row1) + 0.5) * options.gsd)[:, None].astype(np.float64)
        refl = surface(ground(layout, x, y), centers / 1000.0, options.doy, x, y, seed)
        radiance = at_sensor(refl, enhancement(plumes, row0, row1, size), factor, k, air_mass)
        cube[:, row0:row1] = sensor_response(
            radiance, gains, 0.25 * factor, options.snr, np.random.default_rng([seed, row0])
        )
    return cube, centers, fwhm, enhancement(plumes, 0, size, size)


def _window(centers: F64, fwhm: F64) -> tuple[npt.NDArray[np.int64], F64]:
    low, high = METHANE_WINDOW_NM
    idx = np.flatnonzero((centers >= low) & (centers <= high))
    return idx, unit_absorption(centers[idx], fwhm[idx])


def eoforge_filter(cube: F32, centers: F64, fwhm: F64, options: FilterOptions) -> F32:
    """eoforge's matched filter on the window bands of the whole cube."""
    idx, k = _window(centers, fwhm)
    return matched_filter(cube[idx], k, air_mass_factor(SUN_ZENITH), options)


def numpy_filter(cube: F32, centers: F64, fwhm: F64, options: FilterOptions) -> F32:
    """The textbook per-column matched filter in plain NumPy (same algorithm as eoforge's)."""
    idx, k = _window(centers, fwhm)
    air_mass = air_mass_factor(SUN_ZENITH)
    _, height, width = cube.shape
    out = np.empty((height, width), dtype=np.float32)
    for col in range(width):
        pixels = cube[idx, :, col].T.astype(np.float64)  # [H, C]
        keep = np.ones(height, dtype=bool)
        for _ in range(options.iterations):
            mean = pixels[keep].mean(axis=0)
            cov = np.cov(pixels[keep], rowvar=False)
            cov = (1 - options.shrinkage) * cov + options.shrinkage * np.diag(np.diag(cov))
            inverse = np.linalg.inv(cov)
            target = -air_mass * mean * k
            energy = target @ inverse @ target
            weights = inverse @ target / energy
            if options.albedo:
                ratio = np.maximum(pixels @ mean / (mean @ mean), options.min_albedo)
            else:
                ratio = np.ones(height)
            alpha = (pixels - mean) @ weights / ratio
            keep = ~(alpha * ratio * np.sqrt(energy) > options.exclude_z)
        out[:, col] = alpha
    return out


def numpy_batched_filter(cube: F32, centers: F64, fwhm: F64, options: FilterOptions) -> F32:
    """The same filter in NumPy with every column at once (batched products and solves)."""
    idx, k = _window(centers, fwhm)
    air_mass = air_mass_factor(SUN_ZENITH)
    pixels = np.ascontiguousarray(cube[idx].transpose(2, 1, 0), dtype=np.float64)  # [W, H, C]
    keep = np.ones(pixels.shape[:2], dtype=bool)
    for _ in range(options.iterations):
        n = keep.sum(axis=1).astype(np.float64)  # [W]
        masked = pixels * keep[:, :, None]
        mean = masked.sum(axis=1) / n[:, None]  # [W, C]
        centred = (pixels - mean[:, None, :]) * keep[:, :, None]
        cov = np.matmul(centred.transpose(0, 2, 1), centred) / (n - 1)[:, None, None]
        diag = np.einsum("wcc->wc", cov)
        cov = (1 - options.shrinkage) * cov + options.shrinkage * np.einsum(
            "wc,cd->wcd", diag, np.eye(k.size)
        )
        target = -air_mass * mean * k[None, :]
        solved = np.linalg.solve(cov, target[:, :, None])[:, :, 0]
        energy = np.einsum("wc,wc->w", target, solved)
        weights = solved / energy[:, None]
        if options.albedo:
            ratio = (
                np.einsum("whc,wc->wh", pixels, mean) / np.einsum("wc,wc->w", mean, mean)[:, None]
            )
            ratio = np.maximum(ratio, options.min_albedo)
        else:
            ratio = np.ones(keep.shape)
        alpha = np.einsum("whc,wc->wh", pixels - mean[:, None, :], weights) / ratio
        keep = ~(alpha * ratio * np.sqrt(energy)[:, None] > options.exclude_z)
    out: F32 = alpha.T.astype(np.float32)
    return out


def _time(run: Callable[[], F32]) -> tuple[float, F32]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def bench_filters(cube: F32, centers: F64, fwhm: F64, rounds: int) -> dict[str, Any]:
    """Alternating rounds of both contenders for each filter."""
    megapixels = cube.shape[1] * cube.shape[2] / 1e6
    out: dict[str, Any] = {}
    for name, options in FILTERS.items():
        times: dict[str, list[float]] = {"eoforge": [], "numpy": [], "numpy_batched": []}
        results: dict[str, F32] = {}
        runners = {
            "eoforge": lambda o=options: eoforge_filter(cube, centers, fwhm, o),
            "numpy": lambda o=options: numpy_filter(cube, centers, fwhm, o),
            "numpy_batched": lambda o=options: numpy_batched_filter(cube, centers, fwhm, o),
        }
        for r in range(rounds):
            order = list(runners) if r % 2 == 0 else list(reversed(runners))
            for who in order:
                seconds, results[who] = _time(runners[who])
                times[who].append(seconds)
        median = {who: statistics.median(t) for who, t in times.items()}
        out[name] = {
            "seconds": {who: [round(s, 3) for s in t] for who, t in times.items()},
            "median_s": {who: round(s, 3) for who, s in median.items()},
            "megapixels_per_s": {who: round(megapixels / s, 3) for who, s in median.items()},
            "speedup_vs_numpy": round(median["numpy"] / median["eoforge"], 2),
            "speedup_vs_numpy_batched": round(median["numpy_batched"] / median["eoforge"], 2),
            "difference_vs_numpy_ppm_m": _difference(results["eoforge"], results["numpy"]),
            "difference_numpy_batched_vs_numpy_ppm_m": _difference(
                results["numpy_batched"], results["numpy"]
            ),
        }
    return out


def _difference(a: F32, b: F32) -> dict[str, float]:
    diff = np.abs(a - b)
    return {
        "median": round(float(np.nanmedian(diff)), 3),
        "p99": round(float(np.nanpercentile(diff, 99)), 3),
        "max": round(float(np.nanmax(diff)), 3),
    }


def bench_scene(cube: F32, centers: F64, fwhm: F64, folder: Path) -> dict[str, Any]:
    """The cube as a band-interleaved GeoTIFF mapped end to end (file -> engine -> COG)."""
    _, height, width = cube.shape
    grid = scene_grid(HyperspectralOptions(height=height, width=width, bands=CHANNELS))
    path = folder / "cube.tif"
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": CHANNELS,
        "height": height,
        "width": width,
        "crs": grid.crs.to_wkt() if grid.crs is not None else None,
        "transform": Affine(*list(grid.affine)[:6]),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "interleave": "band",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(cube)
        for i, (c, w) in enumerate(zip(centers, fwhm, strict=True), start=1):
            dst.update_tags(i, wavelength=f"{c:.3f}", fwhm=f"{w:.3f}")
        dst.update_tags(quantity="radiance", wavelength_units="nm", sun_zenith=f"{SUN_ZENITH:g}")
    start = time.perf_counter()
    result = map_methane(path, folder / "out", filter_options=FILTERS["adaptive"])
    seconds = time.perf_counter() - start
    return {
        "filter": "adaptive",
        "input": "uncompressed band-interleaved tiled GeoTIFF, 250 channels",
        "seconds": round(seconds, 3),
        "seconds_background_passes": round(result.seconds_background, 3),
        "seconds_engine_and_cog": round(result.seconds_filter, 3),
        "megapixels_per_s": round(height * width / 1e6 / seconds, 3),
    }


def scipy_lee(image: F32, window: int, looks: float) -> F32:
    """Lee's filter written with SciPy's uniform filter (float64; no NaN handling)."""
    from scipy.ndimage import uniform_filter  # the reference peer only

    x = image.astype(np.float64)
    mean = uniform_filter(x, window, mode="constant")
    norm = uniform_filter(np.ones_like(x), window, mode="constant")
    mean /= norm
    var = np.maximum(uniform_filter(x * x, window, mode="constant") / norm - mean * mean, 0.0)
    cu2 = 1.0 / looks
    signal = (var - mean * mean * cu2) / (1.0 + cu2)
    gain = np.clip(np.where(var > 0, signal / np.where(var > 0, var, 1.0), 0.0), 0.0, 1.0)
    return (mean + gain * (x - mean)).astype(np.float32)


def bench_speckle(size: int, rounds: int, folder: Path) -> dict[str, Any]:
    """MP/s of each speckle filter in memory, SciPy's Lee beside ours, the engine end to end."""
    import torch

    from eoforge.predict import run as predict_run
    from eoforge.predict.speckle import despeckle_spec, despeckle_tiling
    from eoforge.transforms.speckle import FILTERS, SpeckleFilter

    rng = np.random.default_rng(0)
    truth = np.full((size, size), 0.05, np.float32)
    truth[size // 4 : 3 * size // 4, size // 3 : 2 * size // 3] = 0.4
    image = (truth * rng.gamma(4.4, 1 / 4.4, truth.shape)).astype(np.float32)
    tensor = torch.from_numpy(image)[None, None]
    mp = size * size / 1e6
    times: dict[str, list[float]] = {name: [] for name in (*FILTERS, "scipy_lee")}
    for _ in range(rounds):
        for name in FILTERS:
            speckle = SpeckleFilter(name, 7, 4.4)
            start = time.perf_counter()
            with torch.inference_mode():
                speckle(tensor)
            times[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        reference = scipy_lee(image, 7, 4.4)
        times["scipy_lee"].append(time.perf_counter() - start)
    ours = SpeckleFilter("lee", 7, 4.4)(tensor)[0, 0].numpy()
    inner = (slice(8, -8), slice(8, -8))
    difference = float(np.abs(ours[inner] - reference[inner]).max() / reference[inner].mean())
    scene = folder / "speckle.tif"
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32"}
    profile |= {"crs": "EPSG:32631", "transform": Affine(10, 0, 500000, 0, -10, 5600000)}
    profile |= {"tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate"}
    with rasterio.open(scene, "w", **profile) as dst:
        dst.write(image[None])
        dst.set_band_description(1, "S1.VV")
    speckle = SpeckleFilter("refined_lee", 7, 4.4)
    start = time.perf_counter()
    predict_run(
        speckle,
        scene,
        folder / "despeckled",
        spec=despeckle_spec(["S1.VV"], speckle),
        bands=["S1.VV"],
        tiling=despeckle_tiling(speckle),
    )
    engine_s = time.perf_counter() - start
    medians = {name: statistics.median(t) for name, t in times.items()}
    return {
        "image_px": size,
        "window": 7,
        "looks": 4.4,
        "mpix_per_s": {name: round(mp / s, 2) for name, s in medians.items()},
        "lee_vs_scipy_speed": round(medians["scipy_lee"] / medians["lee"], 2),
        "lee_vs_scipy_max_relative_difference": difference,
        "engine_refined_lee_mpix_per_s": round(mp / engine_s, 2),
        "engine_over_in_memory": round(medians["refined_lee"] / engine_s, 3),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and print (and optionally write) its JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 x 300 px, 2 rounds")
    parser.add_argument("--size", type=int, default=None, help="cube side in px (default 1000)")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 4)")
    parser.add_argument("--no-scene", action="store_true", help="skip the end-to-end file run")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument(
        "--only", nargs="*", default=["matched_filter", "speckle"], help="parts to run"
    )
    args = parser.parse_args(argv)
    size = args.size or (300 if args.quick else 1000)
    rounds = args.rounds or (2 if args.quick else 4)
    result: dict[str, Any] = {
        "benchmark": "spectral",
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
    if "speckle" in args.only:
        with tempfile.TemporaryDirectory() as folder:
            side = 600 if args.quick else 2000
            result["speckle"] = bench_speckle(side, rounds, Path(folder))
    if "matched_filter" not in args.only:
        return _finish(result, args.out)
    start = time.perf_counter()
    cube, centers, fwhm, _ = render_cube(size)
    render_s = time.perf_counter() - start
    result |= {
        "matched_filter": {
            "cube": {"height": size, "width": size, "channels": CHANNELS},
            "window_nm": list(METHANE_WINDOW_NM),
            "window_channels": int(_window(centers, fwhm)[0].size),
            "background": "per detector column",
            "rounds": rounds,
            "render_s": round(render_s, 1),
            "filters": bench_filters(cube, centers, fwhm, rounds),
        },
    }
    if not args.no_scene:
        with tempfile.TemporaryDirectory() as folder:
            result["matched_filter"]["scene"] = bench_scene(cube, centers, fwhm, Path(folder))
    return _finish(result, args.out)


def _finish(result: dict[str, Any], out: Path | None) -> dict[str, Any]:
    """Stamp the end load, write ``out`` if given, print the JSON line."""
    result["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
