"""What to generate: :class:`SynthOptions`, validated with messages that say how to fix them.

``generate_scene(out, SynthOptions(size=512, dates=4))`` or, for a few
changes to the defaults, ``generate_scene(out, size=512, dates=4)``: the
keyword form takes the same fields, typed by :class:`SynthFields`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import TypedDict, Unpack

from pyproj import CRS
from pyproj.exceptions import CRSError

from eoforge.errors import ConfigError, available_list
from eoforge.synth.world.phenology import PHENOLOGIES, Phenology

SENSORS = ("s2", "s1", "l8", "dsm", "vhr")
DEFAULT_CENTER = (4.85, 45.75)
#: Most vessels per Sentinel-1 image.
MAX_VESSELS = 10000


@dataclass(frozen=True)
class SynthOptions:
    """What to generate.

    Attributes:
        size: Scene width and height in base pixels.
        seed: Seed of every random choice; the same seed gives the same bytes.
        sensors: Products to render, among :data:`SENSORS`.
        dates: Number of acquisitions in the time series.
        clouds: Mean cloud cover of optical acquisitions, 0-1.
        crs: Projected CRS of the scene (metres), e.g. ``"EPSG:32631"``.
        gsd: Base ground sampling distance in metres (labels, S2 10 m bands, S1, DEM).
        center: (longitude, latitude) of the scene centre, degrees.
        s2_offset: Sentinel-2 L2A DN offset: reflectance = (DN + offset) / 10000 (0 or -1000).
        s2_native: Write S2 20 m and 60 m bands at their native resolution (else at ``gsd``).
        looks: Equivalent number of looks of the S1 speckle.
        vectors: Write vector labels (buildings, fields, roads, objects).
        block: Block size in pixels for streamed generation (multiple of 256).
        vessels: Vessels on open water in each Sentinel-1 image (0: none); each date
            has its own fleet, labelled in ``vectors/vessels.*`` (needs ``s1``).
        wakes: Draw a wake (dark turbulent trail, bright Kelvin V) behind every vessel.
        phenology: How the fields of one crop differ over the season: ``uniform``
            (one green-up curve per crop: one mid-season date tells the crops
            apart) or ``varied`` (per field sowing shift, season length, vigour
            and soil: only the series over the season does); see
            :mod:`eoforge.synth.world.phenology`.
    """

    size: int = 2048
    seed: int = 0
    sensors: tuple[str, ...] = SENSORS
    dates: int = 6
    clouds: float = 0.2
    crs: str = "EPSG:32631"
    gsd: float = 10.0
    center: tuple[float, float] = DEFAULT_CENTER
    s2_offset: int = 0
    s2_native: bool = True
    looks: float = 4.4
    vectors: bool = True
    block: int = 1024
    vessels: int = 0
    wakes: bool = False
    phenology: Phenology = "uniform"

    def replace(self, **changes: Unpack[SynthFields]) -> SynthOptions:
        """A copy with some fields changed; ``sensors`` may be a comma-separated string.

        Args:
            **changes: New values of fields of this class.

        Returns:
            The new options (not validated: call :meth:`validate`).

        Raises:
            ConfigError: When a name is not a field, or a sensor name is unknown.
        """
        unknown = sorted(set(changes) - FIELD_NAMES)
        if unknown:
            raise ConfigError(
                f"unknown option(s) {', '.join(unknown)}.",
                fix=f"use among {', '.join(sorted(FIELD_NAMES))}.",
            )
        sensors = changes.get("sensors", self.sensors)
        return SynthOptions(
            size=changes.get("size", self.size),
            seed=changes.get("seed", self.seed),
            sensors=parse_sensors(sensors),
            dates=changes.get("dates", self.dates),
            clouds=changes.get("clouds", self.clouds),
            crs=changes.get("crs", self.crs),
            gsd=changes.get("gsd", self.gsd),
            center=changes.get("center", self.center),
            s2_offset=changes.get("s2_offset", self.s2_offset),
            s2_native=changes.get("s2_native", self.s2_native),
            looks=changes.get("looks", self.looks),
            vectors=changes.get("vectors", self.vectors),
            block=changes.get("block", self.block),
            vessels=changes.get("vessels", self.vessels),
            wakes=changes.get("wakes", self.wakes),
            phenology=changes.get("phenology", self.phenology),
        )

    def validate(self) -> SynthOptions:
        """Check every option.

        Returns:
            The same options with ``sensors`` in the canonical order of :data:`SENSORS`.

        Raises:
            ConfigError: For any invalid value, naming it and the fix.
        """
        _check(
            self.size >= 64,
            f"size={self.size} is too small",
            "use --size 64 or more (256+ recommended)",
        )
        _check(
            0 <= self.seed < 2**63, f"seed={self.seed} is out of range", "use a seed in [0, 2**63)"
        )
        parse_sensors(self.sensors)
        _check(
            1 <= self.dates <= 60,
            f"dates={self.dates} is out of range",
            "use --dates between 1 and 60",
        )
        _check(
            0.0 <= self.clouds <= 0.9,
            f"clouds={self.clouds} is out of range",
            "use --clouds in [0, 0.9]",
        )
        _check(
            0.5 <= self.gsd <= 1000.0,
            f"gsd={self.gsd} m is out of range",
            "use --gsd in [0.5, 1000] metres",
        )
        _check(
            self.s2_offset in (0, -1000),
            f"s2_offset={self.s2_offset}",
            "use 0 (before 2022) or -1000",
        )
        _check(self.looks >= 1.0, f"looks={self.looks} is below 1", "use --looks 1 or more")
        _check(
            self.block >= 256 and self.block % 256 == 0,
            f"block={self.block}",
            "use a multiple of 256",
        )
        _check(
            0 <= self.vessels <= MAX_VESSELS,
            f"vessels={self.vessels} is out of range",
            f"use --vessels between 0 and {MAX_VESSELS}",
        )
        _check(
            self.vessels == 0 or "s1" in parse_sensors(self.sensors),
            f"vessels={self.vessels} needs the Sentinel-1 images",
            "add s1 to --sensors, or use --vessels 0",
        )
        _check(
            not self.wakes or self.vessels > 0,
            "wakes=True without vessels",
            "ask for vessels (vessels=N), or leave wakes off",
        )
        parse_phenology(self.phenology)
        lon, lat = self.center
        _check(
            -180 <= lon <= 180 and -80 <= lat <= 84,
            f"center={self.center}",
            "give (lon, lat) in UTM range",
        )
        projected_crs(self.crs)
        return dataclasses.replace(self, sensors=parse_sensors(self.sensors))


class SynthFields(TypedDict, total=False):
    """The fields of :class:`SynthOptions` as keyword arguments (see there for their meaning).

    ``sensors`` may also be a comma-separated string, e.g. ``"s2,s1"``.
    """

    size: int
    seed: int
    sensors: str | Sequence[str]
    dates: int
    clouds: float
    crs: str
    gsd: float
    center: tuple[float, float]
    s2_offset: int
    s2_native: bool
    looks: float
    vectors: bool
    block: int
    vessels: int
    wakes: bool
    phenology: Phenology


#: Names of the fields of :class:`SynthOptions`.
FIELD_NAMES = frozenset(f.name for f in fields(SynthOptions))


def _check(ok: bool, problem: str, fix: str) -> None:
    if not ok:
        raise ConfigError(problem + ".", fix=fix + ".")


def parse_sensors(value: str | Iterable[str]) -> tuple[str, ...]:
    """Parse a sensor list (``"s2,s1"`` or an iterable), keeping the canonical order.

    Args:
        value: Comma-separated names or an iterable of names.

    Returns:
        The sensors, deduplicated, in the order of :data:`SENSORS`.

    Raises:
        ConfigError: When a name is unknown or the list is empty.
    """
    names = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value)]
    names = [n for n in names if n]
    unknown = sorted(set(names) - set(SENSORS))
    if unknown:
        raise ConfigError(
            f"unknown sensor(s) {', '.join(unknown)}.",
            fix=f"choose among {available_list(SENSORS)}, comma-separated (e.g. --sensors s2,s1).",
        )
    if not names:
        raise ConfigError("no sensor given.", fix=f"choose among {available_list(SENSORS)}.")
    return tuple(s for s in SENSORS if s in names)


def parse_phenology(value: str) -> Phenology:
    """Check a phenology name (:data:`~eoforge.synth.world.phenology.PHENOLOGIES`).

    Args:
        value: ``uniform`` or ``varied``.

    Returns:
        The name, typed.

    Raises:
        ConfigError: When the name is unknown.
    """
    for name in PHENOLOGIES:
        if value == name:
            return name
    raise ConfigError(
        f"phenology={value!r} is unknown.",
        fix=f"use --phenology with one of {available_list(PHENOLOGIES)}.",
    )


def projected_crs(value: str) -> CRS:
    """Parse a CRS that must be projected in metres.

    Args:
        value: Anything pyproj understands (``"EPSG:32631"``, WKT, PROJ string).

    Returns:
        The :class:`pyproj.CRS`.

    Raises:
        ConfigError: When the CRS is unknown or not projected in metres.
    """
    try:
        crs = CRS.from_user_input(value)
    except CRSError as exc:
        raise ConfigError(
            f"CRS {value!r} is not recognised ({exc}).", fix="give e.g. EPSG:32631."
        ) from exc
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if not crs.is_projected or unit not in ("metre", "meter"):
        raise ConfigError(
            f"CRS {value!r} is not projected in metres.",
            fix="use a UTM zone such as EPSG:32631 (synthetic sizes are in metres).",
        )
    return crs
