"""Multi-frame super-resolution from the revisits' sampling phases (``arch: sr_multiframe_fit``).

Revisits of one place sample the same blurred scene at slightly different
positions. Around the frames' mean position, to first order, frame ``t`` at
low-resolution pixel ``x`` is ``f_t(x) = L(x) + s_t . G(x) + noise``, where
``s_t`` is the frame's sub-pixel shift and ``G = (G_y, G_x)`` is the
derivative of the sampled value with respect to the sampling position. Where
the scene is aliased (sharp sensors: Sentinel-2's 10 m bands have an MTF of
0.15-0.3 at Nyquist), ``G`` holds detail that no single frame, and no
gradient of a frame, shows: it is the information revisits add beyond noise
averaging. Forward contract as :mod:`eoforge.models.sr_multiframe`
(standardised revisits ``[B, T, C, h, w]``, NaN where not clear, to
``[B, C, h s, w s]`` in physical units).

Steps:

1. :func:`global_shifts`: each frame's shift against the mean of the clear
   frames, one translation per frame and sample (one Lucas-Kanade step over
   the whole sample, on frames smoothed by a Gaussian of ``shift_sigma``
   input pixels, which keeps the aliased frequencies out of the estimate);
2. :func:`fit_phases`: per pixel, the weighted least-squares fit of
   ``f_t = L + c_t . G`` over the clear frames, ``c_t`` the shifts centred on
   their mean (so ``L`` is the mean of the clear frames, at their mean
   position), with a ``ridge`` on ``G`` (input pixels squared, per frame)
   so that one clear frame, or frames that do not move, give ``G = 0``;
3. an RCAN-like body (:class:`~eoforge.models.sr_edsr.ResidualBlock`, as
   ``sr_edsr``) reads ``[L, G_y, G_x, clear frames / frames]`` (``3 C + 1`` channels),
   a pixel-shuffle upsampler and a zero-initialised 3x3 tail add a residual
   to the bicubic upsampling of ``L`` (the global skip: a fresh network is
   bicubic of the mean of the clear frames).

The fit is linear in the frames and symmetric in their order; no gradient
flows through the shift estimates. The shifts are global per sample: right
for revisits that differ by a translation over a tile (Sentinel-2's
multi-temporal misregistration over a few km), not for local distortions,
and a tiled prediction differs from an untiled one by the tiles' own
estimates. Samples should be large enough to estimate a shift from (the
recipe trains on 48-pixel patches: 24-pixel ones, over flat ground, often
are not).

Options: ``scale`` (2, 3, 4), ``frames`` (8), ``features`` (32), ``blocks``
(6), ``attention`` (true), ``reduction`` (8), ``res_scale`` (0.1),
``shift_sigma`` (1.0), ``ridge`` (1e-4).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eoforge.errors import ConfigError
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec
from eoforge.models.sr_common import option, sr_scale
from eoforge.models.sr_edsr import ResidualSR
from eoforge.models.sr_multiframe import clearest

OPTIONS = (
    "scale",
    "frames",
    "features",
    "blocks",
    "attention",
    "reduction",
    "res_scale",
    "shift_sigma",
    "ridge",
)


def smooth(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``[N, C, h, w]`` (``sigma`` pixels; edges replicated)."""
    if sigma <= 0:
        return x
    k = math.ceil(3 * sigma)
    r = torch.arange(-k, k + 1, device=x.device, dtype=x.dtype)
    g = torch.exp(-(r**2) / (2 * sigma**2))
    g = g / g.sum()
    n, c, h, w = x.shape
    y = x.reshape(n * c, 1, h, w)
    y = F.conv2d(F.pad(y, (k, k, 0, 0), mode="replicate"), g.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, k, k), mode="replicate"), g.view(1, 1, -1, 1))
    return y.reshape(n, c, h, w)


def clear_mean(frames: Tensor, mask: Tensor) -> Tensor:
    """Per-pixel mean of the clear frames ``[B, C, h, w]`` (0 where none is clear).

    Args:
        frames: ``[B, T, C, h, w]`` without NaN.
        mask: ``[B, T, h, w]``, 1 where clear.
    """
    weight = mask[:, :, None]
    total: Tensor = (frames * weight).sum(1) / weight.sum(1).clamp(min=1)
    return total


def derivatives(x: Tensor) -> tuple[Tensor, Tensor]:
    """``(d/dy, d/dx)`` of ``[N, C, h, w]`` by the five-point stencil (edges replicated).

    ``(f(x - 2) - 8 f(x - 1) + 8 f(x + 1) - f(x + 2)) / 12``: within 3 % of the true
    derivative up to 1 radian per pixel, where central differences lose 16 % (and the
    shifts estimated from them come out that much too large).
    """
    p = F.pad(x, (2, 2, 2, 2), mode="replicate")
    gy = p[:, :, :-4, 2:-2] - 8 * p[:, :, 1:-3, 2:-2] + 8 * p[:, :, 3:-1, 2:-2] - p[:, :, 4:, 2:-2]
    gx = p[:, :, 2:-2, :-4] - 8 * p[:, :, 2:-2, 1:-3] + 8 * p[:, :, 2:-2, 3:-1] - p[:, :, 2:-2, 4:]
    return gy / 12, gx / 12


@torch.no_grad()
def global_shifts(
    frames: Tensor,
    mask: Tensor,
    *,
    sigma: float = 1.0,
    damping: float = 1e-3,
    max_shift: float = 1.0,
) -> Tensor:
    """One translation per frame and sample against the mean of the clear frames.

    One Lucas-Kanade step over the whole sample: ``u = -A^-1 b`` with ``A``
    and ``b`` the sums of ``g g^T`` and ``g (F - R)`` over the pixels clear in
    the frame (``g``: the gradient of the reference ``R`` by :func:`derivatives`, all
    bands; ``F`` and ``R`` smoothed by a Gaussian of ``sigma`` pixels first,
    and a border of ``3 sigma + 1`` pixels left out where the sample is larger
    than twice that plus 4). ``damping`` (per pixel, squared gradient units)
    is added to ``A``'s diagonal, so flat samples keep ``u = 0``. Shifts are
    centred on the mean of the frames' and clamped to ``max_shift``.

    Args:
        frames: ``[B, T, C, h, w]`` without NaN.
        mask: ``[B, T, h, w]``, 1 where clear.
        sigma: Gaussian smoothing before the estimate, pixels (0: none).
        damping: Added to the structure tensor's diagonal, per pixel.
        max_shift: Largest shift kept, pixels.

    Returns:
        ``[B, T, 2]`` shifts ``(dy, dx)`` in input pixels with
        ``frame(x + shift) ~ reference(x)``, centred over the frames with any
        clear pixel.
    """
    b, t, c, h, w = frames.shape
    filled = torch.where(mask[:, :, None] > 0, frames, clear_mean(frames, mask)[:, None])
    soft = smooth(filled.reshape(b * t, c, h, w), sigma).reshape(b, t, c, h, w)
    reference = clear_mean(soft, mask)
    gy, gx = derivatives(reference)
    weight = mask.clone()
    edge = math.ceil(3 * sigma) + 1
    if min(h, w) > 2 * edge + 4:
        inner = torch.zeros(h, w, device=frames.device, dtype=frames.dtype)
        inner[edge : h - edge, edge : w - edge] = 1
        weight = weight * inner
    a_yy = (weight * (gy * gy).sum(1)[:, None]).sum((-2, -1))
    a_xx = (weight * (gx * gx).sum(1)[:, None]).sum((-2, -1))
    a_xy = (weight * (gy * gx).sum(1)[:, None]).sum((-2, -1))
    diag = damping * weight.sum((-2, -1))
    a_yy, a_xx = a_yy + diag + 1e-12, a_xx + diag + 1e-12
    residual = soft - reference[:, None]
    b_y = (weight * (gy[:, None] * residual).sum(2)).sum((-2, -1))
    b_x = (weight * (gx[:, None] * residual).sum(2)).sum((-2, -1))
    det = a_yy * a_xx - a_xy * a_xy
    d_y = (a_xx * b_y - a_xy * b_x) / det
    d_x = (a_yy * b_x - a_xy * b_y) / det
    shifts = -torch.stack([d_y, d_x], dim=-1)
    seen = (mask.sum((-2, -1)) > 0).to(frames.dtype)[..., None]
    mean = (shifts * seen).sum(1, keepdim=True) / seen.sum(1, keepdim=True).clamp(min=1)
    centred: Tensor = ((shifts - mean) * seen).clamp(-max_shift, max_shift)
    return centred


def fit_phases(
    frames: Tensor, mask: Tensor, shifts: Tensor, ridge: float = 1e-4
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-pixel least-squares fit of ``f_t = L + c_t . G`` over the clear frames.

    Args:
        frames: ``[B, T, C, h, w]`` without NaN.
        mask: ``[B, T, h, w]``, 1 where clear.
        shifts: ``[B, T, 2]`` (or per pixel ``[B, T, 2, h, w]``) shifts ``(dy, dx)``,
            input pixels.
        ridge: Added to the centred shifts' scatter per clear frame, pixels squared
            (shrinks ``G`` where the clear frames barely move).

    Returns:
        ``(L, G, count)``: ``L`` ``[B, C, h, w]`` the mean of the clear frames (0
        where none is), ``G`` ``[B, 2 C, h, w]`` the derivatives ``G_y`` (first
        ``C``) and ``G_x``, per input pixel, and ``count`` ``[B, 1, h, w]`` the
        number of clear frames.
    """
    if shifts.ndim == 3:
        shifts = shifts[..., None, None]
    weight = mask[:, :, None]  # [B, T, 1, h, w]
    count = weight.sum(1).clamp(min=1)  # [B, 1, h, w]
    mean = clear_mean(frames, mask)
    centre = (shifts * weight).sum(1, keepdim=True) / count[:, None]
    c = (shifts - centre) * weight  # [B, T, 2, h, w]
    cy, cx = c[:, :, :1], c[:, :, 1:]
    m_yy = (cy * cy).sum(1) + ridge * count
    m_xx = (cx * cx).sum(1) + ridge * count
    m_xy = (cy * cx).sum(1)
    residual = (frames - mean[:, None]) * weight
    v_y = (cy * residual).sum(1)
    v_x = (cx * residual).sum(1)
    det = m_yy * m_xx - m_xy * m_xy
    g_y = (m_xx * v_y - m_xy * v_x) / det
    g_x = (m_yy * v_x - m_xy * v_y) / det
    return mean, torch.cat([g_y, g_x], dim=1), weight.sum(1)


class ShiftFitSR(ResidualSR):
    """Fit the revisits' sampling phases, then super-resolve (see the module docstring).

    Args:
        bands: Channels ``C`` per frame and out.
        scale: 2, 3 or 4.
        frames: Most frames fused per sample (the clearest are kept).
        features: Feature channels.
        blocks: Residual blocks.
        attention: Channel attention in every block.
        reduction: Channel squeeze of the attention.
        res_scale: Residual scaling of the blocks.
        shift_sigma: Smoothing before the shift estimate, input pixels.
        ridge: Ridge of the phase fit, input pixels squared per frame.
    """

    reads_nan = True
    """Prediction keeps NaN (not-clear pixels) in the input: the masks come from them."""

    def __init__(
        self,
        bands: int,
        scale: int = 4,
        frames: int = 8,
        features: int = 32,
        blocks: int = 6,
        attention: bool = True,
        reduction: int = 8,
        res_scale: float = 0.1,
        shift_sigma: float = 1.0,
        ridge: float = 1e-4,
    ) -> None:
        # the trunk reads [L, G_y, G_x, share]; its zero tail starts as bicubic of the mean
        super().__init__(
            bands, scale, features, blocks, attention, reduction, res_scale, 3 * bands + 1
        )
        self.frames = frames
        self.shift_sigma = shift_sigma
        self.ridge = ridge

    def phases(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Shifts and the phase fit of standardised revisits.

        Args:
            x: ``[B, T, C, h, w]`` standardised, NaN where not clear (``[B, C, h, w]``:
                one frame).

        Returns:
            ``(shifts [B, T', 2], L [B, C, h, w], G [B, 2 C, h, w], share [B, 1, h, w])``
            with ``T' = min(T, frames)`` and ``share`` the clear frames over ``frames``
            (see :func:`global_shifts`, :func:`fit_phases`).

        Raises:
            ConfigError: ``x`` is neither 4- nor 5-dimensional.
        """
        if x.ndim == 4:
            x = x[:, None]
        if x.ndim != 5:
            raise ConfigError(
                f"sr_multiframe_fit reads [B, T, C, h, w] revisits, not {tuple(x.shape)}.",
                fix="train with data.frames set and lr: [PATH, ...] per item.",
            )
        mask = torch.isfinite(x).all(dim=2).to(x.dtype)
        if x.shape[1] > self.frames:
            x, mask = clearest(x, mask, self.frames)
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        shifts = global_shifts(x, mask, sigma=self.shift_sigma)
        mean, gradient, count = fit_phases(x, mask, shifts, self.ridge)
        return shifts, mean, gradient, count / self.frames

    def standardised(self, x: Tensor) -> Tensor:
        """Bicubic of the clear mean plus the residual, standardised ``[B, C, h s, w s]``."""
        _, mean, gradient, share = self.phases(x)
        skip = F.interpolate(mean, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return skip + self.residual(torch.cat([mean, gradient, share], dim=1))


@register_model(
    "sr_multiframe_fit",
    ("super_resolution",),
    "multi-frame SR from the revisits' sampling phases: global sub-pixel shifts, a per-pixel "
    "fit of each band's value and its derivatives along the shifts, an RCAN-like body and a "
    "bicubic skip of the clear mean (options: scale, frames, features, blocks, attention, "
    "reduction, res_scale, shift_sigma, ridge)",
)
def _sr_multiframe_fit(spec: ModelSpec) -> nn.Module:
    return ShiftFitSR(
        spec.in_channels,
        sr_scale(spec),
        frames=int(option(spec, "frames", 8, OPTIONS)),
        features=int(option(spec, "features", 32, OPTIONS)),
        blocks=int(option(spec, "blocks", 6, OPTIONS)),
        attention=bool(option(spec, "attention", True, OPTIONS)),
        reduction=int(option(spec, "reduction", 8, OPTIONS)),
        res_scale=float(option(spec, "res_scale", 0.1, OPTIONS)),
        shift_sigma=float(option(spec, "shift_sigma", 1.0, OPTIONS)),
        ridge=float(option(spec, "ridge", 1e-4, OPTIONS)),
    )
