"""Class folders of distinct spectra and small random embedding bundles, for the probe tests.

Each class is a material with its own spectrum in three Sentinel-2 bands
(reflectance), chips of it carry seeded per-pixel noise, so random features
of a spectral encoder separate the classes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import torch
from affine import Affine

from eoforge.models import Bundle, ModelSpec, Normalization, build_model, save_bundle

BANDS = ["S2.B04", "S2.B08", "S2.B11"]
SPECTRA = {
    "vegetation": [0.05, 0.45, 0.20],
    "soil": [0.30, 0.32, 0.40],
    "water": [0.03, 0.02, 0.01],
}
"""Mean reflectance of each class in ``BANDS``."""


def write_class_chips(
    root: Path, per_class: int = 10, size: int = 32, noise: float = 0.03, seed: int = 0
) -> Path:
    """``root/<class>/chip_<i>.tif``: float32 chips ``[3, size, size]`` of each class's spectrum."""
    rng = np.random.default_rng(seed)
    profile = {"driver": "GTiff", "count": 3, "dtype": "float32", "width": size, "height": size}
    for name, spectrum in SPECTRA.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            level = np.asarray(spectrum, np.float32)[:, None, None]
            chip = (level + noise * rng.standard_normal((3, size, size))).astype(np.float32)
            with rasterio.open(
                folder / f"chip_{index:02d}.tif",
                "w",
                transform=Affine.translation(0, size),
                **profile,
            ) as dst:
                dst.write(chip)
                dst.descriptions = tuple(BANDS)
    return root


def random_bundle(
    folder: Path,
    *,
    arch: str = "spectral_vit",
    seed: int = 0,
    patch_size: int = 32,
    mean: list[float] | None = None,
    std: list[float] | None = None,
    bands: list[str] | None = None,
) -> Path:
    """A randomly initialised embedding bundle (ViT: depth 1, 8-px patches)."""
    torch.manual_seed(seed)
    names = bands or BANDS
    options = {"depth": 1, "patch_size": 8} if arch == "spectral_vit" else {}
    spec = ModelSpec(task="embedding", arch=arch, in_bands=names, num_classes=1, options=options)
    bundle = Bundle(
        task="embedding",
        model=spec,
        bands=names,
        normalization=Normalization(
            mean=mean or [0.13] * len(names), std=std or [0.15] * len(names)
        ),
        gsd=10.0,
        patch_size=patch_size,
    )
    return save_bundle(folder, build_model(spec), bundle)
