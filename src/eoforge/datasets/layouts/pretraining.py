"""Unlabelled pretraining layouts (SSL4EO-S12, SpectralEarth): one split ``all``.

``ssl4eo_s12`` reads the three archives, each published as a ``.tar.gz``
split into parts (``s1_grd.tar.gz.partaa``, ``partab``, ...): the parts of
an archive are joined (next to them, deleted after) and extracted to
``extracted/<archive>/``, which holds ``<sensor>/<location>/<acquisition>/``
with one GeoTIFF per band: ``s1`` (``VV.tif``, ``VH.tif``), ``s2c`` (L1C,
``B1.tif`` ... ``B12.tif`` with ``B8A`` and ``B10``) and ``s2a`` (L2A, no
``B10``); locations are 7-digit folders. Prepared form: ``all/<sensor>/<location>``,
relative symbolic links to the extracted location folders. Counts are
locations (distinct over the sensors); class counts are locations per sensor.

``spectralearth`` reads the extracted DLR archive: ``enmap/<patch>/<image>.tif``,
202-band EnMAP patches, a patch folder holding one or more acquisitions.
Prepared form: ``all/<patch>``, relative symbolic links to the patch folders.
Counts are patches; there are no classes.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import rasterio
from rasterio.errors import NotGeoreferencedWarning

from eoforge.datasets.download import not_downloaded
from eoforge.datasets.entry import DatasetEntry
from eoforge.datasets.extract import EXTRACTED, extract_all, safe_extract
from eoforge.datasets.layouts.common import Parsed, Parser, SplitSummary, Step, find_dir, link_dir
from eoforge.errors import ConfigError

PART = ".part"
"""What separates an archive's name from its part suffix (``s1_grd.tar.gz.partaa``)."""

SSL4EO_SENSORS = {"s1_grd": "s1", "s2_l1c": "s2c", "s2_l2a": "s2a"}
"""Published archive name to the sensor folder it holds (and the prepared one)."""

_S2 = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")
SSL4EO_BAND_FILES = {
    "s1": ("VV", "VH"),
    "s2c": _S2,
    "s2a": tuple(b for b in _S2 if b != "B10"),
}
"""Sensor folder to the band files (``<band>.tif``) every acquisition folder holds."""

SPECTRALEARTH_BANDS = 202
"""Bands of a SpectralEarth patch image."""


def _archives(entry: DatasetEntry) -> dict[str, list[str]]:
    """Archive name (``s1_grd``) to its part file names in published order."""
    parts: dict[str, list[str]] = {}
    for file in entry.files:
        archive = file.filename.split(PART)[0].removesuffix(".tar.gz")
        parts.setdefault(archive, []).append(file.filename)
    return parts


@contextmanager
def _joined(folder: Path, name: str, parts: list[str], entry: DatasetEntry) -> Iterator[Path]:
    """The parts joined into ``folder/<name>.tar.gz`` for the ``with`` block; deleted after.

    Raises:
        MissingFileError: A part has not been downloaded.
    """
    for part in parts:
        if not (folder / part).is_file():
            raise not_downloaded(entry, folder / part)
    joined = folder / f".{name}.tar.gz.joined"
    try:
        with open(joined, "wb") as out:
            for part in parts:
                with open(folder / part, "rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
        yield joined
    finally:
        joined.unlink(missing_ok=True)


def _check_acquisitions(location: Path, bands: tuple[str, ...]) -> None:
    """Every acquisition folder of ``location`` holds every band file.

    Raises:
        ConfigError: A location has no acquisition, or one misses a band.
    """
    acquisitions = [p for p in location.iterdir() if p.is_dir()]
    if not acquisitions:
        raise ConfigError(
            f"location {location.name} has no acquisition folders.",
            path=location,
            fix="the archive is incomplete: delete the extracted folder and download again.",
        )
    for acquisition in acquisitions:
        present = {p.name for p in acquisition.iterdir()}
        missing = [b for b in bands if f"{b}.tif" not in present]
        if missing:
            raise ConfigError(
                f"acquisition {acquisition.name} of location {location.name} has no "
                f"{missing[0]}.tif.",
                path=acquisition,
                fix="the archive is incomplete: delete the extracted folder and download again.",
            )


def _ssl4eo_s12(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    counts: dict[str, int] = {}
    locations: set[str] = set()
    for archive, parts in _archives(entry).items():
        sensor = SSL4EO_SENSORS.get(archive)
        if sensor is None:
            raise ConfigError(
                f"unknown SSL4EO-S12 archive {archive!r} (known: {sorted(SSL4EO_SENSORS)}).",
                fix="name the entry's files <archive>.tar.gz.part<aa...> after the published "
                "archives.",
            )
        target = folder / EXTRACTED / archive
        if not target.is_dir():
            if step is not None:
                step(f"joining and extracting the {len(parts)} parts of {archive}.tar.gz")
            with _joined(folder, archive, parts, entry) as joined:
                safe_extract(joined, target)
        root = find_dir(
            target,
            lambda p: any(c.is_dir() and c.name.isdigit() for c in p.iterdir()),
            f"{sensor} location folders (7-digit names)",
        )
        if step is not None:
            step(f"checking and linking the {sensor} locations")
        found = sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit())
        for location in found:
            _check_acquisitions(location, SSL4EO_BAND_FILES[sensor])
            link_dir(location, out / "all" / sensor / location.name)
        counts[sensor] = len(found)
        locations.update(p.name for p in found)
    (out / "all").mkdir(parents=True, exist_ok=True)
    return Parsed([SplitSummary("all", out / "all", len(locations), counts)], "locations")


def _band_count(path: Path) -> int:
    """Bands of a raster (no georeferencing needed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            return int(ds.count)


def _spectralearth(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    root = find_dir(extracted, lambda p: any(p.glob("*/*.tif")), "patch folders of .tif images")
    if step is not None:
        step("linking the patches")
    patches = sorted(p for p in root.iterdir() if p.is_dir())
    checked = False
    for patch in patches:
        images = sorted(patch.glob("*.tif"))
        if not images:
            raise ConfigError(
                f"patch folder {patch.name} holds no .tif image.",
                path=patch,
                fix="the archive is incomplete: delete the extracted folder and download again.",
            )
        if not checked:  # one image tells whether the archive holds 202-band patches
            bands = _band_count(images[0])
            if bands != SPECTRALEARTH_BANDS:
                raise ConfigError(
                    f"{images[0].name} has {bands} bands, not the {SPECTRALEARTH_BANDS} of a "
                    "SpectralEarth patch.",
                    path=images[0],
                    fix="place the archive of the pretraining patches (enmap/), not of another "
                    "SpectralEarth product.",
                )
            checked = True
        link_dir(patch, out / "all" / patch.name)
    (out / "all").mkdir(parents=True, exist_ok=True)
    return Parsed([SplitSummary("all", out / "all", len(patches), {})], "patches")


PARSERS: dict[str, Parser] = {"ssl4eo_s12": _ssl4eo_s12, "spectralearth": _spectralearth}
"""Layout name to parser."""
