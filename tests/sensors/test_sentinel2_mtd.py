"""Sentinel-2 MTD parsing and reflectance against reference values from another tool."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import rasterio

from eoforge.errors import MetadataError
from eoforge.sensors import identify_stack, parse_s2_mtd

PRODUCT = "S2B_MSIL1C_20200406T101559_N0209_R065_T32UPC_20200406T130159"


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        return dataset.read()


def test_l1c_reflectance_matches_reference_tool(real_data: Path) -> None:
    folder = real_data / "ukis_pysat"
    stack = identify_stack(folder / f"{PRODUCT}.tif")
    assert stack is not None and stack.metadata == folder / f"{PRODUCT}_MTD.xml"
    metadata = parse_s2_mtd(stack.metadata)
    assert stack.bands == metadata.bands and len(stack.bands) == 13
    dn, reference = _read(stack.path), _read(folder / f"{PRODUCT}_toa.tif")
    for index, band in enumerate(stack.bands):
        value = metadata.reflectance(dn[index], band)
        np.testing.assert_allclose(value, reference[index], rtol=0, atol=1e-4)
    assert float(metadata.reflectance(np.array([1177]), "B01")[0]) == pytest.approx(0.1177)


def test_l1c_fields(real_data: Path) -> None:
    metadata = parse_s2_mtd(real_data / "ukis_pysat" / f"{PRODUCT}_MTD.xml")
    assert metadata.spacecraft == "Sentinel-2B" and metadata.level == "L1C"
    assert metadata.processing_baseline == "02.09" and metadata.baseline == pytest.approx(2.09)
    assert metadata.quantification_value == 10000 and dict(metadata.offsets) == {}
    assert metadata.acquired == datetime(2020, 4, 6, 10, 15, 59, 24000, tzinfo=UTC)
    assert metadata.tile_id == "32UPC" and metadata.registry_level == "L1C"
    assert metadata.bands[8] == "S2.B8A" and metadata.bands[10] == "S2.B10"
    radiometry = metadata.radiometry("red")
    assert (radiometry.scale, radiometry.offset, radiometry.nodata) == (1e-4, 0.0, 0.0)


def _modern_l2a(source: Path, target: Path) -> Path:
    """Turn the L1C MTD into a PB 05.10 L2A MTD (BOA tags, offsets of -1000)."""
    text = source.read_text()
    text = text.replace(
        "<PRODUCT_TYPE>S2MSI1C</PRODUCT_TYPE>", "<PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>"
    )
    text = text.replace("<PROCESSING_BASELINE>02.09<", "<PROCESSING_BASELINE>05.10<")
    text = text.replace("QUANTIFICATION_VALUE unit", "BOA_QUANTIFICATION_VALUE unit")
    text = text.replace("</QUANTIFICATION_VALUE>", "</BOA_QUANTIFICATION_VALUE>")
    offsets = "".join(f'<BOA_ADD_OFFSET band_id="{i}">-1000</BOA_ADD_OFFSET>' for i in range(13))
    text = text.replace(
        "<Reflectance_Conversion>",
        f"<BOA_ADD_OFFSET_VALUES_LIST>{offsets}</BOA_ADD_OFFSET_VALUES_LIST><Reflectance_Conversion>",
    )
    target.write_text(text)
    return target


def test_l2a_offsets_from_baseline_04(real_data: Path, tmp_path: Path) -> None:
    source = real_data / "ukis_pysat" / f"{PRODUCT}_MTD.xml"
    metadata = parse_s2_mtd(_modern_l2a(source, tmp_path / "MTD_MSIL2A.xml"))
    assert metadata.level == "L2A" and metadata.registry_level == "L2A_N0400"
    assert len(metadata.bands) == 12 and "S2.B10" not in metadata.bands
    assert metadata.offsets["S2.B8A"] == -1000
    np.testing.assert_allclose(
        metadata.reflectance(np.array([1000, 3500], dtype=np.uint16), "nir"), [0.0, 0.25], atol=1e-7
    )
    with pytest.raises(MetadataError, match=r"has no band S2\.B10"):
        metadata.radiometry("B10")


def test_missing_quantification_names_file(real_data: Path, tmp_path: Path) -> None:
    source = real_data / "ukis_pysat" / f"{PRODUCT}_MTD.xml"
    broken = tmp_path / "MTD_MSIL1C.xml"
    broken.write_text(source.read_text().replace("QUANTIFICATION_VALUE", "QV"))
    with pytest.raises(MetadataError) as info:
        parse_s2_mtd(broken)
    assert str(broken) in str(info.value) and "QUANTIFICATION_VALUE" in str(info.value)


def test_baseline_04_without_offsets_is_an_error(real_data: Path, tmp_path: Path) -> None:
    source = real_data / "ukis_pysat" / f"{PRODUCT}_MTD.xml"
    broken = tmp_path / "MTD_MSIL1C.xml"
    broken.write_text(source.read_text().replace(">02.09<", ">04.00<"))
    metadata = parse_s2_mtd(broken)
    with pytest.raises(MetadataError, match=r"needs an ADD_OFFSET for S2\.B04"):
        metadata.radiometry("B04")


def test_invalid_xml(tmp_path: Path) -> None:
    bad = tmp_path / "MTD_MSIL1C.xml"
    bad.write_text("<unclosed>")
    with pytest.raises(MetadataError, match="not valid XML"):
        parse_s2_mtd(bad)
