"""What the map viewer serves: layers, the files behind them, and their JSON form.

A :class:`Layer` is one entry of ``GET /api/layers`` (the HTTP contract of the
viewer, fields below) together with what the server needs to draw it: the
bands of a scene (file, band index, scale and offset, nodata), the single band
of a class map or ramp layer, or a vector file. Rendering, point queries and
vectors read these records; nothing here opens a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

LayerKind = Literal[
    "scene",
    "classes",
    "reference",
    "errors",
    "confidence",
    "probability",
    "regression",
    "vector",
]
"""The kinds of layers the page knows how to draw."""

CLASS_KINDS = frozenset({"classes", "reference", "errors"})
"""Kinds drawn through a colour table, one colour per class value."""

RAMP_KINDS = frozenset({"confidence", "probability", "regression"})
"""Kinds drawn through a colour ramp between a stretch's ends."""

RENDERS = (
    {"id": "truecolor", "name": "True colour"},
    {"id": "falsecolor", "name": "False colour"},
    {"id": "band", "name": "Single band"},
)
"""Scene renders: red/green/blue, near infrared/red/green, one band through a ramp."""


@dataclass(frozen=True)
class BandRef:
    """One band of a raster layer: where it is stored and how to make it physical.

    Attributes:
        name: Band name shown to users (``"S2.B04"``, ``"p(water)"``, ``"class"``).
        path: The GeoTIFF holding it (resolved, absolute).
        index: 1-based band index in that file.
        scale: Stored value to data unit factor (value = stored * scale + offset).
        offset: Stored value to data unit offset.
        nodata: The file's nodata value (stored units), or None.
    """

    name: str
    path: Path
    index: int = 1
    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None


@dataclass(frozen=True)
class ClassEntry:
    """One class of a class-map layer's legend.

    Attributes:
        value: Pixel value of the class in the raster.
        name: Class name.
        color: ``#rrggbb`` colour (the raster's colour table where it has one).
        area_m2: Area the class covers at full resolution, square metres.
    """

    value: int
    name: str
    color: str
    area_m2: float

    def to_json(self) -> dict[str, Any]:
        """The legend entry of the HTTP contract."""
        return {
            "value": self.value,
            "name": self.name,
            "color": self.color,
            "area_m2": self.area_m2,
        }


@dataclass
class Layer:
    """One layer of the map: its public description and the files that draw it.

    Attributes:
        id: URL-safe unique id.
        name: Human name.
        kind: One of :data:`LayerKind`.
        group: Layers of one group and different dates form a time series.
        date: ``YYYY-MM-DD`` or None.
        bounds: ``(west, south, east, north)`` in EPSG:4326 degrees.
        minzoom: Web Mercator zoom below which the layer is not drawn finer.
        maxzoom: Zoom of the full resolution.
        visible: Shown when the page opens.
        bands: The bands (raster layers), in display order; empty for vectors.
        stretch: Default ``(lo, hi)`` in data units (scenes, ramps), or None.
        band_stretch: Default stretch per band name (the single-band render of scenes).
        colormap: Ramp name (confidence, probability, regression), or None.
        units: Unit of the data values, or None.
        classes: Legend (class kinds), or None.
        lut: ``[256, 4]`` uint8 RGBA per class value (class kinds), or None.
        truecolor: Band names drawn as red, green, blue (scenes), or None.
        falsecolor: Band names of near infrared, red, green (scenes), or None.
        vector_path: The vector file (vector layers), or None.
        properties: Attribute names shown in popups (vector layers), or None.
    """

    id: str
    name: str
    kind: LayerKind
    group: str
    bounds: tuple[float, float, float, float]
    date: str | None = None
    minzoom: int = 0
    maxzoom: int = 18
    visible: bool = False
    bands: list[BandRef] = field(default_factory=list)
    stretch: tuple[float, float] | None = None
    band_stretch: dict[str, tuple[float, float]] = field(default_factory=dict)
    colormap: str | None = None
    units: str | None = None
    classes: list[ClassEntry] | None = None
    lut: Any = None
    truecolor: tuple[str, str, str] | None = None
    falsecolor: tuple[str, str, str] | None = None
    vector_path: Path | None = None
    properties: list[str] | None = None

    @property
    def is_raster(self) -> bool:
        """Whether the layer is drawn as tiles."""
        return self.kind != "vector"

    def band(self, name: str) -> BandRef | None:
        """The band called ``name`` (exact, then case-insensitive), or None."""
        for ref in self.bands:
            if ref.name == name:
                return ref
        lowered = name.lower()
        return next((ref for ref in self.bands if ref.name.lower() == lowered), None)

    def to_json(self) -> dict[str, Any]:
        """The layer as ``GET /api/layers`` describes it (the viewer's HTTP contract)."""
        raster = self.is_raster
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "group": self.group,
            "date": self.date,
            "bounds": list(self.bounds),
            "minzoom": self.minzoom,
            "maxzoom": self.maxzoom,
            "visible": self.visible,
            "tiles": f"/api/tiles/{self.id}/{{z}}/{{x}}/{{y}}.png" if raster else None,
            "renders": [dict(r) for r in self._renders()] if self.kind == "scene" else None,
            "bands": [b.name for b in self.bands] if raster else None,
            "stretch": list(self.stretch) if self.stretch is not None else None,
            "colormap": self.colormap,
            "units": self.units,
            "classes": [c.to_json() for c in self.classes] if self.classes is not None else None,
            "geojson": f"/api/vectors/{self.id}.geojson" if not raster else None,
            "properties": list(self.properties) if self.properties is not None else None,
        }

    def _renders(self) -> list[dict[str, str]]:
        renders = []
        for render in RENDERS:
            if render["id"] == "truecolor" and self.truecolor is None:
                continue
            if render["id"] == "falsecolor" and self.falsecolor is None:
                continue
            renders.append(render)
        return renders


_UNSAFE = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """A URL-safe id made of ``text``: lower case letters, digits and dashes.

    Example:
        >>> slug("S2 2024-07-01 / unseen_classes.tif")
        's2-2024-07-01-unseen-classes-tif'
    """
    return _UNSAFE.sub("-", text.lower()).strip("-") or "layer"


def unique_ids(layers: list[Layer]) -> None:
    """Make layer ids unique in place by appending ``-2``, ``-3``... to repeats."""
    seen: set[str] = set()
    for layer in layers:
        base, n = layer.id, 1
        while layer.id in seen:
            n += 1
            layer.id = f"{base}-{n}"
        seen.add(layer.id)


def union_bounds(layers: list[Layer]) -> tuple[float, float, float, float]:
    """Union of the layers' bounds; the whole world when there is no layer."""
    if not layers:
        return (-180.0, -85.0, 180.0, 85.0)
    return (
        min(layer.bounds[0] for layer in layers),
        min(layer.bounds[1] for layer in layers),
        max(layer.bounds[2] for layer in layers),
        max(layer.bounds[3] for layer in layers),
    )


__all__ = [
    "CLASS_KINDS",
    "RAMP_KINDS",
    "RENDERS",
    "BandRef",
    "ClassEntry",
    "Layer",
    "LayerKind",
    "slug",
    "union_bounds",
    "unique_ids",
]
