"""Multi-frame super-resolution items: ``N`` low-resolution revisits and one high-resolution target.

An item is the revisits of one place (GeoTIFFs on one grid: same CRS,
transform and shape), optional clear masks (1 = clear, one per revisit, on
its grid) and the target, aligned with the revisits as a single-frame pair
(:func:`~eoforge.data.sr_pairs.read_sr_pair`). Everything is read whole into
memory. A pixel that is not clear (mask 0, NaN or the file's nodata) is
stored as NaN in every band: the mask travels inside the image, so a crop,
a D4 transform or a batch moves it with the values.

Training crops (:class:`StackCrops`) hold exactly ``T`` frames: the frames
with a clear pixel in the crop, the clearest ``T`` first (ties: file order),
back in file order; missing frames are all-NaN (mask 0). An item none of
whose revisits has a clear pixel is skipped, with a warning counting them.

Revisits on different grids are refused: resample them onto one grid first
(``gdalwarp -t_srs ... -tr ... -te ...``; eoforge's training reads files on
their own grid and does not resample, while ``eoforge predict`` reads every
revisit onto the scene's grid by itself).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
import torch

from eoforge.data.sr_grids import read_target, target_grid
from eoforge.data.sr_pairs import Crop, SRCrops, SRPair, _named_bands
from eoforge.errors import ConfigError

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SRStack(SRPair):
    """One multi-frame item in memory (an :class:`SRPair` whose ``lr`` has a frame axis).

    Attributes:
        lr: ``[N, C, h, w]`` float32 revisits, physical units, NaN where not clear.
        hr: ``[C, h s, w s]`` float32 target.
    """


def _check_grid(first: rasterio.DatasetReader, other: rasterio.DatasetReader, path: Path) -> None:
    """Refuse ``other`` unless it shares ``first``'s CRS, transform and shape."""
    same = (
        other.crs == first.crs
        and other.shape == first.shape
        and all(
            abs(a - b) <= 1e-9 * max(1.0, abs(a))
            for a, b in zip(other.transform, first.transform, strict=True)
        )
    )
    if not same:
        raise ConfigError(
            f"{path.name} is not on the grid of {Path(first.name).name} "
            f"({other.crs} {other.shape} {tuple(other.transform)[:6]} vs "
            f"{first.crs} {first.shape} {tuple(first.transform)[:6]}).",
            path=path,
            fix="resample the revisits onto one grid first (e.g. gdalwarp -t_srs/-tr/-te with "
            "the first revisit's CRS, pixel size and bounds); eoforge does not resample "
            "training inputs.",
        )


def read_sr_stack(
    lrs: Sequence[Path], hr: Path, bands: Sequence[str], masks: Sequence[Path] | None = None
) -> SRStack:
    """Read the revisits ``lrs`` (one grid), their clear ``masks`` and the target ``hr``.

    Returns:
        The item; its ``lr`` holds NaN where a revisit is not clear.

    Raises:
        ConfigError: No revisit, masks not one per revisit, revisits or masks on
            another grid, a target that does not align at a whole factor (see
            :func:`~eoforge.data.sr_grids.target_grid`) or holds NaN. Revisits may
            hold NaN or nodata: those pixels are not clear.
        BandNotFoundError: A band is missing from a revisit.
    """
    if not lrs:
        raise ConfigError("an item has no revisit.", path=hr, fix="give lr: [PATH, ...].")
    if masks is not None and len(masks) != len(lrs):
        raise ConfigError(
            f"{len(masks)} masks for {len(lrs)} revisits.",
            path=lrs[0],
            fix="give one mask per lr file, in the same order, or none.",
        )
    hr_path = Path(hr)
    frames = []
    with rasterio.open(lrs[0]) as first, rasterio.open(hr_path) as hi:
        if first.crs != hi.crs:
            raise ConfigError(
                f"the revisits are in {first.crs} but the target {hr_path.name} in {hi.crs}.",
                path=lrs[0],
                fix="reproject one of them so both share a CRS.",
            )
        grid = target_grid(first, hi, Path(lrs[0]), hr_path)
        target = read_target(hi, _named_bands(hi, bands, hr_path), grid, hr_path)
        if not np.isfinite(target).all():
            raise ConfigError(
                "the target holds NaN or inf.",
                path=hr_path,
                fix="fill or crop invalid pixels first.",
            )
        for n, path in enumerate(lrs):
            with rasterio.open(path) as src:
                _check_grid(first, src, Path(path))
                image = src.read(
                    _named_bands(src, bands, Path(path)), masked=True, window=grid.window
                )
                frame = image.filled(np.nan).astype(np.float32)
            if masks is not None:
                with rasterio.open(masks[n]) as m:
                    _check_grid(first, m, Path(masks[n]))
                    clear = m.read(1, window=grid.window) > 0
                frame[:, ~clear] = np.nan
            frame[:, ~np.isfinite(frame).all(axis=0)] = np.nan
            frames.append(frame)
        gsd = float(abs(first.transform.a))
    return SRStack(np.stack(frames), target, grid.scale, gsd, Path(lrs[0]).name)


def clear_items(stacks: Sequence[SRStack]) -> list[SRStack]:
    """``stacks`` less those without any clear pixel, with a warning counting them.

    Raises:
        ConfigError: Every item is cloudy.
    """
    kept = [s for s in stacks if np.isfinite(s.lr).any()]
    if len(kept) < len(stacks):
        warnings.warn(
            f"skipped {len(stacks) - len(kept)} of {len(stacks)} super-resolution items "
            "whose revisits have no clear pixel",
            stacklevel=2,
        )
    if not kept:
        raise ConfigError(
            "every item's revisits are cloudy (no clear pixel).",
            fix="check the masks (1 = clear) or add clearer revisits.",
        )
    return kept


def pick_frames(lr: F32, frames: int) -> F32:
    """The ``frames`` clearest revisits of a crop ``[N, C, h, w]``, padded with NaN frames.

    Frames without a clear pixel are dropped; the clearest are kept (ties: the
    earlier), in their original order; missing ones are all-NaN.

    Returns:
        ``[frames, C, h, w]``.
    """
    clear = np.isfinite(lr[:, 0]).sum(axis=(1, 2))
    order = sorted(range(len(lr)), key=lambda n: (-int(clear[n]), n))
    keep = sorted(n for n in order[:frames] if clear[n] > 0)
    out = np.full((frames, *lr.shape[1:]), np.nan, dtype=np.float32)
    out[: len(keep)] = lr[keep]
    return out


class StackCrops(SRCrops):
    """Item ``(stack, row, col)``: ``{"image": [T, C, P, P], "target": [C, P s, P s]}``.

    ``image`` is NaN where a frame is not clear (see :func:`pick_frames`).

    Args:
        stacks: The items (one scale).
        patch: Input crop side ``P``, pixels.
        frames: Frames per sample ``T``.
    """

    def __init__(self, stacks: Sequence[SRStack], patch: int, frames: int) -> None:
        super().__init__(stacks, patch)
        self.frames = frames

    def __getitem__(self, crop: Crop) -> dict[str, torch.Tensor]:
        index, row, col = crop
        stack, p, s = self.pairs[index], self.patch, self.scale
        lr = pick_frames(stack.lr[..., row : row + p, col : col + p], self.frames)
        hr = stack.hr[:, row * s : (row + p) * s, col * s : (col + p) * s]
        return {"image": torch.from_numpy(lr), "target": torch.from_numpy(hr.copy())}


def make_crops(items: Sequence[SRPair], patch: int, frames: int | None) -> SRCrops:
    """Crops of single-frame pairs (``frames`` None) or of multi-frame items (``T = frames``)."""
    if frames is None:
        return SRCrops(items, patch)
    stacks = [i for i in items if isinstance(i, SRStack)]
    return StackCrops(stacks, patch, frames)


def check_frames(arch: str, frames: int | None, lists: bool, multiframe: Sequence[str]) -> None:
    """Refuse a multi-frame model without ``data.frames`` and the reverse.

    Args:
        arch: ``model.arch``.
        frames: ``data.frames``.
        lists: Whether an item gives several ``lr`` files.
        multiframe: Architectures that read revisits.

    Raises:
        ConfigError: A mismatch, with the fix.
    """
    if frames is None and arch in multiframe:
        raise ConfigError(
            f"model.arch {arch} fuses revisits but data.frames is not set.",
            fix="set data.frames (e.g. 8) and give lr: [PATH, ...] per item.",
        )
    if frames is not None and arch not in multiframe:
        raise ConfigError(
            f"data.frames is set but model.arch {arch} reads one frame.",
            fix=f"use model.arch {multiframe[0]}, or drop data.frames and give one lr per item.",
        )
    if frames is None and lists:
        raise ConfigError(
            "an item gives several lr files but data.frames is not set.",
            fix="set data.frames and model.arch sr_multiframe, or give one lr file per item.",
        )
