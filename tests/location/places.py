"""Synthetic scenes at known places on Earth, embedded by a small image bundle.

Each scene is a 128 px eoforge synth scene (Sentinel-2, one date, no clouds)
generated at its own ``center`` in its own UTM zone, with its own seed; the
scenes are embedded with a randomly initialised ``spectral_vit`` bundle on
16 px windows (64 windows per scene).
"""

from __future__ import annotations

from pathlib import Path

import torch

from eoforge.embeddings import embed
from eoforge.models import Bundle, ModelSpec, Normalization, build_model, save_bundle
from eoforge.synth import generate_scene

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
WINDOW = 16
SIZE = 256
PLACES = {  # name: (lon, lat, UTM CRS, cloud cover)
    "nairobi": (36.8, -1.3, "EPSG:32737", 0.0),
    "pampas": (-60.0, -34.6, "EPSG:32721", 0.2),
    "lyon": (4.85, 45.75, "EPSG:32631", 0.4),
    "fiji": (179.999, -17.0, "EPSG:32760", 0.6),  # its windows straddle the antimeridian
    "yukon": (-135.0, 64.0, "EPSG:32608", 0.8),
}
"""Synth scenes look alike wherever their centre lies (the generator has no biomes), so
each place gets its own climate: a cloud cover of its own."""


def image_bundle(folder: Path, seed: int = 0) -> Path:
    """A randomly initialised ``spectral_vit`` embedding bundle on :data:`BANDS`."""
    torch.manual_seed(seed)
    spec = ModelSpec(
        task="embedding",
        arch="spectral_vit",
        in_bands=BANDS,
        num_classes=1,
        options={"depth": 1, "patch_size": 8},
    )
    bundle = Bundle(
        task="embedding",
        model=spec,
        bands=BANDS,
        normalization=Normalization(mean=[0.08, 0.09, 0.09, 0.25], std=[0.05, 0.05, 0.07, 0.1]),
        gsd=10.0,
        patch_size=WINDOW,
    )
    return save_bundle(folder, build_model(spec), bundle)


def embedded_places(root: Path, seed: int = 0) -> dict[str, Path]:
    """Scenes at :data:`PLACES`, embedded: ``{place: <scene>_embeddings.parquet}``."""
    bundle = image_bundle(root / "encoder", seed)
    tables = {}
    for i, (name, (lon, lat, crs, clouds)) in enumerate(PLACES.items()):
        scene = root / "scenes" / name
        generate_scene(scene, size=SIZE, seed=seed * 100 + i, sensors="s2", dates=1, clouds=clouds,
                       vectors=False, crs=crs, center=(lon, lat))  # fmt: skip
        done = embed(bundle, scene / "s2" / "20240701", root / "embeddings" / name)
        tables[name] = done[0].paths["embeddings"]
    return tables
