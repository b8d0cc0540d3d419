"""Multi-group sample loading: eoforge input groups vs plain rasterio vs TorchGeo.

Writes a small multi-sensor, multi-date scene set (different files per group
and date, 512-px internal tiles, deflate):

``s2_10m``
    4 uint16 bands (S2.B02-B04, B08) at 10 m, UTM 31N, ``--dates`` dates;
``s2_20m``
    6 uint16 bands (S2.B05-B07, B8A, B11, B12) at 20 m, UTM 31N, the same dates;
``s1``
    2 float32 bands (S1.VV, S1.VH) at 10 m in UTM **32N** (another CRS: every
    read is a reprojection), the same dates;
``dsm``
    1 float32 band (DEM.dsm) at 2.5 m, UTM 31N, one date (static).

Windows of ``PATCH`` x ``PATCH`` px at 10 m are drawn once (on the 20 m
lattice, as eoforge's sampler draws them for these groups) and fed, in the
same order, to three contenders, each through a DataLoader with ``WORKERS``
workers and batch size ``BATCH``:

(a) eoforge: :class:`~eoforge.data.multi_input.MultiInputDataset`, each group
    read on its own grid (S2 10 m 128 px, 20 m 64 px, S1 warped onto the 10 m
    grid, DSM 512 px), with valid masks and ``present`` flags;
(b) plain rasterio: the same windows read group by group, file by file, with
    ``rasterio`` windows on each file's own grid (a ``WarpedVRT`` onto the
    10 m grid for S1, bilinear), into float32 tensors, nothing else: the
    decode limit;
(c) TorchGeo: one ``RasterDataset`` per group and date combined with
    ``IntersectionDataset`` (``&``), queried with the window's bounds at 10 m:
    TorchGeo resamples every group to one resolution (the DSM averaged down to
    10 m, the 20 m bands up) and concatenates channels, so its sample is one
    ``[C, 128, 128]`` stack.

Dates: eoforge reads a group with several dates as a time series
(``SeriesSpec(length=T)``, the group's files dated 12 days apart): per footprint,
the dates covering it, ``image [T, C, H, W]``, ``valid [T, H, W]``, ``doy`` and
``date_mask``; plain rasterio stacks the same files' windows ``[T, C, H, W]``.

A DataLoader hands each worker a batch of keys at once: a contender with a batch
read (eoforge's ``__getitems__``, reading straight into batch buffers in shared
memory) gets them as a batch, the others sample by sample, as in training.

Rounds alternate the contenders' order so machine noise affects them alike.
Each loader runs one pass over the windows: after the first batch (worker
start-up), the first ``cold`` samples are timed as "cold" (files opening,
GDAL's block cache filling) and the rest as "steady"; the headline figures are
steady medians over rounds (five by default: one pass is ~1.5 s, and a
disturbed round moves it by a fifth), cold ones are reported beside them, and
``paired`` gives the median of each round's own ratios. Before the
rounds, ``in_process`` times the reads alone in this process, cold (fresh
caches) and warm (the same windows again), to tell decoding from each side's
own work per read. All run under
the same GDAL settings in one process (eoforge's defaults, set on import,
inherited by the workers). Goals: eoforge >= 0.8x plain rasterio, >= 3x
TorchGeo. The last line of stdout is one JSON object; ``--out`` also writes it.

Run: ``python benchmarks/bench_multimodal.py [--quick] [--out benchmarks/results/multimodal.json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from affine import Affine
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from torch.utils.data import DataLoader, Dataset, Sampler

import eoforge.io  # noqa: F401  (eoforge's GDAL defaults, set on import, for every contender)

PATCH = 128
"""Window side in 10 m pixels."""
BATCH = 8
WORKERS = 2
REF_CRS = "EPSG:32631"
S1_CRS = "EPSG:32632"
DAY0 = datetime(2024, 4, 1, 10, 30, tzinfo=UTC)
"""Acquisition time of the first date; later dates follow every 12 days."""
X0, Y0 = 640_000.0, 5_700_000.0
"""Upper-left corner of the scene in UTM 31N (near the zone edge, so UTM 32N is plausible)."""


@dataclass(frozen=True)
class Group:
    """One input group of the benchmark: its bands, pixel size, CRS and number of dates."""

    name: str
    bands: tuple[str, ...]
    gsd: float
    crs: str
    dtype: str
    dates: int


def groups(dates: int) -> list[Group]:
    """The four groups: S2 10 m, S2 20 m, S1 10 m (other CRS), DSM 2.5 m (one date)."""
    return [
        Group("s2_10m", ("S2.B02", "S2.B03", "S2.B04", "S2.B08"), 10.0, REF_CRS, "uint16", dates),
        Group(
            "s2_20m",
            ("S2.B05", "S2.B06", "S2.B07", "S2.B8A", "S2.B11", "S2.B12"),
            20.0,
            REF_CRS,
            "uint16",
            dates,
        ),
        Group("s1", ("S1.VV", "S1.VH"), 10.0, S1_CRS, "float32", dates),
        Group("dsm", ("DEM.dsm",), 2.5, REF_CRS, "float32", 1),
    ]


def file_of(folder: Path, group: Group, date: int) -> Path:
    return folder / f"{group.name}_t{date}.tif"


# ---------------------------------------------------------------- rasters
def make_files(folder: Path, size: int, dates: int) -> dict[str, list[Path]]:
    """Write every group's rasters (``size`` px of 10 m square); existing files are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    extent = size * 10.0
    out: dict[str, list[Path]] = {}
    for g, group in enumerate(groups(dates)):
        if group.crs == REF_CRS:
            left, top, width, height = X0, Y0, extent, extent
        else:  # the scene's bounds in the other CRS, plus a margin, on a 10 m lattice
            left, bottom, right, top = transform_bounds(
                REF_CRS, group.crs, X0, Y0 - extent, X0 + extent, Y0
            )
            left, top = float(np.floor(left / 10) * 10 - 200), float(np.ceil(top / 10) * 10 + 200)
            width, height = right - left + 200, top - bottom + 200
        cols, rows = round(width / group.gsd), round(height / group.gsd)
        paths = []
        for d in range(group.dates):
            path = file_of(folder, group, d)
            paths.append(path)
            if path.exists():
                continue
            _write(path, group, rows, cols, Affine(group.gsd, 0, left, 0, -group.gsd, top), g, d)
        out[group.name] = paths
    return out


def _write(
    path: Path, group: Group, rows: int, cols: int, transform: Affine, g: int, d: int
) -> None:
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": len(group.bands),
        "dtype": group.dtype,
        "crs": group.crs,
        "transform": transform,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
        "nodata": 0 if group.dtype == "uint16" else None,
    }
    if group.dtype == "float32":
        profile["predictor"] = 3
    rng = np.random.default_rng(100 * g + d)
    tmp = path.with_suffix(".tmp.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        for b, name in enumerate(group.bands):
            dst.set_band_description(b + 1, name)
        for row in range(0, rows, 512):
            height = min(512, rows - row)
            block = _block(rng, group, height, cols)
            dst.write(block, window=Window(0, row, cols, height))
    tmp.rename(path)


def _block(rng: np.random.Generator, group: Group, height: int, width: int) -> np.ndarray:
    """Patchy values plus noise: reflectance-like DN, backscatter in dB, heights in m."""
    bands = len(group.bands)
    cell = 8
    coarse = rng.random((bands, height // cell + 1, width // cell + 1)).astype(np.float32)
    up = coarse.repeat(cell, axis=1).repeat(cell, axis=2)[:, :height, :width]
    noise = rng.normal(0, 1, (bands, height, width)).astype(np.float32)
    if group.dtype == "uint16":
        return np.clip(500 + 3500 * up + 10 * noise, 1, 65535).astype(np.uint16)
    if group.name == "s1":
        return (-25 + 20 * up + 0.5 * noise).astype(np.float32)
    return (100 + 30 * up + 0.2 * noise).astype(np.float32)


def draw_windows(size: int, count: int, seed: int) -> list[tuple[int, int]]:
    """``count`` window corners ``(row, col)`` in 10 m pixels, even (the 20 m lattice)."""
    rng = np.random.default_rng(seed)
    top = (size - PATCH) // 2
    return [(2 * int(r), 2 * int(c)) for r, c in rng.integers(0, top + 1, (count, 2))]


def window_bounds(row: int, col: int) -> tuple[float, float, float, float]:
    """``(left, bottom, right, top)`` of a window in UTM 31N metres."""
    left, top = X0 + col * 10.0, Y0 - row * 10.0
    return left, top - PATCH * 10.0, left + PATCH * 10.0, top


class Keys(Dataset[Any]):
    """A contender's dataset indexed by window number (the same windows for everyone)."""

    def __init__(self, dataset: Any, keys: Sequence[Any]) -> None:
        self.dataset, self.keys = dataset, list(keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.keys[index]]

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        """A batch through the contender's own batch read when it has one (eoforge does)."""
        many = getattr(self.dataset, "__getitems__", None)
        if many is None:
            return [self[i] for i in indices]
        return list(many([self.keys[i] for i in indices]))


class InOrder(Sampler[int]):
    def __init__(self, length: int) -> None:
        self.length = length

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.length))

    def __len__(self) -> int:
        return self.length


def _loader(dataset: Dataset[Any], collate_fn: Callable[[Any], Any]) -> DataLoader[Any]:
    return DataLoader(
        dataset,
        batch_size=BATCH,
        num_workers=WORKERS,
        sampler=InOrder(len(dataset)),  # type: ignore[arg-type]
        collate_fn=collate_fn,
    )


# ---------------------------------------------------------------- plain rasterio
class PlainWindows(Dataset[dict[str, torch.Tensor]]):
    """Each group's window read file by file with rasterio, float32 ``[T, C, H, W]`` per group."""

    def __init__(self, files: dict[str, list[Path]], dates: int, size: int) -> None:
        self.files = {k: [str(p) for p in v] for k, v in files.items()}
        self.size = size
        self.groups = {g.name: g for g in groups(dates)}
        self._handles: dict[str, Any] = {}

    def _open(self, path: str, group: Group) -> Any:
        ds = self._handles.get(path)
        if ds is None:
            src = rasterio.open(path)
            ds = src
            if group.crs != REF_CRS:  # resampled onto the 10 m grid of the scene
                ds = WarpedVRT(
                    src,
                    crs=REF_CRS,
                    transform=Affine(group.gsd, 0, X0, 0, -group.gsd, Y0),
                    width=round(self.size * 10 / group.gsd),
                    height=round(self.size * 10 / group.gsd),
                    resampling=Resampling.bilinear,
                )
            self._handles[path] = ds
        return ds

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        left, _, right, top = window_bounds(*key)
        out = {}
        for name, paths in self.files.items():
            group = self.groups[name]
            stack = []
            for path in paths:
                ds = self._open(path, group)
                col, row = ~ds.transform @ (left, top)
                side = round((right - left) / group.gsd)
                window = Window(round(col), round(row), side, side)
                stack.append(ds.read(window=window).astype(np.float32))
            out[name] = torch.from_numpy(np.stack(stack))
        return out


def plain_loader(
    files: dict[str, list[Path]], windows: list[tuple[int, int]], dates: int, size: int
) -> Any:
    return _loader(
        Keys(PlainWindows(files, dates, size), windows), torch.utils.data.default_collate
    )


# ---------------------------------------------------------------- eoforge
def eoforge_dataset(files: dict[str, list[Path]], dates: int) -> tuple[Any, str]:
    """A MultiInputDataset over the groups, those with several dates as time series."""
    from eoforge.data.multi_input import InputSource, MultiInputDataset
    from eoforge.data.time_series import SeriesSpec
    from eoforge.io import source_from_file

    items = []
    for group in groups(dates):
        sources = [
            dataclasses.replace(source_from_file(path), datetime=DAY0 + timedelta(days=12 * d))
            for d, path in enumerate(files[group.name])
        ]
        series = SeriesSpec(length=group.dates) if group.dates > 1 else None
        items.append(InputSource(group.name, sources, list(group.bands), group.gsd, series=series))
    mode = "groups with dates read as time series: inputs.<g>.image [T, C, H, W], doy, date_mask"
    return MultiInputDataset(items, "s2_10m"), mode


def eoforge_keys(windows: list[tuple[int, int]]) -> list[Any]:
    """Each window as the GeoBox eoforge's sampler yields: the 20 m lattice of the footprint."""
    from eoforge.geo.grid import make_grid

    half = PATCH // 2
    return [
        make_grid((half, half), Affine(20.0, 0, X0 + c * 10.0, 0, -20.0, Y0 - r * 10.0), REF_CRS)
        for r, c in windows
    ]


def eoforge_loader(files: dict[str, list[Path]], windows: list[tuple[int, int]], dates: int) -> Any:
    from eoforge.data import collate

    dataset, _ = eoforge_dataset(files, dates)
    return _loader(Keys(dataset, eoforge_keys(windows)), collate)


# ---------------------------------------------------------------- torchgeo
def torchgeo_dataset(files: dict[str, list[Path]], dates: int) -> Any:
    """``RasterDataset`` per group and date, intersected with ``&`` (S2 10 m first: its CRS/res)."""
    from torchgeo.datasets import RasterDataset

    parts = []
    for group in groups(dates):
        for path in files[group.name]:
            cls = type(
                f"Bench_{path.stem}",
                (RasterDataset,),
                {"filename_glob": path.name, "is_image": True, "all_bands": group.bands},
            )
            parts.append(cls(paths=[str(path)]))
    dataset = parts[0]
    for part in parts[1:]:
        with contextlib.redirect_stdout(sys.stderr):  # its "Converting ... res" notices
            dataset = dataset & part
        # TorchGeo 0.8.1 cannot intersect a third dataset: the overlay's ``filepath_1`` and
        # ``filepath_2`` columns collide. The intersection's index only serves samplers
        # (reads go to the parts), so keep its footprints and dates alone.
        dataset.index = dataset.index[["geometry"]]
    return dataset


def torchgeo_keys(windows: list[tuple[int, int]]) -> list[Any]:
    keys = []
    for r, c in windows:
        left, bottom, right, top = window_bounds(r, c)
        keys.append((slice(left, right, 10.0), slice(bottom, top, 10.0)))
    return keys


def torchgeo_loader(
    files: dict[str, list[Path]], windows: list[tuple[int, int]], dates: int
) -> Any:
    from torchgeo.datasets import stack_samples

    return _loader(Keys(torchgeo_dataset(files, dates), torchgeo_keys(windows)), stack_samples)


# ---------------------------------------------------------------- timing
def _count(batch: Any) -> int:
    if "image" in batch:
        image = batch["image"]
        assert image.shape[-1] == PATCH, image.shape
        return int(image.shape[0])
    first = batch.get("inputs", batch)
    some = next(iter(first.values()))
    return int((some["image"] if isinstance(some, dict) else some).shape[0])


def time_loader(make: Callable[[], DataLoader[Any]], cold: int) -> tuple[float, float]:
    """Samples per second of one loader's pass: ``(cold, steady)`` (start-up batch excluded)."""
    loader = make()
    it = iter(loader)
    next(it)
    marks = [time.perf_counter()]
    counts = [0, 0]
    for batch in it:
        phase = 0 if counts[0] < cold else 1
        if phase == 1 and len(marks) == 1:
            marks.append(time.perf_counter())
        counts[phase] += _count(batch)
    marks.append(time.perf_counter())
    del it, loader
    return counts[0] / (marks[1] - marks[0]), counts[1] / (marks[2] - marks[1])


def check_same_pixels(
    files: dict[str, list[Path]], windows: list[tuple[int, int]], dates: int, size: int
) -> dict[str, float]:
    """Max abs difference between eoforge and plain rasterio on one window, per group.

    S2 and DSM groups are plain windows on their own grids (must agree exactly, up
    to eoforge's radiometry); S1 goes through two warpers (eoforge's reprojection
    of the covering window, GDAL's WarpedVRT), so agree to interpolation.
    """
    eo, _ = eoforge_dataset(files, dates)
    plain = PlainWindows(files, dates, size)
    key = windows[0]
    a = eo[eoforge_keys([key])[0]]
    b = plain[key]
    out = {}
    for group in groups(dates):
        got = a["inputs"][group.name]["image"]
        if group.dates == 1:
            got = got[None]
        want = b[group.name]
        if group.dtype == "uint16":  # eoforge gives reflectance (DN / 10000 for L2A-like DN)
            scale = float(want.mean() / got.mean())
            got = got * scale
            out[f"{group.name}_dn_per_unit"] = round(scale, 3)
        assert got.shape == want.shape, (group.name, got.shape, want.shape)
        out[group.name] = round(float((got - want).abs().max()), 4)
    return out


def in_process(
    files: dict[str, list[Path]], size: int, dates: int, count: int, reps: int = 2
) -> dict[str, Any]:
    """Per-sample read cost in this process, eoforge vs plain rasterio, no DataLoader.

    Each rep draws fresh windows, empties both sides' handles and views, reads the
    windows once ("cold": files opening, blocks decoded) and again ("warm": every
    block in GDAL's cache, so what remains is each side's own work per read); the
    two sides alternate which goes first. Milliseconds per sample, summed over reps.
    """
    from eoforge.io import HANDLES
    from eoforge.io.warped import VIEWS

    cost = {
        f"{side}_{phase}": 0.0 for side in ("eoforge", "rasterio") for phase in ("cold", "warm")
    }
    for rep in range(reps):
        windows = draw_windows(size, count, 1000 + rep)
        keys = eoforge_keys(windows)
        HANDLES.clear()
        VIEWS.clear()
        eo, _ = eoforge_dataset(files, dates)
        plain = PlainWindows(files, dates, size)
        sides = [("eoforge", eo, keys), ("rasterio", plain, windows)]
        for name, dataset, items in sides if rep % 2 == 0 else sides[::-1]:
            for phase in ("cold", "warm"):
                start = time.perf_counter()
                for item in items:
                    dataset[item]
                cost[f"{name}_{phase}"] += time.perf_counter() - start
    per = {k: round(1000 * v / (reps * count), 2) for k, v in cost.items()}
    return {
        "ms_per_sample": per,
        "vs_rasterio_cold": round(per["rasterio_cold"] / per["eoforge_cold"], 3),
        "vs_rasterio_warm": round(per["rasterio_warm"] / per["eoforge_warm"], 3),
        "samples_per_rep": count,
        "reps": reps,
    }


def _summary(rates: dict[str, list[float]]) -> dict[str, float]:
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {
        "eoforge_samples_per_s": round(med["eoforge"], 2),
        "rasterio_samples_per_s": round(med["rasterio"], 2),
        "torchgeo_samples_per_s": round(med["torchgeo"], 2),
        "vs_rasterio": round(med["eoforge"] / med["rasterio"], 3),
        "vs_torchgeo": round(med["eoforge"] / med["torchgeo"], 2),
    }


def paired(steady: dict[str, list[float]]) -> dict[str, float]:
    """The median of each round's own ratios (a round's contenders ran back to back)."""
    eo = steady["eoforge"]
    ratio = {
        peer: statistics.median(e / p for e, p in zip(eo, steady[peer], strict=True))
        for peer in ("rasterio", "torchgeo")
    }
    return {"vs_rasterio": round(ratio["rasterio"], 3), "vs_torchgeo": round(ratio["torchgeo"], 2)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and rounds (< 2 min)")
    parser.add_argument("--data", type=Path, default=Path("benchmarks/.data/multimodal"))
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--size", type=int, default=2048, help="scene side in 10 m pixels")
    parser.add_argument("--dates", type=int, default=3, help="dates of the S2 and S1 groups")
    parser.add_argument(
        "--samples", type=int, default=None, help="samples per pass (default by mode)"
    )
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    load_start = round(os.getloadavg()[0], 2)
    cold, timed = (48, 96) if args.quick else (96, 384)
    if args.samples is not None:
        cold, timed = args.samples // 4, args.samples - args.samples // 4
    rounds = args.rounds or (2 if args.quick else 5)
    t0 = time.perf_counter()
    files = make_files(args.data, args.size, args.dates)
    print(f"rasters ready in {time.perf_counter() - t0:.1f} s: {args.data}", file=sys.stderr)
    _, mode = eoforge_dataset(files, args.dates)
    count = BATCH + cold + timed
    makers: dict[str, Callable[[list[tuple[int, int]]], DataLoader[Any]]] = {
        "eoforge": lambda w: eoforge_loader(files, w, args.dates),
        "rasterio": lambda w: plain_loader(files, w, args.dates, args.size),
        "torchgeo": lambda w: torchgeo_loader(files, w, args.dates),
    }
    agreement = check_same_pixels(files, draw_windows(args.size, 1, 12345), args.dates, args.size)
    print(f"eoforge vs plain rasterio, max abs difference per group: {agreement}", file=sys.stderr)
    diagnosis = in_process(files, args.size, args.dates, 24 if args.quick else 64)
    print(f"in-process read cost: {diagnosis}", file=sys.stderr)
    cold_rates: dict[str, list[float]] = {k: [] for k in makers}
    steady: dict[str, list[float]] = {k: [] for k in makers}
    for r in range(rounds):
        windows = draw_windows(args.size, count, r)  # drawn once per round, fed to all
        order = list(makers) if r % 2 == 0 else list(reversed(makers))
        for name in order:
            c, s = time_loader(lambda name=name, w=windows: makers[name](w), cold)
            cold_rates[name].append(round(c, 2))
            steady[name].append(round(s, 2))
            print(
                f"round {r + 1}/{rounds} {name:9s} cold {c:7.1f}  steady {s:7.1f} samples/s",
                file=sys.stderr,
            )
    result: dict[str, Any] = {
        **_summary(steady),
        "cold": _summary(cold_rates),
        "goals": {"vs_rasterio": 0.8, "vs_torchgeo": 3.0},
        "paired": paired(steady),
        "rounds_steady": steady,
        "rounds_cold": cold_rates,
        "samples_cold": cold,
        "samples_steady": timed,
        "time_series": mode,
        "groups": {
            g.name: {
                "bands": len(g.bands),
                "gsd": g.gsd,
                "crs": g.crs,
                "dates": g.dates,
                "px": round(PATCH * 10 / g.gsd),
            }
            for g in groups(args.dates)
        },
        "torchgeo_sample": f"one [C, {PATCH}, {PATCH}] stack at 10 m (every group resampled)",
        "eoforge_vs_rasterio_max_abs_diff": agreement,
        "in_process": diagnosis,
        "patch_10m_px": PATCH,
        "batch": BATCH,
        "workers": WORKERS,
        "quick": args.quick,
        "scene_10m_px": args.size,
        "load_avg_1min_at_start": load_start,
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
    }
    result["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=2))
        tmp.rename(args.out)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
