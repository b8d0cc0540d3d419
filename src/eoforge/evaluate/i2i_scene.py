"""Score an image-to-image bundle on a scene: the prediction against the target bands, per band.

The input scene (a scene folder, STAC JSON or files holding the bundle's
bands) is predicted whole through the prediction engine; the target bands are
read from the target scene on the prediction's grid and compared with
:func:`~eoforge.evaluate.i2i_metrics.image_to_image_scores`. Where the input
has a cloud mask band (``cloudmask`` of the synthetic scenes: 0 clear, else
cloud or shadow), scores are also split into cloudy and clear pixels. When
the target bands are among the input bands (cloud removal), the input itself
is scored the same way as the baseline that does nothing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from odc.geo.geobox import GeoBox

from eoforge.errors import ConfigError
from eoforge.evaluate.i2i_metrics import image_to_image_scores
from eoforge.experiment.scenes import catalog_of
from eoforge.geo.grid import grid_from_sample
from eoforge.io.reader import read
from eoforge.io.source import RasterSource
from eoforge.io.staging import write_json
from eoforge.models import read_bundle_json
from eoforge.predict import TilingOptions, run

CLOUD_BAND = "cloudmask"


def scene_sources(path: Path) -> list[RasterSource]:
    """Image sources of a scene folder, STAC JSON, saved catalog or raster file(s)."""
    return [e.source for e in catalog_of([path]).query(kind="image") if e.source is not None]


def read_bands(
    sources: list[RasterSource], grid: GeoBox, bands: list[str], key: str, path: Path
) -> np.ndarray[Any, Any]:
    """``bands`` of ``sources`` on ``grid`` (float32 ``[K, H, W]``, NaN where invalid).

    Raises:
        ConfigError: A band no source holds.
    """
    missing = [b for b in bands if not any(s.resolve(b) for s in sources)]
    if missing:
        raise ConfigError(
            f"{key}: no raster holds the bands {missing}.",
            path=path,
            fix="point at the scene that holds the bundle's target bands.",
        )
    values, valid = read(sources, grid, bands)
    values[:, ~valid] = np.nan
    return values


def evaluate_i2i_scene(
    bundle: str | os.PathLike[str],
    scene: str | os.PathLike[str],
    target: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    data_range: float = 1.0,
    tiling: TilingOptions | None = None,
) -> dict[str, Any]:
    """Predict ``scene`` with an image-to-image bundle and score it against ``target``.

    Args:
        bundle: An ``image_to_image`` bundle folder.
        scene: The input scene (bands named as the bundle's).
        target: The scene holding the target bands (e.g. the cloud-free rendering).
        out: Write the scores JSON there (None: only return them).
        data_range: PSNR peak and SSIM span (1.0 for reflectance).
        tiling: Tiles of the prediction (default: the engine's).

    Returns:
        ``{"model": scores, "input": scores (when the target bands are inputs),
        "bands": [...], ...}`` with scores as :func:`image_to_image_scores` returns.

    Raises:
        ConfigError: Not an image-to-image bundle, or a target without its bands.
    """
    info = read_bundle_json(bundle)
    if info.task != "image_to_image":
        raise ConfigError(
            f"a {info.task} bundle does not translate images.",
            path=bundle,
            fix="pass an image_to_image bundle.",
        )
    bands = [str(b) for b in info.model.options["target_bands"]]
    scene_path, target_path = Path(scene), Path(target)
    with tempfile.TemporaryDirectory(prefix=".i2i-eval-") as work:
        result = run(bundle, scene_path, work, tiling=tiling)[0]
        with rasterio.open(result.paths["values"]) as src:
            predicted = src.read().astype(np.float64)
            grid = grid_from_sample(src.crs.to_wkt(), list(src.transform)[:6], src.shape)
    truth = read_bands(scene_sources(target_path), grid, bands, "target", target_path)
    inputs = scene_sources(scene_path)
    cloud = None
    if any(s.resolve(CLOUD_BAND) for s in inputs):
        mask, ok = read(inputs, grid, [CLOUD_BAND], resampling="nearest")
        cloud = (mask[0] != 0) & ok
    report: dict[str, Any] = {
        "bundle": str(bundle),
        "input": str(scene_path),
        "target": str(target_path),
        "bands": bands,
        "data_range": data_range,
        "cloud_mask": cloud is not None,
        "model": image_to_image_scores(predicted, truth, bands, cloud=cloud, data_range=data_range),
    }
    if all(b in info.bands for b in bands):
        given = read_bands(inputs, grid, bands, "input", scene_path)
        report["baselines"] = {
            "input": image_to_image_scores(given, truth, bands, cloud=cloud, data_range=data_range)
        }
    if out is not None:
        write_json(Path(out), report)
    return report
