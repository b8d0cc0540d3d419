"""Explicit sub-pixel registration of revisits: local Lucas-Kanade shifts and warps.

Revisits of one place are misregistered by sub-pixel amounts (the synthetic
sensor model :mod:`eoforge.synth.degrade` draws a shift per revisit; real
Sentinel-2 revisits are co-registered to a few tenths of a 10 m pixel).
:func:`register` estimates, per pixel, the shift of each frame against a
reference (the per-pixel median of the clear frames) and resamples every
frame onto one common grid: the mean position of the frames that see the
pixel, the best guess of the true geolocation when misregistration is
zero-mean.

Method (Lucas and Kanade 1981, with a local window): for a frame ``F`` and
the reference ``R``, the shift ``u`` with ``F(x + u) = R(x)`` is refined
``iterations`` times by ``u <- u - A^-1 b``, where ``A`` and ``b`` sum
``g g^T`` and ``g (F(x + u) - R(x))`` (``g``: central-difference gradient of
``R``, all bands) over a ``(2 radius + 1)^2`` window of pixels clear in both,
with ``damping`` added to ``A``'s diagonal so flat areas keep ``u = 0``.
Shifts are clamped to ``max_shift`` pixels. Everything is local (a pixel
depends on pixels within about ``iterations * (radius + 2)`` of it), so a
tiled prediction matches an untiled one away from the tile edges. No
gradient flows through the shift estimates (a fixed, non-learnt step).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _base_grid(h: int, w: int, like: Tensor) -> Tensor:
    """Pixel-centre coordinates ``[h, w, 2]`` as ``(x, y)`` in pixels."""
    ys = torch.arange(h, device=like.device, dtype=like.dtype)
    xs = torch.arange(w, device=like.device, dtype=like.dtype)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx, yy], dim=-1)


def warp(image: Tensor, shift: Tensor, mode: str = "bicubic") -> Tensor:
    """``image`` sampled at ``x + shift(x)``: ``out(x) = image(x + shift(x))``.

    Args:
        image: ``[N, C, h, w]``.
        shift: ``[N, 2, h, w]`` as ``(dy, dx)``, pixels.
        mode: ``grid_sample`` interpolation (``bicubic`` or ``bilinear``).

    Returns:
        ``[N, C, h, w]``; samples beyond the edge repeat the border.
    """
    h, w = image.shape[-2:]
    base = _base_grid(h, w, image)
    xy = base[None] + shift.flip(1).permute(0, 2, 3, 1)  # (dx, dy) last
    size = torch.tensor([w, h], device=image.device, dtype=image.dtype)
    grid = (2 * xy + 1) / size - 1  # align_corners=False: pixel centres
    return F.grid_sample(image, grid, mode=mode, padding_mode="border", align_corners=False)


def _gradients(reference: Tensor) -> tuple[Tensor, Tensor]:
    """Central differences ``(d/dy, d/dx)`` of ``[N, C, h, w]``, edges replicated."""
    padded = F.pad(reference, (1, 1, 1, 1), mode="replicate")
    gy = (padded[:, :, 2:, 1:-1] - padded[:, :, :-2, 1:-1]) / 2
    gx = (padded[:, :, 1:-1, 2:] - padded[:, :, 1:-1, :-2]) / 2
    return gy, gx


def _window_sum(x: Tensor, radius: int) -> Tensor:
    """Mean over a ``(2 radius + 1)^2`` window (pixels beyond the edge not counted)."""
    k = 2 * radius + 1
    return F.avg_pool2d(x, k, stride=1, padding=radius, count_include_pad=False)


@torch.no_grad()
def estimate_shifts(
    frames: Tensor,
    mask: Tensor,
    reference: Tensor,
    *,
    radius: int = 8,
    iterations: int = 1,
    damping: float = 1e-2,
    max_shift: float = 1.0,
) -> Tensor:
    """Per-pixel shift of each frame against ``reference`` (see the module docstring).

    Args:
        frames: ``[B, T, C, h, w]`` without NaN.
        mask: ``[B, T, h, w]``, 1 where the frame is clear.
        reference: ``[B, C, h, w]``.
        radius: Window half-size, pixels.
        iterations: Lucas-Kanade steps.
        damping: Added to the window's mean structure tensor (units of the
            squared gradient, summed over bands).
        max_shift: Largest shift kept, pixels.

    Returns:
        ``[B, T, 2, h, w]`` shifts ``(dy, dx)`` in input pixels, with
        ``frame(x + shift) ~ reference(x)``; 0 where the frame is not clear.
    """
    b, t, c, h, w = frames.shape
    flat = frames.reshape(b * t, c, h, w)
    ref = reference[:, None].expand(-1, t, -1, -1, -1).reshape(b * t, c, h, w)
    gy, gx = _gradients(ref)
    clear = mask.reshape(b * t, 1, h, w)
    a_yy = _window_sum(clear * (gy * gy).sum(1, keepdim=True), radius) + damping
    a_xx = _window_sum(clear * (gx * gx).sum(1, keepdim=True), radius) + damping
    a_xy = _window_sum(clear * (gy * gx).sum(1, keepdim=True), radius)
    det = a_yy * a_xx - a_xy * a_xy
    shift = torch.zeros(b * t, 2, h, w, dtype=frames.dtype, device=frames.device)
    for _ in range(iterations):
        residual = warp(flat, shift) - ref
        b_y = _window_sum(clear * (gy * residual).sum(1, keepdim=True), radius)
        b_x = _window_sum(clear * (gx * residual).sum(1, keepdim=True), radius)
        d_y = (a_xx * b_y - a_xy * b_x) / det
        d_x = (a_yy * b_x - a_xy * b_y) / det
        shift = (shift - torch.cat([d_y, d_x], dim=1)).clamp(-max_shift, max_shift)
    return (shift * clear).reshape(b, t, 2, h, w)


@torch.no_grad()
def register(
    frames: Tensor, mask: Tensor, reference: Tensor, **options: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Resample the frames onto the mean position of the clear frames.

    Args:
        frames: ``[B, T, C, h, w]`` without NaN (non-clear pixels hold any finite value).
        mask: ``[B, T, h, w]``, 1 where clear.
        reference: ``[B, C, h, w]`` (the median of the clear frames).
        **options: ``radius``, ``iterations``, ``damping``, ``max_shift`` of
            :func:`estimate_shifts`.

    Returns:
        ``(frames, mask, shifts)``: the registered frames ``[B, T, C, h, w]``
        (non-clear pixels filled from ``reference`` before resampling, so a
        cloud edge does not bleed zeros), their masks ``[B, T, h, w]`` (clear
        where the bilinear resampling of the mask exceeds 0.5) and the shifts
        applied ``[B, T, 2, h, w]`` (pixels, relative to the mean position).
    """
    b, t, c, h, w = frames.shape
    shifts = estimate_shifts(frames, mask, reference, **options)  # type: ignore[arg-type]
    weight = mask[:, :, None]
    mean = (shifts * weight).sum(1, keepdim=True) / weight.sum(1, keepdim=True).clamp(min=1)
    centred = (shifts - mean) * weight
    filled = torch.where(weight > 0, frames, reference[:, None])
    moved = warp(filled.reshape(b * t, c, h, w), centred.reshape(b * t, 2, h, w))
    moved_mask = warp(mask.reshape(b * t, 1, h, w), centred.reshape(b * t, 2, h, w), "bilinear")
    registered_mask = (moved_mask > 0.5).to(frames.dtype).reshape(b, t, h, w) * mask.amax(
        dim=1, keepdim=True
    ).clamp(max=1)
    return moved.reshape(b, t, c, h, w), registered_mask, centred
