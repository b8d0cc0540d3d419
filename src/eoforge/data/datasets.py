"""Map-style dataset that turns windows into samples ("Sample" in ``docs/architecture.md``).

``GeoDataset[window]`` reads the image bands onto the window's grid and the
labels onto the same grid, whatever their CRS: raster labels with nearest
resampling, vector labels rasterized or turned into detection boxes. Pair it
with a sampler: ``DataLoader(dataset, sampler=sampler, collate_fn=collate)``.
The dataset holds only picklable descriptions (sources, a GeoDataFrame); file
handles are opened per worker process by :mod:`eoforge.io.handles`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from odc.geo.geobox import GeoBox
from torch.utils.data import Dataset, get_worker_info

from eoforge.data.sharding import GeoSampler
from eoforge.data.windows import Window
from eoforge.errors import ConfigError, OutsideSourcesError
from eoforge.geo.grid import grid_to_sample
from eoforge.io.reader import SourceLike, as_sources, read
from eoforge.io.source import RasterSource
from eoforge.io.vector import boxes_in_pixels, rasterize_labels, read_vector

Sample = dict[str, Any]
LabelKind = Literal["raster", "vector", "boxes", "oriented_boxes"]
_VECTOR_KINDS = ("vector", "boxes", "oriented_boxes")


_ALIGN = 64
"""Byte alignment of each tensor inside a batch's shared block (a cache line)."""


def batch_buffers(specs: Sequence[tuple[tuple[int, ...], torch.dtype]]) -> list[torch.Tensor]:
    """Uninitialised tensors for a batch, one per ``(shape, dtype)``, in one memory block.

    Inside a DataLoader worker the block is shared memory: a worker's batch travels
    to the main process through it, and allocating it there from the start (as
    ``default_collate`` does) spares a copy of every batch. One block for all of a
    batch's tensors (rather than one each) costs one shared-memory segment to create
    in the worker and one file descriptor to receive in the main process: about
    0.3 ms each, which for a multi-input batch of twenty tensors was a tenth of
    its loading time. The tensors are disjoint views of the block, each starting
    on a 64-byte boundary.
    """
    offsets, total = [], 0
    for shape, dtype in specs:
        itemsize = torch.empty((), dtype=dtype).element_size()
        total = -(-total // _ALIGN) * _ALIGN
        offsets.append(total)
        total += int(np.prod(shape, dtype=np.int64)) * itemsize
    if get_worker_info() is None:
        storage = torch.UntypedStorage(max(total, 1))  # type: ignore[no-untyped-call]
    else:
        storage = torch.UntypedStorage._new_shared(max(total, 1))  # type: ignore[no-untyped-call]
    out = []
    for (shape, dtype), offset in zip(specs, offsets, strict=True):
        itemsize = torch.empty((), dtype=dtype).element_size()
        strides = torch.empty(shape, dtype=dtype, device="meta").stride()
        out.append(torch.empty(0, dtype=dtype).set_(storage, offset // itemsize, shape, strides))
    return out


def as_window(item: Window | GeoBox) -> Window:
    """A :class:`Window` for a bare grid (read from every source, as a mosaic)."""
    return item if isinstance(item, Window) else Window(item)


class GeoDataset(Dataset[Sample]):
    """Samples read on windows: image, valid mask, grid, and labels.

    Each sample holds ``image`` (float32 ``[C, H, W]``, or ``[T, C, H, W]``
    for a time-series window, steps oldest first), ``valid`` (bool ``[H, W]``,
    True where every band of every step is valid), ``crs`` (WKT) and
    ``transform`` (6 floats), plus, by ``label_kind``: ``mask`` (int64
    ``[H, W]``) for ``"raster"`` and ``"vector"``, or ``boxes`` (float32
    ``[N, 4]`` pixel ``xmin, ymin, xmax, ymax``; ``[N, 5]`` ``cx, cy, w, h,
    angle`` for ``"oriented_boxes"``) and ``labels`` (int64 ``[N]``). Time
    series samples also hold ``time`` (float64 ``[T]``, POSIX seconds, NaN if
    unknown).

    Args:
        windows: The windows to index by position (a sequence of
            :class:`Window` or grids), or a sampler (then index with the
            windows it yields, e.g. through ``DataLoader(sampler=...)``;
            ``len`` is the sampler's), or None (index with windows only).
        image_sources: Image sources or paths; a window's ``sources`` index them.
            Bands those sources lack are read from the other sources that hold
            them (e.g. Sentinel-1 bands beside a window drawn on a Sentinel-2
            scene), as a mosaic on the window's grid.
        bands: Band names (or aliases) to read, in channel order.
        label: Raster label layer (source or path) or vector layer (path or
            GeoDataFrame), or None for unlabelled samples.
        label_kind: How to use ``label`` (see above).
        label_band: Band of a raster label layer (default its first).
        label_attribute: Column of a vector layer holding the class (None burns 1).
        classes: Maps vector attribute values (e.g. names) to class ids.
        label_fill: Mask value where no label covers a pixel (outside a raster
            layer, nodata, or no feature).
        transforms: Called on each sample dict last.
        resampling: Image resampling when a source is not pixel-aligned with
            the window (labels always use nearest).
        fill: Image value of invalid pixels.
    """

    def __init__(
        self,
        windows: Sequence[Window | GeoBox] | GeoSampler | None,
        image_sources: SourceLike | Sequence[SourceLike],
        bands: Sequence[str],
        *,
        label: Any = None,
        label_kind: LabelKind = "raster",
        label_band: str | None = None,
        label_attribute: str | None = None,
        classes: dict[Any, int] | None = None,
        label_fill: int = 0,
        transforms: Callable[[Sample], Sample] | None = None,
        resampling: str = "bilinear",
        fill: float = 0.0,
    ) -> None:
        self.windows = windows
        self.sources = as_sources(image_sources)
        self.bands = list(bands)
        self.label_kind = label_kind
        self.label_attribute = label_attribute
        self.classes = classes
        self.label_fill = int(label_fill)
        self.transforms = transforms
        self.resampling = resampling
        self.fill = float(fill)
        self.label = _load_label(label, label_kind)
        self.label_band = label_band
        if self.label is not None and label_kind == "raster":
            self.label_band = label_band or self.label[0].bands[0]

    def __len__(self) -> int:
        if self.windows is None:
            raise TypeError("this GeoDataset has no window list; index it with windows only.")
        return len(self.windows)

    def __getitem__(self, key: int | Window | GeoBox) -> Sample:
        return self._sample(as_window(self._window(key)))

    def __getitems__(self, keys: Sequence[int | Window | GeoBox]) -> list[Sample]:
        """Samples of a whole batch, read straight into one batch-shaped buffer.

        DataLoader workers call this with a batch of keys. Same-shape windows
        are read into one ``[B, C, H, W]`` tensor (in shared memory inside a
        worker), so neither a per-sample float array nor the stacking copy of
        collation is needed: :func:`~eoforge.data.collate.collate` recognises
        the items as consecutive views and returns the buffer itself.
        """
        windows = [as_window(self._window(k)) for k in keys]
        shapes = {(w.grid.shape.y, w.grid.shape.x) for w in windows}
        if len(shapes) != 1 or any(w.is_time_series for w in windows):
            return [self._sample(w) for w in windows]
        height, width = shapes.pop()
        images, valids = batch_buffers(
            [
                ((len(windows), len(self.bands), height, width), torch.float32),
                ((len(windows), height, width), torch.bool),
            ]
        )
        return [
            self._sample(w, image_out=images[i], valid_out=valids[i]) for i, w in enumerate(windows)
        ]

    def _sample(
        self,
        window: Window,
        image_out: torch.Tensor | None = None,
        valid_out: torch.Tensor | None = None,
    ) -> Sample:
        if image_out is None or valid_out is None:
            image_np, valid_np = self._read_image(window)
            image, valid = torch.from_numpy(image_np), torch.from_numpy(valid_np)
        else:
            chosen = self._with_other_sensors(
                [self.sources[i] for i in window.sources] or self.sources
            )
            _, valid_np = read(
                chosen,
                window.grid,
                self.bands,
                self.resampling,
                fill=self.fill,
                out=image_out.numpy(),
            )
            valid_out.numpy()[...] = valid_np
            image, valid = image_out, valid_out
        sample: Sample = {"image": image, "valid": valid, **grid_to_sample(window.grid)}
        if window.datetimes is not None:
            times = [np.nan if t is None else t.timestamp() for t in window.datetimes]
            sample["time"] = torch.tensor(times, dtype=torch.float64)
        if self.label is not None:
            sample.update(self.read_label(window.grid))
        return self.transforms(sample) if self.transforms is not None else sample

    def _window(self, key: int | Window | GeoBox) -> Window | GeoBox:
        if isinstance(key, Window | GeoBox):
            return key
        if isinstance(self.windows, Sequence):
            return self.windows[key]
        raise TypeError(
            "this GeoDataset draws its windows from a sampler: index it with the windows the "
            "sampler yields (DataLoader(dataset, sampler=sampler)), not with integers."
        )

    def _with_other_sensors(self, chosen: list[RasterSource]) -> list[RasterSource]:
        """``chosen`` plus the other sources holding bands ``chosen`` lacks (e.g. S1 beside S2)."""
        missing = [b for b in self.bands if not any(s.resolve(b) for s in chosen)]
        if not missing:
            return chosen
        extra = [s for s in self.sources if s not in chosen and any(s.resolve(b) for b in missing)]
        return chosen + extra

    def _read_image(self, window: Window) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        chosen = [self.sources[i] for i in window.sources] or self.sources
        if not window.is_time_series:
            chosen = self._with_other_sensors(chosen)
            return read(chosen, window.grid, self.bands, self.resampling, fill=self.fill)
        steps = [read(s, window.grid, self.bands, self.resampling, fill=self.fill) for s in chosen]
        image = np.stack([values for values, _ in steps])
        valid = np.logical_and.reduce([v for _, v in steps])
        return image, np.asarray(valid, bool)

    def read_label(self, grid: GeoBox) -> Sample:
        """The label layer on ``grid``: ``{"mask": ...}`` or ``{"boxes": ..., "labels": ...}``.

        Also used by datasets that read their images otherwise (several input groups).
        """
        if self.label_kind == "raster":
            return {"mask": torch.from_numpy(self._raster_mask(grid))}
        if self.label_kind == "vector":
            mask = rasterize_labels(
                self.label,
                grid,
                self.label_attribute,
                classes=self.classes,
                fill=self.label_fill,
                dtype="int32",
                allow_empty=True,
            )
            return {"mask": torch.from_numpy(mask.astype(np.int64))}
        boxes, labels = boxes_in_pixels(
            self.label,
            grid,
            self.label_attribute,
            classes=self.classes,
            oriented=self.label_kind == "oriented_boxes",
            allow_empty=True,
        )
        return {"boxes": torch.from_numpy(boxes), "labels": torch.from_numpy(labels)}

    def _raster_mask(self, grid: GeoBox) -> npt.NDArray[np.int64]:
        assert self.label_band is not None
        try:
            values, valid = read(self.label, grid, [self.label_band], resampling="nearest")
        except OutsideSourcesError:
            return np.full((grid.shape.y, grid.shape.x), self.label_fill, np.int64)
        mask: npt.NDArray[np.int64] = values[0].astype(np.int64)
        mask[~valid] = self.label_fill
        return mask


def _load_label(label: Any, kind: str) -> Any:
    """Open a label layer once: raster sources, or a GeoDataFrame for vector kinds."""
    if label is None:
        return None
    if kind == "raster":
        return as_sources(label)
    if kind not in _VECTOR_KINDS:
        raise ConfigError(
            f"unknown label_kind {kind!r}; use 'raster', {', '.join(map(repr, _VECTOR_KINDS))}."
        )
    if isinstance(label, str | os.PathLike):
        return read_vector(label)
    return label
