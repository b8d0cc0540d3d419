"""Bands computed from other bands: spectral indices named ``ASI.<index>``.

:func:`eoforge.io.read` hands a request that names catalogue indices
(:mod:`eoforge.sensors.indices`) not stored in any raster to :func:`read_derived`:
the stored bands asked for and those the indices need are read once, each index
is computed from them by name (:mod:`eoforge.transforms.asi`: band letters found
by alias, then by wavelength), and the channels come back in the order asked.
A pixel is valid where every band read for it is valid and every index finite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
import numpy.typing as npt
import torch
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling

from eoforge.errors import BandNotFoundError, ConfigError
from eoforge.io.source import RasterSource
from eoforge.sensors import get_band
from eoforge.sensors.indices import is_index_name
from eoforge.transforms.asi import IndexPlan, index_plan

Reader = Callable[..., tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]]
""":func:`eoforge.io.read` itself (passed in: this module is imported by it lazily)."""


def derived_names(sources: Sequence[RasterSource], bands: Sequence[str]) -> list[str]:
    """The names of ``bands`` that are catalogue indices no source stores."""
    return [b for b in bands if is_index_name(b) and all(s.resolve(b) is None for s in sources)]


def uncomputable(sources: Sequence[RasterSource], bands: Sequence[str]) -> list[str]:
    """The catalogue indices among ``bands`` that the sources cannot give.

    Those no source stores and whose inputs the stored bands of ``sources`` together
    lack (e.g. ASI.NDVI without a red band).
    """
    stored = tuple(_stored_bands(sources))
    out = []
    for name in derived_names(sources, bands):
        try:
            _plan(get_band(name).id, stored)
        except ConfigError:
            out.append(name)
    return out


@cache
def _plan(index: str, channels: tuple[str, ...]) -> IndexPlan:
    return index_plan(index, channels)


def _stored_bands(sources: Sequence[RasterSource]) -> list[str]:
    return list(dict.fromkeys(b for s in sources for b in s.bands))


def read_derived(
    read: Reader,
    sources: Sequence[RasterSource],
    grid: GeoBox,
    bands: Sequence[str],
    resampling: str | Resampling,
    fill: float,
    out: npt.NDArray[np.float32] | None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """``read`` for a request naming derived bands (see the module docstring).

    Raises:
        BandNotFoundError: An index needs a band no source stores (the message
            says which range it needs and what the sources hold).
    """
    derived = set(derived_names(sources, bands))
    stored = _stored_bands(sources)
    direct = [b for b in bands if b not in derived]
    needed: list[str] = []
    for name in bands:
        if name not in derived:
            continue
        try:
            plan = _plan(get_band(name).id, tuple(stored))
        except ConfigError as exc:
            raise BandNotFoundError(
                f"{name} cannot be computed: {exc.reason}",
                path=", ".join(p for s in sources for p in s.paths[:1]),
                fix=exc.fix,
            ) from exc
        needed += [stored[c] for c in plan.channels.values()]
    canonical = {get_band(b).name if not is_index_name(b) else b for b in direct}
    raw = direct + [b for b in dict.fromkeys(needed) if b not in direct and b not in canonical]
    values, valid = read(list(sources), grid, raw, resampling, fill=fill)
    image = torch.from_numpy(values)
    shape = (len(bands), grid.shape.y, grid.shape.x)
    result = np.empty(shape, np.float32) if out is None else out
    for i, name in enumerate(bands):
        if name in derived:
            result[i] = _plan(get_band(name).id, tuple(raw)).compute(image).numpy()
        else:
            result[i] = values[raw.index(name)]
    valid = valid & np.isfinite(result).all(axis=0)
    if not valid.all():
        result[:, ~valid] = fill
    return result, valid
