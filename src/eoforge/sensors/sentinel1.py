"""Sentinel-1 Level-1 products as ESA delivers them (SAFE folders).

A SAFE folder (``S1A_IW_GRDH_1SDV_<start>_<stop>_<orbit>_<take>_<id>.SAFE``) holds
one ``measurement/*.tiff`` per polarisation (digital numbers in the radar's
geometry, located by ground control points) and, per measurement, the
``annotation/calibration/calibration-<measurement>.xml`` and ``noise-...xml``
that turn its numbers into backscatter (:mod:`eoforge.sar.calibration`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path

MEASUREMENT = re.compile(
    r"^(?P<mission>s1[a-d])-(?P<swath>iw|ew|wv|s[1-6])[0-9]?-(?P<kind>grd|slc)-"
    r"(?P<pol>vv|vh|hh|hv)-(?P<start>\d{8}t\d{6})-\d{8}t\d{6}-.+\.tiff?$",
    re.IGNORECASE,
)
"""A SAFE measurement file name, e.g. ``s1a-iw-grd-vv-20240101t054512-...-001.tiff``."""


@dataclass(frozen=True)
class MeasurementName:
    """What a measurement file's name says.

    Attributes:
        path: The measurement file.
        mission: ``S1A`` .. ``S1D``.
        kind: ``GRD`` or ``SLC``.
        polarisation: ``VV``, ``VH``, ``HH`` or ``HV``.
        start: Acquisition start (UTC).
    """

    path: Path
    mission: str
    kind: str
    polarisation: str
    start: datetime

    @property
    def calibration(self) -> Path:
        """Where the SAFE keeps this measurement's calibration LUTs."""
        return self._annotation("calibration")

    @property
    def noise(self) -> Path:
        """Where the SAFE keeps this measurement's thermal noise LUTs."""
        return self._annotation("noise")

    def _annotation(self, kind: str) -> Path:
        safe = self.path.parent.parent
        return safe / "annotation" / "calibration" / f"{kind}-{self.path.stem}.xml"


def measurement_name(path: str | PathLike[str]) -> MeasurementName | None:
    """Parse a SAFE measurement file name; None if ``path`` is not one."""
    file = Path(path)
    match = MEASUREMENT.match(file.name)
    if match is None:
        return None
    start = datetime.strptime(match["start"].upper(), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return MeasurementName(
        file, match["mission"].upper(), match["kind"].upper(), match["pol"].upper(), start
    )
