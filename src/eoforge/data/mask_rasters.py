"""Mask rasters joined to the image rasters they describe, paired by name.

``eoforge predict`` names each output after its scene: the class map of scene
``s2-20240701`` is ``s2-20240701_classes.tif`` (band ``class``). Joining such a
map to its scene makes the mask one more band of that raster, so everything
that reads a cloud band from a date's rasters (a time-series group's
``clouds``) reads the predicted mask as it reads a mask band shipped with the
product.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from eoforge.errors import ConfigError, available_list
from eoforge.io.source import RasterSource, source_from_file


def owner_of(mask: Path, sources: Sequence[RasterSource]) -> RasterSource | None:
    """The source a mask file belongs to: the longest name its stem is, or starts with + ``_``."""
    stem = mask.stem
    owners = [s for s in sources if stem == s.name or stem.startswith(f"{s.name}_")]
    return max(owners, key=lambda s: len(s.name)) if owners else None


def attach_masks(
    sources: Sequence[RasterSource], masks: Sequence[Path], band: str, key: str
) -> list[RasterSource]:
    """``sources`` with each mask raster joined, as band ``band``, to the source it is named after.

    Args:
        sources: Image rasters (e.g. one per acquisition date).
        masks: Mask files, each named ``<source name>`` or ``<source name>_<anything>``
            (e.g. ``s2-20240701_classes.tif``), holding ``band``.
        band: The mask band's name in the files (``class`` for predicted class maps).
        key: Config key for messages.

    Returns:
        The sources in order; those with a mask hold ``band`` too.

    Raises:
        ConfigError: A mask file without ``band``, one named after no source, or two
            masks for the same source (each message names the file).
    """
    joined: dict[str, RasterSource] = {}
    names = [s.name for s in sources]
    for path in masks:
        mask = source_from_file(path)
        found = mask.resolve(band)
        if found is None:
            raise ConfigError(
                f"{key}: mask raster lacks the band {band!r}; it holds "
                f"{available_list(mask.bands)}.",
                path=path,
                fix="name the band the mask files hold (class for eoforge predict's maps).",
            )
        owner = owner_of(Path(path), sources)
        if owner is None:
            raise ConfigError(
                f"{key}: mask raster {Path(path).name!r} is named after none of the group's "
                f"rasters ({available_list(names)}).",
                path=path,
                fix="name each mask <raster name>_<suffix>.tif, as eoforge predict does "
                "(predict the group's scenes themselves).",
            )
        if owner.name in joined:
            raise ConfigError(
                f"{key}: two mask rasters for {owner.name!r}.",
                path=path,
                fix="list one mask per raster.",
            )
        assets = {**owner.assets, band: mask.asset(found)}
        joined[owner.name] = dataclasses.replace(owner, assets=assets)
    return [joined.get(s.name, s) for s in sources]
