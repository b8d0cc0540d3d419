"""Sources of a small knowledge base: the synthetic scene of tests/embeddings, captions, a note.

The scene's 24 windows (4 rows x 6 columns of 160 m, EPSG:32631) hold one of
three materials each (``PATTERN``); the caption table says what each window
holds in two sentences (the contract of ``eoforge captions``: ``window_id``,
``scene``, ``time``, ``caption``, ``facts``, footprints, ``eoforge:captions``
metadata). Captions of window rows 0-1 are dated 2024-06-01, of rows 2-3
2023-05-01.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely
from tests.embeddings.windows import CRS, PATTERN, WINDOW, T

NAMES = ["vegetation", "soil", "water"]
SENTENCES = {
    "vegetation": [
        "Dense green vegetation covers the whole window.",
        "A forest of trees and grass grows here.",
    ],
    "soil": [
        "Bare brown soil with no plants at all.",
        "A dry field of bare earth.",
    ],
    "water": [
        "Open water: a lake fills the window.",
        "Deep blue water covers everything here.",
    ],
}
DOCUMENT = """The river floods the low meadows every spring, when snow melts in the hills.

Wheat and maize are the main crops of the plain; fields are harvested in August.
"""


def footprint(row: int, col: int) -> shapely.Polygon:
    """Map footprint (EPSG:32631) of window (row, col) of the scene."""
    size = WINDOW * T.a
    x0, y0 = T.c + col * size, T.f - row * size
    return shapely.box(x0, y0 - size, x0 + size, y0)


def write_captions(path: Path, scene: str = "scene", pattern: np.ndarray = PATTERN) -> Path:
    """Two captions per window of a scene of ``pattern``'s materials, with facts, as a table."""
    rows = []
    for r in range(pattern.shape[0]):
        for c in range(pattern.shape[1]):
            name = NAMES[pattern[r, c]]
            for sentence in SENTENCES[name]:
                rows.append(
                    {
                        "window_id": r * pattern.shape[1] + c,
                        "scene": scene,
                        "time": pd.Timestamp("2024-06-01" if r < 2 else "2023-05-01", tz="UTC"),
                        "caption": sentence,
                        "facts": json.dumps({"shares": {name: 1.0}, "dominant": name}),
                        "geometry": footprint(r, c),
                    }
                )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    frame["window_id"] = frame["window_id"].astype("int64")
    frame.to_parquet(path, index=False)
    table = pq.read_table(path)
    meta = {
        "version": 1,
        "seed": 0,
        "window_px": WINDOW,
        "gsd": 10.0,
        "classes": [{"id": i, "name": n, "colour": "#000000"} for i, n in enumerate(NAMES)],
        "labels": "tests.knowledge.sources",
    }
    metadata = {**(table.schema.metadata or {}), b"eoforge:captions": json.dumps(meta).encode()}
    pq.write_table(table.replace_schema_metadata(metadata), path)
    return path


def write_document(path: Path) -> Path:
    """A two-paragraph text file."""
    path.write_text(DOCUMENT, encoding="utf-8")
    return path
