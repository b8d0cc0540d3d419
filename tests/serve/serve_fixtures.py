"""Small run-like folders and a real viewer server on 127.0.0.1 for the serve tests."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import shapely.geometry
import uvicorn
from affine import Affine

from eoforge.serve.app import build_app
from eoforge.serve.discover import discover

UTM = "EPSG:32631"
ORIGIN = (640_000.0, 5_070_000.0)  # near Lyon, like the synthetic scenes
GSD = 10.0
SIZE = 64
CLASSES = {0: ("water", (38, 115, 202)), 1: ("forest", (24, 110, 36)), 2: ("crop", (240, 210, 90))}
CLASS_NODATA = 255


def utm_transform() -> Affine:
    return Affine(GSD, 0, ORIGIN[0], 0, -GSD, ORIGIN[1])


def write_band(path: Path, data: np.ndarray, **extra: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "height": data.shape[-2],
        "width": data.shape[-1],
        "count": 1 if data.ndim == 2 else data.shape[0],
        "dtype": data.dtype,
        "crs": UTM,
        "transform": utm_transform(),
        "tiled": True,
        "blockxsize": 32,
        "blockysize": 32,
    }
    profile.update(extra)
    tags = profile.pop("class_tags", None)
    colormap = profile.pop("colormap", None)
    description = profile.pop("description", None)
    scale = profile.pop("scale", None)
    units = profile.pop("units", None)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data if data.ndim == 3 else data[None])
        if colormap:
            dst.write_colormap(1, colormap)
        if tags:
            dst.update_tags(1, **tags)
        if description:
            dst.set_band_description(1, description)
        if scale:
            dst.scales = (scale,)
        if units:
            dst.units = (units,)
    return path


def class_map(seed: int) -> np.ndarray:
    """Three classes in vertical stripes, a nodata corner, and ``seed``-dependent noise."""
    cols = np.arange(SIZE)[None, :].repeat(SIZE, 0)
    labels = (cols * 3 // SIZE).astype(np.uint8)
    rng = np.random.default_rng(seed)
    flip = rng.random((SIZE, SIZE)) < 0.1
    labels[flip] = (labels[flip] + 1) % 3
    labels[:4, :4] = CLASS_NODATA
    return labels


def write_class_map(path: Path, labels: np.ndarray) -> Path:
    table = {v: (*rgb, 255) for v, (_, rgb) in CLASSES.items()}
    tags = {f"CLASS_{v}": name for v, (name, _) in CLASSES.items()}
    return write_band(
        path, labels, nodata=CLASS_NODATA, colormap=table, class_tags=tags, description="class"
    )


def build_run(root: Path) -> Path:
    """A run folder as ``eoforge demo`` lays it out, 64 x 64 pixels of 10 m in UTM 31N."""
    run = root / "run"
    scene = run / "scenes" / "unseen"
    rng = np.random.default_rng(0)
    for i, band in enumerate(("B02", "B03", "B04", "B08")):
        data = (1000 + 300 * i + rng.integers(0, 500, (SIZE, SIZE))).astype(np.uint16)
        write_band(
            scene / "s2" / "20240701" / f"S2.{band}.tif",
            data,
            nodata=0,
            description=f"S2.{band}",
            scale=1e-4,
            units="reflectance",
        )
    pred = write_class_map(run / "predictions" / "unseen_classes.tif", class_map(1))
    ref = write_class_map(run / "evaluation" / "reference_classes.tif", class_map(2))
    confidence = (rng.integers(100, 201, (SIZE, SIZE))).astype(np.uint8)
    write_band(
        run / "predictions" / "unseen_confidence.tif",
        confidence,
        nodata=255,
        description="confidence",
        scale=1 / 200,
    )
    x0, y0 = ORIGIN
    boxes = [
        shapely.geometry.box(x0 + 10 * i, y0 - 200 - 10 * i, x0 + 100 + 10 * i, y0 - 100 - 10 * i)
        for i in range(30)
    ]
    frame = gpd.GeoDataFrame(
        {"class": ["water", "forest", "crop"] * 10, "area_m2": [1e4] * 30}, geometry=boxes, crs=UTM
    )
    frame.to_parquet(run / "predictions" / "unseen_classes.parquet")
    with rasterio.open(pred) as p, rasterio.open(ref) as r:
        a, b = p.read(1), r.read(1)
    valid = (a != CLASS_NODATA) & (b != CLASS_NODATA)
    metrics = {
        "kind": "classes",
        "overall_accuracy": float((a == b)[valid].mean()),
        "miou": 0.5,
        "per_class": [
            {"id": v, "name": n, "color": "#000000", "iou": 0.5, "f1": 0.6}
            for v, (n, _) in CLASSES.items()
        ],
    }
    (run / "evaluation" / "metrics.json").write_text(json.dumps(metrics))
    (run / "report.html").write_text("<!DOCTYPE html><html><body>report</body></html>")
    manifest = {
        "title": "tiny run",
        "scene": {
            "name": "unseen",
            "folder": "scenes/unseen",
            "s2": "scenes/unseen/s2/20240701",
            "labels": "evaluation/reference_classes.tif",
        },
        "prediction": {
            "classes": "predictions/unseen_classes.tif",
            "confidence": "predictions/unseen_confidence.tif",
            "vectors": "predictions/unseen_classes.parquet",
        },
        "metrics": "evaluation/metrics.json",
    }
    (run / "run.json").write_text(json.dumps(manifest))
    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(paths: Sequence[Path]) -> Iterator[str]:
    """The viewer of ``paths`` served by uvicorn in a thread; yields its base URL."""
    app = build_app(discover(paths))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the viewer did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def raw_get(base: str, path: str) -> tuple[int, bytes, str]:
    """GET ``path`` exactly as written (no URL normalisation): status, body, content type."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("content-type") or ""
    finally:
        conn.close()


def get_json(base: str, path: str) -> Any:
    status, body, _ = raw_get(base, path)
    assert status == 200, (status, body[:300])
    return json.loads(body)
