"""An imaging-spectrometer cube as the matched filter needs it: wavelengths, FWHM, quantity.

Wavelengths are read, in order of preference, from each band's ``wavelength`` and
``fwhm`` tags (GDAL's band metadata, as ENVI-derived and EnMAP GeoTIFFs carry them),
then from the dataset's ``ENVI`` metadata domain (``wavelength = {...}``, ``fwhm =
{...}``). Units come from ``wavelength_units`` (nm, µm, nanometers, micrometers);
without units, values below 100 are taken as µm.

Quantity: the filter expects at-sensor radiance (L1B). The dataset tags ``quantity``,
``units``, ``unit``, ``radiance_units`` or ``data_units`` say what the file holds: a
unit with ``W`` and ``sr`` is radiance, anything saying ``reflectance`` is reflectance.
Files that say neither must be told (``quantity=`` / ``--quantity``). Reflectance is
refused unless asked for explicitly: Beer–Lambert acts on it alike, so the filter runs,
but atmospheric correction may have removed part of the methane signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import rasterio
from odc.geo.geobox import GeoBox

from eoforge.errors import ConfigError, MetadataError, MissingFileError
from eoforge.io.source import RasterSource, source_from_file
from eoforge.methane.absorption import METHANE_WINDOW_NM

F64 = npt.NDArray[np.float64]
Quantity = Literal["radiance", "reflectance"]

MIN_WINDOW_BANDS = 8
"""Fewest bands inside the CH4 window for a filter worth running."""

_QUANTITY_TAGS = ("quantity", "units", "unit", "radiance_units", "data_units")


@dataclass(frozen=True)
class SpectralCube:
    """A cube file with its spectral description.

    Attributes:
        path: The file.
        source: Its bands named ``band1 ... bandN`` for the reader.
        grid: Its grid.
        centers_nm: Band centres, nm, ``(N,)``.
        fwhm_nm: Band FWHMs, nm, ``(N,)``.
        quantity: What the values are.
        sun_zenith: Solar zenith from the tags, degrees, or None.
        view_zenith: View zenith from the tags, degrees, or None.
    """

    path: Path
    source: RasterSource
    grid: GeoBox
    centers_nm: F64
    fwhm_nm: F64
    quantity: Quantity
    sun_zenith: float | None
    view_zenith: float | None

    def window_bands(self, window_nm: tuple[float, float] = METHANE_WINDOW_NM) -> list[int]:
        """0-based indices of the bands centred inside ``window_nm``.

        Raises:
            ConfigError: Fewer than :data:`MIN_WINDOW_BANDS` bands fall inside.
        """
        low, high = window_nm
        inside = [i for i, c in enumerate(self.centers_nm) if low <= c <= high]
        if len(inside) < MIN_WINDOW_BANDS:
            raise ConfigError(
                f"{len(inside)} band(s) are centred in the CH4 window {low:g}-{high:g} nm "
                f"(the file covers {self.centers_nm.min():.0f}-{self.centers_nm.max():.0f} nm "
                f"with {self.centers_nm.size} bands); the matched filter needs at least "
                f"{MIN_WINDOW_BANDS}.",
                path=self.path,
                fix="use a SWIR imaging spectrometer cube (EMIT, EnMAP, PRISMA, AVIRIS-NG) "
                "covering 2100-2450 nm, or set another window (--window LOW HIGH).",
            )
        return inside


def open_cube(path: str | Path, quantity: Quantity | None = None) -> SpectralCube:
    """Describe a cube file for the matched filter.

    Args:
        path: A GeoTIFF (or any raster GDAL reads) with one band per channel.
        quantity: What the file holds when its tags do not say (or to accept
            reflectance: ``"reflectance"``).

    Raises:
        MissingFileError: No such file.
        MetadataError: No wavelength per band, or tags that contradict ``quantity``.
        ConfigError: Reflectance given where radiance is expected, or nothing says which.
    """
    file = Path(path)
    if not file.exists():
        raise MissingFileError("no such cube.", path=file, fix="check the path.")
    with rasterio.open(file) as src:
        centers, fwhm = _wavelengths(src, file)
        tags = {k.lower(): v for k, v in src.tags().items()}
    found = _tagged_quantity(tags)
    resolved = _resolve_quantity(found, quantity, file)
    source = source_from_file(file, bands=[f"band{i + 1}" for i in range(centers.size)])
    return SpectralCube(
        path=file,
        source=source,
        grid=source.grid(),
        centers_nm=centers,
        fwhm_nm=fwhm,
        quantity=resolved,
        sun_zenith=_angle(tags, "sun_zenith"),
        view_zenith=_angle(tags, "view_zenith"),
    )


def _wavelengths(src: rasterio.io.DatasetReader, file: Path) -> tuple[F64, F64]:
    per_band = [{k.lower(): v for k, v in src.tags(i).items()} for i in range(1, src.count + 1)]
    units = {k.lower(): v for k, v in src.tags().items()}.get("wavelength_units")
    if all("wavelength" in tags for tags in per_band):
        centers = [_number(t["wavelength"], file) for t in per_band]
        widths = [_number(t["fwhm"], file) if "fwhm" in t else np.nan for t in per_band]
        units = units or per_band[0].get("wavelength_units")
    else:
        envi = {k.lower(): v for k, v in src.tags(ns="ENVI").items()}
        if "wavelength" not in envi:
            raise MetadataError(
                f"the {src.count} bands carry no wavelength (no 'wavelength' tag per band, no "
                "ENVI 'wavelength' list).",
                path=file,
                fix="write each band's centre and FWHM in nm as band tags, e.g. "
                "gdal_edit.py -mo wavelength=2305.1 -mo fwhm=8.5 per band, or convert the "
                "product with its wavelength table (EMIT/EnMAP/PRISMA products carry one).",
            )
        centers = _list(envi["wavelength"], file)
        widths = _list(envi["fwhm"], file) if "fwhm" in envi else [np.nan] * len(centers)
        units = units or envi.get("wavelength units")
    c, w = np.asarray(centers, dtype=np.float64), np.asarray(widths, dtype=np.float64)
    if c.size != src.count:
        raise MetadataError(
            f"{c.size} wavelengths for {src.count} bands.",
            path=file,
            fix="give one wavelength per band.",
        )
    scale = _unit_scale(units, c)
    c, w = c * scale, w * scale
    if np.isnan(w).any():  # no FWHM: the sampling interval, as a spectrometer's is close to it
        step = np.gradient(c) if c.size > 1 else np.array([10.0])
        w = np.where(np.isnan(w), np.abs(step), w)
    return c, w


def _unit_scale(units: str | None, centers: F64) -> float:
    text = (units or "").strip().lower()
    if text in ("nm", "nanometers", "nanometres", "nanometer"):
        return 1.0
    if text in ("um", "µm", "micrometers", "micrometres", "micrometer", "microns"):
        return 1000.0
    return 1000.0 if float(np.nanmax(centers)) < 100.0 else 1.0


def _number(text: str, file: Path) -> float:
    try:
        return float(text)
    except ValueError:
        raise MetadataError(
            f"band tag value {text!r} is not a number.",
            path=file,
            fix="write wavelengths and FWHMs as plain numbers (nm).",
        ) from None


def _list(text: str, file: Path) -> list[float]:
    return [_number(item, file) for item in re.split(r"[,\s{}]+", text) if item]


def _tagged_quantity(tags: dict[str, str]) -> Quantity | None:
    for key in _QUANTITY_TAGS:
        value = tags.get(key, "").lower()
        if "reflect" in value:
            return "reflectance"
        if value == "radiance" or ("w" in value and "sr" in value):
            return "radiance"
    return None


def _resolve_quantity(found: Quantity | None, asked: Quantity | None, file: Path) -> Quantity:
    if found is not None and asked is not None and found != asked:
        raise MetadataError(
            f"the file's tags say it holds {found}, but {asked} was given.",
            path=file,
            fix=f"drop the quantity option, or give --quantity {found}.",
        )
    quantity = found or asked
    if quantity is None:
        raise ConfigError(
            "the file does not say whether it holds radiance or reflectance (no 'quantity' "
            "or units tag).",
            path=file,
            fix="give --quantity radiance for at-sensor (L1B) radiance, or tag the file "
            "(gdal_edit.py -mo quantity=radiance).",
        )
    if quantity == "reflectance" and asked != "reflectance":
        raise ConfigError(
            "the file holds surface reflectance, but the matched filter expects at-sensor "
            "radiance (L1B): atmospheric correction may have removed part of the methane "
            "signal.",
            path=file,
            fix="use the L1B radiance product of the same granule, or give --quantity "
            "reflectance to run on reflectance anyway (enhancements may be understated).",
        )
    return quantity


def _angle(tags: dict[str, str], key: str) -> float | None:
    try:
        return float(tags[key]) if key in tags else None
    except ValueError:
        return None
