"""A self-contained static STAC collection listing every file of a scene.

One item per acquisition (``s2-YYYYMMDD``, ``s1-…``, ``l8-…``), per date of
labels (``labels-YYYYMMDD``), plus ``labels`` (static crop types), ``dem``,
``vectors`` and one item per VHR site; ``legend.json`` is a collection asset.
Band assets carry ``eo:bands`` (canonical name, common name, centre
wavelength) and ``raster:bands`` (nodata, data type, scale, offset, unit).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pystac
from odc.geo.geobox import GeoBox
from pystac.extensions.eo import Band, EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension
from pystac.extensions.sar import FrequencyBand, Polarization, SarExtension
from shapely.geometry import box, mapping

from eoforge.synth.render.bands import BANDS_BY_NAME, BandSpec
from eoforge.synth.write.manifest import WrittenFile

DEFAULT_DATETIME = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
PLATFORMS = {"s2": "sentinel-2a", "s1": "sentinel-1a", "l8": "landsat-8", "vhr": "synthetic-aerial"}


def _footprint(geobox: GeoBox) -> tuple[dict[str, object], list[float]]:
    extent = geobox.extent.to_crs("EPSG:4326")
    minx, miny, maxx, maxy = extent.boundingbox
    return mapping(box(minx, miny, maxx, maxy)), [minx, miny, maxx, maxy]


def _band_specs(f: WrittenFile) -> list[BandSpec]:
    names = f.bands or (f.band,)
    return [BANDS_BY_NAME.get(n, BandSpec(n, f.common_name, f.center, f.gsd or 0.0)) for n in names]


def _add_asset(item: pystac.Item, key: str, f: WrittenFile) -> None:
    asset = pystac.Asset(href=f.path, media_type=f.media_type, roles=list(f.roles), title=f.band)
    item.add_asset(key, asset)
    if f.kind not in ("raster", "label") or f.dtype is None:
        return
    specs = _band_specs(f)
    raster = RasterExtension.ext(asset, add_if_missing=True)
    raster.bands = [
        RasterBand.create(
            nodata=f.nodata,
            data_type=DataType(f.dtype),
            scale=f.scale,
            offset=f.offset,
            unit=f.unit or None,
            spatial_resolution=f.gsd,
        )
        for _ in specs
    ]
    if all(s.center is not None for s in specs):
        eo = EOExtension.ext(asset, add_if_missing=True)
        eo.bands = [
            Band.create(name=s.name, common_name=s.common_name, center_wavelength=s.center)
            for s in specs
        ]
    if f.shape is not None and f.transform is not None:
        proj = ProjectionExtension.ext(asset, add_if_missing=True)
        proj.shape = list(f.shape)
        proj.transform = list(f.transform)


def _item(item_id: str, files: list[WrittenFile], geobox: GeoBox) -> pystac.Item:
    geometry, bbox = _footprint(geobox)
    date = next((f.date for f in files if f.date is not None), None)
    when = (
        DEFAULT_DATETIME
        if date is None
        else dt.datetime(date.year, date.month, date.day, 10, 30, tzinfo=dt.UTC)
    )
    sensor = files[0].sensor
    props: dict[str, object] = {"eoforge:synthetic": True}
    if sensor in PLATFORMS:
        props["platform"] = PLATFORMS[sensor]
    item = pystac.Item(item_id, geometry, bbox, when, props)
    for f in files:
        key = f.band if f.kind != "vector" else Path(f.path).name
        _add_asset(item, key, f)
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    proj.epsg = geobox.crs.epsg if geobox.crs is not None else None
    if sensor == "s1":
        sar = SarExtension.ext(item, add_if_missing=True)
        sar.apply(
            instrument_mode="IW",
            frequency_band=FrequencyBand.C,
            center_frequency=5.405,
            polarizations=[Polarization.VV, Polarization.VH],
            product_type="GRD",
        )
    return item


def write_catalog(
    root: Path, files: list[WrittenFile], geobox: GeoBox, dates: list[dt.date], title: str
) -> Path:
    """Write the STAC collection of a scene under ``root/stac``.

    Args:
        root: Scene folder.
        files: Every file of the scene (paths relative to ``root``).
        geobox: The base grid (footprint and projection).
        dates: Acquisition dates.
        title: Collection title.

    Returns:
        Path of ``collection.json``.
    """
    _, bbox = _footprint(geobox)
    start = dt.datetime.combine(dates[0], dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(dates[-1], dt.time(23, 59, 59), tzinfo=dt.UTC)
    extent = pystac.Extent(pystac.SpatialExtent([bbox]), pystac.TemporalExtent([[start, end]]))
    collection = pystac.Collection("eoforge-synth", title, extent, license="CC0-1.0", title=title)
    stac_root = root / "stac"
    groups: dict[str, list[WrittenFile]] = {}
    for f in files:
        if f.item:
            groups.setdefault(f.item, []).append(f)
        else:
            asset = pystac.Asset(href=f"../{f.path}", media_type=f.media_type, roles=list(f.roles))
            collection.add_asset(Path(f.path).name, asset)
    for item_id in sorted(groups):
        collection.add_item(_item(item_id, groups[item_id], geobox))
    collection.normalize_hrefs(str(stac_root))
    for item in collection.get_items():
        item_dir = Path(item.get_self_href() or "").parent
        for asset in item.assets.values():
            target = root / asset.href
            asset.href = str(Path(_relpath(target, item_dir)))
    # Saved beside its final place, then swapped in: no half-written catalog.
    partial = root / ".stac.partial"
    shutil.rmtree(partial, ignore_errors=True)
    collection.save(catalog_type=pystac.CatalogType.SELF_CONTAINED, dest_href=str(partial))
    shutil.rmtree(stac_root, ignore_errors=True)
    os.replace(partial, stac_root)
    return stac_root / "collection.json"


def _relpath(target: Path, start: Path) -> str:
    return os.path.relpath(target, start).replace(os.sep, "/")
