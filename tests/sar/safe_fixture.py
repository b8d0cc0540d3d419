"""A small Sentinel-1 GRD SAFE folder written the way ESA lays it out, with known LUTs.

Measurement: uint16 DN located by a 5 x 5 grid of ground control points (WGS 84,
~10 m pixels near 3 E, 50 N). Calibration LUTs are linear in line and pixel (so
bilinear interpolation is exact everywhere): sigmaNought = 500 + 0.5 pixel + 0.1 line,
betaNought = 400, gamma = 0.9 sigmaNought. Noise (IPF >= 2.9): range LUT
1000 + 2 pixel, one azimuth block scaling 1.0 (first line) to 1.2 (last line).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS

PRODUCT = "S1A_IW_GRDH_1SDV_20240101T054512_20240101T054537_051900_0644A1_8B2D"
HEIGHT, WIDTH = 200, 300
LON0, LAT0, DLON, DLAT = 3.0, 50.0, 0.00014, 0.00009


def stem(pol: str, kind: str = "grd") -> str:
    return f"s1a-iw-{kind}-{pol.lower()}-20240101t054512-20240101t054537-051900-0644a1-001"


def sigma_lut(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return 500.0 + 0.5 * cols[None, :] + 0.1 * rows[:, None]


def noise_power(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    azimuth = 1.0 + 0.2 * rows / (HEIGHT - 1)
    return (1000.0 + 2.0 * cols[None, :]) * azimuth[:, None]


def _vector_xml(tag: str, line: int, pixels: list[int], values: dict[str, list[float]]) -> str:
    inner = "".join(
        f'<{name} count="{len(v)}">{" ".join(f"{x:.6f}" for x in v)}</{name}>'
        for name, v in values.items()
    )
    pix = " ".join(str(p) for p in pixels)
    return (
        f"<{tag}><azimuthTime>2024-01-01T05:45:12.000000</azimuthTime><line>{line}</line>"
        f'<pixel count="{len(pixels)}">{pix}</pixel>{inner}</{tag}>'
    )


def calibration_xml(pol: str) -> str:
    pixels = [0, 100, 200, WIDTH - 1]
    vectors = []
    for line in (0, 100, HEIGHT - 1):
        sigma = [500.0 + 0.5 * p + 0.1 * line for p in pixels]
        values = {
            "sigmaNought": sigma,
            "betaNought": [400.0] * len(pixels),
            "gamma": [0.9 * s for s in sigma],
            "dn": [400.0] * len(pixels),
        }
        vectors.append(_vector_xml("calibrationVector", line, pixels, values))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><calibration><adsHeader><missionId>S1A</missionId>'
        f"<productType>GRD</productType><polarisation>{pol}</polarisation></adsHeader>"
        "<calibrationInformation><absoluteCalibrationConstant>1.000000e+00"
        "</absoluteCalibrationConstant></calibrationInformation>"
        f'<calibrationVectorList count="{len(vectors)}">{"".join(vectors)}</calibrationVectorList>'
        "</calibration>"
    )


def noise_xml() -> str:
    pixels = [0, 150, WIDTH - 1]
    ranges = "".join(
        _vector_xml(
            "noiseRangeVector", line, pixels, {"noiseRangeLut": [1000.0 + 2.0 * p for p in pixels]}
        )
        for line in (0, HEIGHT - 1)
    )
    azimuth = (
        "<noiseAzimuthVector><swath>IW1</swath><firstAzimuthLine>0</firstAzimuthLine>"
        f"<firstRangeSample>0</firstRangeSample><lastAzimuthLine>{HEIGHT - 1}</lastAzimuthLine>"
        f"<lastRangeSample>{WIDTH - 1}</lastRangeSample>"
        f'<line count="2">0 {HEIGHT - 1}</line>'
        '<noiseAzimuthLut count="2">1.0 1.2</noiseAzimuthLut></noiseAzimuthVector>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><noise>'
        f'<noiseRangeVectorList count="2">{ranges}</noiseRangeVectorList>'
        f'<noiseAzimuthVectorList count="1">{azimuth}</noiseAzimuthVectorList></noise>'
    )


def dn_image(pol: str) -> np.ndarray:
    """DN: a bright block on a darker background, zeros (no data) on the first 5 columns."""
    dn = np.full((HEIGHT, WIDTH), 120 if pol == "VV" else 50, np.uint16)
    dn[60:140, 100:220] *= 3
    dn[:, :5] = 0
    return dn


def write_safe(
    root: Path, pols: tuple[str, ...] = ("VV", "VH"), kind: str = "grd", noise: bool = True
) -> Path:
    """Write the SAFE folder under ``root``; returns its path."""
    safe = root / f"{PRODUCT}.SAFE"
    (safe / "measurement").mkdir(parents=True)
    (safe / "annotation" / "calibration").mkdir(parents=True)
    (safe / "manifest.safe").write_text("<xfdu:XFDU/>")
    gcps = [
        GroundControlPoint(row, col, LON0 + col * DLON, LAT0 - row * DLAT, 0.0)
        for row in np.linspace(0, HEIGHT, 5)
        for col in np.linspace(0, WIDTH, 5)
    ]
    for pol in pols:
        name = stem(pol, kind)
        profile = {"driver": "GTiff", "width": WIDTH, "height": HEIGHT, "count": 1}
        with rasterio.open(
            safe / "measurement" / f"{name}.tiff", "w", dtype="uint16", **profile
        ) as ds:
            ds.gcps = (gcps, CRS.from_epsg(4326))
            ds.write(dn_image(pol), 1)
        calibration = safe / "annotation" / "calibration"
        (calibration / f"calibration-{name}.xml").write_text(calibration_xml(pol))
        if noise:
            (calibration / f"noise-{name}.xml").write_text(noise_xml())
    return safe
