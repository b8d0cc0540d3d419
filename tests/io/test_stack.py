"""Stacks named after their product, calibrated from the metadata beside them (real samples)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from tests.helpers import coord_image, write_tif

from eoforge.errors import BandNotFoundError
from eoforge.io.handles import file_info
from eoforge.io.stack import as_datetime, metadata_datetime, metadata_radiometry, product_for_stack

LANDSAT = "ukis_pysat/LC08_L1TP_193024_20200509_20200509_01_RT"
SENTINEL2 = "ukis_pysat/S2B_MSIL1C_20200406T101559_N0209_R065_T32UPC_20200406T130159"


def test_landsat_stack_named_and_calibrated_from_its_mtl(real_data: Path) -> None:
    path = str(real_data / f"{LANDSAT}.tif")  # a str: the lookup takes any path
    product = product_for_stack(path, file_info(path))
    assert product is not None
    assert product.names == [f"L8.B{i}" for i in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11)]
    assert (product.sensor, product.level) == ("L8", "L1")
    assert product.datetime is not None
    assert product.datetime.date() == date(2020, 5, 9) and product.datetime.tzinfo is not None
    red = product.radiometry["L8.B4"]
    assert red.unit == "reflectance" and red.scale == pytest.approx(2.48315574685335e-05)
    uncalibrated = product_for_stack(path, file_info(path), calibrate=False)
    assert uncalibrated is not None and uncalibrated.radiometry == {}
    # Without the MTL, the date in the file name: midnight UTC.
    assert uncalibrated.datetime == datetime(2020, 5, 9, tzinfo=UTC)


def test_sentinel2_stack_and_its_mtd(real_data: Path) -> None:
    path = real_data / f"{SENTINEL2}.tif"
    product = product_for_stack(path, file_info(path))
    assert product is not None and product.names[3] == "S2.B04" and len(product.names) == 13
    assert product.radiometry["S2.B04"].scale == pytest.approx(1e-4)
    mtd = real_data / f"{SENTINEL2}_MTD.xml"
    assert metadata_datetime(str(mtd)) == product.datetime
    assert metadata_radiometry(str(mtd), ["S2.B04"])["S2.B04"] == product.radiometry["S2.B04"]


def test_files_that_are_no_known_stack(tmp_path: Path) -> None:
    plain = write_tif(tmp_path / "scene.tif", coord_image(8, 8, 3), (10, 0, 0, 0, -10, 80), 32631)
    assert product_for_stack(plain, file_info(plain)) is None
    # A Landsat name on a file with another band count: an error that says what to do.
    wrong = write_tif(
        tmp_path / "LC08_L1TP_193024_20200509_20200509_01_RT.tif",
        coord_image(8, 8, 3),
        (10, 0, 0, 0, -10, 80),
        32631,
    )
    with pytest.raises(BandNotFoundError, match=r"L8 L1 stack has 3 bands.*Fix: name the bands"):
        product_for_stack(wrong, file_info(wrong))
    assert metadata_radiometry(None, ["L8.B4"]) == {} and metadata_datetime(None) is None
    assert as_datetime(date(2020, 1, 2)) == datetime(2020, 1, 2, tzinfo=UTC)
