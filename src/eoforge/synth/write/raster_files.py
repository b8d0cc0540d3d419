"""How a scene's rasters are stored: encodings, file specs and manifest records per grid.

Rasters are grouped by grid (the base grid coarsened by a factor); a
:class:`RasterGroup` registers each raster's path, encoding and colour table
for the :class:`~eoforge.synth.write.cogs.BlockWriter` together with its
:class:`~eoforge.synth.write.manifest.WrittenFile` record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from odc.geo.geobox import GeoBox

from eoforge.synth.render import bands as B
from eoforge.synth.render.bands import BandSpec
from eoforge.synth.world import legend
from eoforge.synth.write.cogs import RasterSpec
from eoforge.synth.write.manifest import WrittenFile

FLOAT_NODATA = -9999.0


@dataclass(frozen=True)
class Encoding:
    """How physical values are stored: ``value = DN * scale + offset``."""

    dtype: str
    nodata: float
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""


L8_SR = Encoding("uint16", 0, B.L8_SR_SCALE, B.L8_SR_OFFSET, "reflectance")
L8_ST = Encoding("uint16", 0, B.L8_ST_SCALE, B.L8_ST_OFFSET, "K")
SAR_DB = Encoding("float32", FLOAT_NODATA, unit="dB")
HEIGHT_M = Encoding("float32", FLOAT_NODATA, unit="m")


def s2_encoding(offset: int) -> Encoding:
    """Sentinel-2 L2A encoding: reflectance = (DN + offset) / 10000, nodata 0.

    Args:
        offset: ``BOA_ADD_OFFSET`` in DN (0, or -1000 since processing baseline 04.00).
    """
    q = B.S2_QUANTIFICATION
    return Encoding("uint16", 0, 1.0 / q, offset / q, "reflectance")


def as_uint16(
    values: npt.NDArray[np.floating], scale: float, offset: float
) -> npt.NDArray[np.uint16]:
    """Encode physical values to uint16 DN (``value = DN * scale + offset``), 0 kept for nodata.

    Args:
        values: Physical values.
        scale: Scale of the encoding.
        offset: Offset of the encoding.

    Returns:
        uint16 DN clipped to [1, 65535].
    """
    dn = np.rint((values - offset) / scale)
    out: npt.NDArray[np.uint16] = np.clip(dn, 1, 65535).astype(np.uint16)
    return out


@dataclass
class RasterGroup:
    """The raster files of one grid, keyed for the renderer, with their manifest records.

    Attributes:
        root: Scene folder; paths are relative to it.
        factor: The grid is the base grid coarsened by this factor.
        grid: The output grid.
        dates: Acquisition dates of the series (records carry the date of a file).
        specs: How to write each raster, by renderer key (e.g. ``"s2/0/S2.B04"``).
        files: Manifest records of the rasters, in registration order.
    """

    root: Path
    factor: int
    grid: GeoBox
    dates: list[dt.date]
    specs: dict[str, RasterSpec] = field(default_factory=dict)
    files: list[WrittenFile] = field(default_factory=list)

    def _record(
        self, rel: str, kind: str, item: str, sensor: str, name: str, index: int | None
    ) -> WrittenFile:
        grid = self.grid
        return WrittenFile(
            rel,
            kind,
            item,
            sensor,
            name,
            None if index is None else self.dates[index],
            gsd=abs(grid.resolution.x),
            shape=(int(grid.shape[0]), int(grid.shape[1])),
            transform=tuple(grid.transform)[:6],
        )

    def band(self, key: str, band: BandSpec, item: str, index: int | None, enc: Encoding) -> None:
        """Register a sensor band written to ``<item as folder>/<band name>.tif``.

        Args:
            key: Renderer key of the raster.
            band: The band (canonical name, common name, centre wavelength).
            item: STAC item id, e.g. ``"s2-20240701"`` (also the folder, ``s2/20240701``).
            index: Date index, or None for a static raster.
            enc: How the values are stored.
        """
        rel = f"{item.replace('-', '/')}/{band.name}.tif"
        spec = RasterSpec(
            self.root / rel,
            self.grid,
            enc.dtype,
            enc.nodata,
            band.name,
            enc.scale,
            enc.offset,
            units=enc.unit,
        )
        record = dataclasses.replace(
            self._record(rel, "raster", item, item.split("-")[0], band.name, index),
            common_name=band.common_name,
            center=band.center,
            dtype=enc.dtype,
            nodata=enc.nodata,
            scale=enc.scale,
            offset=enc.offset,
            unit=enc.unit,
        )
        self.specs[key] = spec
        self.files.append(record)

    def label(self, key: str, rel: str, family: str, item: str, index: int | None) -> None:
        """Register a paletted uint8 label raster of a legend family.

        Args:
            key: Renderer key of the raster.
            rel: Path relative to the scene folder.
            family: Legend family (a key of :data:`~eoforge.synth.world.legend.LEGENDS`).
            item: STAC item id.
            index: Date index, or None for a static raster.
        """
        nodata = legend.NODATA if family == "landcover" else legend.LABEL_NODATA
        spec = RasterSpec(
            self.root / rel,
            self.grid,
            "uint8",
            nodata,
            family,
            colormap=legend.colormap(legend.LEGENDS[family]),
            resampling="nearest",
        )
        record = dataclasses.replace(
            self._record(rel, "label", item, "labels", family, index),
            dtype="uint8",
            nodata=nodata,
            roles=("labels",),
        )
        self.specs[key] = spec
        self.files.append(record)
