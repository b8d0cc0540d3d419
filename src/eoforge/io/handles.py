"""Opening rasters: error translation and a bounded per-process handle cache.

TorchGeo keeps up to 128 open datasets per worker whatever their size, which
has exhausted memory on large collections. eoforge bounds the number of open
handles (``EOFORGE_MAX_OPEN_FILES``, default 32) and drops handles inherited
across ``fork`` (DataLoader workers open their own).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from odc.geo.geobox import GeoBox
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from eoforge.errors import (
    EmptyFileError,
    MissingFileError,
    NotGeoreferencedError,
    UnreadableFileError,
)
from eoforge.geo.grid import make_grid
from eoforge.io.gdal_env import apply_gdal_defaults

apply_gdal_defaults()

_REMOTE_PREFIXES = ("/vsi", "http://", "https://", "s3://", "gs://", "az://")


def _is_remote(path: str) -> bool:
    return path.startswith(_REMOTE_PREFIXES)


def check_path(path: str | os.PathLike[str]) -> str:
    """Fail early and clearly on a missing or empty file.

    Args:
        path: Local path or GDAL URL.

    Returns:
        The path as a string.

    Raises:
        MissingFileError: The local path does not exist.
        EmptyFileError: The local file has zero bytes.
    """
    text = os.fspath(path)
    if _is_remote(text):
        return text
    p = Path(text)
    if not p.exists():
        raise MissingFileError(
            "file does not exist.", path=text, fix="check the path and spelling."
        )
    if p.is_file() and p.stat().st_size == 0:
        raise EmptyFileError(
            "file is empty (0 bytes).",
            path=text,
            fix="re-download or re-export it; it holds no data.",
        )
    return text


def open_dataset(path: str | os.PathLike[str]) -> rasterio.io.DatasetReader:
    """Open a raster with rasterio, translating failures into eoforge errors.

    Args:
        path: Local path or GDAL URL.

    Returns:
        An open dataset (the caller closes it, or uses :data:`HANDLES`).

    Raises:
        MissingFileError, EmptyFileError, UnreadableFileError.
    """
    text = check_path(path)
    try:
        with warnings.catch_warnings():
            # eoforge raises NotGeoreferencedError itself when a grid is needed
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(text)
    except RasterioIOError as exc:
        raise UnreadableFileError(
            f"cannot be opened as a raster ({_short(exc)}).",
            path=text,
            fix="check that the file is complete (re-download it) and in a format GDAL reads "
            "(GeoTIFF/COG, JPEG2000, VRT, ...).",
        ) from exc


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200]


def dataset_grid(ds: rasterio.io.DatasetReader) -> GeoBox:
    """The grid of an open dataset.

    Raises:
        NotGeoreferencedError: The dataset has no CRS or no geotransform.
    """
    if ds.crs is None:
        gcps, _ = ds.gcps
        detail = " (it has ground control points only)" if gcps else ""
        raise NotGeoreferencedError(
            f"raster has no coordinate reference system{detail}.",
            path=ds.name,
            fix="georeference it first (e.g. `gdal_translate -a_srs EPSG:XXXX`, or `gdalwarp` "
            "for GCPs), or read it as a plain image chip dataset.",
        )
    if ds.transform.is_identity:
        raise NotGeoreferencedError(
            "raster has a CRS but no geotransform (pixel size and origin).",
            path=ds.name,
            fix="set the transform (e.g. `gdal_translate -a_ullr ...`) or regenerate the file.",
        )
    return make_grid((ds.height, ds.width), ds.transform, ds.crs)


@dataclass(frozen=True)
class FileInfo:
    """What eoforge needs to know about one raster file, read from its header.

    Attributes:
        path: The file.
        grid: Its grid.
        count: Number of bands.
        dtypes: Data type name per band.
        nodata: Declared nodata value (shared by all bands in GDAL's model), or None.
        descriptions: Band descriptions (``""`` where unset).
        colorinterp: Colour interpretation names per band (``"red"``, ``"gray"``, ...).
        scales: Per-band scale factors from the file's metadata.
        offsets: Per-band offsets from the file's metadata.
        block_shape: Internal block ``(height, width)`` of band 1.
    """

    path: str
    grid: GeoBox
    count: int
    dtypes: tuple[str, ...]
    nodata: float | None
    descriptions: tuple[str, ...]
    colorinterp: tuple[str, ...]
    scales: tuple[float, ...]
    offsets: tuple[float, ...]
    block_shape: tuple[int, int]


def file_info(path: str | os.PathLike[str]) -> FileInfo:
    """Read a raster's header (grid, bands, nodata, scales) through the handle cache."""
    text = os.fspath(path)
    ds = HANDLES.get(text)
    return FileInfo(
        path=text,
        grid=dataset_grid(ds),
        count=ds.count,
        dtypes=tuple(ds.dtypes),
        nodata=None if ds.nodata is None else float(ds.nodata),
        descriptions=tuple(d or "" for d in ds.descriptions),
        colorinterp=tuple(ci.name for ci in ds.colorinterp),
        scales=tuple(float(s) for s in ds.scales),
        offsets=tuple(float(o) for o in ds.offsets),
        block_shape=_block_shape(ds),
    )


def _block_shape(ds: rasterio.io.DatasetReader) -> tuple[int, int]:
    if not ds.block_shapes:
        return 1, int(ds.width)
    rows, cols = ds.block_shapes[0]
    return int(rows), int(cols)


FileStamp = tuple[int, int, int] | None
"""A local file's identity: inode, size (bytes), modification time (ns); None for URLs."""


_STAMPS = threading.local()
"""Per thread: the stamps taken inside :func:`stamp_memo` (absent outside it)."""


@contextmanager
def stamp_memo() -> Iterator[None]:
    """Within the block, each file's stamp is taken once (this thread only).

    One sample (or one batch) of a multi-group time series reads ~10-40 files and
    checked each of them several times (handle freshness, outline cache): the
    ``os.stat`` calls were a visible part of a warm read. Inside the block a file
    rewritten meanwhile is seen at the next block, as the reads of one sample must
    come from one version of the files anyway. Blocks nest (the outer one counts).
    """
    if getattr(_STAMPS, "memo", None) is not None:
        yield
        return
    _STAMPS.memo = {}
    try:
        yield
    finally:
        _STAMPS.memo = None


def file_stamp(path: str | os.PathLike[str]) -> FileStamp:
    """Inode, size (bytes) and modification time (ns) of a local file.

    None for GDAL URLs and paths ``os.stat`` cannot see (subdatasets, missing files).
    A file rewritten under the same name gets another stamp. Inside
    :func:`stamp_memo`, the stamp taken first in the block.
    """
    text = os.fspath(path)
    memo: dict[str, FileStamp] | None = getattr(_STAMPS, "memo", None)
    if memo is not None:
        if text not in memo:
            memo[text] = _stamp(text)
        return memo[text]
    return _stamp(text)


def _stamp(text: str) -> FileStamp:
    if _is_remote(text):
        return None
    try:
        st = os.stat(text)
    except (OSError, ValueError):
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class HandleCache:
    """Least-recently-used cache of open rasterio datasets, bounded in count.

    Thread-safe for lookups; each process (DataLoader worker) has its own
    handles, because GDAL handles must not be shared across ``fork``.

    Args:
        max_open: Most datasets kept open at once.
    """

    def __init__(self, max_open: int = 32) -> None:
        self.max_open = max(1, max_open)
        self._handles: OrderedDict[str, tuple[rasterio.io.DatasetReader, FileStamp]] = OrderedDict()
        self._grids: dict[str, GeoBox] = {}
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def grid(self, path: str | os.PathLike[str]) -> GeoBox:
        """The grid of ``path`` (parsed once per open handle: CRS parsing is not free)."""
        return self.get_with_grid(path)[1]

    def get_with_grid(
        self, path: str | os.PathLike[str]
    ) -> tuple[rasterio.io.DatasetReader, GeoBox]:
        """:meth:`get` and :meth:`grid` in one lookup (one check of the file's stamp)."""
        path = os.fspath(path)
        ds = self.get(path)
        grid = self._grids.get(path)
        if grid is None:
            grid = self._grids[path] = dataset_grid(ds)
        return ds, grid

    def get(self, path: str | os.PathLike[str]) -> rasterio.io.DatasetReader:
        """An open dataset for ``path``, opening it (and evicting the oldest) if needed.

        A local file rewritten since it was opened (another inode, size or
        modification time) is opened afresh, so a long-lived process never reads
        the pixels of a replaced file; the stale handle is dropped, not closed,
        since another thread may still be reading through it.
        """
        path = os.fspath(path)
        stamp = file_stamp(path)
        with self._lock:
            if os.getpid() != self._pid:
                # Inherited from the parent through fork: forget, never close, the parent's handles.
                self._handles = OrderedDict()
                self._grids = {}
                self._pid = os.getpid()
            cached = self._handles.get(path)
            if cached is not None and cached[1] == stamp:
                self._handles.move_to_end(path)
                return cached[0]
            if cached is not None:
                del self._handles[path]
                self._grids.pop(path, None)
        ds = open_dataset(path)
        with self._lock:
            self._handles[path] = (ds, stamp)
            while len(self._handles) > self.max_open:
                old_path, (old, _) = self._handles.popitem(last=False)
                self._grids.pop(old_path, None)
                old.close()
        return ds

    def __len__(self) -> int:
        return len(self._handles)

    def clear(self) -> None:
        """Close every cached handle of this process."""
        with self._lock:
            if os.getpid() == self._pid:
                for ds, _ in self._handles.values():
                    ds.close()
            self._handles = OrderedDict()
            self._grids = {}
            self._pid = os.getpid()


HANDLES = HandleCache(int(os.environ.get("EOFORGE_MAX_OPEN_FILES", "32")))


def read_failed(path: str | os.PathLike[str], exc: BaseException) -> UnreadableFileError:
    """The error for a file whose header opened but whose pixels cannot be decoded."""
    return UnreadableFileError(
        f"pixels cannot be decoded; the file is truncated or corrupt ({_short(exc)}).",
        path=path,
        fix="re-download or re-export the file, then check it with `gdalinfo -checksum`.",
    )


def is_complex(dtype: str) -> bool:
    """Whether a rasterio dtype name is complex (e.g. SLC SAR)."""
    return (
        bool(np.issubdtype(np.dtype(dtype), np.complexfloating))
        if dtype != "complex_int16"
        else True
    )
