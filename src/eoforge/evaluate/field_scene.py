"""Score a field-boundary bundle on a scene: its field polygons against reference fields.

The scene is predicted whole through :func:`eoforge.predict.run` (the three maps,
then the whole-scene watershed into polygons, :mod:`eoforge.predict.fields`);
the reference fields (a synthetic scene's ``vectors/fields.parquet`` by default)
are clipped to the predicted grid's footprint and scored with
:func:`~eoforge.evaluate.field_objects.score_fields`.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from eoforge.errors import ConfigError
from eoforge.evaluate.field_objects import score_fields
from eoforge.io.staging import write_json
from eoforge.io.vector import read_vector
from eoforge.models import read_bundle_json
from eoforge.predict import TilingOptions, run
from eoforge.predict.fields import FIELD_TASK, FieldPolygonOptions
from eoforge.predict.runner import Products

SYNTH_FIELDS = Path("vectors") / "fields.parquet"


def reference_fields(scene: Path, reference: Path | None) -> Path:
    """The reference layer: ``reference``, or the scene folder's ``vectors/fields.parquet``.

    Raises:
        ConfigError: None given and the scene has no field layer.
    """
    if reference is not None:
        return reference
    found = scene / SYNTH_FIELDS
    if scene.is_dir() and found.is_file():
        return found
    raise ConfigError(
        "no reference fields: the scene has no vectors/fields.parquet.",
        path=scene,
        fix="pass the reference field polygons with --target FIELDS.parquet.",
    )


def evaluate_field_scene(
    bundle: str | os.PathLike[str],
    scene: str | os.PathLike[str],
    reference: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    options: FieldPolygonOptions | None = None,
    tiling: TilingOptions | None = None,
    keep: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Predict ``scene`` with a field-boundary bundle and score its fields.

    Args:
        bundle: A ``field_boundaries`` bundle folder.
        scene: The scene (a scene folder, STAC JSON or files with the bundle's bands).
        reference: Reference field polygons (default: the scene's ``vectors/fields.parquet``).
        out: Write the report JSON there (None: only return it).
        options: How maps become polygons (default :class:`FieldPolygonOptions`).
        tiling: Tiles of the prediction (default: the engine's).
        keep: Folder to keep the predicted maps and polygons in (None: a temporary one).

    Returns:
        ``{"scores": {...}, "reference": path, "options": {...}, "seconds": {...}}``;
        the scores as :class:`~eoforge.evaluate.field_objects.FieldScores` names them.

    Raises:
        ConfigError: Not a field-boundary bundle, or no reference fields.
    """
    info = read_bundle_json(bundle)
    if info.task != FIELD_TASK:
        raise ConfigError(
            f"a {info.task} bundle does not delineate fields.",
            path=bundle,
            fix="pass a field_boundaries bundle.",
        )
    scene_path = Path(scene)
    truth_path = reference_fields(scene_path, None if reference is None else Path(reference))
    options = options or FieldPolygonOptions()
    with tempfile.TemporaryDirectory(prefix=".fields-eval-") as work:
        folder = Path(keep) if keep is not None else Path(work)
        start = time.perf_counter()
        result = run(bundle, scene_path, folder, products=Products(fields=options), tiling=tiling)[
            0
        ]
        seconds = time.perf_counter() - start
        predicted = gpd.read_parquet(result.paths["fields"])
        footprint = shapely.box(*result.grid.boundingbox)
        truth = _clipped(read_vector(truth_path), footprint, result.grid.crs)
    scores = score_fields(predicted, truth)
    report: dict[str, Any] = {
        "bundle": str(bundle),
        "scene": str(scene_path),
        "reference": str(truth_path),
        "grid": {"shape": list(result.grid.shape), "crs": str(result.grid.crs)},
        "options": asdict(options),
        "scores": scores.as_dict(),
        "seconds": {"predict_and_polygons": round(seconds, 2)},
        "definitions": {
            "matched_iou": "mean IoU of predicted/reference pairs matched one-to-one at IoU >= 0.5",
            "recovered": "share of reference fields matched",
            "over_segmentation": "Persello et al. 2019: mean over reference fields of "
            "1 - |r & s| / |r|, s the predicted polygon overlapping r most",
            "under_segmentation": "Persello et al. 2019: mean of 1 - |r & s| / |s|",
        },
    }
    if keep is not None:
        report["files"] = {k: str(v) for k, v in result.paths.items()}
    if out is not None:
        write_json(Path(out), report)
    return report


def _clipped(frame: gpd.GeoDataFrame, footprint: shapely.Polygon, crs: Any) -> gpd.GeoDataFrame:
    """Reference fields in the grid's CRS, clipped to its footprint (outside ones dropped)."""
    frame = frame.to_crs(crs) if frame.crs is not None and frame.crs != crs else frame
    clipped = frame.copy()
    clipped["geometry"] = shapely.intersection(frame.geometry.values, footprint)
    return clipped[~clipped.geometry.is_empty & (clipped.geometry.area > 0)]
