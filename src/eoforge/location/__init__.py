"""Location encoders: places on the sphere -> embeddings (SatCLIP-style).

Spherical harmonics of ``(lon, lat)`` (:mod:`.harmonics`) feed a SIREN
(:mod:`.siren`): :class:`LocationEncoder`. Trained contrastively against the
image vectors of embedding tables (:mod:`.pairs`, :mod:`.contrastive`,
:mod:`.task`), it is saved as a location bundle (:mod:`.bundle`) and used
through :func:`encode`. See ``docs/location.md``.
"""

from eoforge.location.api import encode
from eoforge.location.bundle import (
    LocationBundle,
    load_location_bundle,
    read_location_json,
    save_location_bundle,
)
from eoforge.location.contrastive import LocationImageModel, info_nce
from eoforge.location.encoder import LOCATION_ARCH, LocationEncoder, LocationSpec
from eoforge.location.harmonics import SphericalHarmonics, spherical_harmonics
from eoforge.location.points import check_points, read_points, window_centres
from eoforge.location.siren import Siren

__all__ = [
    "LOCATION_ARCH",
    "LocationBundle",
    "LocationEncoder",
    "LocationImageModel",
    "LocationSpec",
    "Siren",
    "SphericalHarmonics",
    "check_points",
    "encode",
    "info_nce",
    "load_location_bundle",
    "read_location_json",
    "read_points",
    "save_location_bundle",
    "spherical_harmonics",
    "window_centres",
]
