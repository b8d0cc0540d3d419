"""The record of what a scene generation wrote."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from odc.geo.geobox import GeoBox


@dataclass(frozen=True)
class WrittenFile:
    """One file of a scene.

    Attributes:
        path: Path relative to the scene folder (POSIX separators).
        kind: ``"raster"``, ``"label"``, ``"vector"``, ``"text"`` or ``"json"``.
        item: STAC item id the file belongs to (``""`` for collection-level files).
        sensor: Sensor key (``"s2"``, ``"s1"``, ...) or ``"labels"``/``"vectors"``.
        band: Canonical band name or label name.
        date: Acquisition date, or None for static files.
        common_name: STAC ``eo:bands`` common name, if any.
        center: Centre wavelength in micrometres, if any.
        gsd: Pixel size in metres, if a raster.
        dtype: Raster data type.
        nodata: Raster nodata value.
        scale: Raster scale.
        offset: Raster offset.
        unit: Physical unit.
        roles: STAC asset roles.
        bands: Canonical names of the bands of a multi-band raster (else ``band`` alone).
        shape: Raster (height, width), if a raster.
        transform: Raster affine transform (6 numbers), if a raster.
        media_type: MIME type.
    """

    path: str
    kind: str
    item: str
    sensor: str
    band: str
    date: dt.date | None = None
    common_name: str | None = None
    center: float | None = None
    gsd: float | None = None
    dtype: str | None = None
    nodata: float | None = None
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    roles: tuple[str, ...] = ("data",)
    bands: tuple[str, ...] = ()
    shape: tuple[int, int] | None = None
    transform: tuple[float, ...] | None = None
    media_type: str = "image/tiff; application=geotiff; profile=cloud-optimized"


@dataclass
class SceneManifest:
    """Everything one call to :func:`eoforge.synth.generate_scene` wrote.

    Attributes:
        root: The scene folder.
        geobox: The base grid (labels, 10 m bands, S1, DEM).
        dates: Acquisition dates of the series.
        files: Every file written, STAC JSON excluded.
        stac: Path of the STAC collection JSON, or None.
        seconds: Wall-clock generation time.
        options: The options used, as plain values.
    """

    root: Path
    geobox: GeoBox
    dates: list[dt.date]
    files: list[WrittenFile] = field(default_factory=list)
    stac: Path | None = None
    seconds: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)

    def paths(self, kind: str | None = None, sensor: str | None = None) -> list[Path]:
        """Absolute paths of the files, optionally filtered by kind and sensor."""
        return [
            self.root / f.path
            for f in self.files
            if (kind is None or f.kind == kind) and (sensor is None or f.sensor == sensor)
        ]

    def find(self, band: str, date: dt.date | None = None) -> Path:
        """Path of the file holding a band (and date), e.g. ``find("S2.B04", dates[0])``.

        Raises:
            KeyError: When no file matches.
        """
        for f in self.files:
            if f.band == band and (date is None or f.date == date):
                return self.root / f.path
        raise KeyError(f"no file for band {band!r} at {date}")

    def summary(self) -> dict[str, int]:
        """Number of files per sensor."""
        out: dict[str, int] = {}
        for f in self.files:
            out[f.sensor] = out.get(f.sensor, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "root": str(self.root),
            "crs": self.geobox.crs.to_wkt() if self.geobox.crs else None,
            "shape": list(self.geobox.shape),
            "transform": list(self.geobox.transform)[:6],
            "dates": [d.isoformat() for d in self.dates],
            "stac": None if self.stac is None else str(self.stac),
            "seconds": self.seconds,
            "options": self.options,
            "files": [
                {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(f).items()}
                for f in self.files
            ],
        }
