"""Map viewer benchmark: tile latency of ``eoforge serve`` vs localtileserver, and memory.

Inputs, written block by block (memory follows one 512² block, never the image)
as tiled GeoTIFFs, then copied to COGs by GDAL's COG driver (DEFLATE, 512² blocks,
overviews down to one block; nearest for classes, average for the scene), in
UTM 31N at 10 m so that every tile is reprojected to Web Mercator:

* ``classes``: N x N uint8 class map (7 classes + nodata 255) with a colour table;
* ``scene``: N x N x 4 uint16 scene (``S2.B02, S2.B03, S2.B04, S2.B08``, scale 1e-4).

N = 10,000 (``--quick``: 2,000). Three zoom levels of the class map's zoom range
as ``eoforge serve`` reports it: ``overview`` (minzoom + 2: the whole image in
a few tiles, each read from an overview), ``mid`` (halfway) and ``full`` (its
maxzoom: full-resolution blocks). At each level up to ``--tiles`` distinct
tiles inside the data are drawn (seeded) and requested through real HTTP on
127.0.0.1 (one kept-alive connection, one request at a time):

* cold: a new server process per zoom level and contender, each tile requested
  once (the process has nothing open or cached; the OS page cache is not
  dropped, so the files themselves are likely in memory);
* warm: the same tiles again from the same process.

Contenders, on the same COGs and the same tiles:

* ``eoforge``: ``eoforge serve FILE --no-open`` (class map through its colour
  table; scene true colour B04/B03/B02 with its default 2-98 % stretch);
* ``localtileserver``: localtileserver 1.0's FastAPI app (``run_app``) on the
  same file: class map default rendering (its colour table), scene
  ``indexes=3,2,1`` with the same stretch as ``vmin``/``vmax`` in stored units.

Reported per contender, layer, zoom, cold/warm: p50 and p95 latency in ms; ratios
``localtileserver / eoforge`` of the p50s (> 1: eoforge faster). Server start-up
time (until ``/api/layers`` answers) is reported too: ``eoforge serve`` computes
class areas on the full-resolution class map once (cached beside nothing: the
cache folder of a single file is in the temp folder, cleared before the first
start).

``--big``: a 40,000² class COG built the same way (the build time is reported),
served by ``eoforge serve``; the server's resident memory (RSS, sampled every
20 ms) while panning: at every zoom level from its minzoom to maxzoom, a run of
``--pan`` adjacent tiles across the image centre. Reported: RSS after start-up,
peak RSS, and the peak per zoom level.

Run: ``nice -n 10 python benchmarks/bench_serve.py --out benchmarks/results/serve.json
[--quick] [--big]``. The last line of stdout is the JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import morecantile
import numpy as np
import psutil
import rasterio
import rasterio.shutil
from affine import Affine

from eoforge.serve.discover import cache_dir_for

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CRS = "EPSG:32631"
ORIGIN = (600_000.0, 5_100_000.0)
GSD = 10.0
BLOCK = 512
CLASS_COLOURS = {
    0: (38, 115, 202, 255),
    1: (24, 110, 36, 255),
    2: (150, 205, 90, 255),
    3: (240, 210, 90, 255),
    4: (170, 120, 80, 255),
    5: (110, 190, 180, 255),
    6: (200, 30, 30, 255),
}
CLASS_NAMES = ("water", "forest", "grassland", "cropland", "bare_soil", "wetland", "built_up")
TMS = morecantile.tms.get("WebMercatorQuad")
OVERVIEW_STEP = 2
"""Overview-level zoom = minzoom + 2: a few tiles over the image, all read from overviews."""


# --------------------------------------------------------------------------- inputs


def _axes(row0: int, col0: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Row coordinates ``[h, 1]`` and column coordinates ``[1, w]`` of a block (float32)."""
    y = np.arange(row0, row0 + h, dtype=np.float32)[:, None]
    x = np.arange(col0, col0 + w, dtype=np.float32)[None, :]
    return y, x


def class_block(row0: int, col0: int, h: int, w: int) -> np.ndarray:
    """Class ids of a block: smooth regions from sine waves, a nodata band at the top.

    Every term is an outer product of a row and a column wave (``sin(a + b)`` written
    as ``sin a cos b + cos a sin b``), so a block costs a few passes over its pixels.
    """
    y, x = _axes(row0, col0, h, w)
    v = np.sin(x / 97.0) + np.sin(y / 131.0)
    v = v + np.sin(x / 211.0) * np.cos(y / 211.0) + np.cos(x / 211.0) * np.sin(y / 211.0)
    v = v + 0.5 * np.sin(x / 23.0) * np.sin(y / 29.0)
    labels = np.digitize(v, np.linspace(-2.4, 2.4, 6)).astype(np.uint8)
    labels[(y < 64).ravel(), :] = 255
    return labels


_NOISE = np.random.default_rng(0).integers(0, 120, (4, BLOCK + 64, BLOCK + 64)).astype(np.float32)


def scene_block(row0: int, col0: int, h: int, w: int) -> np.ndarray:
    """Four uint16 bands of a block: smooth fields per band plus noise (shifted per block)."""
    y, x = _axes(row0, col0, h, w)
    dy, dx = (row0 // BLOCK * 7) % 64, (col0 // BLOCK * 13) % 64
    out = np.empty((4, h, w), dtype=np.uint16)
    for b in range(4):
        field = 900 + 350 * b + 300 * np.sin(x / 53.0 + b) * np.cos(y / 71.0)
        out[b] = field + _NOISE[b, dy : dy + h, dx : dx + w]
    return out


def write_cog(path: Path, size: int, kind: str) -> float:
    """Write a ``size``² class map or scene block by block, then as a COG; returns seconds."""
    start = time.perf_counter()
    raw = path.with_suffix(".raw.tif")
    scene = kind == "scene"
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 4 if scene else 1,
        "dtype": "uint16" if scene else "uint8",
        "crs": CRS,
        "transform": Affine(GSD, 0, ORIGIN[0], 0, -GSD, ORIGIN[1]),
        "nodata": 0 if scene else 255,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
    }
    with rasterio.open(raw, "w", **profile) as dst:
        for row0 in range(0, size, BLOCK):
            for col0 in range(0, size, BLOCK):
                h, w = min(BLOCK, size - row0), min(BLOCK, size - col0)
                window = rasterio.windows.Window(col0, row0, w, h)
                if scene:
                    dst.write(scene_block(row0, col0, h, w), window=window)
                else:
                    dst.write(class_block(row0, col0, h, w), 1, window=window)
        if scene:
            for i, name in enumerate(("S2.B02", "S2.B03", "S2.B04", "S2.B08"), start=1):
                dst.set_band_description(i, name)
            dst.scales = (1e-4,) * 4
        else:
            dst.write_colormap(1, CLASS_COLOURS)
            dst.update_tags(1, **{f"CLASS_{i}": n for i, n in enumerate(CLASS_NAMES)})
            dst.set_band_description(1, "class")
    with rasterio.Env(GDAL_CACHEMAX=256, GDAL_NUM_THREADS="ALL_CPUS"):
        rasterio.shutil.copy(
            raw,
            path,
            driver="COG",
            COMPRESS="DEFLATE",
            BLOCKSIZE=BLOCK,
            OVERVIEW_RESAMPLING="AVERAGE" if scene else "NEAREST",
            BIGTIFF="IF_SAFER",
        )
    raw.unlink()
    return time.perf_counter() - start


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A tile server in its own process, answering on 127.0.0.1:port."""

    def __init__(self, contender: str, path: Path) -> None:
        self.contender, self.path, self.port = contender, path, free_port()
        if contender == "eoforge":
            cmd = [str(BIN / "eoforge"), "--quiet", "serve", str(path), "--no-open"]
            cmd += ["--port", str(self.port)]
            self.ready_path = "/api/layers"
        else:
            code = (
                "import sys; from localtileserver.web.fastapi_app import run_app; "
                "run_app(sys.argv[1], port=int(sys.argv[2]), browser=False)"
            )
            cmd = [sys.executable, "-c", code, str(path), str(self.port)]
            self.ready_path = f"/api/metadata?filename={path}"
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        self.conn: http.client.HTTPConnection | None = None
        deadline = time.monotonic() + 600
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{contender} exited: {self.proc.stderr.read().decode()[-2000:]}"
                )  # type: ignore[union-attr]
            try:
                status, _ = self.get(self.ready_path)
                if status == 200:
                    break
            except OSError:
                self.conn = None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{contender} did not start")
            time.sleep(0.1)
        self.startup_s = time.perf_counter() - start

    def get(self, path: str) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        return response.status, response.read()

    def rss(self) -> int:
        try:
            return int(psutil.Process(self.proc.pid).memory_info().rss)
        except psutil.Error:
            return 0

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(20)


def eoforge_layer(server: Server) -> dict[str, Any]:
    status, body = server.get("/api/layers")
    assert status == 200, body[:300]
    return dict(json.loads(body)["layers"][0])


def tile_path(contender: str, layer: dict[str, Any], path: Path, tile: morecantile.Tile) -> str:
    z, x, y = tile.z, tile.x, tile.y
    if contender == "eoforge":
        return f"/api/tiles/{layer['id']}/{z}/{x}/{y}.png"
    query = f"filename={path}"
    if layer["kind"] == "scene":
        lo, hi = (v / 1e-4 for v in layer["stretch"])  # stored units
        query += f"&indexes=3,2,1&vmin={lo:.0f}&vmax={hi:.0f}"
    return f"/api/tiles/{z}/{x}/{y}.png?{query}"


def pick_tiles(bounds: list[float], z: int, count: int, seed: int) -> list[morecantile.Tile]:
    """Up to ``count`` distinct tiles of zoom ``z`` over the data (seeded draw).

    Tiles whose centre lies inside ``bounds`` are drawn first; at coarse zooms,
    where the data covers no tile centre, the tiles intersecting it are used.
    """
    w, s, e, n = bounds
    inside, touching = [], []
    for tile in TMS.tiles(w, s, e, n, [z]):
        b = TMS.bounds(tile)
        cx, cy = (b.left + b.right) / 2, (b.bottom + b.top) / 2
        (inside if w < cx < e and s < cy < n else touching).append(tile)
        if len(inside) > 200_000:
            break
    pool = inside or touching
    rng = np.random.default_rng(seed)
    index = rng.permutation(len(pool))[:count]
    return [pool[i] for i in sorted(index)]


def _stats(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "tiles": len(ms),
    }


def time_tiles(server: Server, paths: list[str]) -> list[float]:
    out = []
    for p in paths:
        start = time.perf_counter()
        status, body = server.get(p)
        out.append((time.perf_counter() - start) * 1000)
        if status != 200 or not body.startswith(b"\x89PNG"):
            raise RuntimeError(f"{server.contender} {p}: {status} {body[:200]!r}")
    return out


def clear_eoforge_cache(path: Path) -> None:
    shutil.rmtree(cache_dir_for([path]), ignore_errors=True)


def bench_latency(files: dict[str, Path], tiles_per_zoom: int) -> dict[str, Any]:
    result: dict[str, Any] = {"layers": {}, "startup_s": {}}
    for name, path in files.items():
        clear_eoforge_cache(path)
        probe = Server("eoforge", path)
        layer = eoforge_layer(probe)
        result["startup_s"][f"eoforge_{name}_first"] = round(probe.startup_s, 2)
        probe.stop()
        overview = min(layer["minzoom"] + OVERVIEW_STEP, layer["maxzoom"] - 2)
        zooms = {
            "overview": overview,
            "mid": (overview + layer["maxzoom"]) // 2,
            "full": layer["maxzoom"],
        }
        per_layer: dict[str, Any] = {"zooms": zooms, "contenders": {}, "ratios": {}}
        for level, z in zooms.items():
            tiles = pick_tiles(layer["bounds"], z, tiles_per_zoom, seed=z)
            for contender in ("eoforge", "localtileserver"):
                server = Server(contender, path)
                try:
                    urls = [tile_path(contender, layer, path, t) for t in tiles]
                    cold = time_tiles(server, urls)
                    warm = time_tiles(server, urls)
                finally:
                    server.stop()
                entry = per_layer["contenders"].setdefault(contender, {})
                entry[level] = {"cold": _stats(cold), "warm": _stats(warm)}
                result["startup_s"].setdefault(f"{contender}_{name}", []).append(
                    round(server.startup_s, 2)
                )
            ours = per_layer["contenders"]["eoforge"][level]
            peer = per_layer["contenders"]["localtileserver"][level]
            per_layer["ratios"][level] = {
                phase: round(peer[phase]["p50_ms"] / ours[phase]["p50_ms"], 2)
                for phase in ("cold", "warm")
            }
            print(name, level, z, json.dumps(per_layer["contenders"]["eoforge"][level]),
                  json.dumps(peer), per_layer["ratios"][level], flush=True)  # fmt: skip
        result["layers"][name] = per_layer
    return result


def bench_big(folder: Path, size: int, pan: int) -> dict[str, Any]:
    path = folder / f"classes_{size}.tif"
    build_s = write_cog(path, size, "classes")
    clear_eoforge_cache(path)
    server = Server("eoforge", path)
    layer = eoforge_layer(server)
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(server.rss())
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    after_start = server.rss()
    per_zoom: dict[str, Any] = {}
    thread.start()
    try:
        w, s, e, n = layer["bounds"]
        for z in range(layer["minzoom"], layer["maxzoom"] + 1):
            centre = TMS.tile((w + e) / 2, (s + n) / 2, z)
            first = TMS.tile(w, (s + n) / 2, z)
            last = TMS.tile(e, (s + n) / 2, z)
            xs = range(
                max(first.x, centre.x - pan // 2), min(last.x, centre.x - pan // 2 + pan) + 1
            )
            before = len(samples)
            ms = time_tiles(
                server,
                [tile_path("eoforge", layer, path, morecantile.Tile(x, centre.y, z)) for x in xs],
            )
            peak = max(samples[before:] or [server.rss()])
            per_zoom[str(z)] = {"tiles": len(ms), "peak_rss_mb": round(peak / 2**20, 1),
                                "p50_ms": round(float(np.percentile(ms, 50)), 2)}  # fmt: skip
            print("big", z, per_zoom[str(z)], flush=True)
    finally:
        stop.set()
        thread.join()
        server.stop()
    return {
        "size": size,
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "build_s": round(build_s, 1),
        "startup_s": round(server.startup_s, 1),
        "rss_after_start_mb": round(after_start / 2**20, 1),
        "peak_rss_mb": round(max(samples) / 2**20, 1),
        "per_zoom": per_zoom,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="2,000² inputs, 5 tiles per zoom")
    parser.add_argument("--big", action="store_true", help="also the 40,000² RSS run")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--tiles", type=int, default=None, help="tiles per zoom level")
    parser.add_argument("--big-size", type=int, default=40_000)
    parser.add_argument("--pan", type=int, default=12, help="adjacent tiles per zoom (--big)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the COGs here")
    parser.add_argument(
        "--reuse", action="store_true", help="use the COGs already in --workdir (build_s null)"
    )
    args = parser.parse_args(argv)
    size = args.size or (2_000 if args.quick else 10_000)
    tiles = args.tiles or (5 if args.quick else 30)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_serve_"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "benchmark": "serve",
        "size": size,
        "tiles_per_zoom": tiles,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_before": [round(v, 2) for v in os.getloadavg()],
        },
        "notes": (
            "cold = new server process per zoom level; the OS page cache is not dropped. "
            "localtileserver 1.0 computes Reader.statistics() of the bands on every tile of "
            "non-uint8 data, even with vmin/vmax given (tiler/handler.py _render_image): "
            "that is most of its scene tile time."
        ),
    }
    try:
        files = {"classes": work / f"classes_{size}.tif", "scene": work / f"scene_{size}.tif"}
        result["build_s"] = {
            name: None if args.reuse and path.is_file() else round(write_cog(path, size, name), 1)
            for name, path in files.items()
        }
        result.update(bench_latency(files, tiles))
        if args.big and not args.quick:
            result["big"] = bench_big(work, args.big_size, args.pan)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    result["machine"]["load_after"] = [round(v, 2) for v in os.getloadavg()]
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
