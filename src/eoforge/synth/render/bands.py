"""Bands written by the generator, under the sensor registry's canonical names.

Centre wavelengths (micrometres) are those of the published spectral response
functions: Sentinel-2A MSI (ESA, as in :mod:`eoforge.sensors`) and Landsat 8
OLI/TIRS (USGS).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BandSpec:
    """One band of a synthetic product.

    Attributes:
        name: Canonical band name, e.g. ``"S2.B04"``.
        common_name: STAC ``eo:bands`` common name, or None.
        center: Centre wavelength in micrometres, or None (SAR, elevation).
        gsd: Native ground sampling distance in metres at a 10 m base grid.
    """

    name: str
    common_name: str | None
    center: float | None
    gsd: float


S2_BANDS: tuple[BandSpec, ...] = (
    BandSpec("S2.B01", "coastal", 0.443, 60.0),
    BandSpec("S2.B02", "blue", 0.492, 10.0),
    BandSpec("S2.B03", "green", 0.560, 10.0),
    BandSpec("S2.B04", "red", 0.665, 10.0),
    BandSpec("S2.B05", "rededge071", 0.704, 20.0),
    BandSpec("S2.B06", "rededge075", 0.740, 20.0),
    BandSpec("S2.B07", "rededge078", 0.783, 20.0),
    BandSpec("S2.B08", "nir", 0.833, 10.0),
    BandSpec("S2.B8A", "nir08", 0.865, 20.0),
    BandSpec("S2.B09", "nir09", 0.945, 60.0),
    BandSpec("S2.B11", "swir16", 1.614, 20.0),
    BandSpec("S2.B12", "swir22", 2.202, 20.0),
)

L8_OLI_BANDS: tuple[BandSpec, ...] = (
    BandSpec("L8.B1", "coastal", 0.443, 30.0),
    BandSpec("L8.B2", "blue", 0.482, 30.0),
    BandSpec("L8.B3", "green", 0.561, 30.0),
    BandSpec("L8.B4", "red", 0.655, 30.0),
    BandSpec("L8.B5", "nir08", 0.865, 30.0),
    BandSpec("L8.B6", "swir16", 1.609, 30.0),
    BandSpec("L8.B7", "swir22", 2.201, 30.0),
)

L8_THERMAL = BandSpec("L8.B10", "lwir11", 10.895, 30.0)

S1_BANDS: tuple[BandSpec, ...] = (
    BandSpec("S1.VV", None, None, 10.0),
    BandSpec("S1.VH", None, None, 10.0),
)

DEM_BANDS: tuple[BandSpec, ...] = (
    BandSpec("DEM.dtm", None, None, 10.0),
    BandSpec("DEM.dsm", None, None, 10.0),
    BandSpec("DEM.ndsm", None, None, 10.0),
)

RGB_BANDS: tuple[BandSpec, ...] = (
    BandSpec("RGB.red", "red", 0.640, 0.5),
    BandSpec("RGB.green", "green", 0.550, 0.5),
    BandSpec("RGB.blue", "blue", 0.470, 0.5),
)

#: Sentinel-2 L2A quantification value: reflectance = (DN + offset) / 10000.
S2_QUANTIFICATION = 10000.0
#: Landsat Collection 2 Level-2 surface reflectance scale and offset.
L8_SR_SCALE = 2.75e-5
L8_SR_OFFSET = -0.2
#: Landsat Collection 2 Level-2 temperature scale and offset (kelvin).
L8_ST_SCALE = 0.00341802
L8_ST_OFFSET = 149.0

#: Every band the generator writes, by canonical name.
BANDS_BY_NAME: dict[str, BandSpec] = {
    b.name: b for b in (*S2_BANDS, *L8_OLI_BANDS, L8_THERMAL, *S1_BANDS, *DEM_BANDS, *RGB_BANDS)
}
