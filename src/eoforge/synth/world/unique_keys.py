"""Map per-pixel integer keys (field or lot identifiers) to a short list of distinct keys.

Properties of fields and buildings are computed once per distinct key and
gathered back to pixels. When the keys of a block span a small box (always
the case for a raster block) the box itself is the list, which avoids the
sort behind ``np.unique``; otherwise ``np.unique`` is used.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


def distinct(*keys: I64) -> tuple[tuple[I64, ...], I64]:
    """Distinct key tuples and, for every element, the position of its tuple.

    Args:
        *keys: Integer arrays of one shape (e.g. row and column of a field).

    Returns:
        (columns, inverse): ``columns`` holds one 1-D array per key, listing
        key tuples (possibly including some that do not occur); ``inverse`` has
        the input shape and indexes into them.
    """
    lows = [int(k.min()) for k in keys]
    spans = [int(k.max()) - low + 1 for k, low in zip(keys, lows, strict=True)]
    box = int(np.prod(spans, dtype=np.float64))
    if box <= max(keys[0].size, 1024):
        grids = np.meshgrid(
            *[np.arange(low, low + n, dtype=np.int64) for low, n in zip(lows, spans, strict=True)],
            indexing="ij",
        )
        flat = np.zeros(keys[0].shape, dtype=np.int64)
        for key, low, n in zip(keys, lows, spans, strict=True):
            flat = flat * n + (key - low)
        return tuple(g.ravel() for g in grids), flat
    stacked = np.stack([k.ravel() for k in keys])
    unique, inverse = np.unique(stacked, axis=1, return_inverse=True)
    return tuple(unique[i] for i in range(len(keys))), inverse.reshape(keys[0].shape)
