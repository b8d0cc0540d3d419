"""The raster files of a scene: their grids, encodings, paths and manifest records.

Outputs are grouped by grid: the base grid (factor 1: labels, 10 m
Sentinel-2, cloud mask, Sentinel-1, DEM) and coarse grids (factor 2 and 6:
Sentinel-2 20 m and 60 m bands; factor 3: Landsat at 30 m).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from odc.geo.geobox import GeoBox

from eoforge.synth import bands as B
from eoforge.synth import classes
from eoforge.synth.context import SceneContext
from eoforge.synth.manifest import WrittenFile
from eoforge.synth.writers import RasterSpec

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


def s2_encoding(ctx: SceneContext) -> Encoding:
    """L2A encoding: reflectance = (DN + offset) / 10000, nodata 0."""
    q = B.S2_QUANTIFICATION
    return Encoding("uint16", 0, 1.0 / q, ctx.options.s2_offset / q, "reflectance")


@dataclass
class OutputSet:
    """The outputs of one grid (base grid coarsened by ``factor``), keyed for the renderer."""

    ctx: SceneContext
    name: str
    factor: int
    specs: dict[str, RasterSpec] = field(default_factory=dict)
    files: list[WrittenFile] = field(default_factory=list)

    @property
    def grid(self) -> GeoBox:
        """The pass's output grid."""
        return self.ctx.grid(self.factor)

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
            None if index is None else self.ctx.dates[index],
            gsd=abs(grid.resolution.x),
            shape=(int(grid.shape[0]), int(grid.shape[1])),
            transform=tuple(grid.transform)[:6],
        )

    def band(self, key: str, band: B.BandSpec, item: str, index: int | None, enc: Encoding) -> None:
        """Register a sensor band written to ``<item as folder>/<band name>.tif``."""
        rel = f"{item.replace('-', '/')}/{band.name}.tif"
        spec = RasterSpec(
            self.ctx.root / rel,
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

    def label(self, key: str, rel: str, legend: str, item: str, index: int | None) -> None:
        """Register a paletted label raster using the legend named ``legend``."""
        nodata = classes.NODATA if legend == "landcover" else classes.LABEL_NODATA
        spec = RasterSpec(
            self.ctx.root / rel,
            self.grid,
            "uint8",
            nodata,
            legend,
            colormap=classes.colormap(classes.LEGENDS[legend]),
            resampling="nearest",
        )
        record = dataclasses.replace(
            self._record(rel, "label", item, "labels", legend, index),
            dtype="uint8",
            nodata=nodata,
            roles=("labels",),
        )
        self.specs[key] = spec
        self.files.append(record)


def s2_bands(ctx: SceneContext, factor: int) -> tuple[B.BandSpec, ...]:
    """S2 bands rendered by the pass of the given factor."""
    if not ctx.options.s2_native:
        return B.S2_BANDS if factor == 1 else ()
    return tuple(b for b in B.S2_BANDS if round(b.gsd / 10.0) == factor)


def base_pass(ctx: SceneContext) -> OutputSet:
    """Outputs of the base grid: labels, 10 m S2 and its cloud mask, S1, DEM."""
    p = OutputSet(ctx, "base", 1)
    sensors = ctx.options.sensors
    p.label("croptype", "labels/croptype.tif", "croptype", "labels", None)
    for t in range(len(ctx.dates)):
        d = ctx.stamp(t)
        p.label(f"landcover/{t}", f"labels/landcover_{d}.tif", "landcover", f"labels-{d}", t)
        if t > 0:
            rel = f"labels/change_{ctx.stamp(t - 1)}_{d}.tif"
            p.label(f"change/{t}", rel, "change", f"labels-{d}", t)
        if "s2" in sensors:
            for band in s2_bands(ctx, 1):
                p.band(f"s2/{t}/{band.name}", band, f"s2-{d}", t, s2_encoding(ctx))
            p.label(f"s2cloud/{t}", f"s2/{d}/cloudmask.tif", "cloudmask", f"s2-{d}", t)
        if "s1" in sensors:
            for band in B.S1_BANDS:
                p.band(f"s1/{t}/{band.name}", band, f"s1-{d}", t, SAR_DB)
    if "dsm" in sensors:
        for band in B.DEM_BANDS:
            p.band(f"dem/{band.name}", band, "dem", None, HEIGHT_M)
    return p


def coarse_pass(ctx: SceneContext, factor: int) -> OutputSet:
    """Outputs of a coarse grid: S2 20 m or 60 m bands, or Landsat at 30 m (factor 3)."""
    p = OutputSet(ctx, f"x{factor}", factor)
    for t in range(len(ctx.dates)):
        d = ctx.stamp(t)
        if factor == 3:
            for band in B.L8_OLI_BANDS:
                p.band(f"l8/{t}/{band.name}", band, f"l8-{d}", t, L8_SR)
            p.band(f"l8/{t}/{B.L8_THERMAL.name}", B.L8_THERMAL, f"l8-{d}", t, L8_ST)
            p.label(f"l8cloud/{t}", f"l8/{d}/cloudmask.tif", "cloudmask", f"l8-{d}", t)
            continue
        for band in s2_bands(ctx, factor):
            p.band(f"s2/{t}/{band.name}", band, f"s2-{d}", t, s2_encoding(ctx))
    return p


def output_sets(ctx: SceneContext) -> list[OutputSet]:
    """All output groups the options ask for, base grid first."""
    out = [base_pass(ctx)]
    if "s2" in ctx.options.sensors and ctx.options.s2_native:
        out += [coarse_pass(ctx, 2), coarse_pass(ctx, 6)]
    if "l8" in ctx.options.sensors:
        out.append(coarse_pass(ctx, 3))
    return out
