"""High-resolution references of super-resolution pairs: read on the target's grid, checked.

Reference-guided super-resolution (``model.arch: sr_reference``) reads, for
each pair, an image of the same place at another date on the target's grid
(item key ``reference``). :func:`read_reference` checks that grid (CRS,
pixel size, origin, coverage) against the target file and reads the bands by
name; :func:`with_reference` attaches it to a pair, so training crops carry
the target's window of it (:class:`~eoforge.data.sr_pairs.SRCrops`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio

from eoforge.data.sr_pairs import SRPair, _named_bands
from eoforge.errors import ConfigError


def read_reference(
    path: Path, hr_path: Path, bands: Sequence[str], shape: tuple[int, int]
) -> npt.NDArray[np.float32]:
    """The reference ``[C, H, W]`` float32 over the target's first ``shape`` pixels.

    Args:
        path: The reference GeoTIFF (bands named by their descriptions).
        hr_path: The pair's target GeoTIFF, whose grid the reference must share.
        bands: Band names, in channel order.
        shape: ``(H, W)`` target pixels used by the pair.

    Raises:
        ConfigError: Another CRS, pixel size or origin than the target's, a
            reference that does not cover the target, or NaN/inf values.
        BandNotFoundError: A band is missing.
    """
    fix = f"resample the reference onto the grid of {hr_path.name} (same CRS, pixel and origin)."
    with rasterio.open(path) as ref, rasterio.open(hr_path) as hi:
        if ref.crs != hi.crs:
            raise ConfigError(
                f"the reference is in {ref.crs} but the target {hr_path.name} in {hi.crs}.",
                path=path,
                fix=fix,
            )
        a, b = ref.transform, hi.transform
        same_pixel = math.isclose(a.a, b.a, rel_tol=1e-6) and math.isclose(a.e, b.e, rel_tol=1e-6)
        if not same_pixel:
            raise ConfigError(
                f"the reference's pixel ({a.a:g} x {abs(a.e):g}) is not the target's "
                f"({b.a:g} x {abs(b.e):g}) in {hr_path.name}.",
                path=path,
                fix=fix,
            )
        off = (abs(a.c - b.c), abs(a.f - b.f))
        if max(off) > 1e-6 * abs(b.a):
            raise ConfigError(
                f"the reference's origin differs from the target's ({hr_path.name}) by "
                f"{off[0]:g}, {off[1]:g} CRS units.",
                path=path,
                fix=fix,
            )
        if ref.height < shape[0] or ref.width < shape[1]:
            raise ConfigError(
                f"the reference ({ref.height}x{ref.width}) does not cover the target's "
                f"{shape[0]}x{shape[1]} pixels.",
                path=path,
                fix=fix,
            )
        window = ((0, shape[0]), (0, shape[1]))
        image: npt.NDArray[np.float32] = ref.read(
            _named_bands(ref, bands, path), window=window
        ).astype(np.float32)
    if not np.isfinite(image).all():
        raise ConfigError(
            "the reference holds NaN or inf.", path=path, fix="fill or crop invalid pixels first."
        )
    return image


def with_reference(pair: SRPair, path: Path, hr_path: Path, bands: Sequence[str]) -> SRPair:
    """``pair`` with the reference at ``path`` (see :func:`read_reference`)."""
    reference = read_reference(path, hr_path, bands, (pair.hr.shape[1], pair.hr.shape[2]))
    return dataclasses.replace(pair, reference=reference)


def check_references(pairs: Sequence[SRPair], model_takes_reference: bool) -> None:
    """Refuse pairs that mix items with and without references, or that do not fit the model.

    Raises:
        ConfigError: Some items have a reference and others not, or references are
            given (missing) for a model that does not take (needs) them.
    """
    given = [p.reference is not None for p in pairs]
    if any(given) and not all(given):
        missing = next(p.name for p in pairs if p.reference is None)
        raise ConfigError(
            f"the item with input {missing} has no reference but others have one.",
            fix="give every data.train and data.val item a reference, or none.",
        )
    if all(given) and not model_takes_reference:
        raise ConfigError(
            "the data items have references but the model does not read them.",
            fix="use model.arch sr_reference, or drop the items' reference keys.",
        )
    if not any(given) and model_takes_reference:
        raise ConfigError(
            "the model reads a high-resolution reference but the data items have none.",
            fix="add reference: PATH (on the target's grid) to every data item.",
        )
