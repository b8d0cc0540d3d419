"""Location encoders: places on the sphere -> embeddings (SatCLIP-style).

See ``docs/location.md``.
"""

from eoforge.location.encoder import LocationEncoder, LocationSpec
from eoforge.location.harmonics import SphericalHarmonics, spherical_harmonics
from eoforge.location.siren import Siren

__all__ = ["LocationEncoder", "LocationSpec", "Siren", "SphericalHarmonics", "spherical_harmonics"]
