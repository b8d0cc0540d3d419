"""Find the product metadata file (MTL / MTD) that belongs to a raster."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

_SAFE_METADATA = ("MTD_MSIL1C.xml", "MTD_MSIL2A.xml")
_SUFFIXES = ("_mtl.txt", "_mtd.xml", "mtl.txt")
_SAFE_LEVELS_UP = 4
"""Band files of a .SAFE lie at most four folders below its MTD_MSI*.xml."""


def is_metadata_name(name: str) -> bool:
    """Whether a file name looks like Landsat MTL or Sentinel-2 MTD metadata."""
    lower = name.lower()
    return lower.endswith(("mtl.txt", "_mtd.xml")) or (
        lower.startswith("mtd") and lower.endswith(".xml")
    )


def _product_part(name: str) -> str:
    """Product prefix of a metadata name (``"X_MTL.txt"`` -> ``"X"``); empty if generic."""
    lower = name.lower()
    for suffix in _SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return ""


def _matches(stem: str, product: str) -> bool:
    return bool(product) and (stem == product or stem.startswith(product + "_"))


def _name_matched(file: Path) -> Path | None:
    stem = file.name.split(".")[0]
    siblings = [p for p in file.parent.iterdir() if p.is_file() and is_metadata_name(p.name)]
    matched = [p for p in siblings if _matches(stem, _product_part(p.name))]
    return max(matched, key=lambda p: len(_product_part(p.name)), default=None)


def _safe_metadata(file: Path) -> Path | None:
    for folder in [file.parent, *file.parent.parents][: _SAFE_LEVELS_UP + 1]:
        for name in _SAFE_METADATA:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def find_metadata(path: str | PathLike[str]) -> Path | None:
    """Locate the metadata file of a band file or stack.

    Looks, in order, for a sibling ``<product>_MTL.txt`` / ``<product>_MTD.xml``
    whose product prefix starts the raster's name (``l8_MTL.txt`` for
    ``l8_B4.tif``), then for ``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml`` in the
    folder or one of its parents (up to four levels up: the ``.SAFE`` root).

    Args:
        path: A raster file (it need not exist; its folder must).

    Returns:
        The metadata path, or None when nothing (unambiguous) is found.
    """
    file = Path(path)
    if not file.parent.is_dir():
        return None
    return _name_matched(file) or _safe_metadata(file)
