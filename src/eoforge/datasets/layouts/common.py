"""The layout parsers' toolkit: what a parser returns and the steps parsers share.

A parser is ``parse(entry, folder, out, step) -> Parsed``: ``folder`` is the
dataset folder (downloaded files, ``extracted/``), ``out`` the empty folder that
becomes ``<folder>/eoforge/`` when the parser returns, ``step`` a callback for
progress text. It writes one sub-folder per official split under ``out`` and
says what it found.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from eoforge.datasets.download import not_downloaded
from eoforge.datasets.entry import DatasetEntry
from eoforge.errors import ConfigError

Step = Callable[[str], None]
"""Called with a short description of what prepare is doing now."""


@dataclass(frozen=True)
class SplitSummary:
    """One prepared split.

    Attributes:
        name: Split name.
        path: Its folder.
        count: Items (images, pairs, tiles, patches, scenes or samples).
        class_counts: Class name to count (see :attr:`Parsed.unit`).
    """

    name: str
    path: Path
    count: int
    class_counts: dict[str, int]


@dataclass(frozen=True)
class Parsed:
    """What a layout parser wrote.

    Attributes:
        splits: The splits in the entry's order.
        unit: What the class counts count: ``images``, ``patches``, ``pixels``,
            ``objects``, ``samples``...
        unassigned: Items found that no official split lists (left out).
    """

    splits: list[SplitSummary]
    unit: str
    unassigned: int = 0


Parser = Callable[[DatasetEntry, Path, Path, "Step | None"], Parsed]
"""A layout parser: ``(entry, dataset folder, output folder, step) -> Parsed``."""


def find_dir(base: Path, wanted: Callable[[Path], bool], what: str) -> Path:
    """The shallowest folder under ``base`` (``base`` included) that ``wanted`` accepts.

    Raises:
        ConfigError: None within 8 levels; ``what`` describes the folder sought.
    """
    level = [base]
    for _ in range(8):
        for folder in level:
            if wanted(folder):
                return folder
        level = sorted(p for f in level for p in f.iterdir() if p.is_dir() and not p.is_symlink())
        if not level:
            break
    raise ConfigError(
        f"no {what} found in the extracted files.",
        path=base,
        fix="delete the extracted folder and run prepare again; if it persists the archive's "
        "layout has changed.",
    )


def place(source: Path, dest: Path) -> None:
    """Hard-link ``source`` as ``dest`` (a copy where hard links are not possible)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def link_dir(source: Path, dest: Path) -> None:
    """``dest`` as a relative symbolic link to the folder ``source``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(source, dest.parent), dest)


def read_lines(path: Path, entry: DatasetEntry) -> list[str]:
    """The non-empty, stripped lines of a split list.

    Raises:
        MissingFileError: The file is not there (says to download ``entry``).
    """
    if not path.is_file():
        raise not_downloaded(entry, path)
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def pixel_counts(mask: np.ndarray[Any, Any], names: list[str], binary: bool) -> Counter[str]:
    """Pixels per class of a class-id mask (``binary``: 0 vs anything else).

    Values beyond the class list are counted as ``"value N"``.
    """
    values = (mask > 0).astype(np.int64) if binary else mask.astype(np.int64)
    found = np.bincount(values.ravel(), minlength=len(names))
    counts = Counter[str]()
    for value, n in enumerate(found):
        if n:
            name = names[value] if value < len(names) else f"value {value}"
            counts[name] += int(n)
    return counts


def read_band1(path: Path) -> np.ndarray[Any, Any]:
    """The first band of a raster (PNG, JPEG, TIFF), ``[H, W]``; no georeferencing needed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            return np.asarray(ds.read(1))


def write_tile(source: Any, window: Window, values: np.ndarray[Any, Any], dest: Path) -> None:
    """One window of the open raster ``source`` as a lossless GeoTIFF on the window's grid.

    Args:
        source: An open rasterio dataset (its CRS and transform are used).
        window: The window, pixels of ``source``.
        values: ``[C, H, W]`` pixel values of the window.
        dest: The GeoTIFF to write.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": int(window.width),
        "height": int(window.height),
        "count": values.shape[0],
        "dtype": values.dtype.name,
        "crs": source.crs,
        "transform": window_transform(window, source.transform),
        "compress": "deflate",
    }
    with rasterio.open(dest, "w", **profile) as ds:
        ds.write(values)
