"""CRS and bounds labels (``eoforge.geo.format``) and the orientation of rotated grids."""

from __future__ import annotations

from pathlib import Path

import pyproj
import pytest
import rasterio
from affine import Affine
from odc.geo import CRS

from eoforge.geo import (
    bounds_label,
    crs_label,
    grid_rotation,
    grid_skew,
    make_grid,
    pixel_size,
)

UTM_WKT_WITHOUT_CODE = (
    'PROJCS["UTM Zone 31, Northern Hemisphere",GEOGCS["WGS 84 based",'
    'DATUM["unnamed",SPHEROID["International 1924",6378388,297]],PRIMEM["Greenwich",0],'
    'UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",3],'
    'PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],'
    'PARAMETER["false_northing",0],UNIT["metre",1]]'
)


@pytest.mark.parametrize(
    "crs",
    [
        "EPSG:32631",
        32631,
        pyproj.CRS.from_epsg(32631),
        CRS("EPSG:32631"),
        rasterio.crs.CRS.from_epsg(32631),
        pyproj.CRS.from_epsg(32631).to_wkt(),
    ],
)
def test_crs_label_is_code_and_name_whatever_the_form(crs: object) -> None:
    assert crs_label(crs) == "EPSG:32631 (WGS 84 / UTM zone 31N)"


def test_crs_label_of_other_authorities_unnamed_and_missing_crs() -> None:
    assert crs_label("EPSG:4326") == "EPSG:4326 (WGS 84)"
    assert crs_label("ESRI:54009") == "ESRI:54009 (World_Mollweide)"
    # No code and no equal CRS in PROJ's database: the WKT name, said so. PROJ matches
    # this one to ED50 / UTM 31N (EPSG:23031) only by assuming a datum it does not state.
    assert crs_label(UTM_WKT_WITHOUT_CODE) == "UTM Zone 31, Northern Hemisphere (no EPSG code)"
    # Unnamed (a PROJ string): its parameters stand for the name.
    assert crs_label("+proj=utm +zone=31 +ellps=WGS84 +units=m") == (
        "+proj=utm +zone=31 +ellps=WGS84 +units=m +no_defs +type=crs (no EPSG code)"
    )
    assert crs_label(None) == "no CRS"


def test_crs_label_of_a_real_file_without_epsg_code(real_data: Path) -> None:
    with rasterio.open(real_data / "rasterio" / "rgb1.tif") as src:
        label = crs_label(src.crs)
    assert label == "UTM Zone 18, Northern Hemisphere (no EPSG code)"


def test_bounds_label_precision_follows_the_units() -> None:
    # Metres: centimetres at most, trailing zeros dropped.
    assert bounds_label((101985.0, 2611485.0, 339315.0, 2826915.0), "EPSG:32618") == (
        "(101985, 2611485, 339315, 2826915)"
    )
    assert bounds_label((500000.123456, -0.004, 1.5, 2.25), "EPSG:32631") == (
        "(500000.12, 0, 1.5, 2.25)"
    )
    # Degrees: 6 decimals (0.1 m), not the 2 that suit metres.
    assert bounds_label((-78.95886234, 23.5634, -76.57497, 25.55095211), "EPSG:4326") == (
        "(-78.958862, 23.5634, -76.57497, 25.550952)"
    )
    # US survey feet are linear units too.
    assert bounds_label([1000.126, 2.0, 3.0, 4.0], "EPSG:2263") == "(1000.13, 2, 3, 4)"
    # No CRS: 10 significant digits; non-finite values are written, not hidden.
    assert bounds_label((0.1234567890123, 2.0, float("nan"), float("inf")), None) == (
        "(0.123456789, 2, nan, inf)"
    )


NORTH_UP = Affine(10, 0, 500000, 0, -10, 5600000)


@pytest.mark.parametrize(
    ("transform", "rotation", "skew", "size"),
    [
        (NORTH_UP, 0.0, 0.0, (10, 10)),
        (NORTH_UP @ Affine.rotation(30), -30.0, 0.0, (10, 10)),
        (
            Affine.translation(5e5, 5.6e6) @ Affine.rotation(30) @ Affine.scale(10, -20),
            30,
            0,
            (10, 20),
        ),
        (
            Affine.translation(5e5, 5.6e6) @ Affine.rotation(180) @ Affine.scale(10, -10),
            180,
            0,
            (10, 10),
        ),
        (
            Affine.translation(5e5, 5.6e6) @ Affine.rotation(-90) @ Affine.scale(10, -10),
            -90,
            0,
            (10, 10),
        ),
        (Affine(10, 5, 5e5, 0, -10, 5.6e6), 0.0, 26.56505117707799, (10, 11.180339887498949)),
    ],
)
def test_rotation_skew_and_true_pixel_size(
    transform: Affine, rotation: float, skew: float, size: tuple[float, float]
) -> None:
    grid = make_grid((100, 100), transform, "EPSG:32631")
    assert grid_rotation(grid) == pytest.approx(rotation, abs=1e-9)
    assert grid_skew(grid) == pytest.approx(skew, abs=1e-9)
    assert pixel_size(grid) == pytest.approx(size)
