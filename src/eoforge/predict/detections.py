"""Object detections: boxes per tile, merged across tile borders into one map-coordinate layer.

The model returns boxes per tile (axis-aligned ``[N, 4]`` or oriented
``[N, 5]``, see :data:`~eoforge.predict.types.Detections`). Boxes that touch
a tile edge shared with a neighbouring tile are cut objects: they are
dropped, since the neighbour, overlapping by ``overlap`` pixels, sees the
object whole (make the overlap larger than the largest object). Every block
keeps its tiles' boxes in the work store; a block is final once its
neighbours are stored: its boxes are those whose centres lie in its own
region after class-aware non-maximum suppression among all boxes within
``overlap`` of it, in a fixed order, so every executor and every resumed run
publishes the same boxes.

Two files are published, streamed block by block (memory does not grow with
the number of boxes) under temporary names and renamed when complete, also
when no box was found: ``<stem>_detections.parquet`` (GeoParquet, box polygons
in the grid's CRS) and ``<stem>_detections.geojson`` (RFC 7946: the same
polygons in WGS84 longitude/latitude, exterior rings counter-clockwise). Both
carry per box: ``class_id``, ``class_name``, ``score``, the centre
``centre_x``/``centre_y`` in the grid's CRS units, ``length_m``/``width_m``
(the long and short sides on the ground, metres), ``angle_deg`` (bearing of the
long side, degrees clockwise from grid north, in ``[0, 180)``) and the box in
grid pixels. On a projected CRS, lengths are the sides' lengths in the CRS's
units (pixel size and rotation included) converted to metres, without the
projection's scale factor (under 0.1 % in UTM); on a geographic CRS they are
geodesic distances on its ellipsoid and the bearing is the geodesic azimuth
from true north (grid north there).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import shapely
import torch
from odc.geo.geobox import GeoBox
from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError

from eoforge.classes import ClassInfo
from eoforge.errors import CRSMismatchError
from eoforge.geo.grid import crs_of
from eoforge.predict.kinds import OutputKind
from eoforge.predict.plan import Block, BlockPlan, Rect, intersect
from eoforge.predict.tables import GeoParquetWriter, StagedFile
from eoforge.predict.types import PredictorOutput, TileInput
from eoforge.predict.work import WorkStore

FloatArray = npt.NDArray[np.float64]

AXIS_ALIGNED = ("x0", "y0", "x1", "y1")
ORIENTED = ("cx", "cy", "w", "h", "angle")
GROUND = ("centre_x", "centre_y", "length_m", "width_m", "angle_deg")
"""Columns of every box on the ground, before its pixel columns."""


@dataclass
class BoxTable:
    """Boxes of a block in grid pixels (x right, y down).

    Attributes:
        boxes: ``[N, 4]`` ``x0, y0, x1, y1`` or ``[N, 5]`` ``cx, cy, w, h, angle``.
        scores: ``[N]`` in 0..1.
        labels: ``[N]`` class ids.
    """

    boxes: FloatArray
    scores: FloatArray
    labels: npt.NDArray[np.int64]

    @classmethod
    def empty(cls, width: int) -> BoxTable:
        """No boxes."""
        return cls(np.zeros((0, width)), np.zeros(0), np.zeros(0, np.int64))

    @classmethod
    def concat(cls, tables: Sequence[BoxTable], width: int) -> BoxTable:
        """All rows of ``tables``, in order."""
        if not tables:
            return cls.empty(width)
        return cls(
            np.concatenate([t.boxes for t in tables]),
            np.concatenate([t.scores for t in tables]),
            np.concatenate([t.labels for t in tables]),
        )

    def take(self, keep: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> BoxTable:
        """The rows selected by ``keep`` (mask or indices)."""
        return BoxTable(self.boxes[keep], self.scores[keep], self.labels[keep])

    def arrays(self) -> dict[str, npt.NDArray[np.float64] | npt.NDArray[np.int64]]:
        """As named arrays (for the work store)."""
        return {"boxes": self.boxes, "scores": self.scores, "labels": self.labels}


@dataclass(frozen=True)
class DetectionSpec(OutputKind[list[BoxTable]]):
    """Boxes or oriented boxes with class and score, merged across tiles.

    Attributes:
        classes: The classes the model's ``labels`` refer to (by id).
        oriented: Boxes are ``[cx, cy, w, h, angle]`` (radians, counter-clockwise as
            seen on the image) instead of ``[x0, y0, x1, y1]``.
        iou: Boxes of one class overlapping more than this (intersection over union)
            are one object; the higher score wins.
        min_score: Boxes scoring below this are dropped.
        edge: A box within this many pixels of a tile edge shared with a neighbour
            is a cut object and is dropped.
    """

    classes: tuple[ClassInfo, ...] = ()
    oriented: bool = False
    iou: float = 0.5
    min_score: float = 0.0
    edge: float = 1.0

    @property
    def width(self) -> int:
        """Numbers per box (4 or 5)."""
        return 5 if self.oriented else 4

    def describe(self) -> dict[str, object]:
        """JSON-ready description (part of the resume fingerprint)."""
        return {
            "output": "detections",
            "classes": [[c.id, c.name, c.color] for c in self.classes],
            "oriented": self.oriented,
            "iou": self.iou,
            "min_score": self.min_score,
            "edge": self.edge,
        }

    def products(self) -> list[str]:
        """One layer in two files: ``detections`` (GeoParquet) and ``detections_geojson``."""
        return ["detections", "detections_geojson"]

    # -- blocks ---------------------------------------------------------------

    def begin(self, plan: BlockPlan, block: Block) -> list[BoxTable]:
        """No boxes yet."""
        return []

    def add(
        self,
        plan: BlockPlan,
        state: list[BoxTable],
        items: Sequence[TileInput],
        output: PredictorOutput,
    ) -> None:
        """Move each tile's boxes to grid pixels, dropping cut and low-scoring ones."""
        if isinstance(output, torch.Tensor) or len(output) != len(items):
            raise ValueError(
                "a detection model must return one dict of boxes, scores and labels per tile"
            )
        height, width = plan.grid.shape.y, plan.grid.shape.x
        for item, found in zip(items, output, strict=True):
            table = self._table(found)
            row, col, h, w = item.tile.window
            table.boxes[:, 0] += col
            table.boxes[:, 1] += row
            if not self.oriented:
                table.boxes[:, 2] += col
                table.boxes[:, 3] += row
            x0, y0, x1, y1 = _envelopes(table.boxes).T
            cut = (
                ((x0 <= col + self.edge) & (col > 0))
                | ((y0 <= row + self.edge) & (row > 0))
                | ((x1 >= col + w - self.edge) & (col + w < width))
                | ((y1 >= row + h - self.edge) & (row + h < height))
            )
            state.append(table.take(~cut & (table.scores >= self.min_score)))

    def _table(self, found: object) -> BoxTable:
        try:
            boxes = found["boxes"].detach().double().cpu().numpy()  # type: ignore[index]
            scores = found["scores"].detach().double().cpu().numpy()  # type: ignore[index]
            labels = found["labels"].detach().long().cpu().numpy()  # type: ignore[index]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(
                "a detection model must return dicts of tensors 'boxes', 'scores', 'labels'"
            ) from exc
        if boxes.ndim != 2 or boxes.shape[1] != self.width or len(scores) != len(boxes):
            raise ValueError(
                f"boxes of shape {tuple(boxes.shape)} with {len(scores)} scores; expected"
                f" [N, {self.width}] ({', '.join(ORIENTED if self.oriented else AXIS_ALIGNED)})"
            )
        return BoxTable(boxes.copy(), scores, labels)

    def store(self, work: WorkStore, plan: BlockPlan, block: Block, state: list[BoxTable]) -> None:
        """Keep the block's boxes (all its tiles) in the work store."""
        work.save_arrays(block, "boxes", BoxTable.concat(state, self.width).arrays())

    def dependencies(self, plan: BlockPlan, block: Block) -> list[Block]:
        """Blocks whose tiles reach within ``overlap`` of ``block``'s own region."""
        grown = _grow(block.own, plan.overlap)
        return [b for b in plan.blocks if intersect(b.extent, grown) is not None]

    def finalize(self, work: WorkStore, plan: BlockPlan, block: Block) -> None:
        """Suppress duplicates among the boxes near ``block``; keep those centred in it."""
        grown = _grow(block.own, plan.overlap)
        near = []
        for b in self.dependencies(plan, block):
            table = _load(work, b)
            cx, cy = _centres(table.boxes)
            near.append(table.take(_inside(cx, cy, grown)))
        table = BoxTable.concat(near, self.width)
        table = table.take(_order(table))
        table = table.take(nms(table, self.iou, oriented=self.oriented))
        cx, cy = _centres(table.boxes)
        work.save_arrays(block, "final", table.take(_inside(cx, cy, block.own)).arrays())

    # -- publishing -----------------------------------------------------------

    def publish(self, work: WorkStore, plan: BlockPlan, stem: Path) -> dict[str, Path]:
        """Write every block's final boxes to ``<stem>_detections.parquet`` and ``.geojson``.

        Both files are streamed block by block under temporary names, each renamed into
        place once complete (the GeoParquet first); with no boxes they are valid empty
        layers. The columns are those of :meth:`columns`.

        Raises:
            CRSMismatchError: The grid's CRS cannot be transformed to WGS84 for the GeoJSON.
        """
        parquet = stem.with_name(f"{stem.name}_detections.parquet")
        geojson = stem.with_name(f"{stem.name}_detections.geojson")
        crs = crs_of(plan.grid).proj
        coords = ORIENTED if self.oriented else AXIS_ALIGNED
        fields = [
            pa.field("class_id", pa.int32()),
            pa.field("class_name", pa.string()),
            pa.field("score", pa.float32()),
            *[pa.field(name, pa.float64()) for name in (*GROUND, *coords)],
        ]
        lengths = "geodesic" if crs.is_geographic else "grid"
        meta = {
            "eoforge": {"output": "detections", "pixel_columns": list(coords), "lengths": lengths}
        }
        to_wgs84 = _wgs84(crs, plan.grid, geojson)
        with (
            GeoParquetWriter(parquet, crs.to_wkt(), fields, ["Polygon"], metadata=meta) as writer,
            _GeoJSONWriter(geojson) as features,
        ):
            for block in plan.blocks:
                table = _load(work, block, "final")
                columns = self.columns(table, plan.grid)
                writer.write(columns, box_polygons(table.boxes, plan.grid.affine))
                features.write(columns, _wgs84_rings(table.boxes, plan.grid, to_wgs84, geojson))
            writer.publish()
            features.publish()
        return {"detections": parquet, "detections_geojson": geojson}

    def columns(self, table: BoxTable, grid: GeoBox) -> dict[str, object]:
        """The published columns of ``table``'s boxes on ``grid`` (all but the geometry)."""
        names = {c.id: c.name for c in self.classes}
        coords = ORIENTED if self.oriented else AXIS_ALIGNED
        return {
            "class_id": table.labels.astype(np.int32),
            "class_name": [names.get(int(i), str(int(i))) for i in table.labels],
            "score": table.scores.astype(np.float32),
            **box_ground(table.boxes, grid),
            **{name: table.boxes[:, i] for i, name in enumerate(coords)},
        }


def _load(work: WorkStore, block: Block, name: str = "boxes") -> BoxTable:
    arrays = work.load_arrays(block, name)
    return BoxTable(arrays["boxes"], arrays["scores"], arrays["labels"])


def _grow(rect: Rect, margin: int) -> Rect:
    return (rect[0] - margin, rect[1] - margin, rect[2] + margin, rect[3] + margin)


def _centres(boxes: FloatArray) -> tuple[FloatArray, FloatArray]:
    if boxes.shape[1] == 5:
        return boxes[:, 0], boxes[:, 1]
    return (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2


def _inside(cx: FloatArray, cy: FloatArray, rect: Rect) -> npt.NDArray[np.bool_]:
    """Centres in ``rect`` (half-open, so own regions share no centre)."""
    return (cy >= rect[0]) & (cy < rect[2]) & (cx >= rect[1]) & (cx < rect[3])


def _order(table: BoxTable) -> npt.NDArray[np.intp]:
    """Highest score first; ties broken by class, then position: the same order everywhere."""
    keys = [table.boxes[:, i] for i in reversed(range(table.boxes.shape[1]))]
    return np.lexsort([*keys, table.labels, -table.scores])


def corners(boxes: FloatArray) -> npt.NDArray[np.float64]:
    """``[N, 4, 2]`` corners ``(x, y)`` of axis-aligned ``[N, 4]`` or oriented ``[N, 5]`` boxes."""
    if boxes.shape[1] == 4:
        x0, y0, x1, y1 = boxes.T
        return np.stack(
            [
                np.stack([x0, y0], 1),
                np.stack([x1, y0], 1),
                np.stack([x1, y1], 1),
                np.stack([x0, y1], 1),
            ],
            axis=1,
        )
    cx, cy, w, h, angle = boxes.T
    # counter-clockwise on the image, whose y axis points down
    u = np.stack([np.cos(angle), -np.sin(angle)], 1) * (w / 2)[:, None]
    v = np.stack([np.sin(angle), np.cos(angle)], 1) * (h / 2)[:, None]
    c = np.stack([cx, cy], 1)
    return np.stack([c - u - v, c + u - v, c + u + v, c - u + v], axis=1)


def _envelopes(boxes: FloatArray) -> FloatArray:
    """``[N, 4]`` axis-aligned envelopes ``x0, y0, x1, y1``."""
    if boxes.shape[1] == 4:
        return boxes
    pts = corners(boxes)
    return np.concatenate([pts.min(axis=1), pts.max(axis=1)], axis=1)


def _axes(boxes: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``[N, 2]`` half-side vectors ``u`` (along ``w`` or x) and ``v`` (along ``h`` or y), px."""
    if boxes.shape[1] == 4:
        zeros = np.zeros(len(boxes))
        return (
            np.stack([(boxes[:, 2] - boxes[:, 0]) / 2, zeros], 1),
            np.stack([zeros, (boxes[:, 3] - boxes[:, 1]) / 2], 1),
        )
    _, _, w, h, angle = boxes.T
    # as in corners(): counter-clockwise on the image, whose y axis points down
    u = np.stack([np.cos(angle), -np.sin(angle)], 1) * (w / 2)[:, None]
    v = np.stack([np.sin(angle), np.cos(angle)], 1) * (h / 2)[:, None]
    return u, v


def _to_map(points: FloatArray, affine: object) -> tuple[FloatArray, FloatArray]:
    """Map ``x, y`` of grid-pixel ``points`` ``[..., 2]`` through ``affine``."""
    a, b, c, d, e, f = list(affine)[:6]  # type: ignore[call-overload]
    x, y = points[..., 0], points[..., 1]
    return a * x + b * y + c, d * x + e * y + f


def box_ground(boxes: FloatArray, grid: GeoBox) -> dict[str, FloatArray]:
    """Where boxes lie on the ground: centre, side lengths in metres and bearing.

    Args:
        boxes: ``[N, 4]`` ``x0, y0, x1, y1`` or ``[N, 5]`` ``cx, cy, w, h, angle`` in
            ``grid``'s pixels (angle in radians, counter-clockwise as displayed).
        grid: The grid the pixels belong to (any CRS, pixel size and rotation).

    Returns:
        ``[N]`` arrays: ``centre_x``, ``centre_y`` (map coordinates, the CRS's units),
        ``length_m`` and ``width_m`` (the longer and shorter side, metres; the ``w``
        side counts as the longer one on a tie), ``angle_deg`` (the longer side's
        bearing, degrees clockwise from grid north, in ``[0, 180)``). A projected
        CRS's lengths are its units converted to metres (no scale-factor
        correction); a geographic CRS's are geodesics on its ellipsoid, with the
        geodesic azimuth as bearing.
    """
    n = len(boxes)
    cx, cy = _centres(boxes)
    centre = np.stack([cx, cy], 1)
    u, v = _axes(boxes)
    mid_x, mid_y = _to_map(centre, grid.affine)
    crs = crs_of(grid).proj
    sides = []  # (length in metres, bearing in degrees) of the w side, then the h side
    for half in (u, v):
        x0, y0 = _to_map(centre - half, grid.affine)
        x1, y1 = _to_map(centre + half, grid.affine)
        if crs.is_geographic and n:
            geod = crs.get_geod()
            assert geod is not None  # every geographic CRS has an ellipsoid
            azimuth, _, metres = geod.inv(x0, y0, x1, y1)
            sides.append((np.asarray(metres, np.float64), np.asarray(azimuth, np.float64)))
        else:
            unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
            dx, dy = x1 - x0, y1 - y0
            sides.append((np.hypot(dx, dy) * unit, np.degrees(np.arctan2(dx, dy))))
    (w_len, w_bearing), (h_len, h_bearing) = sides
    long = w_len >= h_len
    angle = np.mod(np.where(long, w_bearing, h_bearing), 180.0)
    angle[angle >= 180.0] = 0.0  # np.mod of a tiny negative number gives 180.0
    return {
        "centre_x": mid_x,
        "centre_y": mid_y,
        "length_m": np.where(long, w_len, h_len),
        "width_m": np.where(long, h_len, w_len),
        "angle_deg": angle,
    }


def box_polygons(boxes: FloatArray, affine: object) -> npt.NDArray[np.object_]:
    """Shapely polygons of ``boxes`` (grid pixels) in map coordinates through ``affine``."""
    x, y = _to_map(corners(boxes), affine)
    return np.asarray(shapely.polygons(np.stack([x, y], axis=-1)), dtype=object)


def _wgs84(crs: CRS, grid: GeoBox, path: Path) -> Transformer:
    """The transformer from ``crs`` to WGS84 longitude/latitude, checked on the grid's centre.

    Raises:
        CRSMismatchError: ``crs`` cannot be transformed to WGS84.
    """
    transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    centre = np.array([[grid.shape.x / 2, grid.shape.y / 2]])
    x, y = _to_map(centre, grid.affine)
    try:
        lon, lat = transformer.transform(x, y, errcheck=True)
    except ProjError:
        lon = lat = np.array([np.inf])
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise CRSMismatchError(
            f"the grid's CRS ({crs.name}) cannot be transformed to EPSG:4326 for the GeoJSON.",
            path=path,
            fix="predict on a grid in a CRS tied to the Earth (e.g. its UTM zone).",
        )
    return transformer


def _wgs84_rings(
    boxes: FloatArray, grid: GeoBox, transformer: Transformer, path: Path
) -> npt.NDArray[np.float64]:
    """``[N, 5, 2]`` closed, counter-clockwise rings of the boxes in longitude/latitude."""
    x, y = _to_map(corners(boxes), grid.affine)
    try:
        lon, lat = transformer.transform(x, y, errcheck=True)
    except ProjError as exc:
        raise CRSMismatchError(
            f"boxes of the grid's CRS ({crs_of(grid).proj.name}) could not be transformed to"
            f" EPSG:4326 for the GeoJSON: {exc}",
            path=path,
            fix="predict on a grid in a CRS tied to the Earth (e.g. its UTM zone).",
        ) from exc
    ring = np.stack([np.asarray(lon, np.float64), np.asarray(lat, np.float64)], axis=-1)
    ring = ring.reshape(len(boxes), 4, 2)
    nxt = np.roll(ring, -1, axis=1)
    area = (ring[..., 0] * nxt[..., 1] - nxt[..., 0] * ring[..., 1]).sum(axis=1)
    ring[area < 0] = ring[area < 0][:, ::-1]  # RFC 7946: exterior rings counter-clockwise
    return np.concatenate([ring, ring[:, :1]], axis=1)


class _GeoJSONWriter(StagedFile):
    """Writes a GeoJSON FeatureCollection of polygons in batches, renamed when complete.

    Args:
        path: Final path (``.geojson``).
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.rows = 0
        self._file: IO[str] | None = self.tmp.open("w", encoding="utf-8")
        self._file.write('{"type": "FeatureCollection", "features": [')

    def write(self, columns: Mapping[str, object], rings: npt.NDArray[np.float64]) -> None:
        """Append one feature per ring (``[N, 5, 2]``) with the row's ``columns`` as properties."""
        if self._file is None:
            raise RuntimeError(f"{self.path}: the writer is closed")
        values = {name: _json_values(column) for name, column in columns.items()}
        for i, ring in enumerate(rings.tolist()):
            feature = {
                "type": "Feature",
                "properties": {name: column[i] for name, column in values.items()},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
            self._file.write(("\n" if self.rows == 0 else ",\n") + json.dumps(feature))
            self.rows += 1

    def close(self, complete: bool) -> None:
        """Close the file, ending the collection when ``complete``."""
        if self._file is not None:
            if complete:
                self._file.write("\n]}\n")
            self._file.close()
            self._file = None


def _json_values(column: object) -> list[object]:
    """Plain Python values of a column; float32 as its shortest decimal (0.99, not 0.9900000095)."""
    if isinstance(column, np.ndarray):
        if column.dtype == np.float32:
            return [float(str(x)) for x in column]
        return list(column.tolist())
    assert isinstance(column, Sequence)
    return list(column)


def nms(table: BoxTable, iou: float, *, oriented: bool = False) -> npt.NDArray[np.intp]:
    """Greedy class-aware non-maximum suppression over rows already in priority order.

    Args:
        table: Boxes, best first.
        iou: Suppress a box whose intersection over union with a kept box of the
            same class exceeds this.
        oriented: Boxes are ``[cx, cy, w, h, angle]`` (IoU of their polygons).

    Returns:
        Indices of the kept rows, in order.
    """
    n = len(table.scores)
    if n == 0:
        return np.zeros(0, np.intp)
    env = _envelopes(table.boxes)
    polys = np.asarray(shapely.polygons(corners(table.boxes)), object) if oriented else None
    areas = (
        np.asarray(shapely.area(polys), np.float64)
        if polys is not None
        else (env[:, 2] - env[:, 0]) * (env[:, 3] - env[:, 1])
    )
    alive = np.ones(n, bool)
    keep = []
    for i in range(n):
        if not alive[i]:
            continue
        keep.append(i)
        rest = np.flatnonzero(alive[i + 1 :]) + i + 1
        rest = rest[table.labels[rest] == table.labels[i]]
        if len(rest) == 0:
            continue
        w = np.minimum(env[i, 2], env[rest, 2]) - np.maximum(env[i, 0], env[rest, 0])
        h = np.minimum(env[i, 3], env[rest, 3]) - np.maximum(env[i, 1], env[rest, 1])
        touching = rest[(w > 0) & (h > 0)]
        if len(touching) == 0:
            continue
        if polys is not None:
            inter = np.asarray(
                shapely.area(shapely.intersection(polys[i], polys[touching])), np.float64
            )
        else:
            wt = np.minimum(env[i, 2], env[touching, 2]) - np.maximum(env[i, 0], env[touching, 0])
            ht = np.minimum(env[i, 3], env[touching, 3]) - np.maximum(env[i, 1], env[touching, 1])
            inter = wt * ht
        union = areas[i] + areas[touching] - inter
        overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        alive[touching[overlap > iou]] = False
    return np.asarray(keep, np.intp)
