"""Score a super-resolution bundle on a scene pair: the model against bicubic, per band.

The input raster is predicted whole through the prediction engine (tiles
blended, on the grid ``scale`` times finer) and compared with the target
raster (same CRS and origin, checked) by PSNR, SSIM, cPSNR and cSSIM
(:mod:`.sr_metrics`); the bicubic upsampling of the same input is scored the
same way, and the gains are the differences.

Multi-frame bundles (model options record ``frames``) read the revisits of
the scene (several rasters on one grid, optional clear masks) and are
predicted as one scene; the baselines are the bicubic upsamplings of the
first revisit (``bicubic``: its non-clear pixels filled from the median) and
of the per-pixel median of the clear revisits (``bicubic_median``), and the
gains are over ``bicubic``.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import torch
import torch.nn.functional as F

from eoforge.data.sr_grids import target_grid
from eoforge.data.sr_pairs import SRPair, _named_bands, read_sr_pair
from eoforge.data.sr_stacks import read_sr_stack
from eoforge.errors import ConfigError
from eoforge.evaluate.sr_metrics import BandScores, cpsnr, cssim, psnr, ssim
from eoforge.io.staging import write_json
from eoforge.models import read_bundle_json
from eoforge.predict import TilingOptions, run

METRICS: dict[str, Callable[..., BandScores]] = {
    "psnr": psnr,
    "ssim": ssim,
    "cpsnr": cpsnr,
    "cssim": cssim,
}


def _scores(
    image: torch.Tensor, target: torch.Tensor, bands: list[str], data_range: float, border: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, metric in METRICS.items():
        kwargs = {"border": border} if name.startswith("c") else {}
        scores = metric(image, target, data_range, **kwargs)
        out[name] = {"mean": scores.mean, "bands": dict(zip(bands, scores.bands, strict=True))}
    return out


def evaluate_sr_scene(
    bundle: str | os.PathLike[str],
    lr: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    hr: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    border: int = 3,
    data_range: float = 1.0,
    tiling: TilingOptions | None = None,
    reference: str | os.PathLike[str] | None = None,
    resample_target: bool = False,
    masks: Sequence[str | os.PathLike[str]] | None = None,
) -> dict[str, Any]:
    """Predict ``lr`` with a super-resolution bundle and score it and bicubic against ``hr``.

    Args:
        bundle: A ``super_resolution`` bundle folder.
        lr: The input raster (bands named as the bundle's); for a multi-frame
            bundle the revisits of the scene (rasters on one grid), in order.
        hr: The target raster on the grid ``scale`` times finer.
        out: Write the metrics JSON there (None: only return them).
        border: cPSNR/cSSIM border and largest shift, target pixels.
        data_range: Value span of the metrics (1.0 for reflectance).
        tiling: Tiles of the prediction (default: the engine's).
        reference: The high-resolution reference of reference-guided bundles.
        resample_target: Put a target whose pixel is not the input's divided by a whole
            factor onto the input's grid / round(ratio), as training with
            ``data.resample_target`` does (:mod:`eoforge.data.sr_grids`); the scores
            cover the input pixels inside the target (single-frame bundles only).
        masks: Multi-frame bundles: the revisits' clear masks (1 = clear), one per
            revisit on its grid; non-clear pixels are missing for the model and
            the baselines alike (None: every valid pixel is clear).

    Returns:
        ``{"model": {metric: {"mean", "bands"}}, "bicubic": {...}, "gain_db": {...}, ...}``.

    Raises:
        ConfigError: Not a super-resolution bundle, a pair whose grids or scale
            do not fit it, several inputs for a single-frame bundle, or a target
            pixel that no clear revisit covers.
    """
    info = read_bundle_json(bundle)
    if info.task != "super_resolution":
        raise ConfigError(
            f"a {info.task} bundle does not super-resolve.",
            path=bundle,
            fix="pass a super_resolution bundle, or drop --target.",
        )
    bands = list(info.bands)
    scale = int(info.model.options["scale"])
    lrs = [Path(lr)] if isinstance(lr, (str, os.PathLike)) else [Path(p) for p in lr]
    multi = "frames" in info.model.options
    _check_inputs(Path(bundle), lrs, multi, resample_target, masks)
    pair: SRPair = (
        read_sr_stack(lrs, Path(hr), bands, None if masks is None else [Path(m) for m in masks])
        if multi
        else read_sr_pair(lrs[0], Path(hr), bands, resample_target=resample_target)
    )
    row0, col0 = _covered_origin(lrs[0], Path(hr), resample_target)
    if pair.scale != scale:
        raise ConfigError(
            f"the pair is x{pair.scale} but the bundle super-resolves x{scale}.",
            path=lrs[0],
            fix=f"give a target whose pixels are the input's divided by {scale}.",
        )
    with tempfile.TemporaryDirectory(prefix=".sr-eval-", dir=Path(hr).parent) as work:
        result = run(
            bundle,
            lrs if multi else lrs[0],
            work,
            tiling=tiling,
            reference=reference,
            masks=None if masks is None else [Path(m) for m in masks],
        )
        if len(result) != 1:
            raise ConfigError(
                f"the revisits made {len(result)} scenes, not one.",
                path=lrs[0],
                fix="give revisits of one footprint (one grid).",
            )
        with rasterio.open(result[0].paths["values"]) as src:
            predicted = torch.from_numpy(src.read().astype(np.float64))
    target = torch.from_numpy(pair.hr.astype(np.float64))
    h, w = target.shape[-2:]
    predicted = predicted[:, row0 * scale :, col0 * scale :]  # the target's first pixel
    if not torch.isfinite(predicted[:, :h, :w]).all():
        raise ConfigError(
            "the prediction has empty pixels over the target"
            + (" (no clear revisit there)." if multi else "."),
            path=lrs[0],
            fix="give an input without nodata over the target"
            + (", or clearer revisits." if multi else "."),
        )
    if multi:
        frames = _whole_frames(lrs, bands, masks)
        with warnings.catch_warnings():  # a pixel no revisit sees: NaN, refused above
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(frames, axis=0)
        first = np.where(np.isfinite(frames[0]), frames[0], median)
        inputs_up = {"bicubic": first, "bicubic_median": median}
    else:
        whole = pair.lr if (row0, col0) == (0, 0) else _whole_input(lrs[0], bands)
        inputs_up = {"bicubic": whole}
    baselines = {  # the whole input, as the model sees it, then the target's part
        name: _scores(
            _bicubic(image, scale)[
                :, row0 * scale : row0 * scale + h, col0 * scale : col0 * scale + w
            ],
            target,
            bands,
            data_range,
            border,
        )
        for name, image in inputs_up.items()
    }
    model = _scores(predicted[:, :h, :w], target, bands, data_range, border)
    bicubic = baselines["bicubic"]
    gains = {
        name: {
            "mean": model[name]["mean"] - bicubic[name]["mean"],
            "bands": {b: model[name]["bands"][b] - bicubic[name]["bands"][b] for b in bands},
        }
        for name in ("psnr", "cpsnr")
    }
    report: dict[str, Any] = {
        "bundle": str(bundle),
        "input": str(lrs[0]) if not multi else [str(p) for p in lrs],
        "masks": None if masks is None else [str(m) for m in masks],
        "target": str(hr),
        "reference": None if reference is None else str(reference),
        "scale": scale,
        "resample_target": resample_target,
        "bands": bands,
        "border": border,
        "data_range": data_range,
        "model": model,
        **baselines,
        "gain_db": gains,
    }
    if out is not None:
        write_json(Path(out), report)
    return report


def _covered_origin(lr: Path, hr: Path, resample: bool) -> tuple[int, int]:
    """``(row, col)`` of the first input pixel the (resampled) target covers."""
    with rasterio.open(lr) as lo, rasterio.open(hr) as hi:
        window = target_grid(lo, hi, lr, hr, resample=resample).window
    return int(window.row_off), int(window.col_off)


def _whole_input(lr: Path, bands: list[str]) -> npt.NDArray[np.float32]:
    """The input's ``bands``, all of it (a resampled target may cover only part)."""
    with rasterio.open(lr) as src:
        whole: npt.NDArray[np.float32] = src.read(_named_bands(src, bands, lr)).astype(np.float32)
    return whole


def _check_inputs(
    bundle: Path,
    lrs: list[Path],
    multi: bool,
    resample_target: bool,
    masks: Sequence[str | os.PathLike[str]] | None,
) -> None:
    """Refuse inputs that do not fit the bundle (see :func:`evaluate_sr_scene`)."""
    if not lrs:
        raise ConfigError("no input raster.", path=bundle, fix="give the input (or revisits).")
    if not multi and len(lrs) > 1:
        raise ConfigError(
            f"a single-frame bundle reads one input, not {len(lrs)} revisits.",
            path=bundle,
            fix="pass one raster, or a multi-frame bundle (model.arch sr_multiframe).",
        )
    if not multi and masks is not None:
        raise ConfigError(
            "clear masks are read by multi-frame bundles only.",
            path=bundle,
            fix="drop the masks, or pass a multi-frame bundle.",
        )
    if multi and resample_target:
        raise ConfigError(
            "--resample-target is not supported for multi-frame bundles.",
            path=bundle,
            fix="give a target whose pixel is the input's divided by the scale.",
        )
    if masks is not None and len(masks) != len(lrs):
        raise ConfigError(
            f"{len(masks)} masks for {len(lrs)} revisits.",
            path=lrs[0],
            fix="give one mask per revisit, in the same order.",
        )


def _bicubic(image: npt.NDArray[np.floating], scale: int) -> torch.Tensor:
    """Bicubic upsampling of ``[C, h, w]`` by ``scale`` as float64 ``[C, h s, w s]``."""
    x = torch.from_numpy(np.asarray(image, dtype=np.float64))[None]
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)[0]


def _whole_frames(
    lrs: list[Path], bands: list[str], masks: Sequence[str | os.PathLike[str]] | None
) -> npt.NDArray[np.float32]:
    """Every revisit's ``bands`` ``[N, C, h, w]``, NaN where not clear (nodata or mask 0)."""
    frames = []
    for n, path in enumerate(lrs):
        with rasterio.open(path) as src:
            frame = src.read(_named_bands(src, bands, path), masked=True).filled(np.nan)
        frame = frame.astype(np.float32)
        if masks is not None:
            with rasterio.open(masks[n]) as m:
                frame[:, m.read(1) <= 0] = np.nan
        frame[:, ~np.isfinite(frame).all(axis=0)] = np.nan
        frames.append(frame)
    return np.stack(frames)
