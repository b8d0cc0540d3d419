"""Image-to-image scores per band: MAE, RMSE, PSNR, SSIM, and the spectral angle over bands.

Images are ``[K, H, W]`` float arrays in physical units (reflectance). Every
band is scored on its own (MAE and RMSE in the bands' units, PSNR in dB for
the peak ``data_range``, SSIM from :mod:`.sr_metrics`); SAM, the spectral
angle between the predicted and the true spectrum of a pixel, in degrees, is
averaged over pixels. With a cloud mask the scores are given again over the
cloudy pixels (what cloud removal has to invent) and over the clear ones (what
it should keep).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from eoforge.errors import ConfigError
from eoforge.evaluate.sr_metrics import psnr, ssim

FloatArray = npt.NDArray[np.floating]
BoolArray = npt.NDArray[np.bool_]

SSIM_WINDOW = 11


def spectral_angle(
    prediction: FloatArray | torch.Tensor, target: FloatArray | torch.Tensor, mask: Any = None
) -> float:
    """Mean spectral angle (SAM) between predicted and true pixel spectra, degrees.

    Args:
        prediction: ``[K, H, W]``.
        target: ``[K, H, W]``.
        mask: ``[H, W]`` pixels that count (default: all).

    Returns:
        The mean angle over counted pixels with non-zero spectra (0: same direction).
    """
    p, t = torch.as_tensor(np.asarray(prediction)).double(), torch.as_tensor(np.asarray(target))
    t = t.double()
    dot = (p * t).sum(0)
    norms = p.norm(dim=0) * t.norm(dim=0)
    keep = norms > 0
    if mask is not None:
        keep &= torch.as_tensor(np.asarray(mask), dtype=torch.bool)
    if not bool(keep.any()):
        return float("nan")
    cosine = (dot[keep] / norms[keep]).clamp(-1.0, 1.0)
    return float(torch.rad2deg(torch.arccos(cosine)).mean())


def _per_band(
    p: torch.Tensor, t: torch.Tensor, bands: list[str], mask: torch.Tensor, data_range: float
) -> dict[str, Any]:
    counted = mask.double()
    n = counted.sum()
    error = (p - t) * counted
    mae = (error.abs().sum((1, 2)) / n).tolist()
    rmse = ((error**2).sum((1, 2)) / n).sqrt().tolist()
    scores: dict[str, list[float]] = {
        "mae": mae,
        "rmse": rmse,
        "psnr": list(psnr(p, t, data_range, mask).bands),
    }
    if min(p.shape[-2:]) >= SSIM_WINDOW:
        scores["ssim"] = list(ssim(p, t, data_range, mask, SSIM_WINDOW).bands)
    out: dict[str, Any] = {
        name: {"mean": float(np.mean(values)), "bands": dict(zip(bands, values, strict=True))}
        for name, values in scores.items()
    }
    out["sam_deg"] = spectral_angle(p, t, mask)
    out["pixels"] = int(n)
    return out


def image_to_image_scores(
    prediction: FloatArray | torch.Tensor,
    target: FloatArray | torch.Tensor,
    bands: list[str],
    *,
    valid: BoolArray | torch.Tensor | None = None,
    cloud: BoolArray | torch.Tensor | None = None,
    data_range: float = 1.0,
) -> dict[str, Any]:
    """Per-band MAE, RMSE, PSNR, SSIM and the mean SAM, overall and by cloud state.

    Args:
        prediction: ``[K, H, W]``, physical units.
        target: ``[K, H, W]``, same units and grid.
        bands: The ``K`` band names.
        valid: ``[H, W]`` pixels that count at all (default: where every band
            of both images is finite).
        cloud: ``[H, W]`` True where the input was cloudy (or in cloud shadow);
            None: no split by cloud.
        data_range: PSNR peak and SSIM value span (1.0 for reflectance).

    Returns:
        ``{"all": scores, "cloudy": scores, "clear": scores}`` (the last two with
        ``cloud`` and pixels of that kind); ``scores`` holds ``mae``, ``rmse``,
        ``psnr``, ``ssim`` as ``{"mean", "bands": {band: value}}``, ``sam_deg``
        and ``pixels``.

    Raises:
        ConfigError: Shapes that differ, a band count other than ``len(bands)``,
            or no pixel to score.
    """
    p = torch.as_tensor(np.asarray(prediction)).double()
    t = torch.as_tensor(np.asarray(target)).double()
    if p.ndim != 3 or p.shape != t.shape or p.shape[0] != len(bands):
        raise ConfigError(
            f"prediction {tuple(p.shape)} and target {tuple(t.shape)} for bands {bands}.",
            fix="compare [K, H, W] images on one grid, one band name per K.",
        )
    keep = torch.isfinite(p).all(0) & torch.isfinite(t).all(0)
    if valid is not None:
        keep &= torch.as_tensor(np.asarray(valid), dtype=torch.bool)
    if not bool(keep.any()):
        raise ConfigError("no pixel to score.", fix="compare images that overlap valid pixels.")
    p, t = torch.where(keep, p, 0.0), torch.where(keep, t, 0.0)
    out = {"all": _per_band(p, t, bands, keep, data_range)}
    if cloud is not None:
        cloudy = torch.as_tensor(np.asarray(cloud), dtype=torch.bool)
        for name, part in (("cloudy", keep & cloudy), ("clear", keep & ~cloudy)):
            if bool(part.any()):
                out[name] = _per_band(p, t, bands, part, data_range)
    return out
