"""What every raster layer holds at one place: the inspector of ``GET /api/point``.

For each raster layer covering the point (the pixel under it is inside the file
and valid): a scene gives the value of each of its bands, a class map the class
value and name, a probability stack every class's probability (and the most
probable class), confidence and regression layers their value. Values are in
data units (scale and offset applied). The pixel is read at full resolution.
"""

from __future__ import annotations

import math
from typing import Any

from rio_tiler.errors import PointOutsideBounds

from eoforge.serve.handles import reader
from eoforge.serve.layers import CLASS_KINDS, BandRef, Layer


def _value(ref: BandRef, lon: float, lat: float) -> float | None:
    """The band's value at ``(lon, lat)`` in data units; None outside or invalid."""
    try:
        point = reader(ref.path).point(lon, lat, indexes=ref.index)
    except PointOutsideBounds:
        return None
    band = point.array[0] if point.array.ndim else point.array
    if bool(getattr(band, "mask", False)):
        return None
    raw = float(band)
    if not math.isfinite(raw) or (ref.nodata is not None and raw == ref.nodata):
        return None
    return raw * ref.scale + ref.offset


def _covers(layer: Layer, lon: float, lat: float) -> bool:
    w, s, e, n = layer.bounds
    return w <= lon <= e and s <= lat <= n


def inspect_layer(layer: Layer, lon: float, lat: float) -> dict[str, Any] | None:
    """The inspector entry of one layer at ``(lon, lat)``, or None where it has no data.

    Returns:
        ``{"id", "name", "kind", "value", "class", "probabilities", "bands"}`` as
        the viewer's HTTP contract describes them.
    """
    if not layer.is_raster or not _covers(layer, lon, lat):
        return None
    entry: dict[str, Any] = {
        "id": layer.id,
        "name": layer.name,
        "kind": layer.kind,
        "value": None,
        "class": None,
        "probabilities": None,
        "bands": None,
    }
    if layer.kind == "scene":
        bands = {ref.name: _value(ref, lon, lat) for ref in layer.bands}
        if all(v is None for v in bands.values()):
            return None
        entry["bands"] = bands
        return entry
    if layer.kind in CLASS_KINDS:
        value = _value(layer.bands[0], lon, lat)
        if value is None:
            return None
        stored = round((value - layer.bands[0].offset) / (layer.bands[0].scale or 1.0))
        entry["value"] = stored
        names = {c.value: c.name for c in layer.classes or []}
        entry["class"] = names.get(stored, f"class {stored}")
        return entry
    if layer.kind == "probability":
        probabilities = {ref.name: _value(ref, lon, lat) for ref in layer.bands}
        valid = {k: v for k, v in probabilities.items() if v is not None}
        if not valid:
            return None
        best = max(valid, key=lambda k: valid[k])
        entry.update(probabilities=probabilities, value=valid[best], **{"class": best})
        return entry
    value = _value(layer.bands[0], lon, lat)
    if value is None:
        return None
    entry["value"] = value
    return entry


def inspect_point(layers: list[Layer], lon: float, lat: float) -> dict[str, Any]:
    """``GET /api/point``: every raster layer's values at ``(lon, lat)``, in drawing order."""
    found = [e for layer in layers if (e := inspect_layer(layer, lon, lat)) is not None]
    return {"lon": lon, "lat": lat, "layers": found}


__all__ = ["inspect_layer", "inspect_point"]
