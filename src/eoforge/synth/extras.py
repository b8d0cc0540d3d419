"""Scene outputs beyond the raster passes: vector labels, objects and VHR chips."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import geopandas as gpd
from shapely.geometry import Polygon

from eoforge.synth import render_vhr, vectors
from eoforge.synth.bands import RGB_BANDS
from eoforge.synth.context import SceneContext
from eoforge.synth.manifest import WrittenFile
from eoforge.synth.objects import SceneObject, all_objects

VHR_SIZE = 1024
MEDIA = {".parquet": "application/vnd.apache.parquet", ".geojson": "application/geo+json"}


def object_frame(ctx: SceneContext, objects: list[SceneObject]) -> gpd.GeoDataFrame:
    """Oriented boxes in map coordinates: centre, size, angle (degrees CCW from east)."""
    t = ctx.geobox.transform
    rows = []
    for i, obj in enumerate(objects):
        r = obj.rect
        angle = (-r.angle * 180.0 / 3.141592653589793) % 180.0
        poly = vectors.to_map(ctx.geobox, Polygon([tuple(p) for p in r.corners()]))
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
        rows, geometry="geometry", crs=ctx.geobox.crs.to_wkt() if ctx.geobox.crs else None
    )


def write_vectors(ctx: SceneContext, objects: list[SceneObject]) -> list[WrittenFile]:
    """Write buildings, fields, roads and objects as GeoParquet and GeoJSON."""
    frames = {
        "buildings": vectors.building_frame(ctx.layout, ctx.geobox, ctx.dates),
        "fields": vectors.field_frame(ctx.layout, ctx.geobox),
        "roads": vectors.road_frame(ctx.layout, ctx.geobox),
        "objects": object_frame(ctx, objects),
    }
    out = []
    for stem, frame in frames.items():
        for name in vectors.write_frame(frame, stem, ctx.root / "vectors"):
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


def write_vhr(ctx: SceneContext, objects: list[SceneObject]) -> list[WrittenFile]:
    """Write the harbour and airfield VHR chips with their labels."""
    layout = ctx.layout
    sites = {
        "harbour": (layout.harbour.basin.cx, layout.harbour.basin.cy),
        "airfield": (layout.airfield.apron.cx, layout.airfield.apron.cy),
    }
    size = min(VHR_SIZE, int(min(layout.width, layout.height) / render_vhr.VHR_GSD) // 256 * 256)
    out = []
    for name, centre in sites.items():
        grid = render_vhr.write_site(
            ctx.root, name, layout, ctx.geobox, centre, size, objects, ctx.s2[0], len(ctx.dates)
        )
        image = WrittenFile(
            f"vhr/{name}.tif",
            "raster",
            f"vhr-{name}",
            "vhr",
            "RGB",
            ctx.dates[0],
            gsd=render_vhr.VHR_GSD,
            dtype="uint8",
            nodata=0,
            bands=tuple(b.name for b in RGB_BANDS),
            shape=(int(grid.shape[0]), int(grid.shape[1])),
            transform=tuple(grid.transform)[:6],
        )
        labels = dataclasses.replace(
            image,
            path=f"vhr/{name}_labels.tif",
            kind="label",
            band="landcover",
            bands=(),
            roles=("labels",),
        )
        out += [image, labels]
        out.append(
            WrittenFile(
                f"vhr/{name}.txt",
                "text",
                f"vhr-{name}",
                "vhr",
                "dota",
                ctx.dates[0],
                roles=("labels",),
                media_type="text/plain",
            )
        )
    return out


def write_extras(ctx: SceneContext, progress: Callable[[str, int, int], None]) -> list[WrittenFile]:
    """Objects, vectors (if asked) and VHR chips (if asked)."""
    want_vhr = "vhr" in ctx.options.sensors
    if not (ctx.options.vectors or want_vhr):
        return []
    progress("objects", 0, 1)
    objects = all_objects(ctx.layout, len(ctx.dates))
    out: list[WrittenFile] = []
    if ctx.options.vectors:
        out += write_vectors(ctx, objects)
    if want_vhr:
        out += write_vhr(ctx, objects)
    progress("objects", 1, 1)
    return out
