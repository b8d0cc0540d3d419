"""Temporal encoders of a time-series input group: U-TAE and a per-pixel L-TAE classifier.

A time-series group (``data.inputs.<g>.dates``, :mod:`eoforge.data.time_series`)
arrives as standardised ``[B, T, C, H, W]`` images (zeros where invalid), with
``series[g]`` holding ``doy`` ``[B, T]`` (day of year) and ``valid`` ``[B, T, H, W]``
(a pixel's date is usable: a real date, not cloudy, not nodata).

* :class:`LTAE` (lightweight temporal attention, Garnot & Landrieu 2020): each
  head has one learned query; keys come from each date's features plus a
  sinusoidal encoding of its day of year; the softmax over dates never gives
  weight to an unusable date; each head sums its share of the channels over
  the dates with its weights.
* ``utae`` (:class:`UTAE`, after Garnot & Landrieu 2021): one convolutional
  encoder shared by every date, an L-TAE per pixel at the lowest resolution,
  whose attention weights (upsampled, re-masked with each level's valid dates
  and renormalised) collapse the dates of every skip connection, then a U-Net
  decoder. Dates are masked per pixel at each level (a low-resolution cell
  counts a date when any of its pixels is usable there).
* ``ltae`` (:class:`PixelLTAE`): an L-TAE on each pixel's own spectra, then a
  small MLP: no spatial context, a per-pixel classifier.

Both take one time-series group (no composite). ``options.date_dropout: p``
drops each usable date of a training sample with probability ``p`` (never all),
so the network learns to do with missing dates.

Contract: ``forward(images, present, series)`` with ``images`` ``{g: [B, T, C,
H, W]}``, ``present`` ``{g: bool [B]}`` and ``series`` ``{g: {"doy": [B, T],
"valid": bool [B, T, H, W]}}``; returns logits ``[B, K, H, W]``.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from eoforge.errors import ConfigError
from eoforge.models.fusion import input_groups
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec

TEMPORAL_ARCHS = ("utae", "ltae")
"""Architectures taking one time-series input group."""
MASKED = -1.0e4
"""Attention logit of an unusable date (its softmax weight underflows to 0)."""
PERIOD = 1000.0
"""Longest wavelength of the day-of-year encoding, days (L-TAE's choice)."""


def series_group(spec: ModelSpec) -> tuple[str, int]:
    """``(name, band count)`` of the spec's one time-series group.

    Raises:
        ConfigError: Not exactly one group, or a group without dates or with a composite.
    """
    groups = input_groups(spec)
    if len(groups) != 1:
        raise ConfigError(
            f"model.arch {spec.arch!r} takes one time-series input group; data.inputs names "
            f"{len(groups)} ({', '.join(groups)}).",
            fix="keep the series group only, or fuse single-date groups with fusion_unet.",
        )
    name, group = next(iter(groups.items()))
    if group.get("dates") is None or group.get("composite") is not None:
        raise ConfigError(
            f"model.arch {spec.arch!r} reads a time series, but data.inputs.{name} is "
            + ("a composite" if group.get("composite") else "one date")
            + ".",
            fix=f"set data.inputs.{name}.dates (e.g. 8) without a composite, or use a "
            "single-date architecture (fusion_unet).",
        )
    return str(name), len(group["bands"])


def doy_encoding(doy: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal encoding ``[..., dim]`` of days of year ``[...]`` (``dim`` even)."""
    half = dim // 2
    steps = torch.arange(half, device=doy.device, dtype=doy.dtype)
    rates = PERIOD ** (-2.0 * steps / dim)
    angles = doy[..., None] * rates
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class LTAE(nn.Module):
    """Lightweight temporal attention over sequences ``[N, T, C]`` with a date mask ``[N, T]``.

    Args:
        in_channels: ``C``.
        d_model: Width the dates are projected to (a multiple of ``heads``).
        heads: Attention heads, each with one learned query.
        d_k: Key width per head.
        out_channels: Output width.
    """

    def __init__(
        self, in_channels: int, d_model: int, heads: int, d_k: int, out_channels: int
    ) -> None:
        super().__init__()
        if d_model % heads or d_model % 2:
            raise ConfigError(
                f"model.options.d_model {d_model} must be even and a multiple of heads {heads}.",
                fix="use e.g. d_model 64 with heads 4.",
            )
        self.heads, self.d_k, self.d_model = heads, d_k, d_model
        self.project = nn.Linear(in_channels, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.keys = nn.Linear(d_model, heads * d_k)
        self.query = nn.Parameter(torch.randn(heads, d_k) * d_k**-0.5)
        self.out = nn.Sequential(
            nn.Linear(d_model, out_channels), nn.LayerNorm(out_channels), nn.ReLU()
        )

    def forward(
        self, x: torch.Tensor, doy: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features [N, out], attention [N, heads, T])`` of each sequence.

        A sequence with no usable date gets zero attention (its features are the
        output layer's response to zeros).

        Args:
            x: Sequences ``[N, T, C]``.
            doy: Day of year ``[N, T]``.
            mask: Usable dates ``[N, T]``.
        """
        h = self.norm(self.project(x) + doy_encoding(doy.to(x.dtype), self.d_model))
        keys = self.keys(h).view(*h.shape[:2], self.heads, self.d_k)  # [N, T, H, d]
        scores = torch.einsum("nthd,hd->nht", keys, self.query) / math.sqrt(self.d_k)
        usable = mask[:, None, :]
        scores = torch.where(usable, scores, torch.full_like(scores, MASKED))
        attention = torch.softmax(scores, dim=-1) * usable.any(dim=-1, keepdim=True)
        values = h.view(*h.shape[:2], self.heads, self.d_model // self.heads)
        mixed = torch.einsum("nht,nthc->nhc", attention, values).reshape(h.shape[0], -1)
        return self.out(mixed), attention


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(4 if channels % 4 == 0 else 1, channels)


class _Block(nn.Sequential):
    """Two 3x3 convolutions with group norm and ReLU (``stride`` on the first)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
            _norm(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            _norm(cout),
            nn.ReLU(inplace=True),
        )


def series_options(spec: ModelSpec) -> tuple[int, int, int, float]:
    """``(d_model, heads, d_k, date_dropout)`` of a temporal spec, checked."""
    o = spec.options
    d_model, heads, d_k = int(o.get("d_model", 64)), int(o.get("heads", 4)), int(o.get("d_k", 8))
    dropout = float(o.get("date_dropout", 0.0))
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(
            f"model.options.date_dropout: {dropout} is not a probability in [0, 1).",
            fix="use e.g. 0.2 (or 0 for none).",
        )
    if min(d_model, heads, d_k) < 1:
        raise ConfigError(
            f"model.options d_model {d_model}, heads {heads}, d_k {d_k}: each must be >= 1.",
            fix="use e.g. d_model 64, heads 4, d_k 8.",
        )
    return d_model, heads, d_k, dropout


def drop_dates(valid: torch.Tensor, p: float) -> torch.Tensor:
    """``valid`` ``[B, T, H, W]`` with each date of each sample dropped with probability ``p``.

    A sample keeps its dates unchanged where every one of its usable dates was drawn.
    """
    if p <= 0:
        return valid
    usable = valid.flatten(2).any(dim=2)  # [B, T]
    keep = torch.rand(usable.shape, device=valid.device) >= p
    lost = ~(usable & keep).any(dim=1, keepdim=True)
    keep = keep | lost
    return valid & keep[..., None, None]


def series_inputs(
    name: str,
    images: dict[str, torch.Tensor],
    present: dict[str, torch.Tensor],
    series: dict[str, dict[str, torch.Tensor]] | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x [B, T, C, H, W], doy [B, T], valid [B, T, H, W])`` of the group, absent samples off."""
    if name not in images:
        raise ConfigError(
            f"the network takes the time-series group {name!r}; the batch has {sorted(images)}.",
            fix="read the group the model was trained on.",
        )
    x = images[name]
    if x.ndim != 5:
        raise ConfigError(
            f"group {name!r} must be a series [B, T, C, H, W]; got shape {tuple(x.shape)}.",
            fix="read the group with its dates (data.inputs.<g>.dates).",
        )
    batch, steps = x.shape[:2]
    given = (series or {}).get(name, {})
    doy = given.get("doy", torch.zeros(batch, steps, device=x.device))
    valid = given.get("valid")
    if valid is None:
        valid = torch.ones((batch, steps, *x.shape[-2:]), dtype=torch.bool, device=x.device)
    on = present.get(name)
    if on is not None:
        valid = valid & on.to(device=x.device, dtype=torch.bool).view(-1, 1, 1, 1)
    return x, doy.to(x.dtype), valid.to(torch.bool)


class UTAE(nn.Module):
    """U-TAE: a shared per-date encoder, L-TAE at the lowest level, attention-collapsed skips.

    Args:
        spec: Model spec with one time-series group in ``options.inputs``. Options:
            ``widths`` (encoder channels per level, finest first; default
            ``[32, 64, 128]``: two downsamplings), ``d_model``, ``heads``, ``d_k``
            (L-TAE), ``date_dropout`` (training only).

    Raises:
        ConfigError: Bad groups or options.
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.name, channels = series_group(spec)
        widths = [int(w) for w in spec.options.get("widths", [32, 64, 128])]
        if len(widths) < 2 or min(widths) < 1:
            raise ConfigError(
                f"model.options.widths {widths}: give at least two levels of positive widths.",
                fix="use e.g. [32, 64, 128].",
            )
        d_model, heads, d_k, self.dropout = series_options(spec)
        self.heads = heads
        self.multiple = 2 ** (len(widths) - 1)
        self.inc = _Block(channels, widths[0])
        self.down = nn.ModuleList(_Block(a, b, 2) for a, b in itertools.pairwise(widths))
        self.tae = LTAE(widths[-1], d_model, heads, d_k, widths[-1])
        self.up = nn.ModuleList(
            _Block(deep + skip, skip)
            for deep, skip in zip(widths[:0:-1], widths[-2::-1], strict=True)
        )
        self.head = nn.Conv2d(widths[0], spec.num_classes, 1)

    def forward(
        self,
        images: dict[str, torch.Tensor],
        present: dict[str, torch.Tensor],
        series: dict[str, dict[str, torch.Tensor]] | None = None,
    ) -> torch.Tensor:
        """Logits ``[B, K, H, W]`` (see the module docstring for the inputs)."""
        x, doy, valid = series_inputs(self.name, images, present, series)
        if self.training:
            valid = drop_dates(valid, self.dropout)
        batch, steps, _, height, width = x.shape
        pad_h = (-height) % self.multiple
        pad_w = (-width) % self.multiple
        x = F.pad(x * valid[:, :, None], (0, pad_w, 0, pad_h))
        valid = F.pad(valid, (0, pad_w, 0, pad_h))
        feature = self.inc(x.flatten(0, 1))
        skips = [feature]
        for block in self.down:
            feature = block(feature)
            skips.append(feature)
        low = skips.pop()
        h, w = low.shape[-2:]
        low_valid = _pool(valid, (h, w))  # [B, T, h, w]
        sequences = low.view(batch, steps, -1, h * w).permute(0, 3, 1, 2).flatten(0, 1)
        days = doy[:, None, :].expand(batch, h * w, steps).flatten(0, 1)
        mask = low_valid.flatten(2).transpose(1, 2).flatten(0, 1)  # [B*h*w, T]
        out, attention = self.tae(sequences, days, mask)
        y = out.view(batch, h, w, -1).permute(0, 3, 1, 2)
        attention = attention.view(batch, h, w, self.heads, steps).permute(0, 3, 4, 1, 2)
        for block, skip in zip(self.up, reversed(skips), strict=True):
            size = skip.shape[-2:]
            collapsed = self._collapse(skip.view(batch, steps, *skip.shape[1:]), attention, valid)
            y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
            y = block(torch.cat([y, collapsed], dim=1))
        logits: torch.Tensor = self.head(y)
        return logits[..., :height, :width]

    def _collapse(
        self, feature: torch.Tensor, attention: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        """Dates of a skip ``[B, T, C, H, W]`` summed with the heads' weights (``[B, C, H, W]``).

        The low-resolution attention ``[B, heads, T, h, w]`` is upsampled
        bilinearly, zeroed on dates unusable at this level and renormalised;
        channel group ``i`` of ``heads`` takes head ``i``'s weights (every head's
        mean where the channels do not split evenly).
        """
        batch, steps, channels, height, width = feature.shape
        weights = F.interpolate(
            attention.flatten(1, 2), size=(height, width), mode="bilinear", align_corners=False
        ).view(batch, self.heads, steps, height, width)
        usable = _pool(valid, (height, width)).to(weights.dtype)[:, None]
        weights = weights * usable
        weights = weights / weights.sum(dim=2, keepdim=True).clamp_min(1e-6)
        if channels % self.heads:
            return torch.einsum("btchw,bthw->bchw", feature, weights.mean(dim=1))
        split = feature.view(batch, steps, self.heads, channels // self.heads, height, width)
        mixed = torch.einsum("btgchw,bgthw->bgchw", split, weights)
        return mixed.reshape(batch, channels, height, width)


def _pool(valid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``valid`` ``[B, T, H, W]`` on a ``size`` grid: a cell counts where any of its pixels does."""
    if tuple(valid.shape[-2:]) == tuple(size):
        return valid
    pooled = F.adaptive_max_pool2d(valid.float().flatten(0, 1)[:, None], size)
    return pooled.view(*valid.shape[:2], *size) > 0.5


class PixelLTAE(nn.Module):
    """L-TAE on each pixel's spectra over the dates, then an MLP: a per-pixel classifier.

    Args:
        spec: Model spec with one time-series group. Options: ``d_model``,
            ``heads``, ``d_k``, ``hidden`` (MLP width, default 64), ``date_dropout``.
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.name, channels = series_group(spec)
        d_model, heads, d_k, self.dropout = series_options(spec)
        hidden = int(spec.options.get("hidden", 64))
        self.tae = LTAE(channels, d_model, heads, d_k, hidden)
        self.head = nn.Sequential(
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, spec.num_classes)
        )

    def forward(
        self,
        images: dict[str, torch.Tensor],
        present: dict[str, torch.Tensor],
        series: dict[str, dict[str, torch.Tensor]] | None = None,
    ) -> torch.Tensor:
        """Logits ``[B, K, H, W]`` (see the module docstring for the inputs)."""
        x, doy, valid = series_inputs(self.name, images, present, series)
        if self.training:
            valid = drop_dates(valid, self.dropout)
        batch, steps, channels, height, width = x.shape
        sequences = x.permute(0, 3, 4, 1, 2).reshape(-1, steps, channels)
        days = doy[:, None, :].expand(batch, height * width, steps).reshape(-1, steps)
        mask = valid.permute(0, 2, 3, 1).reshape(-1, steps)
        out, _ = self.tae(sequences, days, mask)
        logits: torch.Tensor = self.head(out)
        return logits.view(batch, height, width, -1).permute(0, 3, 1, 2)


@register_model(
    "utae",
    ("segmentation",),
    "one time-series input group (data.inputs.<g>.dates): a conv encoder shared by the dates, "
    "L-TAE attention over days of year at the lowest level collapsing every skip, a U-Net decoder",
)
def _utae(spec: ModelSpec) -> nn.Module:
    return UTAE(spec)


@register_model(
    "ltae",
    ("segmentation",),
    "one time-series input group: per-pixel L-TAE attention over the dates and an MLP "
    "(no spatial context)",
)
def _ltae(spec: ModelSpec) -> nn.Module:
    return PixelLTAE(spec)
