"""Index a static STAC catalog or an ItemCollection on disk.

Each STAC Item becomes one image row. Its raster assets become named bands:
``eo:bands`` names (or ``common_name``), resolved to canonical registry names
when the item's platform is a known sensor; ``raster:bands`` scale, offset and
nodata become the band's radiometry. Relative asset hrefs are resolved against
the item's file (or the ItemCollection file). The native CRS and resolution
come from the projection extension (``proj:epsg``, ``proj:wkt2``,
``proj:code``, ``proj:transform``) when present, else from the first raster's
header.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pystac
import shapely.geometry
from odc.geo import CRS
from pystac.errors import STACError

from eoforge.catalog.rows import to_utc
from eoforge.errors import CatalogError, EoforgeError, MetadataError
from eoforge.geo.grid import footprint_wgs84
from eoforge.io.handles import check_path
from eoforge.io.source import RASTER_SUFFIXES, BandAsset, RasterSource
from eoforge.sensors.names import registry_sensor
from eoforge.sensors.radiometry import Radiometry
from eoforge.sensors.registry import get_band

Row = dict[str, Any]

_SKIP_ROLES = {"thumbnail", "overview", "metadata", "visual"}
_RASTER_MEDIA = ("image/tiff", "image/jp2", "image/vnd.stac.geotiff", "application/x-hdf")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def is_stac_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a STAC Catalog, Collection, Item or ItemCollection JSON file."""
    data = _read_json(Path(path))
    if not isinstance(data, dict):
        return False
    if "stac_version" in data:
        return True
    features = data.get("features")
    return (
        data.get("type") == "FeatureCollection"
        and isinstance(features, list)
        and bool(features)
        and all(isinstance(f, dict) and "stac_version" in f for f in features)
    )


def _items(path: Path) -> list[pystac.Item]:
    """Every item reachable from a catalog, collection, item or ItemCollection file."""
    data = _read_json(path)
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "FeatureCollection":
        return list(pystac.ItemCollection.from_file(str(path)))
    if kind == "Feature":
        return [pystac.Item.from_file(str(path))]
    root = pystac.read_file(str(path))
    if not isinstance(root, pystac.Catalog):
        raise CatalogError(
            f"STAC object of type {type(root).__name__} is neither a catalog nor an item.",
            path=path,
            fix="give a catalog.json, a collection.json, an item or an ItemCollection.",
        )
    return list(root.get_items(recursive=True))


def stac_rows(path: str | os.PathLike[str]) -> list[Row]:
    """Catalog rows of every STAC item reachable from ``path``.

    Args:
        path: ``catalog.json`` / ``collection.json`` of a static catalog, an
            Item, or an ItemCollection (``FeatureCollection`` of items).

    Returns:
        One image row per item that has raster assets.

    Raises:
        CatalogError: The file is not STAC, or an item has no raster asset.
        MetadataError: STAC metadata is malformed.
    """
    file = Path(check_path(path))
    try:
        items = _items(file)
    except (STACError, KeyError, TypeError, ValueError) as exc:
        raise MetadataError(
            f"cannot be read as STAC ({exc}).",
            path=file,
            fix="validate it with `stac-validator`, or rebuild it with pystac.",
        ) from exc
    return [_item_row(item, file) for item in items]


def _href(asset: pystac.Asset, item: pystac.Item, stac_file: Path) -> str:
    href = asset.get_absolute_href() or asset.href
    if "://" in href or Path(href).is_absolute():
        return href
    base = item.get_self_href()
    folder = Path(base).parent if base else stac_file.parent
    return str((folder / href).resolve())


def _is_raster(asset: pystac.Asset) -> bool:
    roles = set(asset.roles or [])
    if roles & _SKIP_ROLES and "data" not in roles:
        return False
    media = (asset.media_type or "").lower()
    suffix = Path(asset.href.split("?")[0]).suffix.lower()
    return media.startswith(_RASTER_MEDIA) or suffix in RASTER_SUFFIXES


def _band_list(asset: pystac.Asset, key: str) -> list[Mapping[str, Any]]:
    value = asset.extra_fields.get(key)
    return [v if isinstance(v, Mapping) else {} for v in value] if isinstance(value, list) else []


def _band_name(
    key: str,
    eo: Mapping[str, Any],
    raster: Mapping[str, Any],
    index: int,
    count: int,
    sensor: str | None,
) -> str:
    """A band's name: the first of its STAC names the registry resolves, else the first given."""
    names = [str(v) for v in (eo.get("name"), raster.get("name"), eo.get("common_name")) if v]
    fallback = key if count == 1 else f"{key}_{index + 1}"
    for candidate in (*names, fallback):
        resolved = _registered(candidate, sensor)
        if resolved is not None:
            return resolved
    return names[0] if names else fallback


def _registered(name: str, sensor: str | None) -> str | None:
    """The canonical name when the registry knows ``name`` (already canonical or not), else None."""
    if sensor is None and "." not in name:
        return None  # a bare id or alias could belong to any sensor
    try:
        return get_band(name, sensor=sensor).name
    except EoforgeError:
        return None


def _radiometry(raster: Mapping[str, Any]) -> Radiometry:
    scale = float(raster.get("scale", 1.0))
    offset = float(raster.get("offset", 0.0))
    nodata = raster.get("nodata")
    return Radiometry(
        scale=scale,
        offset=offset,
        nodata=None if nodata is None else float(nodata),
        unit=str(raster.get("unit") or ("DN" if scale == 1.0 and offset == 0.0 else "scaled")),
    )


def _asset_bands(key: str, asset: pystac.Asset, href: str, sensor: str | None) -> list[BandAsset]:
    eo = _band_list(asset, "eo:bands") or _band_list(asset, "bands")
    raster = _band_list(asset, "raster:bands")
    count = max(len(eo), len(raster), 1)
    out = []
    for i in range(count):
        eo_i = eo[i] if i < len(eo) else {}
        raster_i = raster[i] if i < len(raster) else {}
        name = _band_name(key, eo_i, raster_i, i, count, sensor)
        out.append(BandAsset(name, href, i + 1, _radiometry(raster_i)))
    return out


def item_source(item: pystac.Item, stac_file: str | os.PathLike[str]) -> RasterSource:
    """The raster source of a STAC item: its raster assets as named bands.

    Single-band assets come first, so a band also present in a composite asset
    keeps its own file.

    Args:
        item: The STAC item.
        stac_file: The JSON file it was read from; relative asset hrefs of an
            item without a self link resolve against its folder.

    Raises:
        CatalogError: The item has no raster asset.
    """
    stac_file = Path(stac_file)
    props = item.properties
    sensor = _item_sensor(props)
    keyed = [(k, a) for k, a in item.assets.items() if _is_raster(a)]
    if not keyed:
        raise CatalogError(
            f"STAC item {item.id!r} has no raster asset (GeoTIFF/COG/JP2).",
            path=stac_file,
            fix="add the item's image files as assets with a raster media type.",
        )
    per_asset = [_asset_bands(k, a, _href(a, item, stac_file), sensor) for k, a in keyed]
    assets: dict[str, BandAsset] = {}
    for bands in sorted(per_asset, key=len):
        for band in bands:
            assets.setdefault(band.name, band)
    ordered = [b.name for bands in per_asset for b in bands if assets.get(b.name) is b]
    return RasterSource(
        assets={n: assets[n] for n in ordered},
        name=item.id,
        sensor=sensor or _platform(props),
        level=props.get("processing:level"),
        datetime=item.datetime or _start_datetime(props),
    )


def _platform(props: Mapping[str, Any]) -> str | None:
    for key in ("platform", "constellation"):
        if props.get(key):
            return str(props[key])
    return None


def _item_sensor(props: Mapping[str, Any]) -> str | None:
    for key in ("platform", "constellation"):
        found = registry_sensor(str(props[key])) if props.get(key) else None
        if found:
            return found
    instruments = props.get("instruments") or []
    return next((s for i in instruments if (s := registry_sensor(str(i)))), None)


def _start_datetime(props: Mapping[str, Any]) -> datetime | None:
    value = props.get("start_datetime")
    return None if not value else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _proj(item: pystac.Item, asset: pystac.Asset, key: str) -> Any:
    return asset.extra_fields.get(key, item.properties.get(key))


def _proj_crs(item: pystac.Item, asset: pystac.Asset) -> CRS | None:
    epsg = _proj(item, asset, "proj:epsg")
    if epsg is not None:
        return CRS(f"EPSG:{int(epsg)}")
    wkt = _proj(item, asset, "proj:wkt2")
    if wkt:
        return CRS(str(wkt))
    code = _proj(item, asset, "proj:code")
    return CRS(str(code)) if code else None


def _resolution(item: pystac.Item, assets: Sequence[pystac.Asset]) -> float | None:
    sizes = [
        abs(float(t[0])) for a in assets if (t := _proj(item, a, "proj:transform")) and len(t) >= 6
    ]
    if sizes:
        return min(sizes)
    gsd = item.properties.get("gsd")
    return None if gsd is None else float(gsd)


def _item_kind(rasters: Sequence[pystac.Asset]) -> str:
    """``label_raster`` when every raster asset has the STAC ``labels`` role, else ``image``."""
    label_roles = {"labels", "label", "labels-raster"}
    if rasters and all(label_roles & set(a.roles or ()) for a in rasters):
        return "label_raster"
    return "image"


def _item_row(item: pystac.Item, stac_file: Path) -> Row:
    source = item_source(item, stac_file)
    rasters = [a for a in item.assets.values() if _is_raster(a)]
    crs = _proj_crs(item, rasters[0])
    resolution = _resolution(item, rasters)
    geometry = shapely.geometry.shape(item.geometry) if item.geometry else None
    if crs is None or resolution is None or geometry is None:
        grid = source.grid()  # opens the files: the STAC metadata lacks the projection
        crs = crs or grid.crs
        resolution = resolution if resolution is not None else float(abs(grid.resolution.x))
        geometry = geometry or footprint_wgs84(grid)
    assert crs is not None
    return {
        "id": item.id,
        "kind": _item_kind(rasters),
        "path": item.get_self_href() or str(stac_file),
        "crs": crs.to_wkt(),
        "epsg": crs.epsg,
        "resolution": resolution if math.isfinite(resolution) else math.nan,
        "datetime": to_utc(source.datetime),
        "sensor": source.sensor,
        "level": source.level,
        "bands": source.bands,
        "source": json.dumps(source.to_dict()),
        "geometry": geometry,
    }
