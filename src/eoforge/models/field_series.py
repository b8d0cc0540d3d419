"""Field-boundary networks on a time series: the three field heads after a temporal trunk.

A field's edge with a neighbour of the same crop can be invisible on one date and
plain on another (sowing, green-up or harvest a few days apart), so these networks
read every date of one time-series input group (``data.inputs.<g>.dates``,
:mod:`eoforge.data.time_series`) and end in the conditioned distance -> boundary ->
extent heads of :class:`~eoforge.models.field_unet.FieldHeads`:

* ``field_utae``: the U-TAE of :mod:`eoforge.models.temporal` (a convolutional
  encoder shared by the dates, L-TAE attention over days of year at the lowest
  level, attention-collapsed skips, U-Net decoder) as the trunk, its last layer
  giving ``head_channels`` features. Options: those of ``utae`` (``widths``,
  ``d_model``, ``heads``, ``d_k``, ``date_dropout``) and ``head_channels``.
* ``field_unet_stack``: the dates stacked as channels into ``field_unet``'s
  U-Net: per date its ``C`` standardised bands (0 where unusable), a plane that
  is 1 where the date is usable and a plane holding its day of year
  (``doy / 183 - 1``, 0 on padding), i.e. ``T (C + 2)`` input channels. The slot
  order is the time order, so the network learns which slot is which season; the
  day-of-year plane tells it when a scene's dates differ from training's.
  Options: those of ``field_unet`` (``head_channels``, U-Net options such as
  ``decoder_channels``) and ``date_dropout``.

Contract (as the temporal networks): ``forward(images, present, series)`` with
``images`` ``{g: [B, T, C, H, W]}`` standardised, ``present`` ``{g: bool [B]}``,
``series`` ``{g: {"doy": [B, T], "valid": bool [B, T, H, W]}}``; returns
probabilities ``[B, 3, H, W]`` (extent, boundary, distance).
"""

from __future__ import annotations

import torch
from torch import nn

from eoforge.models.field_unet import FieldHeads, check_outputs, field_unet_net
from eoforge.models.fusion import input_groups
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec
from eoforge.models.temporal import UTAE, drop_dates, series_group, series_inputs, series_options

FIELD_SERIES_ARCHS = ("field_utae", "field_unet_stack")
"""Field-boundary architectures taking one time-series input group."""
SERIES_OPTIONS = ("inputs", "reference", "date_dropout")
"""Spec options of a series network that are not the U-Net's."""
DOY_SCALE = 183.0
"""Half a year, days: ``doy / DOY_SCALE - 1`` spans about [-1, 1]."""


def series_length(spec: ModelSpec) -> int:
    """``T``, the slots of the spec's one time-series group (its ``dates``: a count or days)."""
    name, _ = series_group(spec)
    dates = input_groups(spec)[name]["dates"]
    return len(dates) if isinstance(dates, list) else int(dates)


class DatesAsChannels(nn.Module):
    """A time series flattened to ``T (C + 2)`` channels for a single-image network.

    Args:
        name: The time-series group.
        net: Network ``[B, T (C + 2), H, W] -> [B, K, H, W]``.
        dropout: Date dropout while training (see :func:`~eoforge.models.temporal.drop_dates`).
    """

    def __init__(self, name: str, net: nn.Module, dropout: float = 0.0) -> None:
        super().__init__()
        self.name, self.net, self.dropout = name, net, dropout

    def stack(
        self,
        images: dict[str, torch.Tensor],
        present: dict[str, torch.Tensor],
        series: dict[str, dict[str, torch.Tensor]] | None = None,
    ) -> torch.Tensor:
        """The stacked input ``[B, T (C + 2), H, W]``: per date bands, usable and day planes."""
        x, doy, valid = series_inputs(self.name, images, present, series)
        if self.training:
            valid = drop_dates(valid, self.dropout)
        usable = valid[:, :, None].to(x.dtype)  # [B, T, 1, H, W]
        days = (doy / DOY_SCALE - 1.0) * (doy > 0).to(x.dtype)  # padding: 0
        day_plane = days[:, :, None, None, None].expand_as(usable)
        stacked = torch.cat([x * usable, usable, day_plane], dim=2)
        return stacked.flatten(1, 2)

    def forward(
        self,
        images: dict[str, torch.Tensor],
        present: dict[str, torch.Tensor],
        series: dict[str, dict[str, torch.Tensor]] | None = None,
    ) -> torch.Tensor:
        """The wrapped network's output for the stacked series."""
        out: torch.Tensor = self.net(self.stack(images, present, series))
        return out


def build_field_unet_stack(spec: ModelSpec) -> nn.Module:
    """``field_unet_stack`` (see the module docstring).

    Raises:
        ConfigError: Not one time-series group, ``num_classes`` not 3, or a bad option.
    """
    name, channels = series_group(spec)
    _, _, _, dropout = series_options(spec)
    net = field_unet_net(spec, series_length(spec) * (channels + 2), SERIES_OPTIONS)
    return DatesAsChannels(name, net, dropout)


def build_field_utae(spec: ModelSpec) -> nn.Module:
    """``field_utae`` (see the module docstring).

    Raises:
        ConfigError: Not one time-series group, ``num_classes`` not 3, or a bad option.
    """
    hidden = check_outputs(spec)
    trunk = UTAE(spec.model_copy(update={"num_classes": hidden}))
    return FieldHeads(trunk, hidden, hidden)


@register_model(
    "field_utae",
    ("field_boundaries",),
    "one time-series input group: U-TAE trunk (shared per-date encoder, L-TAE over the dates) "
    "with the conditioned distance -> boundary -> extent heads",
)
def _field_utae(spec: ModelSpec) -> nn.Module:
    return build_field_utae(spec)


@register_model(
    "field_unet_stack",
    ("field_boundaries",),
    "one time-series input group stacked as channels (bands, usable and day-of-year planes "
    "per date) into field_unet",
)
def _field_unet_stack(spec: ModelSpec) -> nn.Module:
    return build_field_unet_stack(spec)
