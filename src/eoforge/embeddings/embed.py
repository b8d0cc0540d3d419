"""Embedding scenes with a bundle: one vector per window through the prediction engine.

:func:`embed` is :func:`eoforge.predict.run` for bundles whose task is
``embedding``, with windows instead of tiles: ``window`` px squares (default:
the bundle's patch size) every ``stride`` px (default: the window, i.e.
side by side; a smaller stride overlaps them by ``window - stride``). Blocks
of windows are journaled (``resume``), run locally or on Dask, in bounded
memory; each scene writes ``<scene>_embeddings.parquet`` and/or ``.zarr``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from eoforge.errors import ConfigError
from eoforge.models import read_bundle_json
from eoforge.predict import (
    BundleModel,
    EmbeddingSpec,
    RunOptions,
    Scene,
    SceneProgress,
    SceneResult,
    TilingOptions,
    run,
)
from eoforge.predict.identity import bundle_identity
from eoforge.predict.runner import embedding_dim

PathLike = str | os.PathLike[str]


def embed(
    bundle: PathLike | Sequence[PathLike],
    scenes: PathLike | Sequence[PathLike] | Sequence[Scene],
    out: PathLike,
    *,
    window: int | None = None,
    stride: int | None = None,
    parquet: bool = True,
    zarr: bool = False,
    batch: int = 16,
    block: int = 2048,
    tta: bool = False,
    run_options: RunOptions | None = None,
    progress: SceneProgress | None = None,
) -> list[SceneResult]:
    """Embed every window of every scene with an embedding bundle.

    Args:
        bundle: A bundle folder with ``task: embedding`` (several: their vectors averaged).
        scenes: Raster files, product folders, folders of scenes, STAC JSON or scenes.
        out: Output folder (``<scene>_embeddings.parquet`` / ``.zarr``).
        window: Window side in input pixels (default: the bundle's patch size).
        stride: Pixels between window starts (default: ``window``).
        parquet: Write GeoParquet rows.
        zarr: Write a Zarr group.
        batch: Windows per forward pass.
        block: Side of a block of windows (unit of work and of resumption), px.
        tta: Average the vectors over the 8 rotations/flips.
        run_options: Resumption and executor.
        progress: ``(scene, done, total)`` input pixels.

    Returns:
        One result per scene; ``paths`` holds ``embeddings`` and/or ``embeddings_zarr``.

    Raises:
        ConfigError: The bundle is not an embedding bundle, bad window/stride, or no
            output format.
    """
    folders = [bundle] if isinstance(bundle, (str, os.PathLike)) else list(bundle)
    model = BundleModel(tuple(os.fspath(b) for b in folders), tta=tta)
    info = read_bundle_json(folders[0])
    if info.task != "embedding":
        raise ConfigError(
            f"a {info.task} bundle, not an embedding bundle.",
            path=os.fspath(folders[0]),
            fix="give a bundle whose task is embedding (e.g. a spectral_vit encoder), "
            "or use eoforge predict for this one.",
        )
    side = window or info.patch_size
    step = stride or side
    if side < 1 or step < 1 or not (parquet or zarr):
        raise ConfigError(
            f"window {side}, stride {step}, parquet {parquet}, zarr {zarr}.",
            fix="give window >= 1, stride >= 1 and at least one of parquet and zarr.",
        )
    # hashing the weights (the model's identity) releases the GIL: it runs beside the load
    with ThreadPoolExecutor(1, thread_name_prefix="eoforge-identity") as pool:
        identity = pool.submit(bundle_identity, model.bundles, tta)
        loaded = model.load()
        spec = EmbeddingSpec(
            dim=embedding_dim(loaded[0]), parquet=parquet, zarr=zarr, model=identity.result()
        )
    tiling = TilingOptions(tile=side, overlap=0, batch=batch, block=block, multiple=1, stride=step)
    return run(model, scenes, out, spec=spec, tiling=tiling, run=run_options, progress=progress)
