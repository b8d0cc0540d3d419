"""``location_siren`` in the architecture registry: the location encoder, listed with the others.

Location encoders are trained by ``task.kind: location`` (:mod:`eoforge.location`),
not built from an image :class:`~eoforge.models.spec.ModelSpec`; registering
the architecture makes ``eoforge models`` list it, with ``model.options`` as
the encoder's sizes (:class:`~eoforge.location.encoder.LocationSpec`).
"""

from __future__ import annotations

from torch import nn

from eoforge.location.encoder import LOCATION_ARCH, LocationEncoder, LocationSpec
from eoforge.models.registry import register_model
from eoforge.models.spec import ModelSpec


@register_model(
    LOCATION_ARCH,
    ("location",),
    "SatCLIP-style location encoder: spherical harmonics of (lon, lat) into a SIREN "
    "(task.kind location; model.location of other tasks takes its bundle)",
)
def _location_siren(spec: ModelSpec) -> nn.Module:
    return LocationEncoder.from_spec(LocationSpec(**spec.options))
