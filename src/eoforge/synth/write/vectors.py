"""Vector labels: building footprints, field parcels, road centre-lines and object boxes.

The polygons are enumerated from the same hashed parameters as the rasters
(:mod:`~eoforge.synth.world.buildings`, :mod:`~eoforge.synth.world.parcels`,
:mod:`~eoforge.synth.world.roads`), so rasterizing them on the base grid
reproduces the class map (buildings exactly, fields up to roads and water
painted over them). Coordinates are in the scene CRS; each layer is written
as GeoParquet and GeoJSON under ``vectors/``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
from odc.geo.geobox import GeoBox
from shapely import affinity
from shapely.geometry import LineString, Polygon, box
from shapely.geometry.base import BaseGeometry

from eoforge.synth.world import buildings, legend, parcels
from eoforge.synth.world.layout import Layout
from eoforge.synth.world.objects import SceneObject
from eoforge.synth.world.roads import lattice_point
from eoforge.synth.world.zones import urban_potential
from eoforge.synth.write.manifest import WrittenFile

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MEDIA = {".parquet": "application/vnd.apache.parquet", ".geojson": "application/geo+json"}


def to_map(geobox: GeoBox, geom: BaseGeometry) -> BaseGeometry:
    """Move a geometry from local metres (x east, y south) to the scene CRS."""
    t = geobox.transform
    out: BaseGeometry = affinity.affine_transform(geom, [1.0, 0.0, 0.0, -1.0, t.c, t.f])
    return out


def _frame_range(layout: Layout, angle: float, margin: float) -> tuple[float, float, float, float]:
    """Range of the scene corners in a frame rotated by ``angle``: (u0, u1, v0, v1)."""
    xs = np.array([0.0, layout.width, 0.0, layout.width])
    ys = np.array([0.0, 0.0, layout.height, layout.height])
    c, s = math.cos(angle), math.sin(angle)
    u = xs * c + ys * s
    v = -xs * s + ys * c
    return u.min() - margin, u.max() + margin, v.min() - margin, v.max() + margin


def building_frame(layout: Layout, geobox: GeoBox, dates: list[dt.date]) -> gpd.GeoDataFrame:
    """Every building footprint that stands on at least one date.

    Args:
        layout: Calibrated scene plan.
        geobox: Base grid (CRS and origin).
        dates: Acquisition dates.

    Returns:
        GeoDataFrame with ``building_id``, ``height_m``, ``built``/``demolished``
        (ISO date or None: before/after the series) and ``geometry``.
    """
    grid = layout.roads
    sp = grid.spacing
    u0, u1, v0, v1 = _frame_range(layout, grid.angle, sp)
    bu_range = np.arange(
        math.floor((u0 - grid.offset_u) / sp), math.ceil((u1 - grid.offset_u) / sp)
    )
    bv_range = np.arange(
        math.floor((v0 - grid.offset_v) / sp), math.ceil((v1 - grid.offset_v) / sp)
    )
    bu, bv, lot = (a.ravel() for a in np.meshgrid(bu_range, bv_range, np.arange(4), indexing="ij"))
    found = buildings.lots(layout, bu, bv, lot, len(dates))
    scene = box(0.0, 0.0, layout.width, layout.height)
    rows: list[dict[str, object]] = []
    for i in np.flatnonzero(found.exists):
        poly = Polygon(buildings.corners(layout, found, int(i)))
        if not scene.contains(poly):
            continue
        built, gone = int(found.built[i]), int(found.demolished[i])
        rows.append(
            {
                "building_id": f"b{bu[i]}_{bv[i]}_{lot[i]}",
                "height_m": round(float(found.height[i]), 2),
                "built": dates[built].isoformat() if built > 0 else None,
                "demolished": dates[gone].isoformat() if gone < len(dates) else None,
                "geometry": to_map(geobox, poly),
            }
        )
    return _frame(rows, geobox, ["building_id", "height_m", "built", "demolished"])


def _frame(rows: list[dict[str, object]], geobox: GeoBox, columns: list[str]) -> gpd.GeoDataFrame:
    crs = geobox.crs.to_wkt() if geobox.crs is not None else None
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def field_frame(layout: Layout, geobox: GeoBox) -> gpd.GeoDataFrame:
    """Cropped part of every arable field, clipped to the scene.

    Args:
        layout: Calibrated scene plan.
        geobox: Base grid.

    Returns:
        GeoDataFrame with ``field_id``, ``crop``, ``crop_code`` and ``geometry``.
    """
    grid = layout.fields
    u0, u1, v0, v1 = _frame_range(layout, grid.angle, grid.max_length)
    rows_idx = np.arange(math.floor(v0 / grid.row_height), math.ceil(v1 / grid.row_height))
    row_list, col_list = [], []
    for row in rows_idx:
        r = np.array([row], dtype=np.int64)
        length, shift = parcels.row_geometry(layout, r)
        c0 = math.floor((u0 + shift[0]) / length[0])
        c1 = math.ceil((u1 + shift[0]) / length[0])
        row_list.append(np.full(c1 - c0, row, dtype=np.int64))
        col_list.append(np.arange(c0, c1, dtype=np.int64))
    rows_all, cols_all = np.concatenate(row_list), np.concatenate(col_list)
    found = parcels.params(layout, rows_all, cols_all)
    names = {c.id: c.name for c in legend.CROP_TYPES}
    scene = box(0.0, 0.0, layout.width, layout.height)
    out: list[dict[str, object]] = []
    for i in np.flatnonzero(found.exists):
        rect = parcels.field_rect(layout, found, int(i))
        poly = Polygon([tuple(p) for p in rect.corners()]).intersection(scene)
        if poly.is_empty or poly.area < 100.0:
            continue
        out.append(
            {
                "field_id": f"f{rows_all[i]}_{cols_all[i]}",
                "crop": names[int(found.crop[i])],
                "crop_code": int(found.crop[i]),
                "geometry": to_map(geobox, poly),
            }
        )
    return _frame(out, geobox, ["field_id", "crop", "crop_code"])


def road_frame(layout: Layout, geobox: GeoBox) -> gpd.GeoDataFrame:
    """Road centre-lines: major roads across the scene and street segments in towns.

    Args:
        layout: Calibrated scene plan.
        geobox: Base grid.

    Returns:
        GeoDataFrame with ``kind`` (``"major"``/``"street"``), ``width_m`` and ``geometry``.
    """
    grid = layout.roads
    sp = grid.spacing
    u0, u1, v0, v1 = _frame_range(layout, grid.angle, sp)
    ku = np.arange(math.floor((u0 - grid.offset_u) / sp), math.ceil((u1 - grid.offset_u) / sp) + 1)
    kv = np.arange(math.floor((v0 - grid.offset_v) / sp), math.ceil((v1 - grid.offset_v) / sp) + 1)
    scene = box(0.0, 0.0, layout.width, layout.height)
    out: list[dict[str, object]] = []
    for along, across in ((ku, kv), (kv, ku)):
        swap = along is kv
        for k in along:
            if k % grid.major_every == 0:
                ends = np.array([across[0], across[-1]], dtype=np.float64) * sp
                _add_line(layout, geobox, scene, out, k * sp, ends, swap, "major", grid.major_width)
        segments = np.array(
            [(k, j) for k in along for j in across[:-1] if k % grid.major_every != 0]
        )
        if segments.size == 0:
            continue
        _add_streets(layout, geobox, scene, out, segments, swap)
    return _frame(out, geobox, ["kind", "width_m"])


def _line_xy(layout: Layout, fixed: float, ends: F64, swap: bool) -> LineString:
    fixed_arr = np.full(ends.shape, fixed)
    u, v = (ends, fixed_arr) if swap else (fixed_arr, ends)
    x, y = lattice_point(layout, u, v)
    return LineString(list(zip(x.tolist(), y.tolist(), strict=True)))


def _add_line(
    layout: Layout,
    geobox: GeoBox,
    scene: Polygon,
    out: list[dict[str, object]],
    fixed: float,
    ends: F64,
    swap: bool,
    kind: str,
    width: float,
) -> None:
    line = _line_xy(layout, fixed, ends, swap).intersection(scene)
    if not line.is_empty and line.length > 0:
        out.append({"kind": kind, "width_m": width, "geometry": to_map(geobox, line)})


def _add_streets(
    layout: Layout,
    geobox: GeoBox,
    scene: Polygon,
    out: list[dict[str, object]],
    segments: I64,
    swap: bool,
) -> None:
    sp = layout.roads.spacing
    fixed = segments[:, 0] * sp
    mid = (segments[:, 1] + 0.5) * sp
    u, v = (mid, fixed) if swap else (fixed, mid)
    x, y = lattice_point(layout, u.astype(np.float64), v.astype(np.float64))
    urban = urban_potential(layout, x, y) > 0.5
    for k, j in segments[urban]:
        ends = np.array([j * sp, (j + 1) * sp], dtype=np.float64)
        _add_line(
            layout,
            geobox,
            scene,
            out,
            float(k * sp),
            ends,
            swap,
            "street",
            layout.roads.street_width,
        )


def write_frame(frame: gpd.GeoDataFrame, stem: str, folder: Path) -> list[str]:
    """Write a frame as GeoParquet and GeoJSON under temporary names, then rename.

    Args:
        frame: The vectors.
        stem: File name without extension.
        folder: Target folder.

    Returns:
        The two file names written.
    """
    target = folder
    target.mkdir(parents=True, exist_ok=True)
    names = []
    for ext, kwargs in ((".parquet", {}), (".geojson", {"driver": "GeoJSON"})):
        final = target / f"{stem}{ext}"
        partial = target / f".{stem}.partial{ext}"
        if ext == ".parquet":
            frame.to_parquet(partial, index=False)
        else:
            frame.to_file(partial, engine="pyogrio", **kwargs)
        os.replace(partial, final)
        names.append(final.name)
    return names


def object_frame(geobox: GeoBox, objects: list[SceneObject]) -> gpd.GeoDataFrame:
    """Oriented object boxes in map coordinates.

    Args:
        geobox: Base grid (CRS and origin).
        objects: The objects, boxes in local metres.

    Returns:
        GeoDataFrame with ``object_id``, ``label``, centre ``cx``/``cy`` (CRS
        units), ``length_m``, ``width_m``, ``angle_deg`` (degrees
        counter-clockwise from east, 0-180) and the box ``geometry``.
    """
    t = geobox.transform
    rows = []
    for i, obj in enumerate(objects):
        r = obj.rect
        angle = (-r.angle * 180.0 / 3.141592653589793) % 180.0
        poly = to_map(geobox, Polygon([tuple(p) for p in r.corners()]))
        rows.append(
            {
                "object_id": i,
                "label": obj.label,
                "cx": t.c + r.cx,
                "cy": t.f - r.cy,
                "length_m": r.length,
                "width_m": r.width,
                "angle_deg": angle,
                "geometry": poly,
            }
        )
    return gpd.GeoDataFrame(
        rows, geometry="geometry", crs=geobox.crs.to_wkt() if geobox.crs else None
    )


def write_vector_labels(
    root: Path, layout: Layout, geobox: GeoBox, dates: list[dt.date], objects: list[SceneObject]
) -> list[WrittenFile]:
    """Write buildings, fields, roads and objects as GeoParquet and GeoJSON.

    Args:
        root: Scene folder (files go to ``root/vectors``).
        layout: Calibrated scene plan.
        geobox: Base grid.
        dates: Acquisition dates.
        objects: Every object of the scene.

    Returns:
        The records of the eight files written.
    """
    frames = {
        "buildings": building_frame(layout, geobox, dates),
        "fields": field_frame(layout, geobox),
        "roads": road_frame(layout, geobox),
        "objects": object_frame(geobox, objects),
    }
    out = []
    for stem, frame in frames.items():
        for name in write_frame(frame, stem, root / "vectors"):
            ext = name[name.rfind(".") :]
            out.append(
                WrittenFile(
                    f"vectors/{name}",
                    "vector",
                    "",
                    "vectors",
                    stem,
                    roles=("labels",),
                    media_type=MEDIA[ext],
                )
            )
    return out
