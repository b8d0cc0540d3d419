"""SAR speckle filters on intensity: multi-look (boxcar), Lee, refined Lee and Gamma-MAP.

Fully developed speckle multiplies the backscatter ``R`` by a unit-mean noise
``u`` whose intensity has ``1 / L`` variance for an ``L``-look image: the
*equivalent number of looks* (ENL), ``mean² / variance`` over a homogeneous
area, is ``L``. A filter trades resolution for looks; the adaptive ones smooth
homogeneous areas and leave edges and bright targets alone:

``boxcar``
    The mean over a ``w x w`` window (multi-looking without decimation): ENL
    about ``L·w²`` on homogeneous ground, and every edge blurred over ``w`` px.
``lee``
    Lee (1980): ``m + k (I - m)`` with the local mean ``m`` and the gain
    ``k = var(R) / var(I)``, where ``var(R) = (var(I) - m²/L) / (1 + 1/L)``
    (``k`` clipped to ``[0, 1]``): the mean where the window looks like speckle
    alone, the pixel where it varies more than speckle can.
``refined_lee``
    Lee (1981): the same gain computed over the half of a 7 x 7 window on the
    pixel's side of the strongest local edge (one of 8 directional halves, picked
    from the gradients of the nine 3 x 3 sub-window means), so smoothing runs along
    edges, not across them.
``gamma_map``
    Lopes, Touzi & Nezry (1990): the maximum a posteriori estimate under a gamma
    prior on ``R``: the mean where the local coefficient of variation ``Ci`` is at
    most the speckle's ``Cu = 1/sqrt(L)``, the pixel where ``Ci >= sqrt(2)·Cu``,
    between them ``(b m + sqrt(m² b² + 4 α L m I)) / (2 α)`` with
    ``α = (1 + Cu²) / (Ci² - Cu²)`` and ``b = α - L - 1``.

Windows count only valid pixels (NaN is invalid and stays NaN; at an image edge
the window shrinks), so a pixel farther than :attr:`SpeckleFilter.halo` from a
tile's edge gets the same value in any tile: the prediction engine's ``halo``
makes whole scenes seamless (:func:`eoforge.transforms.speckle.despeckle_spec`).
Inputs are linear intensities (``sigma0``, ``gamma0``, ``beta0`` or DN²), never dB:
:class:`SpeckleFilter` refuses negative values, and ``db=True`` converts dB in and out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from eoforge.errors import ConfigError, RadiometryError

FilterName = Literal["boxcar", "lee", "refined_lee", "gamma_map"]
FILTERS: tuple[FilterName, ...] = ("boxcar", "lee", "refined_lee", "gamma_map")
REFINED_WINDOW = 7
"""Refined Lee works on 7 x 7 windows (nine 3 x 3 sub-windows, as Lee 1981)."""
SENTINEL1_GRD_ENL = 4.4
"""ENL of Sentinel-1 IW GRD high-resolution products (ESA's product definition)."""


def _box_sums(x: Tensor, rows: int, cols: int) -> Tensor:
    """Sums over ``rows x cols`` windows centred on each pixel (zeros outside), same shape."""
    pooled = F.avg_pool2d(
        x, (rows, cols), stride=1, padding=(rows // 2, cols // 2), count_include_pad=True
    )
    return pooled * (rows * cols)


def local_stats(x: Tensor, rows: int, cols: int | None = None) -> tuple[Tensor, Tensor]:
    """Mean and variance of the valid pixels in the window around each pixel.

    Args:
        x: ``[B, C, H, W]`` float intensities, NaN where invalid.
        rows: Window height in pixels (odd).
        cols: Window width in pixels (odd; default ``rows``).

    Returns:
        ``(mean, variance)``, each ``[B, C, H, W]``; NaN where the window holds no
        valid pixel. The variance is the population variance (divided by the count).
    """
    cols = rows if cols is None else cols
    valid = torch.isfinite(x)
    zero = torch.where(valid, x, 0.0)
    count = _box_sums(valid.to(x.dtype), rows, cols)
    total = _box_sums(zero, rows, cols)
    squares = _box_sums(zero * zero, rows, cols)
    with torch.no_grad():
        safe = count.clamp_min(1.0)
    mean = total / safe
    var = (squares / safe - mean * mean).clamp_min(0.0)
    empty = count < 0.5
    return mean.masked_fill(empty, float("nan")), var.masked_fill(empty, float("nan"))


def lee_gain(mean: Tensor, var: Tensor, looks: float) -> Tensor:
    """Lee's gain ``k = var(R) / var(I)`` in ``[0, 1]`` from local statistics of intensity."""
    cu2 = 1.0 / looks
    signal = (var - mean * mean * cu2) / (1.0 + cu2)
    gain = torch.where(var > 0, signal / torch.where(var > 0, var, 1.0), 0.0)
    return gain.clamp(0.0, 1.0)


def _directional_kernels(size: int = REFINED_WINDOW) -> Tensor:
    """The 8 half-window masks ``[8, 1, size, size]`` of refined Lee.

    Order: left, right (a vertical edge), top, bottom (a horizontal edge), the two
    halves of a rising diagonal edge (upper-left, lower-right), the two halves of a
    falling diagonal edge (upper-right, lower-left); each half includes the edge
    line through the centre.
    """
    c = size // 2
    i = torch.arange(size).view(-1, 1).expand(size, size)
    j = torch.arange(size).view(1, -1).expand(size, size)
    halves = [
        j <= c,
        j >= c,
        i <= c,
        i >= c,
        i + j <= 2 * c,
        i + j >= 2 * c,
        j >= i,
        j <= i,
    ]
    return torch.stack([h.float() for h in halves])[:, None]


def _taps(*cells: tuple[int, int, float]) -> Tensor:
    """A 3 x 3 kernel over the sub-window means at offsets ``(2 di, 2 dj)``."""
    kernel = torch.zeros(3, 3)
    for di, dj, weight in cells:
        kernel[di + 1, dj + 1] = weight
    return kernel


def _edge_kernels() -> Tensor:
    """``[12, 1, 3, 3]`` kernels (dilation 2) over the nine sub-window means.

    Channels 0-3: the signed gradients across a vertical, a horizontal, a rising and
    a falling diagonal edge (the three sub-windows on one side minus the three on the
    other); channels 4-11: the sub-window next to the centre on each side of each edge, in the
    order of :func:`_directional_kernels` (left, right, top, bottom, upper-left,
    lower-right, upper-right, lower-left).
    """
    side = {
        "left": [(-1, -1), (0, -1), (1, -1)],
        "right": [(-1, 1), (0, 1), (1, 1)],
        "top": [(-1, -1), (-1, 0), (-1, 1)],
        "bottom": [(1, -1), (1, 0), (1, 1)],
        "upper_left": [(-1, -1), (-1, 0), (0, -1)],
        "lower_right": [(1, 1), (1, 0), (0, 1)],
        "upper_right": [(-1, 1), (-1, 0), (0, 1)],
        "lower_left": [(1, -1), (1, 0), (0, -1)],
    }
    pairs = [
        ("left", "right", (0, -1), (0, 1)),
        ("top", "bottom", (-1, 0), (1, 0)),
        ("upper_left", "lower_right", (-1, -1), (1, 1)),
        ("upper_right", "lower_left", (-1, 1), (1, -1)),
    ]
    gradients = [
        _taps(*[(i, j, 1.0) for i, j in side[b]], *[(i, j, -1.0) for i, j in side[a]])
        for a, b, _, _ in pairs
    ]
    neighbours = [_taps((*cell, 1.0)) for _, _, first, second in pairs for cell in (first, second)]
    return torch.stack(gradients + neighbours)[:, None]


def _refined_half(x: Tensor) -> Tensor:
    """Index ``[N, 1, H, W]`` (0-7) of the half-window each pixel of ``[N, 1, H, W]`` uses.

    The edge direction is the largest gradient between the nine 3 x 3 sub-window
    means; the half is the side whose sub-window next to the centre is closer to
    the centre's mean.
    """
    sub, _ = local_stats(x, 3)
    sub = torch.nan_to_num(sub, nan=0.0)
    padded = F.pad(sub, (2, 2, 2, 2), mode="replicate")
    feats = F.conv2d(padded, _edge_kernels().to(x.dtype), dilation=2)
    direction = feats[:, :4].abs().argmax(dim=1, keepdim=True)
    near = (feats[:, 4:] - sub).abs()
    second = (near[:, 1::2] < near[:, 0::2]).long().gather(1, direction)
    return direction * 2 + second


def refined_lee_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and variance over each pixel's refined-Lee half window (7 x 7), NaN-aware."""
    b, c, h, w = x.shape
    flat = x.reshape(b * c, 1, h, w)
    valid = torch.isfinite(flat)
    zero = torch.where(valid, flat, 0.0)
    kernels = _directional_kernels().to(x.dtype)
    pad = REFINED_WINDOW // 2
    count = F.conv2d(valid.to(x.dtype), kernels, padding=pad)
    total = F.conv2d(zero, kernels, padding=pad)
    squares = F.conv2d(zero * zero, kernels, padding=pad)
    half = _refined_half(flat)
    pick = [t.gather(1, half) for t in (count, total, squares)]
    n = pick[0].clamp_min(1.0)
    mean = pick[1] / n
    var = (pick[2] / n - mean * mean).clamp_min(0.0)
    empty = pick[0] < 0.5
    mean = mean.masked_fill(empty, float("nan")).reshape(b, c, h, w)
    return mean, var.masked_fill(empty, float("nan")).reshape(b, c, h, w)


def gamma_map(x: Tensor, mean: Tensor, var: Tensor, looks: float) -> Tensor:
    """The Gamma-MAP estimate of ``x`` from its local statistics (see the module docstring)."""
    cu2 = 1.0 / looks
    m2 = mean * mean
    ci2 = torch.where(m2 > 0, var / torch.where(m2 > 0, m2, 1.0), 0.0)
    middle = (ci2 > cu2) & (ci2 < 2.0 * cu2)
    alpha = (1.0 + cu2) / torch.where(middle, ci2 - cu2, 1.0)
    beta = alpha - looks - 1.0
    disc = (m2 * beta * beta + 4.0 * alpha * looks * mean * x).clamp_min(0.0)
    estimate = (beta * mean + torch.sqrt(disc)) / (2.0 * alpha)
    out = torch.where(ci2 <= cu2, mean, x)
    return torch.where(middle, estimate, out)


@dataclass(frozen=True)
class SpeckleFilter:
    """A speckle filter over ``[B, C, H, W]`` linear intensities (a prediction-engine predictor).

    Attributes:
        name: One of :data:`FILTERS`.
        window: Window side in pixels (odd, >= 3); refined Lee uses 7.
        looks: Equivalent number of looks of the input (1 for single-look complex
            intensity, 4.4 for Sentinel-1 IW GRD high resolution).
        db: The input and output are in dB (``10 log10`` of intensity): converted to
            linear for filtering and back.
    """

    name: FilterName = "lee"
    window: int = 7
    looks: float = SENTINEL1_GRD_ENL
    db: bool = False

    def __post_init__(self) -> None:
        if self.name not in FILTERS:
            raise ConfigError(
                f"unknown speckle filter {self.name!r}.", fix=f"use one of {', '.join(FILTERS)}."
            )
        if self.window < 3 or self.window % 2 == 0:
            raise ConfigError(
                f"a speckle window of {self.window} px is not an odd size of 3 or more.",
                fix="use an odd window such as 5 or 7.",
            )
        if self.name == "refined_lee" and self.window != REFINED_WINDOW:
            raise ConfigError(
                f"refined Lee works on {REFINED_WINDOW} x {REFINED_WINDOW} windows, not "
                f"{self.window}.",
                fix=f"use window {REFINED_WINDOW} with refined_lee, or the lee filter.",
            )
        if not self.looks >= 1.0:
            raise ConfigError(
                f"an equivalent number of looks of {self.looks} is below 1.",
                fix="give the product's ENL: 1 for single-look intensity, 4.4 for Sentinel-1 "
                "IW GRD high resolution.",
            )

    @property
    def halo(self) -> int:
        """Pixels at a tile's edge whose window reaches past it (the tile needs that context)."""
        return self.window // 2

    def __call__(self, x: Tensor) -> Tensor:
        """Filter ``[B, C, H, W]`` intensities (NaN invalid) into the same shape.

        Raises:
            RadiometryError: Negative intensities (the input is probably in dB).
        """
        x = x.float()
        if self.db:
            x = torch.pow(10.0, x / 10.0)
        elif bool((x < 0).any()):
            raise RadiometryError(
                "negative SAR intensities: speckle filters need linear intensity "
                f"(min {float(torch.nan_to_num(x, nan=0.0).min()):.3g}); the band looks like dB.",
                fix="pass db=True (eoforge despeckle --db) for dB bands, or give linear "
                "sigma0/gamma0.",
            )
        out = self._filter(x)
        out = torch.where(torch.isfinite(x), out, float("nan"))
        return 10.0 * torch.log10(out.clamp_min(1e-10)) if self.db else out

    def _filter(self, x: Tensor) -> Tensor:
        if self.name == "refined_lee":
            mean, var = refined_lee_stats(x)
            return mean + lee_gain(mean, var, self.looks) * (x - mean)
        mean, var = local_stats(x, self.window)
        if self.name == "boxcar":
            return mean
        if self.name == "lee":
            return mean + lee_gain(mean, var, self.looks) * (x - mean)
        return gamma_map(x, mean, var, self.looks)


def enl(x: Tensor) -> float:
    """Equivalent number of looks ``mean² / variance`` of the finite values of ``x``."""
    values = x[torch.isfinite(x)].double()
    return float(values.mean() ** 2 / values.var(unbiased=True))


def edge_width(profile: Tensor) -> float:
    """10-90 % width in pixels of a rising or falling step in a 1-D mean profile.

    The levels are 10 % and 90 % of the way from the first quarter's mean to the
    last quarter's; each crossing is found by linear interpolation between pixels.
    """
    p = profile.double()
    n = p.numel()
    low, high = p[: n // 4].mean(), p[-(n // 4) :].mean()
    if high < low:
        p, low, high = -p, -low, -high
    rel = (p - low) / (high - low)

    def crossing(level: float) -> float:
        above = torch.nonzero(rel >= level)
        if above.numel() == 0:
            raise ValueError("the profile never reaches the level: no step")
        i = int(above[0])
        if i == 0:
            return 0.0
        a, b = float(rel[i - 1]), float(rel[i])
        return i - 1 + (level - a) / (b - a)

    return crossing(0.9) - crossing(0.1)
