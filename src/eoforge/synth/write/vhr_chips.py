"""The VHR files of a scene: 0.5 m RGB chips, their label maps and DOTA object lists.

Each site (harbour, airfield) gets ``vhr/<site>.tif`` (RGB COG),
``vhr/<site>_labels.tif`` (land-cover COG with colour table) and
``vhr/<site>.txt`` (DOTA v1 lines in chip pixel coordinates), each written
under a temporary name and renamed into place.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
from odc.geo.geobox import GeoBox
from rasterio.io import MemoryFile
from rasterio.shutil import copy as rio_copy

from eoforge.synth.render.acquisition import Acquisition
from eoforge.synth.render.bands import RGB_BANDS
from eoforge.synth.render.vhr import VHR_GSD, chip_geobox, chip_origin, render_chip
from eoforge.synth.world import legend
from eoforge.synth.world.layout import Layout
from eoforge.synth.world.objects import SceneObject
from eoforge.synth.write.atomic import write_bytes_atomic
from eoforge.synth.write.cogs import TILE
from eoforge.synth.write.manifest import WrittenFile

#: Largest chip side, pixels.
VHR_SIZE = 1024
U8 = npt.NDArray[np.uint8]


def dota_lines(objects: list[SceneObject], origin: tuple[float, float], size: int) -> list[str]:
    """DOTA v1 label lines (pixel corners, class, difficulty) of objects inside a chip."""
    lines = ["imagesource:eoforge-synth", f"gsd:{VHR_GSD}"]
    for obj in objects:
        px = (obj.rect.corners() - np.array(origin)) / VHR_GSD
        if px.min() < 0 or px.max() > size:
            continue
        coords = " ".join(f"{v:.1f}" for v in px.ravel())
        lines.append(f"{coords} {obj.label} 0")
    return lines


def write_chip(
    path: Path, geobox: GeoBox, data: U8, descriptions: tuple[str, ...], colormap: bool
) -> None:
    """Write a uint8 COG under a temporary name, then rename it into place.

    Args:
        path: Final path.
        geobox: The chip's grid (0.5 m pixels).
        data: Values, uint8 (bands, size, size): 3 bands RGB or 1 band of classes.
        descriptions: One band description per band.
        colormap: Whether ``data`` is a land-cover map (colour table, nearest overviews).
    """
    profile = {
        "driver": "GTiff",
        "height": geobox.shape[0],
        "width": geobox.shape[1],
        "count": data.shape[0],
        "dtype": "uint8",
        "crs": geobox.crs.to_wkt() if geobox.crs else None,
        "transform": geobox.transform,
        "nodata": 0,
        "tiled": True,
        "blockxsize": TILE,
        "blockysize": TILE,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(data)
            for i, name in enumerate(descriptions, start=1):
                ds.set_band_description(i, name)
            if colormap:
                ds.write_colormap(1, legend.colormap(legend.LAND_COVER))
        resampling = "NEAREST" if colormap else "AVERAGE"
        rio_copy(
            mem.name,
            str(partial),
            driver="COG",
            BLOCKSIZE=TILE,
            COMPRESS="DEFLATE",
            OVERVIEW_RESAMPLING=resampling,
            NUM_THREADS="1",
        )
    os.replace(partial, path)


def write_site(
    root: Path,
    name: str,
    layout: Layout,
    base: GeoBox,
    centre: tuple[float, float],
    size: int,
    objects: list[SceneObject],
    acq: Acquisition,
    n_dates: int,
) -> GeoBox:
    """Render and write one VHR site: ``vhr/<name>.tif``, ``_labels.tif`` and ``.txt`` (DOTA).

    Args:
        root: Scene folder.
        name: Site name (``"harbour"``, ``"airfield"``).
        layout: Calibrated scene plan.
        base: Base grid of the scene.
        centre: Local (x, y) of the site, metres.
        size: Chip side, pixels.
        objects: Every object of the scene (those inside the chip are painted and listed).
        acq: The first acquisition (season and sun).
        n_dates: Number of dates of the series.

    Returns:
        The chip's grid.
    """
    origin = chip_origin(layout, centre, size)
    rgb, cls = render_chip(layout, origin, size, objects, acq, n_dates)
    grid = chip_geobox(base, origin, size)
    write_chip(root / "vhr" / f"{name}.tif", grid, rgb, tuple(b.name for b in RGB_BANDS), False)
    write_chip(root / "vhr" / f"{name}_labels.tif", grid, cls[None], ("landcover",), True)
    text = "\n".join(dota_lines(objects, origin, size)) + "\n"
    write_bytes_atomic(root / "vhr" / f"{name}.txt", text.encode())
    return grid


def write_vhr_sites(
    root: Path,
    layout: Layout,
    geobox: GeoBox,
    dates: list[dt.date],
    acquisition: Acquisition,
    objects: list[SceneObject],
) -> list[WrittenFile]:
    """Write the harbour and airfield chips with their labels.

    Args:
        root: Scene folder.
        layout: Calibrated scene plan.
        geobox: Base grid of the scene.
        dates: Acquisition dates (chips show the first).
        acquisition: First Sentinel-2 acquisition (season and sun).
        objects: Every object of the scene.

    Returns:
        The records of the files written, three per site.
    """
    sites = {
        "harbour": (layout.harbour.basin.cx, layout.harbour.basin.cy),
        "airfield": (layout.airfield.apron.cx, layout.airfield.apron.cy),
    }
    size = min(VHR_SIZE, int(min(layout.width, layout.height) / VHR_GSD) // 256 * 256)
    out = []
    for name, centre in sites.items():
        grid = write_site(
            root, name, layout, geobox, centre, size, objects, acquisition, len(dates)
        )
        image = WrittenFile(
            f"vhr/{name}.tif",
            "raster",
            f"vhr-{name}",
            "vhr",
            "RGB",
            dates[0],
            gsd=VHR_GSD,
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
                dates[0],
                roles=("labels",),
                media_type="text/plain",
            )
        )
    return out
