"""Time series of one input group: a footprint's acquisition dates, read date by date.

An input group with ``dates`` (:class:`~eoforge.experiment.config.InputGroup`) is
read as a series over each footprint:

1. its rasters are grouped by acquisition day (UTC; rasters of one day form a
   mosaic, earlier ones first) and ordered by time, within ``start``..``end``
   (:func:`acquisitions`);
2. the days whose rasters cover the footprint are kept; more than ``T`` are
   thinned to ``T`` spread evenly over the period (first and last kept, the
   same choice every time); fewer are padded at the end (:func:`pick_dates`).
   With listed days, slot ``i`` holds day ``i`` (padding where the footprint
   lacks it);
3. each date is read on the group's grid and its cloudy pixels (the cloud
   band's codes, and its nodata) made invalid (:func:`read_series`).

The series is ``image`` float32 ``[T, C, H, W]`` (physical units; ``fill`` where
invalid), ``valid`` bool ``[T, H, W]``, ``doy`` float32 ``[T]`` (day of year
1-366 of each date, 0 for padding) and ``date_mask`` bool ``[T]`` (a real date,
not padding). :func:`composite` reduces it to one ``[C, H, W]`` image over its
valid pixels (``median`` or ``best_pixel``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import shapely
import torch
from odc.geo.geobox import GeoBox
from shapely.geometry.base import BaseGeometry

from eoforge.data.windows import grid_geometry, reproject_geometry
from eoforge.errors import ConfigError, OutsideSourcesError
from eoforge.io.handles import FileStamp, file_stamp
from eoforge.io.reader import read
from eoforge.io.source import RasterSource

Composite = Literal["median", "best_pixel"]
COMPOSITES = ("median", "best_pixel")
Series = dict[str, torch.Tensor]


@dataclass(frozen=True)
class SeriesSpec:
    """How a group's dates are chosen and masked (picklable: workers get it).

    Attributes:
        length: ``T``, the series length (dates per footprint, padding included).
        days: Exactly these acquisition days, one per slot (None: any ``length`` days).
        start: First acquisition day kept (inclusive), or None.
        end: Last acquisition day kept (inclusive), or None.
        cloud_band: Band of the group's rasters holding a per-date cloud mask, or None.
        cloud_values: Codes of that band marking unusable pixels.
        composite: Reduce the series to one image (``median``, ``best_pixel``) or None.
    """

    length: int
    days: tuple[date, ...] | None = None
    start: date | None = None
    end: date | None = None
    cloud_band: str | None = None
    cloud_values: tuple[int, ...] = (1, 2)
    composite: Composite | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form (model options of a bundle)."""
        return {
            "dates": [d.isoformat() for d in self.days] if self.days else self.length,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "clouds": None
            if self.cloud_band is None
            else {"band": self.cloud_band, "values": list(self.cloud_values)},
            "composite": self.composite,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> SeriesSpec:
        """Inverse of :meth:`to_dict` (a group of a bundle's ``options.inputs``)."""
        given = data["dates"]
        days = tuple(date.fromisoformat(str(d)) for d in given) if isinstance(given, list) else None
        clouds = data.get("clouds")
        start, end = data.get("start"), data.get("end")
        composite = data.get("composite")
        return cls(
            length=len(days) if days else int(str(given)),
            days=days,
            start=None if start is None else date.fromisoformat(str(start)),
            end=None if end is None else date.fromisoformat(str(end)),
            cloud_band=None if not isinstance(clouds, dict) else str(clouds["band"]),
            cloud_values=(1, 2)
            if not isinstance(clouds, dict)
            else tuple(int(v) for v in clouds.get("values", (1, 2))),
            composite="median"
            if composite == "median"
            else "best_pixel"
            if composite == "best_pixel"
            else None,
        )


@dataclass(frozen=True)
class Acquisition:
    """One acquisition day of a group: its time and the rasters of that day (a mosaic).

    Attributes:
        when: Acquisition time of the day's first raster (UTC).
        sources: That day's rasters, in the group's order.
    """

    when: datetime
    sources: tuple[RasterSource, ...]

    @property
    def day(self) -> date:
        """The acquisition day."""
        return self.when.date()

    @property
    def doy(self) -> float:
        """Day of year, 1-366."""
        return float(self.when.timetuple().tm_yday)


def acquisitions(sources: Sequence[RasterSource], spec: SeriesSpec, key: str) -> list[Acquisition]:
    """The group's rasters grouped by acquisition day, earliest first, within the date range.

    Raises:
        ConfigError: A raster without an acquisition time (named), or no day left.
    """
    by_day: dict[date, list[RasterSource]] = {}
    for source in sources:
        if source.datetime is None:
            raise ConfigError(
                f"{key}: raster {source.name!r} has no acquisition time, and the group is a "
                "time series (dates).",
                path=source.paths[0] if source.paths else None,
                fix="catalog the rasters with their datetimes (STAC items or product names "
                "holding the date), or remove dates from the group.",
            )
        day = source.datetime.date()
        if spec.start is not None and day < spec.start:
            continue
        if spec.end is not None and day > spec.end:
            continue
        if spec.days is not None and day not in spec.days:
            continue
        by_day.setdefault(day, []).append(source)
    found = [
        Acquisition(min(s.datetime for s in group if s.datetime is not None), tuple(group))
        for _, group in sorted(by_day.items())
    ]
    if not found:
        held = sorted({s.datetime.date().isoformat() for s in sources if s.datetime is not None})
        raise ConfigError(
            f"{key}: no acquisition of the group's rasters falls in the dates asked for "
            f"(start {spec.start}, end {spec.end}, days {list(spec.days or [])}); the rasters "
            f"hold {held[:12]}.",
            fix="widen start/end, or list days the rasters were acquired on.",
        )
    return found


def covering(found: Sequence[Acquisition], grid: GeoBox) -> list[Acquisition]:
    """The acquisitions with a raster whose footprint meets ``grid``, each cut to those rasters."""
    area = _outline(grid)
    kept = []
    for acquisition in found:
        meeting = tuple(s for s in acquisition.sources if _meets(s, grid, area))
        if meeting:
            kept.append(Acquisition(acquisition.when, meeting))
    return kept


def _outline(grid: GeoBox) -> BaseGeometry:
    """``grid``'s outline polygon, in ``grid.crs`` coordinates.

    A box from its bounds when north-up: the same polygon, built ~6x faster than
    the general :func:`grid_geometry`, which every sample paid per group.
    """
    aff = grid.affine
    if aff.b == 0 and aff.d == 0:
        left, bottom, right, top = grid.boundingbox
        return shapely.box(left, bottom, right, top)
    return grid_geometry(grid)


_OUTLINES: dict[tuple[tuple[str, ...], FileStamp, str], BaseGeometry] = {}
"""A raster's outline in a CRS, per process: every footprint of a sampler tests the same
rasters in the same CRS, and reprojecting the outline (densified) cost more than the read."""


def _meets(source: RasterSource, grid: GeoBox, area: BaseGeometry) -> bool:
    key = (
        tuple(source.paths),
        file_stamp(source.paths[0]) if source.paths else None,
        str(grid.crs),
    )
    outline = _OUTLINES.get(key)
    if outline is None:
        own = source.grid()
        outline = reproject_geometry(grid_geometry(own), own, grid)
        if len(_OUTLINES) > 4096:  # bounded: many collections in one long process
            _OUTLINES.clear()
        _OUTLINES[key] = outline
    return bool(outline.intersects(area))


def files_per_sample(
    sources: Sequence[RasterSource], bands: Sequence[str], spec: SeriesSpec
) -> int:
    """Files one footprint's series reads at most: ``T`` dates of the bands' (and mask's) files."""
    wanted = [*bands, *([spec.cloud_band] if spec.cloud_band else [])]
    per_date = max(
        (len({s.asset(b).path for b in wanted if s.resolve(b)}) for s in sources), default=1
    )
    return spec.length * per_date


def pick_dates(found: Sequence[Acquisition], spec: SeriesSpec) -> list[Acquisition | None]:
    """``T`` slots: the dates kept (evenly spread when there are more), None for padding."""
    if spec.days is not None:
        on = {a.day: a for a in found}
        return [on.get(day) for day in spec.days]
    chosen: list[Acquisition | None] = list(found)
    if len(found) > spec.length:
        index = np.round(np.linspace(0, len(found) - 1, spec.length)).astype(int)
        chosen = [found[int(i)] for i in index]
    return chosen + [None] * (spec.length - len(chosen))


def read_series(
    sources: Sequence[RasterSource],
    bands: Sequence[str],
    grid: GeoBox,
    spec: SeriesSpec,
    resampling: str = "bilinear",
    fill: float = 0.0,
    key: str = "data.inputs",
    found: Sequence[Acquisition] | None = None,
    out: Series | None = None,
) -> Series:
    """A group's series over ``grid`` (see the module docstring for the keys).

    Args:
        sources: The group's rasters (every date).
        bands: Band names, channel order.
        grid: The group's grid over the footprint.
        spec: Series length, date range and cloud mask.
        resampling: For rasters not pixel-aligned with ``grid`` (the cloud mask: nearest).
        fill: Image value of invalid pixels.
        key: Config key for messages.
        found: ``acquisitions(sources, spec)`` when already known (saves regrouping).
        out: Tensors to fill instead of new ones (e.g. one item of batch buffers):
            ``image`` float32 ``[T, C, H, W]``, ``valid`` bool ``[T, H, W]``, ``doy``
            float32 ``[T]``, ``date_mask`` bool ``[T]``; every element is written.

    Raises:
        ValueError: ``out`` with other shapes or dtypes.
    """
    days = list(found) if found is not None else acquisitions(sources, spec, key)
    slots = pick_dates(covering(days, grid), spec)
    shapes = {
        "image": ((spec.length, len(bands), grid.shape.y, grid.shape.x), torch.float32),
        "valid": ((spec.length, grid.shape.y, grid.shape.x), torch.bool),
        "doy": ((spec.length,), torch.float32),
        "date_mask": ((spec.length,), torch.bool),
    }
    if out is None:
        out = {k: torch.empty(shape, dtype=dtype) for k, (shape, dtype) in shapes.items()}
    elif any(
        k not in out or tuple(out[k].shape) != shape or out[k].dtype != dtype
        for k, (shape, dtype) in shapes.items()
    ):
        raise ValueError(f"out must hold {shapes}; got { {k: v.shape for k, v in out.items()} }")
    # numpy views of the (CPU) tensors: per-date writes through torch indexing cost ~10x more
    image, valid = out["image"].numpy(), out["valid"].numpy()
    doy, date_mask = out["doy"].numpy(), out["date_mask"].numpy()
    for t, acquisition in enumerate(slots):
        if acquisition is None:  # padding
            image[t] = fill
            valid[t], doy[t], date_mask[t] = False, 0.0, False
            continue
        ok = _read_date(acquisition, bands, grid, spec, resampling, fill, image[t])
        valid[t] = ok
        if not ok.all():
            image[t][:, ~ok] = fill
        doy[t], date_mask[t] = acquisition.doy, True
    return out


def _read_date(
    acquisition: Acquisition,
    bands: Sequence[str],
    grid: GeoBox,
    spec: SeriesSpec,
    resampling: str,
    fill: float,
    out: npt.NDArray[np.float32],
) -> npt.NDArray[np.bool_]:
    """One date's values, read into ``out``, and its valid mask.

    ``out`` (float32 ``[C, H, W]``) is set to ``fill`` where no raster of the date
    meets ``grid``. Returns the bool ``[H, W]`` valid mask, clouds masked (all False
    where no raster meets ``grid``).
    """
    sources = list(acquisition.sources)
    try:
        _, valid = read(sources, grid, list(bands), resampling, fill=fill, out=out)
    except OutsideSourcesError:  # nothing was written
        out[...] = fill
        return np.zeros(out.shape[1:], bool)
    if spec.cloud_band is not None:
        codes, known = read(sources, grid, [spec.cloud_band], "nearest", fill=0.0)
        cloudy = np.isin(codes[0].astype(np.int64), np.asarray(spec.cloud_values))
        valid = valid & known & ~cloudy
    return np.asarray(valid)


def composite(
    series: Series, how: Composite, fill: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """One ``[C, H, W]`` image and ``[H, W]`` valid mask from a series' valid pixels.

    ``median``: the per-pixel median of the valid dates (the lower middle value for
    an even count). ``best_pixel``: per pixel the valid date nearest in day of year
    to the middle of the series' real dates (the earlier one of a tie). Pixels valid
    on no date are ``fill`` and invalid.
    """
    image, valid = series["image"], series["valid"]
    any_valid = valid.any(dim=0)
    if how == "median":
        masked = torch.where(valid[:, None], image, torch.full_like(image, float("nan")))
        out = torch.nanmedian(masked, dim=0).values
    else:
        doy, real = series["doy"], series["date_mask"]
        middle = (doy[real].min() + doy[real].max()) / 2 if bool(real.any()) else doy.new_zeros(())
        distance = (doy - middle).abs()[:, None, None].expand_as(valid).clone()
        distance[~valid] = float("inf")
        best = distance.argmin(dim=0)  # [H, W]
        index = best[None, None].expand(1, image.shape[1], *best.shape)
        out = image.gather(0, index)[0]
    out = torch.where(any_valid[None], out, torch.full_like(out, float(fill)))
    return out, any_valid
