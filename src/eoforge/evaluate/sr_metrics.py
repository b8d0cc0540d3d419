"""Image-quality metrics of super-resolution: PSNR, SSIM and PROBA-V/WorldStrat cPSNR/cSSIM.

Images are ``[C, H, W]`` float arrays in physical units (reflectance, DN);
every metric is computed per band and averaged over bands. ``data_range`` is
the value span the PSNR peak and SSIM constants refer to (1.0 for
reflectance).

cPSNR/cSSIM (Märtens et al. 2019, PROBA-V challenge; WorldStrat) forgive what
super-resolution cannot know: the prediction's border of ``border`` pixels is
cropped, it is compared with every target crop shifted by ``(dy, dx)`` in
``[-border, border]``, the brightness bias (mean of ``target - prediction``
over the clear pixels, per band) is removed, and the best shift counts. The
clear mask marks target pixels that count (cloud-free).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from eoforge.errors import ConfigError

FloatArray = npt.NDArray[np.floating]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class BandScores:
    """One metric per band and their mean.

    Attributes:
        bands: Value per band, in channel order.
        mean: Mean over bands.
        shift: Best ``(dy, dx)`` target shift, pixels (corrected metrics only).
    """

    bands: tuple[float, ...]
    mean: float
    shift: tuple[int, int] | None = None


def _as_chw(image: FloatArray | torch.Tensor, name: str) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(image) if not isinstance(image, torch.Tensor) else image)
    x = x.double()
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ConfigError(
            f"{name} has shape {tuple(x.shape)}; an image is [C, H, W] or [H, W].",
            fix="pass one image at a time, bands first.",
        )
    return x


def _pair(
    prediction: FloatArray | torch.Tensor, target: FloatArray | torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    p, t = _as_chw(prediction, "prediction"), _as_chw(target, "target")
    if p.shape != t.shape:
        raise ConfigError(
            f"prediction {tuple(p.shape)} and target {tuple(t.shape)} differ in shape.",
            fix="compare images on the same grid (predict on the target's grid).",
        )
    return p, t


def _psnr_from_mse(mse: torch.Tensor, data_range: float) -> torch.Tensor:
    return 10 * torch.log10(data_range**2 / mse)


def psnr(
    prediction: FloatArray | torch.Tensor,
    target: FloatArray | torch.Tensor,
    data_range: float = 1.0,
    mask: BoolArray | torch.Tensor | None = None,
) -> BandScores:
    """Peak signal-to-noise ratio per band, dB (``inf`` for identical bands).

    Args:
        prediction: ``[C, H, W]``, physical units.
        target: ``[C, H, W]``, same units.
        data_range: Peak value span (1.0 for reflectance).
        mask: ``[H, W]`` pixels that count (default: all).
    """
    p, t = _pair(prediction, target)
    m = _mask(mask, p)
    mse = (((p - t) ** 2) * m).sum(dim=(1, 2)) / m.sum()
    values = _psnr_from_mse(mse, data_range)
    return _scores(values)


def _mask(mask: BoolArray | torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    if mask is None:
        return torch.ones(like.shape[-2:], dtype=torch.float64)
    m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask)
    if tuple(m.shape) != tuple(like.shape[-2:]):
        raise ConfigError(
            f"mask {tuple(m.shape)} does not fit images of {tuple(like.shape[-2:])} px.",
            fix="give one clear/valid flag per pixel of the target.",
        )
    if not bool(m.any()):
        raise ConfigError("the mask keeps no pixel.", fix="score images with clear pixels.")
    return m.to(torch.float64)


def _scores(values: torch.Tensor, shift: tuple[int, int] | None = None) -> BandScores:
    bands = tuple(float(v) for v in values)
    return BandScores(bands, float(np.mean(bands)), shift)


def _gaussian(size: int, sigma: float) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _blur(
    channels: int, window: int, sigma: float, like: torch.Tensor | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A separable Gaussian blur of ``[B, channels, H, W]`` (valid convolution)."""
    g = _gaussian(window, sigma)
    if like is not None:
        g = g.to(like)
    rows = g.reshape(1, 1, window, 1).expand(channels, 1, window, 1).contiguous()
    cols = g.reshape(1, 1, 1, window).expand(channels, 1, 1, window).contiguous()

    def blur(x: torch.Tensor) -> torch.Tensor:  # a column pass, then a row pass
        return F.conv2d(F.conv2d(x, rows.to(x), groups=channels), cols.to(x), groups=channels)

    return blur


def ssim_maps(
    prediction: torch.Tensor,
    target: torch.Tensor,
    data_range: float = 1.0,
    window: int = 11,
    sigma: float = 1.5,
) -> torch.Tensor:
    """SSIM map per band (Wang et al. 2004; Gaussian window, valid convolution).

    Args:
        prediction: ``[B, C, H, W]`` (any float dtype; differentiable).
        target: ``[B, C, H, W]``.
        data_range: Value span the constants ``(0.01 L)²``, ``(0.03 L)²`` refer to.
        window: Gaussian window side, pixels.
        sigma: Gaussian standard deviation, pixels.

    Returns:
        ``[B, C, H - window + 1, W - window + 1]`` local SSIM.
    """
    blur = _blur(prediction.shape[1], window, sigma, prediction)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_p, mu_t = blur(prediction), blur(target)
    var_p = blur(prediction * prediction) - mu_p**2
    var_t = blur(target * target) - mu_t**2
    cov = blur(prediction * target) - mu_p * mu_t
    num = (2 * mu_p * mu_t + c1) * (2 * cov + c2)
    den = (mu_p**2 + mu_t**2 + c1) * (var_p + var_t + c2)
    return num / den


def ssim(
    prediction: FloatArray | torch.Tensor,
    target: FloatArray | torch.Tensor,
    data_range: float = 1.0,
    mask: BoolArray | torch.Tensor | None = None,
    window: int = 11,
) -> BandScores:
    """Structural similarity per band (1 for identical bands), mean over the map.

    Args:
        prediction: ``[C, H, W]``.
        target: ``[C, H, W]``.
        data_range: Value span (1.0 for reflectance).
        mask: ``[H, W]`` pixels that count: a window position counts when its
            centre pixel does.
        window: Gaussian window side (sigma 1.5), pixels.

    Raises:
        ConfigError: Images smaller than the window.
    """
    p, t = _pair(prediction, target)
    if min(p.shape[-2:]) < window:
        raise ConfigError(
            f"images of {tuple(p.shape[-2:])} px are smaller than the {window}-px SSIM window.",
            fix="score larger images or pass a smaller window.",
        )
    maps = ssim_maps(p[None], t[None], data_range, window)[0]
    m = _mask(mask, p)
    h = window // 2
    m = m[h : m.shape[0] - h, h : m.shape[1] - h]
    return _scores((maps * m).sum(dim=(1, 2)) / m.sum().clamp_min(1))


def _shifted(
    prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, border: int
) -> list[tuple[tuple[int, int], torch.Tensor, torch.Tensor, torch.Tensor]]:
    """``((dy, dx), prediction crop, bias-corrected target crop, mask crop)`` per shift."""
    h, w = prediction.shape[-2:]
    if min(h, w) <= 2 * border:
        raise ConfigError(
            f"images of {h}x{w} px leave nothing inside a {border}-px border.",
            fix="score larger images or pass a smaller border.",
        )
    crop = prediction[:, border : h - border, border : w - border]
    out = []
    for dy in range(-border, border + 1):
        for dx in range(-border, border + 1):
            t = target[:, border + dy : h - border + dy, border + dx : w - border + dx]
            m = mask[border + dy : h - border + dy, border + dx : w - border + dx]
            if not bool(m.any()):
                continue
            bias = ((t - crop) * m).sum(dim=(1, 2)) / m.sum()
            out.append(((dy, dx), crop, t - bias[:, None, None], m))
    if not out:
        raise ConfigError("no clear target pixel at any shift.", fix="score clear targets.")
    return out


def cpsnr(
    prediction: FloatArray | torch.Tensor,
    target: FloatArray | torch.Tensor,
    data_range: float = 1.0,
    mask: BoolArray | torch.Tensor | None = None,
    border: int = 3,
) -> BandScores:
    """Clear, bias- and shift-corrected PSNR (PROBA-V / WorldStrat), dB.

    For every shift ``(dy, dx)`` in ``[-border, border]²`` the prediction's
    centre crop is compared with the target crop shifted by it, the mean
    brightness difference over the clear pixels removed per band; the shift of
    the lowest mean squared error (over all bands) counts.

    Args:
        prediction: ``[C, H, W]``.
        target: ``[C, H, W]``.
        data_range: Value span (1.0 for reflectance).
        mask: ``[H, W]`` clear target pixels (default: all).
        border: Largest shift, pixels; also the border cropped off the prediction.
    """
    p, t = _pair(prediction, target)
    best: tuple[float, tuple[int, int], torch.Tensor] | None = None
    for shift, crop, tc, m in _shifted(p, t, _mask(mask, p), border):
        mse = (((crop - tc) ** 2) * m).sum(dim=(1, 2)) / m.sum()
        total = float(mse.mean())
        if best is None or total < best[0]:
            best = (total, shift, mse)
    assert best is not None
    return _scores(_psnr_from_mse(best[2], data_range), best[1])


def cssim(
    prediction: FloatArray | torch.Tensor,
    target: FloatArray | torch.Tensor,
    data_range: float = 1.0,
    mask: BoolArray | torch.Tensor | None = None,
    border: int = 3,
    window: int = 11,
) -> BandScores:
    """Clear, bias- and shift-corrected SSIM: the best mean SSIM over the shifts of :func:`cpsnr`.

    Args:
        prediction: ``[C, H, W]``.
        target: ``[C, H, W]``.
        data_range: Value span.
        mask: ``[H, W]`` clear target pixels (default: all).
        border: Largest shift and cropped border, pixels.
        window: SSIM window side, pixels.
    """
    p, t = _pair(prediction, target)
    m_all = _mask(mask, p)
    h, w = p.shape[-2:]
    if min(h, w) - 2 * border < window:
        raise ConfigError(
            f"images of {h}x{w} px leave less than one {window}-px window inside the border.",
            fix="score larger images or pass a smaller border or window.",
        )
    # Valid convolutions commute with crops, so the target's local moments are blurred once
    # and cropped per shift; removing a bias moves the local mean only.
    blur = _blur(p.shape[0], window, 1.5)
    crop = p[None, :, border : h - border, border : w - border]
    mu_p, pp = blur(crop), blur(crop * crop)
    mu_full, tt_full = blur(t[None]), blur(t[None] * t[None])
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    half, (oh, ow) = window // 2, mu_p.shape[-2:]
    best: BandScores | None = None
    for (dy, dx), _, tc, m in _shifted(p, t, m_all, border):
        r0, c0 = border + dy, border + dx
        mu_t = mu_full[..., r0 : r0 + oh, c0 : c0 + ow]
        shifted = t[None, :, r0 : r0 + h - 2 * border, c0 : c0 + w - 2 * border]
        bias = (shifted[0] - tc).mean(dim=(1, 2))  # tc is the shifted crop minus its bias
        var_p = pp - mu_p**2
        var_t = tt_full[..., r0 : r0 + oh, c0 : c0 + ow] - mu_t**2
        cov = blur(crop * shifted) - mu_p * mu_t
        mu_tc = mu_t - bias[None, :, None, None]
        num = (2 * mu_p * mu_tc + c1) * (2 * cov + c2)
        maps = (num / ((mu_p**2 + mu_tc**2 + c1) * (var_p + var_t + c2)))[0]
        keep = m[half : m.shape[0] - half, half : m.shape[1] - half]
        scores = _scores((maps * keep).sum(dim=(1, 2)) / keep.sum().clamp_min(1))
        if best is None or scores.mean > best.mean:
            best = BandScores(scores.bands, scores.mean, (dy, dx))
    assert best is not None
    return best
