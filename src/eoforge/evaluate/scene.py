"""Score a predicted map against a reference raster or vector layer, whatever their grids.

The prediction's grid is the scoring grid: the reference is warped onto it
(nearest for classes; average when it is finer, bilinear when it is coarser,
for values) or, for a vector layer, burnt onto it. Only the overlap of the two
is read, in blocks of rows, so memory depends on ``block`` and the scene
width, never on the scene height.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from eoforge.errors import (
    ConfigError,
    LabelsOutsideSceneError,
    MissingFileError,
    NotGeoreferencedError,
    UnreadableFileError,
    available_list,
)
from eoforge.evaluate.metrics import (
    ConfusionAccumulator,
    FloatArray,
    Int64Array,
    RegressionAccumulator,
    class_metrics,
)
from eoforge.geo.format import bounds_label, crs_label
from eoforge.geo.grid import crs_of, make_grid, sub_grid
from eoforge.io.vector import read_vector, to_grid_crs
from eoforge.io.vector.reading import geometries

Kind = Literal["classes", "regression"]
PathLike = str | os.PathLike[str]

VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".parquet", ".geoparquet", ".fgb")
"""Reference files with these suffixes are read as vector layers, others as rasters."""

Window4 = tuple[int, int, int, int]  # row0, col0, row1, col1 in prediction pixels (ends excluded)
BlockReader = Callable[[int, int, int, int], FloatArray]
"""``(row, col, height, width)`` → reference values float64 ``[height, width]``, NaN where none."""


def _empty_floats() -> FloatArray:
    return np.zeros(0, np.float64)


def _empty_matrix() -> Int64Array:
    return np.zeros((0, 0), np.int64)


@dataclass(frozen=True, eq=False)
class SceneScore:
    """Agreement of a predicted map with its reference over their overlap.

    Class fields are empty/NaN for regression scores and vice versa. Per-class
    arrays follow ``class_ids``; undefined values (a class in neither map) are NaN.

    Attributes:
        kind: ``"classes"`` or ``"regression"``.
        prediction: Path of the predicted map.
        reference: Path of the reference raster or vector layer.
        pixels: Pixels scored (valid in both maps, not ignored).
        class_ids: Class values, ascending.
        class_names: Name per class.
        class_colors: ``"#rrggbb"`` per class from the prediction's colour table, or None
            (also for black entries, which GeoTIFF uses to pad its table).
        confusion_matrix: int64 ``[K, K]``; rows = reference, columns = prediction.
        iou: Intersection over union per class.
        precision: Correct / predicted pixels per class.
        recall: Correct / reference pixels per class.
        f1: F1 score per class.
        support: Reference pixels per class.
        overall_accuracy: Fraction of scored pixels whose classes agree.
        miou: Mean IoU over classes present in the reference or the prediction.
        mean_f1: Mean F1 over the same classes.
        kappa: Cohen's kappa.
        mae: Mean absolute error, in the maps' units.
        rmse: Root mean squared error, in the maps' units.
        bias: Mean of prediction minus reference, in the maps' units.
        r2: Coefficient of determination.
    """

    kind: Kind
    prediction: str
    reference: str
    pixels: int
    class_ids: tuple[int, ...] = ()
    class_names: tuple[str, ...] = ()
    class_colors: tuple[str | None, ...] = ()
    confusion_matrix: Int64Array = field(default_factory=_empty_matrix)
    iou: FloatArray = field(default_factory=_empty_floats)
    precision: FloatArray = field(default_factory=_empty_floats)
    recall: FloatArray = field(default_factory=_empty_floats)
    f1: FloatArray = field(default_factory=_empty_floats)
    support: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    overall_accuracy: float = math.nan
    miou: float = math.nan
    mean_f1: float = math.nan
    kappa: float = math.nan
    mae: float = math.nan
    rmse: float = math.nan
    bias: float = math.nan
    r2: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping of the score; NaN becomes None."""
        head: dict[str, Any] = {
            "kind": self.kind,
            "prediction": self.prediction,
            "reference": self.reference,
            "pixels": self.pixels,
        }
        if self.kind == "regression":
            return head | {name: _number(getattr(self, name)) for name in _REGRESSION_KEYS}
        per_class = [
            {
                "id": class_id,
                "name": self.class_names[i],
                "color": self.class_colors[i],
                "iou": _number(self.iou[i]),
                "f1": _number(self.f1[i]),
                "precision": _number(self.precision[i]),
                "recall": _number(self.recall[i]),
                "support": int(self.support[i]),
            }
            for i, class_id in enumerate(self.class_ids)
        ]
        return head | {
            "overall_accuracy": _number(self.overall_accuracy),
            "miou": _number(self.miou),
            "mean_f1": _number(self.mean_f1),
            "kappa": _number(self.kappa),
            "class_ids": list(self.class_ids),
            "class_names": list(self.class_names),
            "class_colors": list(self.class_colors),
            "per_class": per_class,
            "confusion_matrix": self.confusion_matrix.tolist(),
        }

    def save(self, path: PathLike) -> Path:
        """Write :meth:`to_dict` as JSON through a temporary name, then rename it to ``path``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            staging.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
            os.replace(staging, target)
        finally:
            staging.unlink(missing_ok=True)
        return target


_REGRESSION_KEYS = ("mae", "rmse", "bias", "r2")


def _number(value: float | np.floating[Any]) -> float | None:
    return None if math.isnan(value) else float(value)


def evaluate_maps(
    prediction: PathLike,
    reference: PathLike,
    *,
    kind: Kind = "classes",
    label_field: str | None = None,
    ignore: Sequence[float] = (),
    classes: Mapping[int, str] | None = None,
    block: int = 1024,
    band: int = 1,
) -> SceneScore:
    """Score a predicted map against a reference on the prediction's grid.

    Args:
        prediction: Single-band GeoTIFF: a class map (integers, e.g. uint8 with
            nodata 255) or values (e.g. float32) with its nodata.
        reference: Label raster in any CRS, resolution and extent, or a vector
            layer (GeoJSON, GeoPackage, GeoParquet, Shapefile, FlatGeobuf) whose
            ``label_field`` holds integer classes (numbers for regression).
            Vector features are burnt where they cover pixel centres, smaller
            ones on top of larger ones; pixels no feature covers are not scored.
        kind: ``"classes"`` (confusion matrix, IoU, kappa...) or ``"regression"``
            (MAE, RMSE, bias, R²).
        label_field: Attribute of a vector reference to score against.
        ignore: Values that exclude a pixel when found in either map (e.g. 0 for
            "unlabelled"); nodata of either map is always excluded.
        classes: Class id → name, for ids the prediction's ``CLASS_<id>`` band
            tags do not name.
        block: Prediction rows read per step; memory grows with it.
        band: Band of a raster reference to use (1-based).

    Returns:
        The score over pixels valid in both maps.

    Raises:
        MissingFileError: A file does not exist.
        UnreadableFileError: A file cannot be opened as a raster.
        NotGeoreferencedError: A raster has no CRS or geotransform.
        ConfigError: Multi-band or float class prediction, missing or
            non-numeric ``label_field``, bad ``band`` or ``block``.
        LabelsOutsideSceneError: The maps do not overlap, or no overlapping
            pixel is valid in both.
    """
    if block < 1:
        raise ConfigError(f"block must be a positive number of rows, not {block}.")
    pred_path, ref_path = Path(prediction), Path(reference)
    with _opened(pred_path) as pred:
        _check_prediction(pred, pred_path, kind)
        grid = make_grid(pred.shape, pred.transform, pred.crs)
        with _reference(ref_path, pred_path, grid, kind, label_field, band) as (read_ref, window):
            blocks = _blocks(pred, read_ref, window, block, np.asarray(ignore, np.float64))
            if kind == "regression":
                return _score_regression(blocks, pred_path, ref_path)
            return _score_classes(blocks, pred, pred_path, ref_path, classes or {}, ignore)


Pairs = Iterator[tuple[FloatArray, FloatArray]]  # (reference, prediction) of valid pixels


def _blocks(
    pred: rasterio.io.DatasetReader,
    read_ref: BlockReader,
    window: Window4,
    block: int,
    ignore: FloatArray,
) -> Pairs:
    row0, col0, row1, col1 = window
    for row in range(row0, row1, block):
        height = min(block, row1 - row)
        values = pred.read(1, window=Window(col0, row, col1 - col0, height)).astype(np.float64)
        ref = read_ref(row, col0, height, col1 - col0)
        valid = np.isfinite(values) & ~np.isnan(ref)
        if pred.nodata is not None and not math.isnan(pred.nodata):
            valid &= values != pred.nodata
        if ignore.size:
            valid &= ~np.isin(values, ignore) & ~np.isin(ref, ignore)
        yield ref[valid], values[valid]


def _score_regression(blocks: Pairs, pred_path: Path, ref_path: Path) -> SceneScore:
    acc = RegressionAccumulator()
    for ref, values in blocks:
        acc.update(ref, values)
    _check_scored(acc.pixels, pred_path, ref_path)
    result = acc.result()
    return SceneScore(
        kind="regression",
        prediction=str(pred_path),
        reference=str(ref_path),
        pixels=result.pixels,
        mae=result.mae,
        rmse=result.rmse,
        bias=result.bias,
        r2=result.r2,
    )


def _score_classes(
    blocks: Pairs,
    pred: rasterio.io.DatasetReader,
    pred_path: Path,
    ref_path: Path,
    classes: Mapping[int, str],
    ignore: Sequence[float],
) -> SceneScore:
    acc = ConfusionAccumulator()
    for ref, values in blocks:
        acc.update(np.rint(ref).astype(np.int64), values.astype(np.int64))
    tags = _tag_names(pred)
    names = {**{int(k): str(v) for k, v in classes.items()}, **tags}
    ids = sorted((set(acc.ids()) | set(tags)) - {int(v) for v in ignore if float(v).is_integer()})
    confusion = acc.matrix(ids)
    pixels = int(confusion.sum())
    _check_scored(pixels, pred_path, ref_path)
    colors = _colors(pred)
    return SceneScore(
        kind="classes",
        prediction=str(pred_path),
        reference=str(ref_path),
        pixels=pixels,
        class_ids=tuple(ids),
        class_names=tuple(names.get(i, str(i)) for i in ids),
        class_colors=tuple(colors.get(i) for i in ids),
        confusion_matrix=confusion,
        **vars(class_metrics(confusion)),
    )


def _tag_names(pred: rasterio.io.DatasetReader) -> dict[int, str]:
    names: dict[int, str] = {}
    for key, value in pred.tags(1).items():
        suffix = key.removeprefix("CLASS_")
        if suffix != key and suffix.lstrip("-").isdigit():
            names[int(suffix)] = value
    return names


def _colors(pred: rasterio.io.DatasetReader) -> dict[int, str]:
    try:
        table = pred.colormap(1)
    except ValueError:  # rasterio's way of saying "no colour table"
        return {}
    # A GeoTIFF stores 256 entries and pads unset ones with black, so black cannot be
    # told apart from "no colour"; leaving it out lets a plot pick a visible colour.
    return {
        int(i): f"#{r:02x}{g:02x}{b:02x}"
        for i, (r, g, b, *_) in table.items()
        if (r, g, b) != (0, 0, 0)
    }


def _check_scored(pixels: int, pred_path: Path, ref_path: Path) -> None:
    if pixels == 0:
        raise LabelsOutsideSceneError(
            f"overlaps {pred_path.name}, but no overlapping pixel is valid in both maps.",
            path=ref_path,
            fix="check the nodata values of both files and the ignored values.",
        )


# --------------------------------------------------------------------------- opening files


@contextmanager
def _opened(path: Path) -> Iterator[rasterio.io.DatasetReader]:
    if not path.exists():
        raise MissingFileError("file does not exist.", path=path, fix="check the path.")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise UnreadableFileError(
            f"cannot be opened as a raster ({exc}).",
            path=path,
            fix="pass a GeoTIFF (or another raster GDAL reads); vector layers need a suffix "
            f"among {', '.join(VECTOR_SUFFIXES)}.",
        ) from exc
    with src:
        if src.crs is None or src.transform.is_identity:
            raise NotGeoreferencedError(
                "has no CRS or geotransform, so it cannot be placed on a map.",
                path=path,
                fix="write it with its georeferencing (gdal_translate -a_srs ... -a_ullr ...).",
            )
        yield src


def _check_prediction(pred: rasterio.io.DatasetReader, path: Path, kind: Kind) -> None:
    if pred.count != 1:
        raise ConfigError(
            f"has {pred.count} bands, but a predicted map has one.",
            path=path,
            fix="pass the class or value map itself, or extract one band: gdal_translate -b N.",
        )
    if kind == "classes" and np.dtype(pred.dtypes[0]).kind == "f":
        raise ConfigError(
            f"holds {pred.dtypes[0]} values, but a class map holds integers.",
            path=path,
            fix="score values with kind='regression' (--regression on the command line).",
        )


def _outside(ref_path: Path, pred_path: Path, grid: GeoBox, ref_bounds: str) -> Exception:
    bb = grid.boundingbox
    return LabelsOutsideSceneError(
        f"lies entirely outside {pred_path.name} (bounds {bounds_label(bb, grid.crs)} in "
        f"{crs_label(grid.crs)}); {ref_path.name} covers {ref_bounds}.",
        path=ref_path,
        fix="check that both files cover the same place and that their CRSs are right.",
    )


def _window(bounds: Sequence[float], grid: GeoBox) -> Window4 | None:
    """Prediction pixels touching ``bounds`` (in the grid's CRS), or None when none do."""
    left, bottom, right, top = bounds
    inverse = ~grid.affine
    corners = [inverse @ xy for xy in ((left, top), (right, top), (left, bottom), (right, bottom))]
    cols, rows = [c for c, _ in corners], [r for _, r in corners]
    # floor(max) + 1 keeps a point or a line along a pixel edge inside the window.
    row0, col0 = max(0, math.floor(min(rows))), max(0, math.floor(min(cols)))
    row1 = min(grid.shape.y, math.floor(max(rows)) + 1)
    col1 = min(grid.shape.x, math.floor(max(cols)) + 1)
    return (row0, col0, row1, col1) if row1 > row0 and col1 > col0 else None


# --------------------------------------------------------------------------- reference readers


@contextmanager
def _reference(
    path: Path,
    pred_path: Path,
    grid: GeoBox,
    kind: Kind,
    label_field: str | None,
    band: int,
) -> Iterator[tuple[BlockReader, Window4]]:
    if path.suffix.lower() in VECTOR_SUFFIXES:
        yield _vector_reference(path, pred_path, grid, kind, label_field)
        return
    with _raster_reference(path, pred_path, grid, kind, band) as reader:
        yield reader


@contextmanager
def _raster_reference(
    path: Path, pred_path: Path, grid: GeoBox, kind: Kind, band: int
) -> Iterator[tuple[BlockReader, Window4]]:
    with _opened(path) as src:
        if not 1 <= band <= src.count:
            raise ConfigError(
                f"has {src.count} band(s); band {band} does not exist.",
                path=path,
                fix=f"choose a band from 1 to {src.count}.",
            )
        ref_grid = make_grid(src.shape, src.transform, src.crs)
        # Intersect in the reference's CRS: the prediction's footprint is the one
        # that reprojects well (a global reference would not fit in a UTM zone).
        overlap = grid.extent.to_crs(crs_of(ref_grid)) & ref_grid.extent
        empty = overlap.is_empty or overlap.area <= 0
        window = None if empty else _window(overlap.to_crs(crs_of(grid)).boundingbox, grid)
        if window is None:
            bb = ref_grid.boundingbox
            bounds = f"{bounds_label(bb, src.crs)} in {crs_label(src.crs)}"
            raise _outside(path, pred_path, grid, bounds)
        with WarpedVRT(
            src,
            crs=crs_of(grid).to_wkt(),
            transform=grid.affine,
            width=grid.shape.x,
            height=grid.shape.y,
            resampling=_resampling(kind, ref_grid, grid),
            dtype="float64",
            nodata=math.nan,  # a float64 NaN cannot collide with any class or value
        ) as vrt:

            def read(row: int, col: int, height: int, width: int) -> FloatArray:
                values: FloatArray = vrt.read(band, window=Window(col, row, width, height))
                return values

            yield read, window


def _resampling(kind: Kind, ref_grid: GeoBox, grid: GeoBox) -> Resampling:
    if kind == "classes":
        return Resampling.nearest
    # Compare pixel areas on the ground in the prediction's CRS.
    ref_area = ref_grid.extent.to_crs(crs_of(grid)).area / (ref_grid.shape.x * ref_grid.shape.y)
    pred_area = abs(grid.affine.determinant)
    return Resampling.average if ref_area < pred_area else Resampling.bilinear


def _vector_reference(
    path: Path, pred_path: Path, grid: GeoBox, kind: Kind, label_field: str | None
) -> tuple[BlockReader, Window4]:
    layer = read_vector(path)
    fields = [str(c) for c in layer.columns if c != layer.geometry.name]
    if label_field is None or label_field not in layer.columns:
        what = f"has no field {label_field!r}" if label_field else "no label field was named"
        raise ConfigError(
            f"{what}; its fields are {available_list(fields)}.",
            path=path,
            fix="name the field holding the labels (label_field=..., --field on the command line).",
        )
    _check_field(layer[label_field], label_field, kind, path)
    placed = to_grid_crs(layer, grid, allow_empty=True)
    shapes = geometries(placed)
    window = _window(shapely.total_bounds(shapes).tolist(), grid) if len(placed) else None
    if window is None:
        bounds = f"{bounds_label(layer.total_bounds.tolist(), layer.crs)} in {crs_label(layer.crs)}"
        raise _outside(path, pred_path, grid, bounds)
    # Burn large features first so smaller ones inside them stay on top, as
    # eoforge.io.vector.rasterize_labels does; area taken once on the whole layer
    # so that every block burns in the same order.
    order = np.argsort(-shapely.area(shapes), kind="stable")
    shapes = shapes[order]
    values = placed[label_field].to_numpy(dtype=np.float64)[order]
    tree = shapely.STRtree(shapes)

    def read(row: int, col: int, height: int, width: int) -> FloatArray:
        part = sub_grid(grid, row, col, height, width)
        hits = np.sort(tree.query(part.extent.geom))
        if not hits.size:
            return np.full((height, width), np.nan)
        burnt: FloatArray = rasterio.features.rasterize(
            zip(shapes[hits], values[hits].tolist(), strict=True),
            out_shape=(height, width),
            transform=part.affine,
            fill=np.nan,
            dtype="float64",
        )
        return burnt

    return read, window


def _check_field(column: pd.Series[Any], name: str, kind: Kind, path: Path) -> None:
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    values = column.to_numpy(dtype=np.float64) if numeric else np.empty(0)
    whole = numeric and bool(np.all(np.isnan(values) | (values == np.round(values))))
    if numeric and (kind == "regression" or whole):
        return
    examples = available_list([str(v) for v in column.unique()], limit=5)
    wanted = "numbers" if kind == "regression" else "integer class ids"
    raise ConfigError(
        f"field {name!r} must hold {wanted}, but holds {examples}.",
        path=path,
        fix="name a field holding them, or convert the field first.",
    )
