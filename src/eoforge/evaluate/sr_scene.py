"""Score a super-resolution bundle on a scene pair: the model against bicubic, per band.

The input raster is predicted whole through the prediction engine (tiles
blended, on the grid ``scale`` times finer) and compared with the target
raster (same CRS and origin, checked) by PSNR, SSIM, cPSNR and cSSIM
(:mod:`.sr_metrics`); the bicubic upsampling of the same input is scored the
same way, and the gains are the differences.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import torch
import torch.nn.functional as F

from eoforge.data.sr_grids import target_grid
from eoforge.data.sr_pairs import _named_bands, read_sr_pair
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
    lr: str | os.PathLike[str],
    hr: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    border: int = 3,
    data_range: float = 1.0,
    tiling: TilingOptions | None = None,
    reference: str | os.PathLike[str] | None = None,
    resample_target: bool = False,
) -> dict[str, Any]:
    """Predict ``lr`` with a super-resolution bundle and score it and bicubic against ``hr``.

    Args:
        bundle: A ``super_resolution`` bundle folder.
        lr: The input raster (bands named as the bundle's).
        hr: The target raster on the grid ``scale`` times finer.
        out: Write the metrics JSON there (None: only return them).
        border: cPSNR/cSSIM border and largest shift, target pixels.
        data_range: Value span of the metrics (1.0 for reflectance).
        tiling: Tiles of the prediction (default: the engine's).
        reference: The high-resolution reference of reference-guided bundles.
        resample_target: Put a target whose pixel is not the input's divided by a whole
            factor onto the input's grid / round(ratio), as training with
            ``data.resample_target`` does (:mod:`eoforge.data.sr_grids`); the scores
            cover the input pixels inside the target.

    Returns:
        ``{"model": {metric: {"mean", "bands"}}, "bicubic": {...}, "gain_db": {...}, ...}``.

    Raises:
        ConfigError: Not a super-resolution bundle, or a pair whose grids or scale
            do not fit it.
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
    pair = read_sr_pair(Path(lr), Path(hr), bands, resample_target=resample_target)
    row0, col0 = _covered_origin(Path(lr), Path(hr), resample_target)
    if pair.scale != scale:
        raise ConfigError(
            f"the pair is x{pair.scale} but the bundle super-resolves x{scale}.",
            path=lr,
            fix=f"give a target whose pixels are the input's divided by {scale}.",
        )
    with tempfile.TemporaryDirectory(prefix=".sr-eval-", dir=Path(hr).parent) as work:
        result = run(bundle, Path(lr), work, tiling=tiling, reference=reference)[0]
        with rasterio.open(result.paths["values"]) as src:
            predicted = torch.from_numpy(src.read().astype(np.float64))
    target = torch.from_numpy(pair.hr.astype(np.float64))
    h, w = target.shape[-2:]
    predicted = predicted[:, row0 * scale :, col0 * scale :]  # the target's first pixel
    if not torch.isfinite(predicted[:, :h, :w]).all():
        raise ConfigError(
            "the prediction has empty pixels over the target.",
            path=lr,
            fix="give an input without nodata over the target.",
        )
    whole = pair.lr if (row0, col0) == (0, 0) else _whole_input(Path(lr), bands)
    upsampled = F.interpolate(  # the whole input, as the model sees it, then the target's part
        torch.from_numpy(whole.astype(np.float64))[None],
        scale_factor=scale,
        mode="bicubic",
        align_corners=False,
    )[0, :, row0 * scale : row0 * scale + h, col0 * scale : col0 * scale + w]
    model = _scores(predicted[:, :h, :w], target, bands, data_range, border)
    bicubic = _scores(upsampled, target, bands, data_range, border)
    gains = {
        name: {
            "mean": model[name]["mean"] - bicubic[name]["mean"],
            "bands": {b: model[name]["bands"][b] - bicubic[name]["bands"][b] for b in bands},
        }
        for name in ("psnr", "cpsnr")
    }
    report: dict[str, Any] = {
        "bundle": str(bundle),
        "input": str(lr),
        "target": str(hr),
        "reference": None if reference is None else str(reference),
        "scale": scale,
        "resample_target": resample_target,
        "bands": bands,
        "border": border,
        "data_range": data_range,
        "model": model,
        "bicubic": bicubic,
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
