"""Sentinel-2 product metadata (``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml``).

Reflectance is ``(DN + offset) / quantification``: the quantification value is
``QUANTIFICATION_VALUE`` (L1C) or ``BOA_QUANTIFICATION_VALUE`` (L2A), normally
10000; the per-band offset is ``RADIO_ADD_OFFSET`` (L1C) or ``BOA_ADD_OFFSET``
(L2A), -1000 for processing baseline 04.00 and later and absent (0) before.
Band indices in the metadata (``bandId`` 0..12) follow the ESA order
B01..B08, B8A, B09..B12, which is also the band order of full stacks.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from eoforge.errors import MetadataError, MissingFileError
from eoforge.sensors.band import Band
from eoforge.sensors.radiometry import Radiometry
from eoforge.sensors.registry import get_band, get_sensor

_ESA_IDS = (
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B8A",
    "B09",
    "B10",
    "B11",
    "B12",
)
ESA_BAND_ORDER = tuple(f"S2.{band_id}" for band_id in _ESA_IDS)
"""Canonical names by ESA ``bandId`` (0..12)."""

OFFSET_BASELINE = 4.0
"""First processing baseline (04.00, 2022-01-25) whose DNs carry an offset of -1000."""

_FIX = "use the original MTD_MSIL1C.xml / MTD_MSIL2A.xml of the product."


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _elements(root: ET.Element, tag: str) -> Iterator[ET.Element]:
    return (element for element in root.iter() if _local(element.tag) == tag)


def _text(root: ET.Element, tags: tuple[str, ...], path: Path) -> str:
    for tag in tags:
        for element in _elements(root, tag):
            if element.text and element.text.strip():
                return element.text.strip()
    raise MetadataError(f"MTD has no <{' or '.join(tags)}>.", path=path, fix=_FIX)


def _float(text: str, what: str, path: Path) -> float:
    try:
        return float(text)
    except ValueError:
        raise MetadataError(f"MTD field {what} = {text!r} is not a number.", path=path) from None


def _canonical(physical_band: str) -> str:
    """``"B1"`` -> ``"S2.B01"``, ``"B8A"`` -> ``"S2.B8A"``."""
    digits = physical_band.upper().lstrip("B")
    return f"S2.B{digits.zfill(2)}" if digits.isdigit() else f"S2.B{digits}"


def _band_ids(root: ET.Element) -> dict[str, str]:
    """Canonical band name by ``bandId`` from ``Spectral_Information``."""
    ids = {str(i): name for i, name in enumerate(ESA_BAND_ORDER)}
    for element in _elements(root, "Spectral_Information"):
        band_id, physical = element.get("bandId"), element.get("physicalBand")
        if band_id is not None and physical:
            ids[band_id] = _canonical(physical)
    return ids


def _offsets(root: ET.Element, tag: str, ids: Mapping[str, str], path: Path) -> dict[str, float]:
    offsets: dict[str, float] = {}
    for element in _elements(root, tag):
        band_id = element.get("band_id") or element.get("bandId")
        if band_id is None or band_id not in ids:
            raise MetadataError(f"<{tag}> has an unknown band_id {band_id!r}.", path=path, fix=_FIX)
        offsets[ids[band_id]] = _float(element.text or "", f"{tag}[{band_id}]", path)
    return offsets


@dataclass(frozen=True)
class Sentinel2Metadata:
    """Product-level facts and calibration of one Sentinel-2 L1C or L2A product.

    Attributes:
        path: The MTD file.
        product_uri: ``PRODUCT_URI``, e.g. ``"S2B_MSIL1C_..._T32UPC_....SAFE"``.
        spacecraft: ``SPACECRAFT_NAME``, e.g. ``"Sentinel-2B"``.
        level: ``"L1C"`` or ``"L2A"``.
        processing_baseline: ``PROCESSING_BASELINE`` text, e.g. ``"02.09"``.
        quantification_value: DN per unit reflectance, normally 10000.
        offsets: DN offset per canonical band name (empty before PB 04.00).
        acquired: ``PRODUCT_START_TIME`` (UTC).
        bands: Canonical names the product provides, in ESA ``bandId`` order.
    """

    path: Path
    product_uri: str
    spacecraft: str
    level: str
    processing_baseline: str
    quantification_value: float
    offsets: Mapping[str, float] = field(hash=False)
    acquired: datetime
    bands: tuple[str, ...]

    @property
    def baseline(self) -> float:
        """Processing baseline as a number, e.g. ``2.09``."""
        return float(self.processing_baseline)

    @property
    def registry_level(self) -> str:
        """Registry level with the same defaults, e.g. ``"L1C"`` or ``"L2A_N0400"``."""
        return self.level + ("_N0400" if self.baseline >= OFFSET_BASELINE else "")

    @property
    def tile_id(self) -> str | None:
        """MGRS tile, e.g. ``"32UPC"``, from the product name."""
        for part in self.product_uri.split("_"):
            if len(part) == 6 and part.startswith("T") and part[1:3].isdigit():
                return part[1:]
        return None

    def band(self, name: str | Band) -> Band:
        """Registry band named ``name`` (``"B04"``, ``"red"``, ``"S2.B04"``)."""
        return get_band(name, sensor="S2")

    def radiometry(self, band: str | Band) -> Radiometry:
        """Reflectance radiometry of one band: ``(DN + offset) / quantification``.

        Raises:
            MetadataError: When the product lacks the band or, from baseline
                04.00 on, the band's offset.
        """
        resolved = self.band(band)
        if resolved.name not in self.bands:
            raise MetadataError(
                f"{self.level} product has no band {resolved.name}.",
                path=self.path,
                fix=f"use one of {', '.join(self.bands)}.",
            )
        offset = self.offsets.get(resolved.name)
        if offset is None and self.baseline >= OFFSET_BASELINE:
            raise MetadataError(
                f"processing baseline {self.processing_baseline} needs an ADD_OFFSET for "
                f"{resolved.name}, but the MTD lists none.",
                path=self.path,
                fix=_FIX,
            )
        scale = 1.0 / self.quantification_value
        return Radiometry(
            scale=scale, offset=(offset or 0.0) * scale, nodata=0.0, unit="reflectance"
        )

    def reflectance(self, dn: npt.NDArray[Any], band: str | Band) -> npt.NDArray[np.float32]:
        """Reflectance (unitless, float32, shape of ``dn``) of one band's DNs."""
        return self.radiometry(band).apply(dn)


def _parse_root(path: Path) -> ET.Element:
    if not path.is_file():
        raise MissingFileError(
            "metadata file does not exist.", path=path, fix="check the path to MTD_MSI*.xml."
        )
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise MetadataError(f"not valid XML ({exc}).", path=path, fix=_FIX) from exc


def _level(root: ET.Element, path: Path) -> str:
    text = _text(root, ("PRODUCT_TYPE", "PROCESSING_LEVEL"), path).upper()
    for level in ("L1C", "L2A"):
        if level[1:] in text.replace("-", "").replace("LEVEL", ""):
            return level
    raise MetadataError(
        f"product type {text!r} is neither Level-1C nor Level-2A.", path=path, fix=_FIX
    )


def _acquired(root: ET.Element, path: Path) -> datetime:
    text = _text(root, ("PRODUCT_START_TIME", "DATATAKE_SENSING_START"), path)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MetadataError(f"PRODUCT_START_TIME {text!r} is not a time.", path=path) from None


def parse_s2_mtd(path: str | PathLike[str]) -> Sentinel2Metadata:
    """Read a Sentinel-2 product metadata file (``MTD_MSIL1C.xml``, ``MTD_MSIL2A.xml``).

    Args:
        path: The product-level MTD XML (not the granule's ``MTD_TL.xml``).

    Returns:
        The product's metadata and calibration.

    Raises:
        MissingFileError: When the file does not exist.
        MetadataError: When the XML is invalid or a required field is missing;
            the message names the file and the field.
    """
    file = Path(path)
    root = _parse_root(file)
    level = _level(root, file)
    ids = _band_ids(root)
    quantification_tag = "QUANTIFICATION_VALUE" if level == "L1C" else "BOA_QUANTIFICATION_VALUE"
    offset_tag = "RADIO_ADD_OFFSET" if level == "L1C" else "BOA_ADD_OFFSET"
    provided = {band.name for band in get_sensor("S2").bands_at(level)}
    return Sentinel2Metadata(
        path=file,
        product_uri=_text(root, ("PRODUCT_URI",), file),
        spacecraft=_text(root, ("SPACECRAFT_NAME",), file),
        level=level,
        processing_baseline=_text(root, ("PROCESSING_BASELINE",), file),
        quantification_value=_float(
            _text(root, (quantification_tag,), file), quantification_tag, file
        ),
        offsets=_offsets(root, offset_tag, ids, file),
        acquired=_acquired(root, file),
        bands=tuple(name for name in ids.values() if name in provided),
    )
