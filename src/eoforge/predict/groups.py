"""Whole-scene prediction of multi-input bundles: each group read on its own grid per tile.

A bundle trained on input groups (``data.inputs``; a ``fusion_unet``) reads every
group over each tile's footprint at the group's own pixel size, as training did
(:func:`~eoforge.data.multi_input.group_grid`). The engine plans tiles on the label
grid (the reference group's, where the output is written) and batches one array
per tile, so each group travels as channels of that tile, packed losslessly:

* a group as fine as the label grid, or coarser by a whole factor ``q``, is read
  on its grid and each of its pixels repeated ``q x q`` times (unpacked by taking
  every ``q``-th pixel);
* a group finer by a whole factor ``r`` is read on its grid and pixel-unshuffled
  into ``C r²`` channels at the label grid's size (unpacked by a pixel shuffle).

:func:`fusion_predictor` unpacks a batch, standardises each group with its own
statistics, marks a group absent in a tile where none of its pixels is valid, and
runs the network.

A time-series group (``dates`` in the bundle's group, :mod:`eoforge.data.time_series`)
is read per tile as in training (the dates covering the tile, ``T`` of them as the
bundle fixes, clouds masked) and packed date after date, each date's ``C`` bands
followed by one plane holding its day of year (NaN for padding): ``T (C + 1)``
channels. A group with a composite is reduced per tile and packed as one date.
Tile sides and overlaps must be whole coarse pixels: :func:`check_tiles` says
which sizes work.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from odc.geo.geobox import GeoBox

from eoforge.data.multi_input import group_grid
from eoforge.data.time_series import (
    Acquisition,
    SeriesSpec,
    acquisitions,
    composite,
    read_series,
)
from eoforge.errors import ConfigError, OutsideSourcesError
from eoforge.io.reader import read
from eoforge.io.source import RasterSource
from eoforge.models import LoadedBundle
from eoforge.predict.types import TensorPredictor

RATIO_TOLERANCE = 1e-6
PROBABILITY_TASK = "field_boundaries"
"""Bundle task whose network returns probabilities (its three maps), not logits."""


@dataclass(frozen=True)
class GroupRead:
    """One input group as the engine reads it (picklable for Dask workers).

    Attributes:
        name: Group name (a key of the bundle's ``model.options.inputs``).
        sources: Rasters holding the group's bands (a mosaic: earlier ones win).
        bands: Band names, channel order.
        gsd: Pixel size of the group's grid, CRS units.
        ratio: Label-grid pixel size over the group's: ``r > 1`` a finer group
            (``r`` whole), ``1 / q`` a coarser one (``q`` whole), 1 the same.
        series: The group's time series (None: one date).
        dates: Its acquisitions in the scene (time series only).
    """

    name: str
    sources: tuple[RasterSource, ...]
    bands: tuple[str, ...]
    gsd: float
    ratio: float
    series: SeriesSpec | None = None
    dates: tuple[Acquisition, ...] = ()

    @property
    def finer(self) -> int:
        """``r`` for a group finer than the label grid, else 1."""
        return round(self.ratio) if self.ratio > 1 else 1

    @property
    def coarser(self) -> int:
        """``q`` for a group coarser than the label grid, else 1."""
        return round(1 / self.ratio) if self.ratio < 1 else 1

    @property
    def planes(self) -> int:
        """Channels of the group on its own grid: ``C``, or ``T (C + 1)`` for a series."""
        return packed_planes(len(self.bands), self.series)

    @property
    def channels(self) -> int:
        """Channels the group takes in a packed tile."""
        return self.planes * self.finer**2


def packed_planes(bands: int, series: SeriesSpec | None) -> int:
    """Channels of a group on its own grid: ``bands``, or ``T (bands + 1)`` for a series."""
    if series is None or series.composite is not None:
        return bands
    return series.length * (bands + 1)


def group_series(group: Mapping[str, Any]) -> SeriesSpec | None:
    """The time series of a bundle's group (``dates`` set), or None."""
    return None if group.get("dates") is None else SeriesSpec.from_dict(dict(group))


def _whole(value: float) -> bool:
    return abs(value - round(value)) < RATIO_TOLERANCE and round(value) >= 1


def bundle_groups(bundle: LoadedBundle) -> tuple[dict[str, dict[str, Any]], str] | None:
    """A multi-input bundle's groups (``{name: {"bands", "gsd"}}``) and reference; else None."""
    options = bundle.bundle.model.options
    inputs = options.get("inputs")
    if not isinstance(inputs, Mapping) or not inputs:
        return None
    reference = options.get("reference")
    if reference is None:
        reference = min(inputs, key=lambda n: float(inputs[n]["gsd"]))
    return dict(inputs), str(reference)


def group_reads(
    inputs: Mapping[str, Mapping[str, Any]],
    reference: str,
    sources: Mapping[str, Sequence[RasterSource]],
) -> list[GroupRead]:
    """The engine's reads of a bundle's groups from the sources found for each.

    A group without sources is absent from every tile (the predictor sees it missing,
    as training did where no raster covered a footprint).

    Raises:
        ConfigError: A group whose pixel size is no whole factor of the label grid's,
            or no group with sources.
    """
    ref_gsd = float(inputs[reference]["gsd"])
    for name, group in inputs.items():
        gsd = float(group["gsd"])
        ratio = ref_gsd / gsd
        if not (_whole(ratio) or _whole(1 / ratio)):
            raise ConfigError(
                f"input group {name!r} ({gsd:g} per pixel) is no whole factor finer or coarser "
                f"than the label grid ({ref_gsd:g}); whole scenes cannot be tiled for it yet.",
                fix="train with group pixel sizes that divide one another (e.g. 10 and 20).",
            )
    reads = []
    for name, group in inputs.items():
        gsd, held = float(group["gsd"]), tuple(sources.get(name, ()))
        series = group_series(group)
        dates = () if series is None or not held else tuple(acquisitions(held, series, name))
        reads.append(
            GroupRead(name, held, tuple(group["bands"]), gsd, ref_gsd / gsd, series, dates)
        )
    if not any(r.sources for r in reads):
        wanted = {n: list(g["bands"]) for n, g in inputs.items()}
        raise ConfigError(
            f"no raster holds the bands of any input group ({wanted}).",
            fix="pass the scenes that hold the groups' bands.",
        )
    return reads


def scene_reads(loaded: LoadedBundle, sources: Sequence[RasterSource]) -> list[GroupRead]:
    """A multi-input bundle's group reads from a scene's sources (those with each group's bands).

    Raises:
        ConfigError: The bundle has no input groups, or see :func:`group_reads`.
    """
    found = bundle_groups(loaded)
    if found is None:
        raise ConfigError("this bundle reads one stack of bands, not input groups.")
    inputs, reference = found
    held = {
        name: [s for s in sources if any(s.resolve(b) for b in group["bands"])]
        for name, group in inputs.items()
    }
    return group_reads(inputs, reference, held)


def check_tiles(groups: Sequence[GroupRead], sizes: Mapping[str, int]) -> None:
    """Tile sides (label-grid pixels) must be whole pixels of every coarser group.

    ``sizes`` names the lengths every tile side is a multiple of (the plan's
    ``multiple``). Tiles may start anywhere: a coarser group whose files' pixels do
    not line up with a tile is read resampled there.

    Raises:
        ConfigError: Naming the size and the multiple that works.
    """
    step = math.lcm(*(g.coarser for g in groups))
    for key, value in sizes.items():
        if value % step:
            raise ConfigError(
                f"{key} {value} px is not a whole number of pixels of every input group "
                f"(a group is {step} label-grid pixels per pixel).",
                fix=f"use a {key} that is a multiple of {step}.",
            )


def pack_groups(
    groups: Sequence[GroupRead], grid: GeoBox
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Every group read over ``grid`` (a label-grid tile), packed as its channels.

    Returns:
        ``(image, invalid)``: float32 ``[sum C_g r_g², H, W]`` physical values, NaN
        where a group's pixel is invalid; ``invalid`` ``[H, W]`` True where no
        group holds a valid pixel.
    """
    height, width = grid.shape.y, grid.shape.x
    parts, valid_any = [], np.zeros((height, width), bool)
    for group in groups:
        own = group_grid(grid, group.gsd)
        try:
            if not group.sources:  # the scene lacks the group: absent, as in training
                raise OutsideSourcesError("no sources")
            if group.series is not None:
                values, valid = _read_series(group, own)
            else:
                values, valid = read(list(group.sources), own, list(group.bands), fill=float("nan"))
        except OutsideSourcesError:
            values = np.full((group.planes, own.shape.y, own.shape.x), np.nan, np.float32)
            valid = np.zeros((own.shape.y, own.shape.x), bool)
        if group.series is None:
            values[:, ~valid] = np.nan
        q, r = group.coarser, group.finer
        if q > 1:
            values = np.repeat(np.repeat(values, q, axis=1), q, axis=2)
            valid = np.repeat(np.repeat(valid, q, axis=0), q, axis=1)
        elif r > 1:
            tensor = F.pixel_unshuffle(torch.from_numpy(values)[None], r)[0]
            values = tensor.numpy()
            valid = np.asarray(valid.reshape(height, r, width, r).any(axis=(1, 3)))
        parts.append(values)
        valid_any |= valid
    return np.concatenate(parts).astype(np.float32, copy=False), ~valid_any


def _read_series(
    group: GroupRead, grid: GeoBox
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """A series group over ``grid``: ``T (C + 1)`` planes (NaN: invalid), or its composite."""
    assert group.series is not None
    nan = float("nan")
    series = read_series(
        group.sources, group.bands, grid, group.series, fill=nan, found=group.dates
    )
    if group.series.composite is not None:
        image, valid = composite(series, group.series.composite, fill=nan)
        return image.numpy(), valid.numpy()
    days = torch.where(series["date_mask"], series["doy"], torch.full_like(series["doy"], nan))
    planes = days[:, None, None, None].expand(-1, 1, *series["image"].shape[-2:])
    packed = torch.cat([series["image"], planes], dim=1).flatten(0, 1)
    return packed.numpy(), series["valid"].any(dim=0).numpy()


def unpack_series(
    part: torch.Tensor, bands: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A packed series ``[B, T (C + 1), H, W]`` -> ``(x [B, T, C, H, W], doy [B, T], valid)``.

    ``valid`` ``[B, T, H, W]``: every band finite on a real date (its day-of-year
    plane finite).
    """
    x = part.view(part.shape[0], -1, bands + 1, *part.shape[-2:])
    values, days = x[:, :, :bands], x[:, :, bands]
    real = torch.isfinite(days).flatten(2).any(dim=2)
    doy = torch.nan_to_num(days, nan=-1.0).flatten(2).amax(dim=2).clamp_min(0.0)
    valid = torch.isfinite(values).all(dim=2) & real[..., None, None]
    return values, doy, valid


def unpack_groups(
    images: torch.Tensor, groups: Sequence[GroupRead | tuple[str, int, float]]
) -> dict[str, torch.Tensor]:
    """Packed tiles ``[B, C, H, W]`` back to each group's own pixels ``[B, C_g, H_g, W_g]``.

    Args:
        images: Packed batch (see :func:`pack_groups`).
        groups: The groups in packing order, or ``(name, band count, ratio)`` tuples.
    """
    out, start = {}, 0
    for group in groups:
        name, count, ratio = (
            (group.name, len(group.bands), group.ratio) if isinstance(group, GroupRead) else group
        )
        finer = round(ratio) if ratio > 1 else 1
        coarser = round(1 / ratio) if ratio < 1 else 1
        span = count * finer**2
        part = images[:, start : start + span]
        if finer > 1:
            part = F.pixel_shuffle(part, finer)
        elif coarser > 1:
            part = part[..., ::coarser, ::coarser]
        out[name] = part
        start += span
    return out


def fusion_predictor(loaded: LoadedBundle) -> TensorPredictor:
    """A multi-input bundle as a predictor of packed tiles (NaN: invalid).

    Each group is standardised with its slice of the bundle's normalisation; a
    group with no valid pixel in a tile is absent there (zeros, presence False),
    as a group no raster covered was in training.

    Returns:
        ``[B, C, H, W]`` packed physical values -> ``[B, K, H, W]`` class probabilities
        (softmax of a segmentation network's logits; a field-boundary network's three
        maps are probabilities already and pass as they are).
    """
    found = bundle_groups(loaded)
    assert found is not None
    inputs, reference = found
    ref_gsd = float(inputs[reference]["gsd"])
    layout = [
        (n, packed_planes(len(g["bands"]), group_series(g)), ref_gsd / float(g["gsd"]))
        for n, g in inputs.items()
    ]
    bands = {n: len(g["bands"]) for n, g in inputs.items()}
    dated = {n for n, g in inputs.items() if packed_planes(1, group_series(g)) > 1}
    model = loaded.model.eval()
    mean = torch.tensor(loaded.bundle.normalization.mean, dtype=torch.float32)
    std = torch.tensor(loaded.bundle.normalization.std, dtype=torch.float32)
    softmax = loaded.bundle.task != PROBABILITY_TASK

    def predict(images: torch.Tensor) -> torch.Tensor:
        groups = unpack_groups(images, layout)
        standard: dict[str, torch.Tensor] = {}
        present: dict[str, torch.Tensor] = {}
        series: dict[str, dict[str, torch.Tensor]] = {}
        start = 0
        for name, _, _ in layout:
            count = bands[name]
            if name in dated:
                x, doy, ok = unpack_series(groups[name], count)
                m = mean[start : start + count].view(1, 1, -1, 1, 1).to(x.device)
                s = std[start : start + count].view(1, 1, -1, 1, 1).to(x.device)
                zero = torch.zeros((), device=x.device)
                standard[name] = torch.where(ok[:, :, None], (x - m) / s, zero)
                series[name] = {"doy": doy, "valid": ok}
                present[name] = ok.flatten(1).any(dim=1)
                start += count
                continue
            x = groups[name]
            valid = torch.isfinite(x).all(dim=1, keepdim=True)
            m = mean[start : start + count].view(1, -1, 1, 1).to(x.device)
            s = std[start : start + count].view(1, -1, 1, 1).to(x.device)
            standard[name] = torch.where(valid, (x - m) / s, torch.zeros((), device=x.device))
            present[name] = valid.flatten(1).any(dim=1)
            start += count
        logits: torch.Tensor = (
            model(standard, present, series) if series else model(standard, present)
        )
        return torch.softmax(logits, dim=1) if softmax else logits

    return predict
