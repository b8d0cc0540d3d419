"""Scenes of known materials and caption tables that describe their windows.

The scenes are those of ``tests/embeddings/windows.py`` (16 x 16 px windows,
each one of three materials in three Sentinel-2 bands); each window gets
captions naming its material in a few phrasings, written as a caption table
(the GeoParquet layout of ``eoforge.captions``).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import shapely
from affine import Affine
from tests.embeddings.windows import CRS, WINDOW, T, write_scene

NAMES = ["vegetation", "bare_soil", "water"]
PHRASES = ["a window of {}.", "an area mostly covered by {}.", "{} seen from above."]


def pattern(rows: int, cols: int, seed: int) -> np.ndarray:
    """Material ids of ``rows x cols`` windows, every material present."""
    ids = np.random.default_rng(seed).integers(0, 3, rows * cols)
    ids[:3] = [0, 1, 2]
    return ids.reshape(rows, cols)


def write_captions(
    path: Path, materials: np.ndarray, transform: Affine = T, phrases: list[str] = PHRASES
) -> Path:
    """One row per (window, phrase) of ``materials``; returns ``path``."""
    rows = []
    for window, (r, c) in enumerate(np.ndindex(*materials.shape)):
        x0, y0 = transform @ (c * WINDOW, r * WINDOW)
        x1, y1 = transform @ ((c + 1) * WINDOW, (r + 1) * WINDOW)
        box = shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        name = NAMES[int(materials[r, c])].replace("_", " ")
        for phrase in phrases:
            rows.append({"window_id": window, "caption": phrase.format(name), "geometry": box})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    frame["scene"] = path.stem
    frame.to_parquet(path, index=False)
    table = pq.read_table(path)
    meta = dict(table.schema.metadata or {})
    meta[b"eoforge:captions"] = json.dumps(
        {"version": 1, "seed": 0, "window_px": WINDOW, "gsd": 10.0, "labels": "materials"}
    ).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)
    return path


def caption_scene(folder: Path, rows: int, cols: int, seed: int) -> tuple[Path, Path, np.ndarray]:
    """``(scene.tif, captions.parquet, materials)`` of a new scene in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    materials = pattern(rows, cols, seed)
    scene = write_scene(folder / "scene.tif", materials, seed=seed)
    return scene, write_captions(folder / "captions.parquet", materials), materials
