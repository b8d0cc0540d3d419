"""Target grids of super-resolution pairs whose pixel sizes are not a whole ratio.

A network upsamples by a whole factor ``s``, so its target must lie on the
input's grid with pixels ``s`` times smaller. Some datasets do not: WorldStrat's
targets have 1.5 m pixels over 10 m Sentinel-2 inputs, a ratio of 6.67. With
``data.resample_target: true`` such a target is resampled onto the grid whose
origin is the input's and whose pixel is the input pixel divided by
``s = round(ratio)`` (1.43 m for WorldStrat, ``s = 7``):

* when that grid is finer than the target's own (``s`` > ratio), by **cubic**
  convolution (GDAL ``cubic``: Keys' kernel, ``a = -0.5``), which reproduces
  smooth surfaces without the blocks of nearest neighbour;
* when it is coarser (``s`` < ratio), by the **area-weighted average** of the
  target pixels each new pixel covers (GDAL ``average``), which keeps the
  target's radiometry and does not alias.

The input is cropped to its whole pixels inside the target's footprint (a
target that stops short of the input's edge leaves those input pixels out,
rather than training on pixels without a target). Without the option, a
target grid that is not the input's divided by a whole factor is refused
(:class:`~eoforge.errors.ConfigError` naming both files, the ratio and this option).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.warp import reproject
from rasterio.windows import Window

from eoforge.errors import ConfigError

F32 = npt.NDArray[np.float32]

TOLERANCE = 1e-6
"""Relative tolerance on pixel-size ratios and origins (of a target pixel)."""


@dataclass(frozen=True)
class TargetGrid:
    """Where a pair's input is read and the grid its target is put on.

    Attributes:
        scale: Target pixels per input pixel per axis (``s``).
        ratio: The input pixel size over the target file's own pixel size.
        window: The input's window read (its whole pixels the target covers).
        transform: The target grid's transform (origin at the window's corner,
            pixel = input pixel / ``scale``).
        shape: ``(rows, cols)`` of the target grid: the window's times ``scale``.
        resampling: ``None`` when the target file already lies on this grid
            (read as is), else ``"cubic"`` (refining) or ``"average"`` (coarsening).
    """

    scale: int
    ratio: float
    window: Window
    transform: Affine
    shape: tuple[int, int]
    resampling: str | None


def pixel_ratio(lo: rasterio.DatasetReader, hi: rasterio.DatasetReader) -> tuple[float, float]:
    """Input pixel over target pixel, along x and along y."""
    return lo.transform.a / hi.transform.a, lo.transform.e / hi.transform.e


def target_grid(
    lo: rasterio.DatasetReader,
    hi: rasterio.DatasetReader,
    lr_path: Path,
    hr_path: Path,
    *,
    resample: bool = False,
) -> TargetGrid:
    """The grid ``hi`` (the target) is read on for the input ``lo``.

    Args:
        lo: The open input.
        hi: The open target (same CRS, checked by the caller).
        lr_path: The input's path (for messages).
        hr_path: The target's path (for messages).
        resample: Resample a target whose grid is not the input's divided by a
            whole factor (``data.resample_target``); else refuse it.

    Returns:
        The grid: the target's own when it is aligned with the input at a whole
        factor, else (with ``resample``) the resampled grid described above.

    Raises:
        ConfigError: Rotated grids; without ``resample``, a ratio that is not a
            whole factor (or differs between axes) or shifted origins; with it, a
            target that covers no whole input pixel.
    """
    for path, ds in ((lr_path, lo), (hr_path, hi)):
        t = ds.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise ConfigError(
                f"{path.name}'s grid is rotated or not north-up ({tuple(t)[:6]}).",
                path=path,
                fix="warp it to a north-up grid (gdalwarp) first.",
            )
    rx, ry = pixel_ratio(lo, hi)
    scale = round(rx)
    whole = (
        scale >= 1
        and math.isclose(rx, scale, rel_tol=TOLERANCE)
        and math.isclose(ry, rx, rel_tol=TOLERANCE)
    )
    off = (abs(lo.transform.c - hi.transform.c), abs(lo.transform.f - hi.transform.f))
    aligned = max(off) <= TOLERANCE * hi.transform.a
    if whole and aligned:
        if hi.height < lo.height * scale or hi.width < lo.width * scale:
            raise ConfigError(
                f"the target {hr_path.name} ({hi.height}x{hi.width}) does not cover the "
                f"x{scale} grid of the input ({lo.height}x{lo.width}).",
                path=lr_path,
                fix="give a target that covers the whole input.",
            )
        window = Window(0, 0, lo.width, lo.height)
        shape = (lo.height * scale, lo.width * scale)
        return TargetGrid(scale, rx, window, hi.transform, shape, None)
    if not resample:
        _refuse(lo, hi, lr_path, hr_path, rx, ry, whole, off)
    scale = max(1, round((rx + ry) / 2))
    window = _covered_window(lo, hi, lr_path, hr_path)
    corner = lo.transform @ (window.col_off, window.row_off)
    transform = Affine(
        lo.transform.a / scale, 0.0, corner[0], 0.0, lo.transform.e / scale, corner[1]
    )
    shape = (int(window.height) * scale, int(window.width) * scale)
    refine = lo.transform.a / scale <= hi.transform.a * (1 + TOLERANCE)
    return TargetGrid(scale, rx, window, transform, shape, "cubic" if refine else "average")


def _refuse(
    lo: rasterio.DatasetReader,
    hi: rasterio.DatasetReader,
    lr_path: Path,
    hr_path: Path,
    rx: float,
    ry: float,
    whole: bool,
    off: tuple[float, float],
) -> None:
    """Raise the ConfigError of a target not on the input's grid at a whole factor."""
    nearest = max(1, round(rx))
    option = (
        f"set data.resample_target: true (training; eoforge evaluate: --resample-target) to "
        f"resample the target onto the input's grid with pixel {lo.transform.a:g} / {nearest} "
        f"= {lo.transform.a / nearest:.4g} (cubic when refining, area average when coarsening)"
    )
    if not whole:
        axes = f"{rx:.4g}" if math.isclose(rx, ry, rel_tol=TOLERANCE) else f"{rx:.4g} x {ry:.4g}"
        raise ConfigError(
            f"the input {lr_path.name}'s pixel ({lo.transform.a:g}) is {axes} times the target "
            f"{hr_path.name}'s ({hi.transform.a:g}): not a whole factor.",
            path=lr_path,
            fix=f"{option}, or resample the target yourself to a whole fraction of the "
            "input's pixel.",
        )
    raise ConfigError(
        f"the grids' origins differ by {off[0]:g}, {off[1]:g} CRS units "
        f"(input {lr_path.name}, target {hr_path.name}).",
        path=lr_path,
        fix=f"crop both to a common origin on the input's grid, or {option}.",
    )


def _covered_window(
    lo: rasterio.DatasetReader, hi: rasterio.DatasetReader, lr_path: Path, hr_path: Path
) -> Window:
    """The input's whole pixels that lie inside the target's footprint."""
    inv = ~lo.transform
    col0, row0 = inv @ (hi.bounds.left, hi.bounds.top)
    col1, row1 = inv @ (hi.bounds.right, hi.bounds.bottom)
    eps = 1e-6
    c0, r0 = max(0, math.ceil(col0 - eps)), max(0, math.ceil(row0 - eps))
    c1, r1 = min(lo.width, math.floor(col1 + eps)), min(lo.height, math.floor(row1 + eps))
    if c1 <= c0 or r1 <= r0:
        raise ConfigError(
            f"the target {hr_path.name} covers no whole pixel of the input {lr_path.name}.",
            path=lr_path,
            fix="pair the input with a target of the same place.",
        )
    return Window(c0, r0, c1 - c0, r1 - r0)


def read_target(
    hi: rasterio.DatasetReader, indexes: list[int], grid: TargetGrid, hr_path: Path
) -> F32:
    """The target's bands ``indexes`` (1-based) on ``grid``, ``[C, rows, cols]`` float32.

    Raises:
        ConfigError: Resampled pixels left without a value (target nodata inside
            the footprint).
    """
    if grid.resampling is None:
        window = Window(0, 0, grid.shape[1], grid.shape[0])
        same: F32 = hi.read(indexes, window=window).astype(np.float32)
        return same
    out = np.full((len(indexes), *grid.shape), np.nan, np.float32)
    reproject(
        source=hi.read(indexes).astype(np.float32),
        destination=out,
        src_transform=hi.transform,
        src_crs=hi.crs,
        src_nodata=hi.nodata,
        dst_transform=grid.transform,
        dst_crs=hi.crs,
        dst_nodata=np.nan,
        resampling=Resampling[grid.resampling],
    )
    if not np.isfinite(out).all():
        raise ConfigError(
            f"resampling the target left {int((~np.isfinite(out)).sum())} values empty "
            "(nodata in the target inside the input's footprint).",
            path=hr_path,
            fix="fill the target's nodata, or crop the pair to where the target is valid.",
        )
    return out


def refuse_resampling_with(frames: int | None) -> None:
    """Refuse ``data.resample_target`` where it is not supported yet.

    Multi-frame items are read on the target file's own grid, which a resampled
    target no longer shares.

    Raises:
        ConfigError: ``frames`` is set.
    """
    if frames is not None:
        raise ConfigError(
            "data.resample_target is not supported with data.frames (multi-frame items) yet.",
            fix="resample the targets beforehand to the input's pixel divided by a whole "
            "factor (gdalwarp -tr), and leave data.resample_target false.",
        )
