"""Default display stretches: the 2nd and 98th percentiles of a band, read on an overview.

rio-tiler's preview reads the overview whose size is nearest
:data:`PREVIEW_SIDE` pixels (the full band only for small files), so the
stretch of a 40,000-pixel scene costs one small read.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eoforge.serve.handles import reader
from eoforge.serve.layers import BandRef

PREVIEW_SIDE = 512
"""Longest side, in pixels, of the overview read for percentiles."""

LOW, HIGH = 2.0, 98.0
"""Percentiles of the default stretch."""


def percentiles(ref: BandRef) -> tuple[float, float] | None:
    """``(2 %, 98 %)`` of a band's valid values in data units, or None if none is valid.

    When both are equal the upper end is raised by one unit (a stretch needs lo < hi).
    """
    img = reader(ref.path).preview(indexes=ref.index, max_size=PREVIEW_SIDE)
    band = img.array[0]
    valid = np.asarray(band.data, dtype=np.float64)[~np.ma.getmaskarray(band)]
    valid = valid[np.isfinite(valid)]
    if ref.nodata is not None:
        valid = valid[valid != ref.nodata]
    if valid.size == 0:
        return None
    lo, hi = (float(v) * ref.scale + ref.offset for v in np.percentile(valid, [LOW, HIGH]))
    if ref.scale < 0:
        lo, hi = hi, lo
    if hi <= lo:
        hi = lo + max(abs(ref.scale), 1e-6)
    return lo, hi


def joint_percentiles(refs: Sequence[BandRef]) -> tuple[float, float] | None:
    """One stretch for several bands: the lowest 2 % and the highest 98 % of them."""
    found = [p for p in (percentiles(ref) for ref in refs) if p is not None]
    if not found:
        return None
    return min(p[0] for p in found), max(p[1] for p in found)


__all__ = ["HIGH", "LOW", "PREVIEW_SIDE", "joint_percentiles", "percentiles"]
