"""Facts from vector layers clipped to a window: counts and sizes, line lengths, crossings.

A layer is a GeoParquet or GeoJSON file (eoforge synth's
``vectors/{buildings,fields,roads,objects}.parquet``, or any OSM-like layer).
Its file stem decides how it is spoken of:

* a *layer of things named by the layer* (``buildings``, ``fields``,
  ``parcels``, ``roads``...: :data:`LAYER_NOUNS`): "12 buildings", "about
  1.2 km of roads"; a class column, when there is one, tells kinds apart
  ("7 fields, mostly winter wheat", "a major road crosses ...");
* any other layer names its features by its class column (``class``,
  ``label``, ``type``...: :data:`CLASS_COLUMNS`): "3 ships, 2 planes"; such a
  layer without a class column is refused.

A polygon or point feature is in a window when its centroid lies strictly
inside it; its size is its whole footprint's area. Lines are clipped to the
window. A line crosses the window when one connected part of the clipped lines
of a kind touches two opposite sides. Rows with a ``date`` column other than
the labels' date are left out, and so are buildings not standing on it
(``built`` later, ``demolished`` on or before it: eoforge synth's columns).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry import LineString, Polygon

from eoforge.captions.facts import Crossing, FeatureCount, LineLength
from eoforge.errors import ConfigError, MissingFileError, NotGeoreferencedError, UnreadableFileError

CLASS_COLUMNS = ("class", "label", "type", "kind", "category", "fclass", "crop")
"""Columns tried, in order, as a layer's class column."""

LAYER_NOUNS = {
    "buildings": "building",
    "fields": "field",
    "parcels": "parcel",
    "roads": "road",
    "streets": "street",
    "railways": "railway",
    "rivers": "river",
    "canals": "canal",
}
"""Layers named by their file stem, with the singular noun of one feature."""

LINE_NOUNS = ("road", "street", "track", "path", "railway", "river", "canal", "stream", "lane")
"""Words that already name a line; a kind ending in one is spoken as is (``"street"``)."""

EDGE_TOLERANCE = 1e-3
"""Distance to a window side, CRS units (m), within which a clipped line touches it."""


@dataclass(frozen=True, eq=False)
class VectorLayer:
    """A vector layer ready for windows: in the labels' metric CRS, filtered to their date.

    Attributes:
        name: Layer name (file stem).
        path: The file.
        frame: Its features, geometry in the metric CRS.
        geometry: ``"polygon"``, ``"line"`` or ``"point"``.
        noun: Singular noun of a feature for layers named by their stem, None otherwise.
        class_column: The class column, or None.
        kinds: Every class value of the layer (sorted), empty without a class column.
        geoms: The geometries as an array (derived from ``frame``, like the fields below).
        tree: Their spatial index.
        centroids: Their centroids.
        areas: Their areas, CRS units².
        classes: Their class values as strings (None where missing or without a class column).
    """

    name: str
    path: Path
    frame: gpd.GeoDataFrame
    geometry: str
    noun: str | None
    class_column: str | None
    kinds: tuple[str, ...]
    geoms: np.ndarray[Any, Any] = field(init=False, repr=False)
    tree: shapely.STRtree = field(init=False, repr=False)
    centroids: np.ndarray[Any, Any] = field(init=False, repr=False)
    areas: np.ndarray[Any, Any] = field(init=False, repr=False)
    classes: np.ndarray[Any, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        geoms = self.frame.geometry.to_numpy()
        values = (
            self.frame[self.class_column]
            .astype(object)
            .where(self.frame[self.class_column].notna(), None)
            if self.class_column
            else pd.Series([None] * len(geoms), dtype=object)
        )
        object.__setattr__(self, "geoms", geoms)
        object.__setattr__(self, "tree", shapely.STRtree(geoms))
        object.__setattr__(self, "centroids", shapely.centroid(geoms))
        object.__setattr__(self, "areas", shapely.area(geoms))
        object.__setattr__(
            self, "classes", np.array([None if v is None else str(v) for v in values], dtype=object)
        )


def read_layer(
    path: str | Path,
    crs: CRS,
    *,
    date: dt.date | None = None,
    class_column: str | None = None,
    frame: gpd.GeoDataFrame | None = None,
) -> VectorLayer:
    """Read a vector layer, check it and move it to ``crs``.

    Args:
        path: GeoParquet (``.parquet``) or any file GDAL reads (GeoJSON, GPKG...).
        crs: The metric CRS windows are measured in.
        date: The labels' date (filters ``date`` and ``built``/``demolished`` columns).
        class_column: Class column to use (default: the first of :data:`CLASS_COLUMNS`).
        frame: The file's features when already read (:func:`load_vectors`).

    Raises:
        MissingFileError: The file does not exist.
        UnreadableFileError: It is not a vector file, or it mixes points, lines and polygons.
        NotGeoreferencedError: It has no CRS.
        ConfigError: No class column where one is needed, or ``class_column`` is not a column.
    """
    file = Path(path)
    frame = load_vectors(file) if frame is None else frame
    name = file.stem
    noun = LAYER_NOUNS.get(name)
    column = _class_column(frame, file, class_column, required=noun is None)
    frame = _on_date(frame, date).to_crs(crs)
    frame = frame[~frame.geometry.is_empty & frame.geometry.notna()]
    geometry = _geometry_kind(frame, file)
    kinds = tuple(sorted({str(v) for v in frame[column].dropna()})) if column else ()
    return VectorLayer(name, file, frame, geometry, noun, column, kinds)


def load_vectors(path: str | Path) -> gpd.GeoDataFrame:
    """Read a vector file and check that it has a CRS (see :func:`read_layer`'s errors)."""
    file = Path(path)
    if not file.is_file():
        raise MissingFileError("vector layer not found.", path=file, fix="check the path.")
    try:
        frame = gpd.read_parquet(file) if file.suffix == ".parquet" else gpd.read_file(file)
    except Exception as error:  # pyarrow, pyogrio and geopandas raise many types
        raise UnreadableFileError(
            f"not a vector layer ({error}).", path=file, fix="give GeoParquet or GeoJSON."
        ) from None
    if frame.crs is None:
        raise NotGeoreferencedError(
            "the vector layer has no CRS.",
            path=file,
            fix="set one (e.g. gdf.set_crs('EPSG:32631') before writing it).",
        )
    return frame


def _class_column(
    frame: gpd.GeoDataFrame, path: Path, given: str | None, *, required: bool
) -> str | None:
    if given is not None:
        if given not in frame.columns:
            raise ConfigError(
                f"the vector layer has no column {given!r} (columns: "
                f"{', '.join(str(c) for c in frame.columns if c != 'geometry')}).",
                path=path,
                fix="name one of its columns as the class column.",
            )
        return given
    found = next((c for c in CLASS_COLUMNS if c in frame.columns), None)
    if found is None and required:
        raise ConfigError(
            f"the vector layer has no class column ({', '.join(CLASS_COLUMNS)}), so its "
            "features cannot be named.",
            path=path,
            fix="add a 'class' column, name one with --vector-class, or name the file after "
            f"what it holds ({', '.join(sorted(LAYER_NOUNS))}).",
        )
    return found


def _on_date(frame: gpd.GeoDataFrame, date: dt.date | None) -> gpd.GeoDataFrame:
    if date is None:
        return frame
    keep = pd.Series(True, index=frame.index)
    day = pd.Timestamp(date)
    if "date" in frame.columns:
        keep &= pd.to_datetime(frame["date"]).dt.normalize() == day
    if "built" in frame.columns:
        built = pd.to_datetime(frame["built"])
        keep &= built.isna() | (built <= day)
    if "demolished" in frame.columns:
        gone = pd.to_datetime(frame["demolished"])
        keep &= gone.isna() | (gone > day)
    return frame[keep.to_numpy()]


def _geometry_kind(frame: gpd.GeoDataFrame, path: Path) -> str:
    types = {str(t).removeprefix("Multi") for t in frame.geom_type.unique()}
    kinds = {"Polygon": "polygon", "LineString": "line", "Point": "point"}
    found = {kinds.get(t, t) for t in types}
    if len(found) > 1 or not found <= set(kinds.values()):
        raise UnreadableFileError(
            f"the vector layer mixes geometry types ({', '.join(sorted(types))}).",
            path=path,
            fix="split it into one file per geometry type.",
        )
    return found.pop() if found else "polygon"


def line_noun(layer: VectorLayer, kind: str | None) -> str:
    """Singular noun of a line kind: ``"major road"``, ``"street"``, or the layer's noun."""
    base = layer.noun or layer.name
    if kind is None:
        return base
    text = kind.replace("_", " ").replace("-", " ")
    return text if text.split(" ")[-1] in LINE_NOUNS else f"{text} {base}"


def layer_facts(
    layer: VectorLayer, window: Polygon
) -> tuple[list[FeatureCount], list[LineLength], list[Crossing]]:
    """Counts, lengths and crossings of one layer in one window.

    Args:
        layer: The layer (metric CRS).
        window: The window's footprint in the same CRS.

    Returns:
        ``(counts, lines, crossings)``: lines give a length and crossings per
        kind; other layers a count (with areas for polygons of named layers),
        or one count per class value for layers of things.
    """
    geoms, classes = layer.geoms, layer.classes
    hits = layer.tree.query(window, predicate="intersects")
    if layer.geometry == "line":
        clipped = shapely.intersection(geoms[hits], window)
        return [], [_length(layer, clipped)], _crossings(layer, clipped, classes[hits], window)
    inside = hits[shapely.contains(window, layer.centroids[hits])]
    kinds: dict[str, int] = {}
    if layer.class_column is not None:
        for value in classes[inside]:
            if value is not None:
                kinds[value] = kinds.get(value, 0) + 1
        kinds = dict(sorted(kinds.items()))
    if layer.noun is None:
        return [FeatureCount(layer.name, k, kinds.get(k, 0)) for k in layer.kinds], [], []
    areas = (
        tuple(round(float(a), 2) for a in layer.areas[inside])
        if layer.geometry == "polygon"
        else ()
    )
    return [FeatureCount(layer.name, layer.noun, len(inside), areas, kinds)], [], []


def _length(layer: VectorLayer, clipped: np.ndarray[Any, Any]) -> LineLength:
    metres = float(np.sum(shapely.length(clipped))) if len(clipped) else 0.0
    noun = layer.name if layer.noun is None else f"{layer.noun}s"
    return LineLength(layer.name, noun, round(metres, 2))


def _sides(window: Polygon) -> dict[str, LineString]:
    """The four sides of a window footprint (a box, possibly reprojected) by where they face."""
    corners = list(window.exterior.coords)[:4]
    edges = [LineString([corners[i], corners[(i + 1) % 4]]) for i in range(4)]
    mid = [e.interpolate(0.5, normalized=True) for e in edges]
    return {
        "west": edges[min(range(4), key=lambda i: mid[i].x)],
        "east": edges[max(range(4), key=lambda i: mid[i].x)],
        "south": edges[min(range(4), key=lambda i: mid[i].y)],
        "north": edges[max(range(4), key=lambda i: mid[i].y)],
    }


def _crossings(
    layer: VectorLayer,
    clipped: np.ndarray[Any, Any],
    classes: np.ndarray[Any, Any],
    window: Polygon,
) -> list[Crossing]:
    if not len(clipped):
        return []
    sides = _sides(window)
    keys = [None] if layer.class_column is None else sorted({c for c in classes if c is not None})
    out = []
    for kind in keys:
        chosen = clipped if kind is None else clipped[classes == kind]
        merged = shapely.union_all(chosen)
        if merged.is_empty:
            continue
        grown = merged.buffer(EDGE_TOLERANCE)
        parts = list(getattr(grown, "geoms", [grown]))
        for axis, (a, b) in (("west-east", ("west", "east")), ("north-south", ("north", "south"))):
            if any(
                p.distance(sides[a]) <= EDGE_TOLERANCE and p.distance(sides[b]) <= EDGE_TOLERANCE
                for p in parts
            ):
                out.append(Crossing(line_noun(layer, kind), axis, layer.name))
    return out
