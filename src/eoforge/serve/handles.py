"""Open rio-tiler readers kept per worker thread.

Opening a GeoTIFF costs more than reading one tile of it, so every thread that
serves tiles keeps its own :class:`rio_tiler.io.Reader` per file (a GDAL dataset
is not safe to share between threads). A reader is reopened when its file's
size or modification time changes; at most :data:`MAX_OPEN` files stay open per
thread, the least recently used closed first.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

from rio_tiler.io import Reader

MAX_OPEN = 64
"""Most readers one thread keeps open."""

_LOCAL = threading.local()


def _stamp(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return (stat.st_size, stat.st_mtime_ns)


def reader(path: Path) -> Reader:
    """An open reader of ``path`` for the calling thread.

    Args:
        path: GeoTIFF (or any raster GDAL opens).

    Returns:
        The thread's reader of that file, opened now if needed.

    Raises:
        OSError: The file is gone or unreadable (rasterio's errors included).
    """
    cache: OrderedDict[Path, tuple[tuple[int, int], Reader]] | None = getattr(
        _LOCAL, "readers", None
    )
    if cache is None:
        cache = OrderedDict()
        _LOCAL.readers = cache
    stamp = _stamp(path)
    held = cache.get(path)
    if held is not None and held[0] == stamp:
        cache.move_to_end(path)
        return held[1]
    if held is not None:
        cache.pop(path)
        held[1].close()  # type: ignore[no-untyped-call]
    opened = Reader(str(path))
    cache[path] = (stamp, opened)
    while len(cache) > MAX_OPEN:
        _, (_, oldest) = cache.popitem(last=False)
        oldest.close()  # type: ignore[no-untyped-call]
    return opened


def close_all() -> None:
    """Close the calling thread's readers."""
    cache = getattr(_LOCAL, "readers", None)
    while cache:
        _, (_, held) = cache.popitem()
        held.close()


__all__ = ["MAX_OPEN", "close_all", "reader"]
