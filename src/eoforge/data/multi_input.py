"""Samples with several inputs: one footprint, each input group read on its own grid.

A multi-input sample holds several named groups of bands (e.g. Sentinel-2 at
10 m, Sentinel-1 at 20 m, a DSM at 1 m), each read by
:func:`eoforge.io.reader.read` on a grid of its own pixel size over one
footprint: the window a sampler yields, scaled to the group's GSD
(:func:`group_grid`; same CRS and corner, whole pixels, so a group whose files
share the sampler's lattice takes the reader's pixel-aligned path). Samples are

``inputs``
    ``{name: {"image": float32 [C_g, H_g, W_g], "valid": bool [H_g, W_g]}}``;
    a time-series group (:mod:`eoforge.data.time_series`) holds ``image``
    ``[T, C_g, H_g, W_g]``, ``valid`` ``[T, H_g, W_g]`` (clouds and nodata
    False), ``doy`` float32 ``[T]`` and ``date_mask`` bool ``[T]``; one with a
    composite holds the composite as a single-date group does;
``present``
    ``{name: bool []}``: False where no raster of the group covers the
    footprint or none of its pixels is valid on any date (the image is then
    zeros and ``valid`` all False; not an error: missing inputs are part of
    the data);
``mask``, ``valid``, ``crs``, ``transform``
    on the label grid (the reference group's): the label, where any present
    group has valid data (nearest on the label grid), and the grid itself.

:func:`~eoforge.data.collate.collate` batches the nested dicts as dicts of
``[B, ...]`` tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from affine import Affine
from odc.geo.geobox import GeoBox
from torch.utils.data import Dataset

from eoforge.data.datasets import GeoDataset, as_window, batch_buffers
from eoforge.data.time_series import (
    Acquisition,
    SeriesSpec,
    acquisitions,
    composite,
    files_per_sample,
    read_series,
)
from eoforge.data.windows import Region, Window, grid_geometry, reproject_geometry
from eoforge.errors import ConfigError, OutsideSourcesError
from eoforge.geo.format import bounds_label, crs_label
from eoforge.geo.grid import grid_to_sample, make_grid
from eoforge.io.handles import HANDLES, stamp_memo
from eoforge.io.reader import read
from eoforge.io.source import RasterSource
from eoforge.io.warped import Anchor, anchored_blocks

Sample = dict[str, Any]
INPUTS, PRESENT = "inputs", "present"
Buffers = dict[str, dict[str, torch.Tensor]]
"""Output tensors of one sample (or a batch): per group its keys' tensors, plus the
``present`` flags and the label grid's ``valid`` under the key ``""``."""


@dataclass(frozen=True)
class InputSource:
    """One input group, ready to read.

    Attributes:
        name: Group name (``data.inputs`` key).
        sources: Rasters holding the group's bands (a mosaic: earlier ones win).
        bands: Band names, channel order.
        gsd: Pixel size of the group's grid, CRS units.
        resampling: Used where a file is not pixel-aligned with the group's grid.
        series: The group's time series (dates, clouds, composite), or None for one date.
    """

    name: str
    sources: list[RasterSource] = field(repr=False)
    bands: list[str]
    gsd: float
    resampling: str = "bilinear"
    series: SeriesSpec | None = None


def group_grid(footprint: GeoBox, gsd: float) -> GeoBox:
    """The footprint's grid at pixel size ``gsd``: same CRS, corner and orientation.

    Raises:
        ConfigError: The footprint is not a whole number of ``gsd`` pixels.
    """
    aff = footprint.affine
    # north-up: the pixel width itself (odc's general resolution costs ~25 us a call)
    res = abs(aff.a) if aff.b == 0 and aff.d == 0 else abs(float(footprint.resolution.x))
    factor = gsd / res
    height, width = footprint.shape.y / factor, footprint.shape.x / factor
    rows, cols = round(height), round(width)
    if min(rows, cols) < 1 or abs(rows - height) > 1e-6 or abs(cols - width) > 1e-6:
        raise ConfigError(
            f"a {footprint.shape.y}x{footprint.shape.x} px window at {res:g} is "
            f"{height:g}x{width:g} px at gsd {gsd:g}, not whole pixels.",
            fix="use a window size that is a whole number of pixels of every input group.",
        )
    return make_grid((rows, cols), footprint.affine @ Affine.scale(factor), footprint.crs)


def _any(mask: torch.Tensor) -> bool:
    """Whether a bool tensor holds any True.

    On CPU through numpy: its reduction is ~100x faster than torch's on a few
    thousand bools, which made it a visible part of every sample.
    """
    return bool(mask.numpy().any()) if mask.device.type == "cpu" else bool(mask.any())


def _any_over_dates(mask: torch.Tensor) -> torch.Tensor:
    """``[T, H, W]`` bool to ``[H, W]``: True where any date is True (numpy, as :func:`_any`)."""
    if mask.device.type != "cpu":
        return mask.any(dim=0)
    return torch.from_numpy(np.asarray(mask.numpy().any(axis=0)))


def _exact_nearest(size: int, target: int) -> npt.NDArray[np.intp] | None:
    """Source indexes of torch's ``nearest`` resize from ``size`` to ``target`` along an axis.

    Only where they are exact whatever the float precision torch computes them in:
    a whole-number reduction (every k-th) or enlargement by a power of two
    (each repeated); None otherwise (the caller then asks torch).
    """
    if size % target == 0:
        return np.arange(target) * (size // target)
    factor = target // size
    if target % size == 0 and factor & (factor - 1) == 0:
        return np.arange(target) // factor
    return None


def _nearest(valid: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """A bool ``[h, w]`` map resampled to ``shape`` by nearest neighbour."""
    if tuple(valid.shape) == shape:
        return valid
    rows, cols = _exact_nearest(valid.shape[0], shape[0]), _exact_nearest(valid.shape[1], shape[1])
    if rows is not None and cols is not None and valid.device.type == "cpu":
        return torch.from_numpy(np.ascontiguousarray(valid.numpy()[rows][:, cols]))
    resized = F.interpolate(valid[None, None].float(), size=shape, mode="nearest")
    return resized[0, 0] > 0.5


class MultiInputDataset(Dataset[Sample]):
    """Multi-input samples on windows (see the module docstring for the sample's keys).

    Args:
        groups: The input groups, in model order.
        reference: Name of the group whose grid holds the label and output.
        labels: A dataset holding the label layer (read on the label grid with
            its :meth:`~eoforge.data.datasets.GeoDataset.read_label`; its
            images are never read), or None for unlabelled samples.
        transforms: Called on each sample dict last.
        fill: Image value of invalid pixels.

    Windows come from a sampler; a window's ``sources`` (positions in the
    reference group's sources) pick the rasters that group reads, the other
    groups read all of theirs as a mosaic. A time-series group reads every date
    of its rasters that covers the footprint, whatever the window's ``sources``.

    Raises:
        ConfigError: An unknown reference group, or a time-series group whose
            rasters lack acquisition times or dates in its range.
    """

    def __init__(
        self,
        groups: Sequence[InputSource],
        reference: str,
        labels: GeoDataset | None = None,
        transforms: Callable[[Sample], Sample] | None = None,
        fill: float = 0.0,
    ) -> None:
        self.groups = list(groups)
        names = [g.name for g in self.groups]
        if reference not in names:
            raise ConfigError(
                f"the reference group {reference!r} is not an input group ({', '.join(names)}).",
                fix="name one of the groups.",
            )
        self.reference = reference
        self.labels = labels
        self.transforms = transforms
        self.fill = float(fill)
        self.dates: dict[str, list[Acquisition]] = {
            g.name: acquisitions(g.sources, g.series, f"data.inputs.{g.name}")
            for g in self.groups
            if g.series is not None
        }
        files = sum(
            files_per_sample(g.sources, g.bands, g.series) if g.series else len(g.bands)
            for g in self.groups
        )
        self._anchors: dict[int, Anchor] = {}
        # one sample's files stay open together: a series of 8 dates x 5 files outgrows the
        # default 32 handles and would reopen every file of every sample
        HANDLES.max_open = max(HANDLES.max_open, files + 8)

    @property
    def bands(self) -> list[str]:
        """Every group's bands, group after group (the model's ``in_bands``)."""
        return [band for group in self.groups for band in group.bands]

    def __getitem__(self, key: Window | GeoBox) -> Sample:
        with stamp_memo():
            return self._sample(self._window(key))

    def __getitems__(self, keys: Sequence[Window | GeoBox]) -> list[Sample]:
        """Samples of a whole batch, read straight into batch-shaped buffers.

        DataLoader workers call this with a batch of keys. When the footprints share
        one shape and pixel size, each group's tensors (and the ``present`` flags and
        ``valid``) of the batch are one buffer (in shared memory inside a worker)
        that the samples are views of, so :func:`~eoforge.data.collate.collate`
        returns the buffers without the stacking copy; each file's freshness is
        checked once per batch.
        """
        windows = [self._window(k) for k in keys]
        first = windows[0].grid
        same = all(
            w.grid.shape == first.shape and w.grid.resolution == first.resolution for w in windows
        )
        with stamp_memo():
            if not same or len(windows) == 1:
                return [self._sample(w) for w in windows]
            buffers = self._buffers(len(windows), first)
            return [
                self._sample(w, {g: {k: v[i] for k, v in b.items()} for g, b in buffers.items()})
                for i, w in enumerate(windows)
            ]

    @staticmethod
    def _window(key: Window | GeoBox) -> Window:
        if not isinstance(key, Window | GeoBox):
            raise TypeError(
                "a MultiInputDataset is indexed with the windows its sampler yields "
                "(DataLoader(dataset, sampler=sampler)), not with integers."
            )
        return as_window(key)

    def _buffers(self, size: int, footprint: GeoBox) -> Buffers:
        """Batch buffers for ``size`` footprints shaped like ``footprint`` (see :data:`Buffers`).

        All are views of one memory block (:func:`~eoforge.data.datasets.batch_buffers`).
        """
        grids = {gsd: group_grid(footprint, gsd) for gsd in {g.gsd for g in self.groups}}
        specs: list[tuple[str, str, tuple[int, ...], torch.dtype]] = []
        for group in self.groups:
            if group.series is not None and group.series.composite is not None:
                continue  # the composite is computed into new tensors
            h, w = grids[group.gsd].shape.y, grids[group.gsd].shape.x
            channels = len(group.bands)
            if group.series is None:
                specs += [
                    (group.name, "image", (size, channels, h, w), torch.float32),
                    (group.name, "valid", (size, h, w), torch.bool),
                ]
                continue
            t = group.series.length
            specs += [
                (group.name, "image", (size, t, channels, h, w), torch.float32),
                (group.name, "valid", (size, t, h, w), torch.bool),
                (group.name, "doy", (size, t), torch.float32),
                (group.name, "date_mask", (size, t), torch.bool),
            ]
        ref = next(g for g in self.groups if g.name == self.reference)
        label = grids[ref.gsd]
        specs.append(("", "valid", (size, label.shape.y, label.shape.x), torch.bool))
        specs += [("", g.name, (size,), torch.bool) for g in self.groups]
        tensors = batch_buffers([(shape, dtype) for _, _, shape, dtype in specs])
        out: Buffers = {}
        for (group_name, key, _, _), tensor in zip(specs, tensors, strict=True):
            out.setdefault(group_name, {})[key] = tensor
        return out

    def _anchor(self, window: Window) -> Anchor:
        """The upper-left corner of the reference scene ``window`` was drawn in.

        Warped views of other groups lay their blocks from it
        (:func:`~eoforge.io.warped.anchored_blocks`), so none straddles the scene's
        edge. A bare grid (no ``sources``) counts as drawn in the first scene.
        """
        index = window.sources[0] if window.sources else 0
        anchor = self._anchors.get(index)
        if anchor is None:
            ref = next(g for g in self.groups if g.name == self.reference)
            scene = ref.sources[min(index, len(ref.sources) - 1)].grid()
            anchor = (str(scene.crs), float(scene.affine.c), float(scene.affine.f))
            self._anchors[index] = anchor
        return anchor

    def _sample(self, window: Window, out: Buffers | None = None) -> Sample:
        """One footprint's sample, its tensors written into ``out`` where given."""
        with anchored_blocks(*self._anchor(window)):
            return self._read_sample(window, out or {})

    def _read_sample(self, window: Window, out: Buffers) -> Sample:
        ref = next(g for g in self.groups if g.name == self.reference)
        grids = {gsd: group_grid(window.grid, gsd) for gsd in {g.gsd for g in self.groups}}
        label_grid = grids[ref.gsd]
        shape = (label_grid.shape.y, label_grid.shape.x)
        inputs: dict[str, dict[str, torch.Tensor]] = {}
        for group in self.groups:
            grid = grids[group.gsd]
            if group.series is not None:
                inputs[group.name] = self._read_series(group, grid, out.get(group.name))
                continue
            chosen = group.sources
            if group.name == self.reference and window.sources:
                chosen = [group.sources[i] for i in window.sources]
            target = out.get(group.name)
            image, group_valid = self._read(
                group, chosen, grid, None if target is None else (target["image"], target["valid"])
            )
            inputs[group.name] = {"image": image, "valid": group_valid}
        present = {n: torch.tensor(_any(g["valid"])) for n, g in inputs.items()}
        valid = union_valid(inputs, shape)
        if "" in out:  # the batch's flags and label-grid mask
            present = {n: out[""][n].copy_(flag) for n, flag in present.items()}
            valid = out[""]["valid"].copy_(valid)
        sample: Sample = {
            INPUTS: inputs,
            PRESENT: present,
            "valid": valid,
            **grid_to_sample(label_grid),
        }
        if self.labels is not None:
            sample.update(self.labels.read_label(label_grid))
        return self.transforms(sample) if self.transforms is not None else sample

    def _read(
        self,
        group: InputSource,
        sources: list[RasterSource],
        grid: GeoBox,
        out: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return read_group(sources, group.bands, grid, group.resampling, self.fill, out)

    def _read_series(
        self, group: InputSource, grid: GeoBox, out: dict[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """A time-series group over ``grid``: its series (into ``out`` if given) or composite."""
        assert group.series is not None
        series = read_series(
            group.sources,
            group.bands,
            grid,
            group.series,
            group.resampling,
            self.fill,
            found=self.dates[group.name],
            out=out if group.series.composite is None else None,
        )
        if group.series.composite is None:
            if not _any(series["valid"]):
                series["image"].zero_()
            return series
        image, valid = composite(series, group.series.composite, self.fill)
        if not valid.any():
            image.zero_()
        return {"image": image, "valid": valid}


def read_group(
    sources: Sequence[RasterSource],
    bands: Sequence[str],
    grid: GeoBox,
    resampling: str = "bilinear",
    fill: float = 0.0,
    out: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A group's image ``[C, H, W]`` and valid mask ``[H, W]`` on its grid.

    Where no source covers the grid, or none of its pixels is valid, the image
    is zeros and the mask all False (the group is absent there). ``out``: the
    float32 image and bool mask tensors to write into (e.g. items of batch
    buffers), returned.
    """
    image_out = None if out is None else out[0].numpy()
    try:
        values, valid = read(list(sources), grid, list(bands), resampling, fill=fill, out=image_out)
    except OutsideSourcesError:
        shape = (len(bands), grid.shape.y, grid.shape.x)
        if out is not None:
            return out[0].zero_(), out[1].zero_()
        return torch.zeros(shape), torch.zeros(shape[1:], dtype=torch.bool)
    if not valid.any():
        values[...] = 0.0
    if out is not None:
        return out[0], out[1].copy_(torch.from_numpy(np.asarray(valid)))
    return torch.from_numpy(values), torch.from_numpy(np.asarray(valid))


def union_valid(inputs: dict[str, dict[str, torch.Tensor]], shape: tuple[int, int]) -> torch.Tensor:
    """Pixels of a ``shape`` grid where any group holds valid data on any date (nearest)."""
    valid = np.zeros(shape, bool)
    for group in inputs.values():
        own = group["valid"]
        own = _any_over_dates(own) if own.ndim == 3 else own
        if _any(own):
            valid |= _nearest(own, shape).cpu().numpy()
    return torch.from_numpy(valid)


def check_overlap(groups: Sequence[InputSource], regions: Sequence[Region], key: str) -> None:
    """Refuse input groups whose rasters lie entirely outside the sampled regions.

    A group missing from some footprints is expected; one that meets none of
    the regions (the label grid's scenes) can never be read and is a mistake
    (another place, another CRS, a wrong folder).

    Raises:
        ConfigError: Naming the group, its files and their bounds, and the regions'.
    """
    for group in groups:
        if any(_meets(source, region) for source in group.sources for region in regions):
            continue
        files = ", ".join(p for s in group.sources[:3] for p in s.paths[:1])
        first = group.sources[0].grid()
        where = f"{bounds_label(first.boundingbox, first.crs)} in {crs_label(first.crs)}"
        area = regions[0].grid
        raise ConfigError(
            f"{key}: input group {group.name!r} does not overlap the labelled scenes anywhere: "
            f"its rasters ({files}) cover {where}, the scenes "
            f"{bounds_label(area.boundingbox, area.crs)} in {crs_label(area.crs)}.",
            path=group.sources[0].paths[0] if group.sources[0].paths else None,
            fix=f"point data.inputs.{group.name}.scenes (or the split's images) at rasters of "
            "the same place.",
        )


def _meets(source: RasterSource, region: Region) -> bool:
    grid = source.grid()
    outline = reproject_geometry(grid_geometry(grid), grid, region.grid)
    return bool(outline.intersects(grid_geometry(region.grid)))
