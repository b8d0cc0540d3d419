"""Super-resolution pairs: a low-resolution image and its high-resolution target on aligned grids.

A pair is two GeoTIFFs read whole into memory (scenes of a few thousand
pixels a side): the low-resolution input and the target, with the bands
named by their descriptions (canonical names such as ``S2.B04``). Their grids
must share the CRS and origin, and the target's pixel must be the input's
divided by a whole factor ``s`` (the scale), or the target is resampled onto
such a grid on request (:mod:`eoforge.data.sr_grids`). Training draws random
``patch x patch`` input crops with the ``s``-times larger target crop above
them (:class:`CropSampler`, from ``(seed, epoch)``); validation reads
non-overlapping tiles (:func:`tiles`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
import torch
from torch.utils.data import Dataset, Sampler

from eoforge.data.sr_grids import read_target, target_grid
from eoforge.errors import BandNotFoundError, ConfigError, EoforgeError
from eoforge.sensors import get_band

F32 = npt.NDArray[np.float32]
Crop = tuple[int, int, int]
"""``(pair index, row, col)`` of a crop's top-left input pixel."""


@dataclass(frozen=True)
class SRPair:
    """One input/target pair in memory.

    Attributes:
        lr: ``[C, h, w]`` float32 input, physical units.
        hr: ``[C, h s, w s]`` float32 target.
        scale: Target pixels per input pixel, per axis.
        gsd: Input pixel size, CRS units.
        name: The input file's name.
        reference: ``[C, h s, w s]`` float32 image of the place at another date on
            the target's grid, or None (see :mod:`eoforge.data.sr_reference`).
    """

    lr: F32
    hr: F32
    scale: int
    gsd: float
    name: str
    reference: F32 | None = None


def _named_bands(src: rasterio.DatasetReader, bands: Sequence[str], path: Path) -> list[int]:
    """1-based band indexes of ``bands`` in ``src``, found by description."""
    names = []
    for d in src.descriptions:
        try:
            names.append(get_band(d).name if d else "")
        except EoforgeError:
            names.append(d or "")
    out = []
    for band in bands:
        name = get_band(band).name
        if name not in names:
            raise BandNotFoundError(
                f"band {name} is not among the file's bands {names}.",
                path=path,
                fix="name the bands in the file's band descriptions, or pick bands it has.",
            )
        out.append(names.index(name) + 1)
    return out


def read_sr_pair(
    lr_path: Path, hr_path: Path, bands: Sequence[str], *, resample_target: bool = False
) -> SRPair:
    """Read a pair and check that its grids align.

    Args:
        lr_path: The input GeoTIFF.
        hr_path: The target GeoTIFF.
        bands: Bands to read from both, by name, in channel order.
        resample_target: Put a target whose pixel is not the input's divided by a
            whole factor (or whose origin is shifted) onto the input's grid divided
            by the nearest whole factor, cropping the input to the pixels the target
            covers (:mod:`eoforge.data.sr_grids`; ``data.resample_target``).

    Raises:
        ConfigError: Different CRSs, a pixel-size ratio that is not a whole
            factor or shifted origins (without ``resample_target``), or a target
            that does not cover the input.
        BandNotFoundError: A band is missing from a file.
    """
    with rasterio.open(lr_path) as lo, rasterio.open(hr_path) as hi:
        if lo.crs != hi.crs:
            raise ConfigError(
                f"the input is in {lo.crs} but the target {hr_path.name} in {hi.crs}.",
                path=lr_path,
                fix="reproject one of them so both share a CRS.",
            )
        grid = target_grid(lo, hi, lr_path, hr_path, resample=resample_target)
        scale = grid.scale
        lr = lo.read(_named_bands(lo, bands, lr_path), window=grid.window).astype(np.float32)
        hr = read_target(hi, _named_bands(hi, bands, hr_path), grid, hr_path)
        gsd = float(abs(lo.transform.a))
    for name, image in (("input", lr), ("target", hr)):
        if not np.isfinite(image).all():
            raise ConfigError(
                f"the {name} holds NaN or inf.",
                path=lr_path,
                fix="fill or crop invalid pixels first.",
            )
    return SRPair(lr, hr, scale, gsd, lr_path.name)


class SRCrops(Dataset[dict[str, torch.Tensor]]):
    """Item ``(pair, row, col)``: ``{"image": [C, P, P], "target": [C, P s, P s]}``.

    Pairs with a reference add ``"reference": [C, P s, P s]`` (the target's window).

    Args:
        pairs: The pairs (one scale).
        patch: Input crop side ``P``, pixels.
    """

    def __init__(self, pairs: Sequence[SRPair], patch: int) -> None:
        scales = {p.scale for p in pairs}
        if len(scales) != 1:
            raise ConfigError(
                f"the pairs have different scales {sorted(scales)}.",
                fix="train one scale at a time.",
            )
        small = [p.name for p in pairs if min(p.lr.shape[-2:]) < patch]
        if small:
            raise ConfigError(
                f"{small[0]} is smaller than one {patch}-px crop.",
                fix="use a smaller data.patch_size or larger images.",
            )
        self.pairs, self.patch, self.scale = list(pairs), patch, scales.pop()

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, crop: Crop) -> dict[str, torch.Tensor]:
        index, row, col = crop
        pair, p, s = self.pairs[index], self.patch, self.scale
        lr = pair.lr[:, row : row + p, col : col + p]
        hr = pair.hr[:, row * s : (row + p) * s, col * s : (col + p) * s]
        item = {"image": torch.from_numpy(lr.copy()), "target": torch.from_numpy(hr.copy())}
        if pair.reference is not None:
            ref = pair.reference[:, row * s : (row + p) * s, col * s : (col + p) * s]
            item["reference"] = torch.from_numpy(ref.copy())
        return item


class CropSampler(Sampler[Crop]):
    """``samples`` random crops per epoch, drawn from ``(seed, epoch)``; pairs weighted by area.

    Args:
        crops: The dataset.
        samples: Crops per epoch.
        seed: Seed of the draws.
    """

    def __init__(self, crops: SRCrops, samples: int, seed: int) -> None:
        self.crops, self.samples, self.seed, self.epoch = crops, samples, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose crops the next iteration yields."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[Crop]:
        rng = np.random.default_rng([self.seed, self.epoch])
        p = self.crops.patch
        spans = [(q.lr.shape[-2] - p + 1, q.lr.shape[-1] - p + 1) for q in self.crops.pairs]
        areas = np.array([h * w for h, w in spans], dtype=np.float64)
        picks = rng.choice(len(spans), size=self.samples, p=areas / areas.sum())
        for index in picks.tolist():
            h, w = spans[index]
            yield index, int(rng.integers(h)), int(rng.integers(w))

    def __len__(self) -> int:
        return self.samples


def tiles(crops: SRCrops) -> list[Crop]:
    """Non-overlapping crops covering every pair (partial right and bottom edges dropped)."""
    p = crops.patch
    return [
        (index, row, col)
        for index, pair in enumerate(crops.pairs)
        for row in range(0, pair.lr.shape[-2] - p + 1, p)
        for col in range(0, pair.lr.shape[-1] - p + 1, p)
    ]


def band_stats(pairs: Sequence[SRPair]) -> tuple[list[float], list[float]]:
    """Per-band mean and std of the inputs (std floored at 1e-6).

    Inputs with a frame axis (``[N, C, h, w]``, multi-frame items) count every
    frame; NaN (pixels that are not clear) are left out.
    """
    flat = np.concatenate(
        [np.moveaxis(p.lr, -3, 0).reshape(p.lr.shape[-3], -1) for p in pairs], axis=1
    )
    mean = np.asarray(np.nanmean(flat, axis=1, dtype=np.float64))
    std = np.maximum(np.asarray(np.nanstd(flat, axis=1, dtype=np.float64)), 1e-6)
    return mean.tolist(), std.tolist()
