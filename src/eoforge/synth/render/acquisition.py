"""When each image is taken and under which sky: dates, sun position and clouds.

The series spreads its dates evenly over the 2024 growing season; each
optical acquisition (Sentinel-2 and Landsat draw their own clouds) pairs the
sun at 10:30 local solar time with that date's cloud deck.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from eoforge.synth.render.clouds import CloudDeck, make_deck
from eoforge.synth.world.layout import Layout

SEASON_START = dt.date(2024, 3, 1)
SEASON_END = dt.date(2024, 10, 31)


def acquisition_dates(n_dates: int) -> list[dt.date]:
    """Dates of a series spread evenly over the growing season.

    Args:
        n_dates: Number of dates (>= 1). A single date falls on 1 July.

    Returns:
        The dates, increasing.
    """
    if n_dates == 1:
        return [dt.date(2024, 7, 1)]
    span = (SEASON_END - SEASON_START).days
    return [
        SEASON_START + dt.timedelta(days=round(i * span / (n_dates - 1))) for i in range(n_dates)
    ]


def day_of_year(date: dt.date) -> int:
    """Day of year, 1 on 1 January."""
    return date.timetuple().tm_yday


def sun_position(date: dt.date, latitude: float, local_hour: float = 10.5) -> tuple[float, float]:
    """Solar zenith and azimuth at a local solar time (Cooper's declination).

    Args:
        date: Acquisition date.
        latitude: Latitude in degrees.
        local_hour: Local solar time in hours (Sentinel-2 and Landsat pass at about 10:30).

    Returns:
        (zenith, azimuth) in degrees; azimuth clockwise from north.
    """
    doy = day_of_year(date)
    decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + doy) / 365.0)
    hour = math.radians(15.0 * (local_hour - 12.0))
    lat = math.radians(latitude)
    cos_z = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(hour)
    zenith = math.acos(max(-1.0, min(1.0, cos_z)))
    azimuth = math.atan2(
        math.sin(hour), math.cos(hour) * math.sin(lat) - math.tan(decl) * math.cos(lat)
    )
    return math.degrees(zenith), (math.degrees(azimuth) + 180.0) % 360.0


@dataclass(frozen=True)
class Acquisition:
    """Illumination and clouds of one optical acquisition.

    Attributes:
        doy: Day of year.
        zenith: Solar zenith, degrees.
        azimuth: Solar azimuth, degrees clockwise from north.
        deck: The clouds.
        seed: Scene seed.
    """

    doy: float
    zenith: float
    azimuth: float
    deck: CloudDeck
    seed: int


def acquisitions(
    layout: Layout, stream: str, dates: list[dt.date], latitude: float, mean_cover: float
) -> list[Acquisition]:
    """One optical sensor's acquisitions of the series.

    Args:
        layout: Calibrated scene plan (its seed seeds the clouds).
        stream: Sensor name (``"s2"``, ``"l8"``), so sensors see different clouds.
        dates: Acquisition dates.
        latitude: Scene centre latitude, degrees.
        mean_cover: Mean cloud cover over dates, 0-1.

    Returns:
        One :class:`Acquisition` per date.
    """
    out = []
    for index, date in enumerate(dates):
        zenith, azimuth = sun_position(date, latitude)
        deck = make_deck(layout, stream, index, mean_cover, zenith, azimuth)
        out.append(Acquisition(float(day_of_year(date)), zenith, azimuth, deck, layout.seed))
    return out
