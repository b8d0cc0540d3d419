"""Deterministic noise that is a pure function of (seed, salt, position).

Every random quantity of the synthetic ground is drawn from these functions, so
any block of any scene can be produced on its own: the value at a point never
depends on which block, or which order of blocks, computed it.

Coordinates are in metres on the scene's local frame (x to the east, y to the
south, origin at the scene's upper-left corner). Arrays may be a regular grid
given as broadcastable axes (``x`` of shape ``(1, W)``, ``y`` of shape
``(H, 1)``), in which case lattice values are hashed once per lattice node
rather than once per pixel, or any pair of equally shaped arrays (points).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]

_MASK = 0xFFFFFFFFFFFFFFFF
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_PRIME_X = np.uint64(0xD6E8FEB86659FD93)
_PRIME_Y = np.uint64(0xA0761D6478BD642F)
_PRIME_Z = np.uint64(0xE7037ED1A0B428DB)


def _splitmix(z: U64) -> U64:
    """Finalise 64-bit integers into well-mixed hashes (SplitMix64)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def salt_of(seed: int, *keys: int | str) -> int:
    """Derive a 64-bit stream key from a seed and labels.

    Args:
        seed: The scene seed.
        *keys: Integers or strings naming the stream (e.g. ``"clouds", 3``).

    Returns:
        A non-negative integer below 2**64.
    """
    acc = np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)
    words: list[int] = []
    for key in keys:
        if isinstance(key, int):
            words.append(key)
        else:
            raw = key.encode()
            words.extend(
                int.from_bytes(raw[i : i + 8].ljust(8, b"\0")) for i in range(0, len(raw), 8)
            )
            words.append(len(raw))
    for value in words:
        with np.errstate(over="ignore"):
            acc = _splitmix(acc ^ (np.uint64(value & _MASK) + _GOLDEN))
    return int(acc[0])


def hash_ints(salt: int, ix: npt.NDArray[Any], iy: npt.NDArray[Any], iz: int = 0) -> U64:
    """Hash integer lattice coordinates to 64-bit values.

    Args:
        salt: Stream key from :func:`salt_of`.
        ix: Integer x indices (any shape, broadcastable with ``iy``).
        iy: Integer y indices.
        iz: An extra integer index (e.g. a date), shared by all points.

    Returns:
        uint64 array of the broadcast shape.
    """
    with np.errstate(over="ignore"):
        z = (
            np.uint64(salt)
            + ix.astype(np.int64).view(np.uint64) * _PRIME_X
            + iy.astype(np.int64).view(np.uint64) * _PRIME_Y
            + np.uint64(iz & 0xFFFFFFFF) * _PRIME_Z
        )
        return _splitmix(z)


def uniform_ints(salt: int, ix: npt.NDArray[Any], iy: npt.NDArray[Any], iz: int = 0) -> F64:
    """Uniform values in [0, 1) attached to integer lattice coordinates.

    Args:
        salt: Stream key.
        ix: Integer x indices.
        iy: Integer y indices (broadcastable with ``ix``).
        iz: Extra index shared by all points.

    Returns:
        float64 array of the broadcast shape.
    """
    h = hash_ints(salt, ix, iy, iz)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def _is_grid(x: F64, y: F64) -> bool:
    return x.ndim == 2 and y.ndim == 2 and x.shape[0] == 1 and y.shape[1] == 1


def lattice_uniform(salt: int, ix: npt.NDArray[np.int64], iy: npt.NDArray[np.int64]) -> F64:
    """Uniform values in [0, 1) at integer lattice cells (ix, iy).

    When ``ix`` has shape (1, W) and ``iy`` shape (H, 1) each distinct cell is
    hashed once and gathered, which is much faster than hashing every pixel.

    Args:
        salt: Stream key.
        ix: Integer x indices.
        iy: Integer y indices.

    Returns:
        float64 array of the broadcast shape.
    """
    if _is_grid(ix.astype(np.float64), iy.astype(np.float64)) and ix.size * iy.size > 64:
        x0, y0 = int(ix.min()), int(iy.min())
        nodes_x = np.arange(x0, int(ix.max()) + 1, dtype=np.int64)[None, :]
        nodes_y = np.arange(y0, int(iy.max()) + 1, dtype=np.int64)[:, None]
        table = uniform_ints(salt, nodes_x, nodes_y)
        return table[iy - y0, ix - x0]
    return uniform_ints(salt, ix, iy)


def value_noise(x: F64, y: F64, scale: float, salt: int) -> F64:
    """Smooth value noise in [0, 1] with features about ``scale`` metres across.

    Args:
        x: Easting in metres (grid axis ``(1, W)`` or points).
        y: Southing in metres (grid axis ``(H, 1)`` or points).
        scale: Lattice spacing in metres.
        salt: Stream key.

    Returns:
        float64 array of the broadcast shape.
    """
    gx = x / scale
    gy = y / scale
    fx = np.floor(gx)
    fy = np.floor(gy)
    ix = fx.astype(np.int64)
    iy = fy.astype(np.int64)
    tx = gx - fx
    ty = gy - fy
    tx = tx * tx * (3.0 - 2.0 * tx)
    ty = ty * ty * (3.0 - 2.0 * ty)
    if _is_grid(x, y) and x.size * y.size > 64:
        return _grid_interpolate(salt, ix, iy, tx, ty)
    v00 = lattice_uniform(salt, ix, iy)
    v10 = lattice_uniform(salt, ix + 1, iy)
    v01 = lattice_uniform(salt, ix, iy + 1)
    v11 = lattice_uniform(salt, ix + 1, iy + 1)
    top = v00 + (v10 - v00) * tx
    bottom = v01 + (v11 - v01) * tx
    out: F64 = top + (bottom - top) * ty
    return out


def _grid_interpolate(
    salt: int, ix: npt.NDArray[np.int64], iy: npt.NDArray[np.int64], tx: F64, ty: F64
) -> F64:
    """Value noise on a grid: interpolate along x on the lattice rows, then gather rows.

    Same arithmetic, hence the same bits, as the per-point formula in
    :func:`value_noise`, at a fraction of the cost.
    """
    ix_row, tx_row = ix[0], tx[0]
    iy_col, ty_col = iy[:, 0], ty[:, 0]
    x0, y0 = int(ix_row.min()), int(iy_col.min())
    nodes_x = np.arange(x0, int(ix_row.max()) + 2, dtype=np.int64)[None, :]
    nodes_y = np.arange(y0, int(iy_col.max()) + 2, dtype=np.int64)[:, None]
    table = uniform_ints(salt, nodes_x, nodes_y)
    left = table[:, ix_row - x0]
    rows = left + (table[:, ix_row - x0 + 1] - left) * tx_row
    top = rows[iy_col - y0]
    bottom = rows[iy_col - y0 + 1]
    out: F64 = top + (bottom - top) * ty_col[:, None]
    return out


def fbm(x: F64, y: F64, scale: float, salt: int, octaves: int = 4, gain: float = 0.5) -> F64:
    """Fractal sum of value noise, centred on 0 and scaled to about [-1, 1].

    Args:
        x: Easting in metres.
        y: Southing in metres.
        scale: Size in metres of the largest features.
        salt: Stream key.
        octaves: Number of octaves (each half the size of the previous one).
        gain: Amplitude factor between octaves.

    Returns:
        float64 array of the broadcast shape, mean about 0.
    """
    total: F64 = np.zeros(np.broadcast_shapes(x.shape, y.shape), dtype=np.float64)
    amplitude = 1.0
    norm = 0.0
    for octave in range(octaves):
        s = scale / (2.0**octave)
        # Offsets decorrelate octaves that would otherwise share lattice nodes.
        total += amplitude * (
            value_noise(x + 37.1 * s, y + 91.7 * s, s, (salt + octave) & _MASK) - 0.5
        )
        norm += amplitude
        amplitude *= gain
    result: F64 = total * (2.0 / norm)
    return result
