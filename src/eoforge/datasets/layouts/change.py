"""Bi-temporal change layouts: image pairs with a change mask (or damage classes).

Published layouts read, and the prepared form written per split:

* ``levircd`` (LEVIR-CD): one archive per split holding ``A/``, ``B/`` and
  ``label/`` PNGs of the same names (masks 0/255).
* ``s2looking`` (S2Looking): one archive with ``train/``, ``val/`` and
  ``test/``, each holding ``Image1/``, ``Image2/``, ``label/``, ``label1/``
  (newly built) and ``label2/`` (demolished) PNGs of the same names; ``label/``
  is the change map used (any non-zero value in any band is change).
* ``dsifn`` (DSIFN-CD): ``train/``, ``val/`` and ``test/``, each holding
  ``t1/`` and ``t2/`` JPEGs and ``mask/`` masks of the same stems (PNG in
  train/val, TIFF in test; non-zero is change).
* ``oscd`` (OSCD): the images archive with ``<city>/imgs_1_rect/<band>.tif``
  and ``<city>/imgs_2_rect/<band>.tif`` (one GeoTIFF per Sentinel-2 band) and
  the split lists ``train.txt`` and ``test.txt`` (comma-separated city names),
  and one label archive per split with ``<city>/cm/cm.png`` (non-zero is
  change) and ``<city>/cm/<city>-cm.tif`` (1 no change, 2 change).

For these four the prepared form is what ``data.kind: change_triplet`` reads:
``<split>/A/<name>``, ``<split>/B/<name>``, ``<split>/label/<name>`` (same stem
in the three folders). Files are hard links to the extracted ones, except
where the format must change: a label with several bands becomes a
single-band 0/255 GeoTIFF ``label/<stem>.tif``, and OSCD's per-band files are
stacked into one lossless GeoTIFF per date ``A/<city>.tif`` and
``B/<city>.tif`` ``[13, H, W]`` (the entry's band order, on the B02 10 m grid;
a band on another grid is resampled to it by nearest neighbour) with
``label/<city>.tif`` ``[1, H, W]`` uint8 0/1.

* ``bright`` (BRIGHT, DFC 2025 track 2): ``train/`` and ``val/``, each holding
  ``pre-event/<id>_pre_disaster.tif`` (optical RGB),
  ``post-event/<id>_post_disaster.tif`` (SAR, one band) and, in ``train/``
  only, ``target/<id>_building_damage.tif`` (0 background, 1 intact, 2
  damaged, 3 destroyed), with the split lists ``train_setlevel.txt``,
  ``holdout_setlevel.txt`` (both ids in ``train/``) and ``val_setlevel.txt``
  (ids in ``val/``). Prepared form: ``<split>/pre/<id>.tif``,
  ``<split>/post/<id>.tif`` and ``<split>/target/<id>.tif`` (no ``target/``
  where none is published).

Counts are pixels per class (``Parsed.unit == "pixels"``); a split without
published labels has empty counts.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning

from eoforge.datasets.entry import DatasetEntry
from eoforge.datasets.extract import extract_all
from eoforge.datasets.layouts.common import (
    Parsed,
    Parser,
    SplitSummary,
    Step,
    find_dir,
    pixel_counts,
    place,
    read_band1,
    read_lines,
)
from eoforge.errors import ConfigError

LABEL_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")
"""Suffixes a published change mask may have (its stem matches the image's)."""


def _levircd(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)
    names = [c.name for c in entry.classes]
    summaries = []
    for file in entry.files:
        split = file.splits[0]
        base = find_dir(
            extracted[file.filename],
            lambda p: all((p / d).is_dir() for d in ("A", "B", "label")),
            "A/, B/ and label/ folders",
        )
        if step is not None:
            step(f"linking and counting the {split} pairs")
        counts = Counter[str]()
        pairs = 0
        for image in sorted(p for p in (base / "A").iterdir() if p.is_file()):
            for sub in ("A", "B", "label"):
                source = base / sub / image.name
                if not source.is_file():
                    raise ConfigError(
                        f"{image.name} has no partner in {sub}/.",
                        path=base / sub,
                        fix="the archive is incomplete: download it again.",
                    )
                place(source, out / split / sub / image.name)
            counts.update(pixel_counts(read_band1(base / "label" / image.name), names, True))
            pairs += 1
        summaries.append(SplitSummary(split, out / split, pairs, {n: counts[n] for n in names}))
    return Parsed(summaries, "pixels")


def _read_all(path: Path) -> np.ndarray[Any, Any]:
    """Every band of a raster (PNG, JPEG, TIFF), ``[C, H, W]``; no georeferencing needed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            return np.asarray(ds.read())


def _write_gtiff(values: np.ndarray[Any, Any], dest: Path, crs: Any, transform: Any) -> None:
    """``values`` ``[C, H, W]`` as a deflate-compressed GeoTIFF (``crs`` may be None)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "count": values.shape[0],
        "height": values.shape[1],
        "width": values.shape[2],
        "dtype": values.dtype.name,
        "compress": "deflate",
    }
    if crs is not None:
        profile.update(crs=crs, transform=transform)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(dest, "w", **profile) as ds:
            ds.write(values)


def _binary_label(source: Path, label_dir: Path) -> np.ndarray[Any, Any]:
    """Put the change mask ``source`` into ``label_dir`` as change_triplet reads it.

    A single-band mask is hard-linked under its own name; a mask with several
    bands (e.g. new and demolished buildings in different colours) is written
    as the single-band 0/255 GeoTIFF ``<stem>.tif`` (change = any band non-zero).

    Returns:
        The change mask, bool ``[H, W]``.
    """
    values = _read_all(source)
    change = np.asarray((values != 0).any(axis=0))
    if values.shape[0] == 1:
        place(source, label_dir / source.name)
    else:
        binary = (change.astype(np.uint8) * 255)[np.newaxis]
        _write_gtiff(binary, label_dir / f"{source.stem}.tif", None, None)
    return change


def _link_triplets(
    entry: DatasetEntry, base: Path, folders: tuple[str, str, str], out: Path
) -> SplitSummary:
    """Link one split of a ``<before>/``, ``<after>/``, ``<label>/`` layout as A/B/label.

    Args:
        entry: The dataset (its two classes name the counts).
        base: The published split folder holding the three folders.
        folders: Names of the before, after and label folders.
        out: The prepared split folder.

    Raises:
        ConfigError: A folder is missing, or an image lacks its partner or mask.
    """
    before, after, label = folders
    for sub in folders:
        if not (base / sub).is_dir():
            raise ConfigError(
                f"the {base.name} split has no {sub}/ folder.",
                path=base / sub,
                fix="the archive is incomplete: download it again.",
            )
    names = [c.name for c in entry.classes]
    counts = Counter[str]()
    pairs = 0
    for image in sorted(p for p in (base / before).iterdir() if p.is_file()):
        partner = base / after / image.name
        if not partner.is_file():
            raise ConfigError(
                f"{image.name} of {before}/ has no partner in {after}/.",
                path=partner,
                fix="the archive is incomplete: download it again.",
            )
        masks = [base / label / f"{image.stem}{s}" for s in LABEL_SUFFIXES]
        mask = next((m for m in masks if m.is_file()), None)
        if mask is None:
            raise ConfigError(
                f"{image.name} of {before}/ has no change mask in {label}/.",
                path=base / label / f"{image.stem}.png",
                fix="the archive is incomplete: download it again.",
            )
        place(image, out / "A" / image.name)
        place(partner, out / "B" / image.name)
        change = _binary_label(mask, out / "label")
        counts.update(pixel_counts(change.astype(np.uint8), names, True))
        pairs += 1
    return SplitSummary(base.name, out, pairs, {n: counts[n] for n in names})


def _split_folders(
    entry: DatasetEntry, folder: Path, step: Step | None, inner: str, out: Path
) -> Parsed:
    """Parse a single archive of ``<split>/<inner>/...`` folders (S2Looking, DSIFN-CD)."""
    folders = {"s2looking": ("Image1", "Image2", "label"), "dsifn": ("t1", "t2", "mask")}
    wanted = folders[entry.layout]
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    base = find_dir(
        extracted,
        lambda p: (p / entry.splits[0] / inner).is_dir(),
        f"{'/, '.join(entry.splits)}/ folders with {'/, '.join(wanted)}/",
    )
    summaries = []
    for split in entry.splits:
        if step is not None:
            step(f"linking and counting the {split} pairs")
        if not (base / split).is_dir():
            raise ConfigError(
                f"the {split}/ folder is missing.",
                path=base / split,
                fix="the archive is incomplete: download it again.",
            )
        summaries.append(_link_triplets(entry, base / split, wanted, out / split))
    return Parsed(summaries, "pixels")


def _s2looking(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    return _split_folders(entry, folder, step, "Image1", out)


def _dsifn(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    return _split_folders(entry, folder, step, "t1", out)


def _cities(path: Path, entry: DatasetEntry) -> list[str]:
    """City names of an OSCD split list (comma-separated, on one or more lines)."""
    return [c.strip() for line in read_lines(path, entry) for c in line.split(",") if c.strip()]


def _stack_date(city: Path, date: int, bands: list[str]) -> tuple[np.ndarray[Any, Any], Any, Any]:
    """One date of an OSCD city as ``[13, H, W]`` on the B02 grid, with its CRS and transform.

    Raises:
        ConfigError: A band file is missing.
    """
    sub = city / f"imgs_{date}_rect"
    paths = [sub / f"{band}.tif" for band in bands]
    for path in paths:
        if not path.is_file():
            raise ConfigError(
                f"{city.name} has no {path.name} for date {date}.",
                path=path,
                fix="the images archive is incomplete: download it again.",
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(sub / "B02.tif") as ref:
            shape, crs, transform = (ref.height, ref.width), ref.crs, ref.transform
        layers = []
        for path in paths:
            with rasterio.open(path) as ds:
                layers.append(
                    ds.read(1, out_shape=shape, resampling=Resampling.nearest)
                    if (ds.height, ds.width) != shape
                    else ds.read(1)
                )
    dtype = np.result_type(*layers)
    return np.stack([layer.astype(dtype) for layer in layers]), crs, transform


def _oscd_change(labels: Path, city: str) -> np.ndarray[Any, Any]:
    """The change mask of an OSCD city, bool ``[H, W]``: cm.png, else <city>-cm.tif.

    Raises:
        ConfigError: Neither file is there.
    """
    cm = labels / city / "cm"
    if (cm / "cm.png").is_file():
        return np.asarray((_read_all(cm / "cm.png") != 0).any(axis=0))
    if (cm / f"{city}-cm.tif").is_file():
        return np.asarray(read_band1(cm / f"{city}-cm.tif") == 2)
    raise ConfigError(
        f"the city {city} has no change mask (cm/cm.png or cm/{city}-cm.tif).",
        path=cm,
        fix="the labels archive is incomplete: download it again.",
    )


def _oscd(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)
    images = find_dir(
        extracted[entry.files[0].filename],
        lambda p: (p / "train.txt").is_file() and (p / "test.txt").is_file(),
        "train.txt and test.txt beside the city folders",
    )
    bands = [band.split(".", 1)[1] for band in entry.bands]
    names = [c.name for c in entry.classes]
    listed: set[str] = set()
    summaries = []
    for split in entry.splits:
        cities = _cities(images / f"{split}.txt", entry)
        listed.update(cities)
        label_file = next(f for f in entry.files if f.splits == (split,))
        if not cities:
            raise ConfigError(
                f"{split}.txt names no city.",
                path=images / f"{split}.txt",
                fix="the images archive is damaged: download it again.",
            )
        first_city = cities[0]
        labels = find_dir(
            extracted[label_file.filename],
            lambda p: (p / first_city / "cm").is_dir(),  # noqa: B023 (used at once)
            f"the {split} cities' cm/ folders",
        )
        counts = Counter[str]()
        for city in cities:
            if step is not None:
                step(f"stacking the 13 bands of {city} ({split})")
            if not (images / city).is_dir():
                raise ConfigError(
                    f"{split}.txt names the city {city}, which the images archive lacks.",
                    path=images / city,
                    fix="the images archive is incomplete: download it again.",
                )
            first, crs, transform = _stack_date(images / city, 1, bands)
            second, _, _ = _stack_date(images / city, 2, bands)
            change = _oscd_change(labels, city)
            if first.shape != second.shape or change.shape != first.shape[1:]:
                raise ConfigError(
                    f"{city}: the dates and the change mask differ in size "
                    f"({first.shape[1:]}, {second.shape[1:]}, {change.shape}).",
                    path=images / city,
                    fix="the archives do not belong together: download them again.",
                )
            _write_gtiff(first, out / split / "A" / f"{city}.tif", crs, transform)
            _write_gtiff(second, out / split / "B" / f"{city}.tif", crs, transform)
            mask = change.astype(np.uint8)[np.newaxis]
            _write_gtiff(mask, out / split / "label" / f"{city}.tif", crs, transform)
            counts.update(pixel_counts(mask[0], names, True))
        summaries.append(
            SplitSummary(split, out / split, len(cities), {n: counts[n] for n in names})
        )
    found = {p.name for p in images.iterdir() if (p / "imgs_1_rect").is_dir()}
    return Parsed(summaries, "pixels", unassigned=len(found - listed))


BRIGHT_GROUPS = {
    "pre": {"folder": "pre", "bands": ["RGB.red", "RGB.green", "RGB.blue"]},
    "post": {"folder": "post", "bands": ["XSAR.amplitude"]},
}
"""BRIGHT's input groups as ``data.kind: group_chips`` reads the prepared splits: optical RGB
before the event, one X-band SAR amplitude band (Capella, Umbra) after it."""

BRIGHT_SPLITS = {
    "train": ("train_setlevel.txt", "train"),
    "val": ("holdout_setlevel.txt", "train"),
    "test": ("val_setlevel.txt", "val"),
}
"""BRIGHT split -> (its DFC 2025 split list, the published folder holding its ids)."""


def _bright(entry: DatasetEntry, folder: Path, out: Path, step: Step | None) -> Parsed:
    extracted = extract_all(entry, folder.parent, step)[entry.files[0].filename]
    base = find_dir(
        extracted,
        lambda p: (p / "train_setlevel.txt").is_file() and (p / "train").is_dir(),
        "train_setlevel.txt beside a train/ folder",
    )
    names = [c.name for c in entry.classes]
    listed: set[tuple[str, str]] = set()
    summaries = []
    for split in entry.splits:
        list_name, sub = BRIGHT_SPLITS[split]
        ids = read_lines(base / list_name, entry)
        if step is not None:
            step(f"linking and counting the {split} pairs")
        counts = Counter[str]()
        for sample in ids:
            listed.add((sub, sample))
            files = {
                "pre": base / sub / "pre-event" / f"{sample}_pre_disaster.tif",
                "post": base / sub / "post-event" / f"{sample}_post_disaster.tif",
            }
            if (base / sub / "target").is_dir():
                files["target"] = base / sub / "target" / f"{sample}_building_damage.tif"
            for kind, path in files.items():
                if not path.is_file():
                    raise ConfigError(
                        f"{list_name} names {sample}, which has no {path.parent.name} file.",
                        path=path,
                        fix="the archive is incomplete: download it again.",
                    )
                place(path, out / split / kind / f"{sample}.tif")
            if "target" in files:
                counts.update(pixel_counts(read_band1(files["target"]), names, False))
        labelled = (base / sub / "target").is_dir()
        class_counts = {**{n: counts[n] for n in names}, **counts} if labelled else {}
        summaries.append(SplitSummary(split, out / split, len(ids), class_counts))
    suffix = "_pre_disaster.tif"
    found = {
        (sub, p.name[: -len(suffix)])
        for sub in {s for _, s in BRIGHT_SPLITS.values()}
        if (base / sub / "pre-event").is_dir()
        for p in (base / sub / "pre-event").iterdir()
        if p.name.endswith(suffix)
    }
    return Parsed(summaries, "pixels", unassigned=len(found - listed))


PARSERS: dict[str, Parser] = {
    "levircd": _levircd,
    "s2looking": _s2looking,
    "dsifn": _dsifn,
    "oscd": _oscd,
    "bright": _bright,
}
"""Layout name to parser."""
