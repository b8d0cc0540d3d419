"""Score a bundle trained on input groups on a scene folder, the scene predicted whole.

The scene is predicted through the engine as ``eoforge predict`` does for such
bundles (:mod:`eoforge.predict.groups`): each group read per tile on its own grid
from the scene's rasters holding its bands. The output grid is the label
raster's footprint at the bundle's pixel size (the label grid's), so every
labelled pixel is scored once; labels are read on that grid (nearest) and
mapped to the bundle's classes as the training config mapped them (legend,
``data.classes`` merges, ignore index). A group none of whose bands the scene
holds is absent from every tile, as a group no raster covered was in
training: the run is then degraded, and the report names the group.

The report holds overall accuracy, mean IoU, mean F1 and kappa, IoU per class,
the confusion matrix (rows = reference, columns = prediction), the groups found
and absent, and the pixels scored and left unpredicted (no group valid there).
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from odc.geo.geobox import GeoBox

from eoforge.data.datasets import GeoDataset
from eoforge.errors import ConfigError
from eoforge.evaluate.metrics import ConfusionAccumulator, class_metrics
from eoforge.experiment.config import GeoData
from eoforge.experiment.data import geo_classes
from eoforge.experiment.geo_data import geo_dataset
from eoforge.experiment.loading import validate_config
from eoforge.experiment.scenes import catalog_of, scene_sources
from eoforge.geo.grid import grid_from_bounds
from eoforge.io.handles import HANDLES
from eoforge.io.staging import write_json
from eoforge.models import LoadedBundle
from eoforge.predict import OutputSpec, TilingOptions, predict_scene
from eoforge.predict.bundle import BundleModel
from eoforge.predict.groups import GroupRead, bundle_groups, check_tiles, scene_reads
from eoforge.predict.raster import CLASS_NODATA

PathLike = str | os.PathLike[str]


def is_group_bundle(loaded: LoadedBundle) -> bool:
    """Whether a bundle was trained on input groups (``data.inputs``)."""
    return bundle_groups(loaded) is not None


def evaluate_group_scene(
    bundle_dir: PathLike,
    scene: PathLike,
    raw: dict[str, Any],
    out: PathLike,
    *,
    labels: PathLike | None = None,
    tile: int = 256,
) -> dict[str, Any]:
    """Predict a scene folder with a multi-input bundle and score it against its labels.

    Args:
        bundle_dir: Bundle folder written by ``eoforge train`` from ``data.inputs``.
        scene: Scene folder holding the groups' rasters (and, without ``labels``,
            the label raster the training config names).
        raw: The bundle's training config (``experiment.yaml``, as read).
        out: JSON report to write.
        labels: A label raster to score against instead of the scene's own.
        tile: Tile side of the prediction, label-grid pixels.

    Returns:
        The report (also written to ``out``): ``metrics`` ``{accuracy, miou, mean_f1,
        kappa, iou_<class>}``, ``confusion_matrix``, ``groups``, ``absent_groups``,
        ``degraded``, ``pixels``, ``pixels_unpredicted``.

    Raises:
        ConfigError: The scene holds none of the groups' bands, the bundle's classes
            differ from the config's, or the label raster is missing.
    """
    folder, where = Path(bundle_dir), Path(scene)
    model = BundleModel((str(folder),))
    [loaded] = model.load()
    found = bundle_groups(loaded)
    if found is None:
        raise ConfigError(
            "this bundle reads one stack of bands, not input groups.", path=folder
        )  # pragma: no cover - callers check is_group_bundle first
    inputs, reference = found
    data = _scene_data(raw, where, labels, folder)
    sources = [e.source for e in catalog_of([where]).query(kind="image") if e.source is not None]
    reads = scene_reads(loaded, sources)
    ignore = int(raw.get("task", {}).get("ignore_index", 255))
    truth_layer, table, names = _label_reader(data, where, ignore, reads, loaded)
    reading = next(r for r in [*(r for r in reads if r.name == reference), *reads] if r.sources)
    grid = _scoring_grid(truth_layer.label, reading, float(inputs[reference]["gsd"]))
    check_tiles(reads, {"tile": tile, "overlap": 32})
    with tempfile.TemporaryDirectory() as work:
        paths = predict_scene(
            model,
            list(reading.sources),
            grid,
            loaded.bundle.bands,
            Path(work) / "scene",
            spec=OutputSpec.from_bundle(loaded),
            options=TilingOptions(tile, 32, 2, 4 * tile, multiple=32),
            groups=reads,
        )
        with rasterio.open(paths["classes"]) as ds:
            predicted = ds.read(1).astype(np.int64)
    reference_map = np.asarray(truth_layer.read_label(grid)["mask"].numpy(), np.int64)
    if table is not None:  # label values -> class ids, as training mapped them
        inside = (reference_map >= 0) & (reference_map < len(table))
        reference_map = np.where(inside, table[reference_map.clip(0, len(table) - 1)], ignore)
    labelled = reference_map != ignore
    unpredicted = labelled & (predicted == CLASS_NODATA)
    scored = labelled & ~unpredicted
    confusion = ConfusionAccumulator()
    confusion.update(reference_map[scored], predicted[scored])
    matrix = confusion.matrix(list(range(len(names))))
    result = class_metrics(matrix)
    metrics: dict[str, float] = {
        "accuracy": result.overall_accuracy,
        "miou": result.miou,
        "mean_f1": result.mean_f1,
        "kappa": result.kappa,
    }
    metrics |= {f"iou_{name}": float(v) for name, v in zip(names, result.iou, strict=True)}
    absent = [r.name for r in reads if not r.sources]
    report: dict[str, Any] = {
        "bundle": str(folder),
        "data": str(where),
        "split": "scene",
        "labels": str(labels) if labels is not None else "the scene's label layer",
        "metrics": {k: _finite(v) for k, v in metrics.items()},
        "classes": names,
        "confusion_matrix": matrix.tolist(),
        "groups": {
            r.name: {"bands": list(r.bands), "gsd": r.gsd, "files": len(r.sources)} for r in reads
        },
        "absent_groups": absent,
        "degraded": bool(absent),
        "label_grid": {"group": reference, "shape": [grid.shape.y, grid.shape.x]},
        "pixels": int(scored.sum()),
        "pixels_unpredicted": int(unpredicted.sum()),
    }
    write_json(Path(out), report)
    return report


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 6)


def _scene_data(raw: dict[str, Any], scene: Path, labels: PathLike | None, where: Path) -> GeoData:
    """The training data section pointed at the scene (every group read from it)."""
    section = copy.deepcopy(raw["data"])
    for group in (section.get("inputs") or {}).values():
        group.pop("scenes", None)  # the groups of the scene, not the training rasters
    label = section["train"].get("label")
    if labels is not None:
        label = {"kind": "raster", "path": str(labels)}
    if label is None:
        raise ConfigError(
            "the bundle's training config names no label layer to score against.",
            path=where,
            fix="pass --labels LABELS.tif (class values as in training).",
        )
    scenes = {"images": [str(scene)], "label": label}
    section.update(train=scenes, val=copy.deepcopy(scenes))
    if section.get("legend") is not None and section["legend"].get("path") is None:
        section["legend"]["path"] = str(scene)
    config = validate_config({**raw, "data": section}, where)
    assert isinstance(config.data, GeoData)
    return config.data


def _label_reader(
    data: GeoData, scene: Path, ignore: int, reads: list[GroupRead], loaded: LoadedBundle
) -> tuple[GeoDataset, npt.NDArray[np.int64] | None, list[str]]:
    """A dataset reading the scene's label layer, the value -> class id table, the class names.

    Raises:
        ConfigError: The classes differ from the bundle's.
    """
    bands = [b for r in reads if r.sources for b in r.bands]
    split = scene_sources(data.train, bands, scene, "data.train")
    classes = geo_classes(data, split.folder, "segmentation")
    names = [c.name for c in loaded.bundle.classes]
    if names and classes.names != names:
        raise ConfigError(
            f"the scene's classes {classes.names} differ from the bundle's {names}.",
            path=scene,
            fix="score against labels with the classes the bundle was trained on.",
        )
    layer = geo_dataset(split, bands, data.train.label, None, [], ignore)
    return layer, classes.lookup(ignore), names or list(classes.names)


def _scoring_grid(label: Any, reading: GroupRead, gsd: float) -> GeoBox:
    """The scoring grid: the label raster's footprint at the label grid's pixel size.

    Vector labels take the footprint of the first raster of ``reading``.
    """
    if isinstance(label, list) and label:
        grid = HANDLES.grid(label[0].paths[0])
    else:
        first = reading.sources[0]
        grid = first.grid(reading.bands[0])
    if abs(abs(float(grid.resolution.x)) - gsd) < 1e-6:
        return grid
    b = grid.boundingbox
    return grid_from_bounds((b.left, b.bottom, b.right, b.top), grid.crs, gsd)
