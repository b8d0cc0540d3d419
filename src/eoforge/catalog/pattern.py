r"""File-name patterns: a regex with named groups that groups band files into scenes.

A pattern such as ``r"(?P<sensor>S2[AB])_(?P<date>\\d{8})_(?P<band>B\\d\\w)"`` is
searched in each file name. Files whose names match and differ only in the
``band`` group form one scene; ``date`` gives the acquisition time and
``sensor`` the sensor. Without a ``band`` group, each matching file is a scene
of its own (a multi-band file) that takes its date and sensor from its name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from eoforge.errors import CatalogError

GROUPS = ("date", "sensor", "band")

_DATE_FORMATS = (
    "%Y%m%dT%H%M%S",
    "%Y%m%d%H%M%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%Y%m%d",
    "%Y_%m_%d",
    "%Y.%m.%d",
    "%Y%j",
)


@dataclass(frozen=True)
class NameMatch:
    """What a file name reveals through the pattern.

    Attributes:
        path: The file.
        scene_key: Identifier shared by the band files of one scene: the
            folder plus the file name with the band part removed.
        band: The ``band`` group, or None.
        sensor: The ``sensor`` group, or None.
        datetime: The ``date`` group parsed as UTC, or None.
    """

    path: Path
    scene_key: str
    band: str | None
    sensor: str | None
    datetime: datetime | None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a file-name pattern, checking its named groups.

    Raises:
        CatalogError: The regex is invalid or has groups other than date, sensor, band.
    """
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise CatalogError(
            f"invalid file-name pattern {pattern!r}: {exc}.",
            fix=r"give a Python regex, e.g. '(?P<sensor>S2[AB])_(?P<date>\d{8})_(?P<band>B\d\w)'.",
        ) from None
    unknown = set(regex.groupindex) - set(GROUPS)
    if unknown:
        raise CatalogError(
            f"file-name pattern {pattern!r} has unknown named groups: "
            f"{', '.join(sorted(unknown))}.",
            fix="use only the named groups date, sensor and band.",
        )
    return regex


def parse_date(text: str, path: str | os.PathLike[str] | None = None) -> datetime:
    """Parse a date found in a file name as a UTC datetime.

    Accepts ``YYYYMMDD``, ``YYYY-MM-DD``, ``YYYYMMDDTHHMMSS``, ISO 8601 and
    ``YYYYDDD`` (day of year).

    Raises:
        CatalogError: None of the formats fits.
    """
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CatalogError(
            f"the date group matched {text!r}, which is not a date.",
            path=path,
            fix="make the date group match YYYYMMDD, YYYY-MM-DD or YYYYMMDDTHHMMSS only.",
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def match_name(regex: re.Pattern[str], path: str | os.PathLike[str]) -> NameMatch | None:
    """Apply the pattern to a file's name (searched, not anchored).

    Returns:
        The match, or None when the name does not match.
    """
    path = Path(path)
    found = regex.search(path.name)
    if found is None:
        return None
    groups = found.groupdict()
    band = groups.get("band")
    stem = path.name
    if band is not None:
        start, end = found.span("band")
        stem = stem[:start] + "{band}" + stem[end:]
    date = groups.get("date")
    return NameMatch(
        path=path,
        scene_key=str(path.parent / stem),
        band=band,
        sensor=groups.get("sensor"),
        datetime=None if date is None else parse_date(date, path),
    )


def scene_name(scene_key: str) -> str:
    """A scene id from a scene key: the file name without band part and suffix."""
    name = Path(scene_key).stem.replace("{band}", "")
    return re.sub(r"[_\-.]{2,}", "_", name).strip("_-.") or Path(scene_key).parent.name
