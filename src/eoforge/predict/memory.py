"""Keep a long streaming run's resident memory flat.

Scene prediction allocates and frees block-sized arrays (tens of MB) from
several threads for as long as the scene lasts. glibc's allocator raises its
mmap threshold after such frees (up to 32 MB) and serves later ones from
per-thread heaps that fragment and stay resident, so peak RSS would creep up
with the scene's length. A fixed threshold returns every large array to the
system when freed. GDAL's block cache (5 % of RAM by default) is bounded to 128 MB too:
tiles are read once, in order, so a large cache only holds pixels already used.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


_LIBC = _libc()


def release_free_memory() -> None:
    """Give the allocator's free heap pages back to the system (glibc; no-op elsewhere).

    Called after each block: the small buffers of compression and I/O otherwise
    leave freed pages resident in the per-thread heaps.
    """
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def bound_process_memory(mmap_threshold: int = 4 << 20, gdal_cache_mb: int = 128) -> bool:
    """Fix glibc's mmap threshold and default ``GDAL_CACHEMAX`` for this process.

    Call it once at the start of a command-line run, before any raster is read.
    A ``GDAL_CACHEMAX`` set by the user is kept.

    Args:
        mmap_threshold: Allocations at least this large (bytes) are mmapped and
            given back to the system when freed.
        gdal_cache_mb: GDAL block cache, MB.

    Returns:
        Whether the allocator setting was applied (False off glibc).
    """
    os.environ.setdefault("GDAL_CACHEMAX", str(gdal_cache_mb))
    mallopt = getattr(_LIBC, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold))
    return ok and bool(mallopt(_M_ARENA_MAX, 4))
