"""A synthetic scene whose windows have known content, and a small real embedding bundle.

Each 16 x 16 px window of the scene is filled with one of three materials
(distinct spectra in three Sentinel-2 bands) plus a little noise, following a
pattern of material ids, so windows of one material must be each other's
nearest neighbours and k-means must recover the pattern.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import torch
from affine import Affine
from tests.helpers import write_tif

from eoforge.models import Bundle, ModelSpec, Normalization, build_model, save_bundle

BANDS = ["S2.B04", "S2.B08", "S2.B11"]
WINDOW = 16
T = Affine(10, 0, 600000, 0, -10, 5700000)
CRS = "EPSG:32631"
MATERIALS = np.array(
    [
        [0.05, 0.45, 0.20],  # vegetation-like: low red, high NIR
        [0.30, 0.32, 0.40],  # bare soil-like: flat, high SWIR
        [0.03, 0.02, 0.01],  # water-like: dark everywhere
    ],
    dtype=np.float32,
)
PATTERN = np.array(
    [
        [0, 0, 1, 1, 2, 2],
        [0, 1, 1, 2, 2, 0],
        [2, 2, 0, 0, 1, 1],
        [1, 0, 2, 1, 0, 2],
    ]
)
"""Material of each window (rows x cols of 16-px windows)."""


def write_scene(
    path: Path,
    pattern: np.ndarray = PATTERN,
    seed: int = 0,
    transform: Affine = T,
    crs: str = CRS,
) -> Path:
    """A ``[3, 16 * rows, 16 * cols]`` GeoTIFF of ``pattern``'s materials plus noise."""
    rng = np.random.default_rng(seed)
    data = MATERIALS[pattern].transpose(2, 0, 1)  # [3, rows, cols]
    data = np.repeat(np.repeat(data, WINDOW, axis=1), WINDOW, axis=2)
    data = data + rng.normal(0, 0.004, data.shape).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_tif(path, data.astype(np.float32), transform, crs, descriptions=BANDS)


def write_labels(path: Path, pattern: np.ndarray = PATTERN) -> Path:
    """The material of every pixel as a class raster (uint8, ``CLASS_<id>`` names)."""
    data = np.repeat(np.repeat(pattern.astype(np.uint8), WINDOW, 0), WINDOW, 1)
    write_tif(path, data, T, CRS, nodata=255)
    with rasterio.open(path, "r+") as ds:
        ds.update_tags(1, CLASS_0="vegetation", CLASS_1="soil", CLASS_2="water")
    return path


def embedding_bundle(folder: Path, seed: int = 0, depth: int = 1) -> Path:
    """A randomly initialised ``spectral_vit`` embedding bundle (patch size 16, 10 m)."""
    torch.manual_seed(seed)
    spec = ModelSpec(
        task="embedding",
        arch="spectral_vit",
        in_bands=BANDS,
        num_classes=1,
        options={"depth": depth, "patch_size": 8},
    )
    model = build_model(spec)
    bundle = Bundle(
        task="embedding",
        model=spec,
        bands=BANDS,
        normalization=Normalization(mean=[0.1, 0.2, 0.2], std=[0.15, 0.2, 0.2]),
        gsd=10.0,
        patch_size=WINDOW,
    )
    return save_bundle(folder, model, bundle)
