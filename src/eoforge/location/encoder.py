"""The location encoder: spherical harmonics of ``(lon, lat)``, then a SIREN (SatCLIP).

``LocationEncoder(degree, hidden, layers, dim)`` maps places ``[N, 2]``
(longitude, latitude in degrees) to embeddings ``[N, dim]``:
:func:`~eoforge.location.harmonics.spherical_harmonics` up to ``degree``
(``degree²`` features; the degree sets the finest detail, roughly
``180° / degree``), then :class:`~eoforge.location.siren.Siren`.
:class:`LocationSpec` holds those sizes; bundles and configs store it.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor, nn

from eoforge.location.harmonics import MAX_DEGREE, SphericalHarmonics
from eoforge.location.siren import Siren

LOCATION_ARCH = "location_siren"
"""``model.arch`` of location experiments (``task.kind: location``)."""


class LocationSpec(BaseModel):
    """Sizes of a location encoder.

    Attributes:
        degree: Spherical harmonics up to degree ``degree - 1`` (``degree²`` features).
        hidden: Width of the SIREN's sine layers.
        layers: Number of sine layers.
        dim: Embedding length ``D``.
        w0: Frequency factor of the hidden sine layers.
        w0_initial: Frequency factor of the first sine layer.
    """

    model_config = ConfigDict(extra="forbid")

    degree: int = Field(default=10, ge=1, le=MAX_DEGREE)
    hidden: int = Field(default=256, ge=1)
    layers: int = Field(default=2, ge=1)
    dim: int = Field(default=256, ge=1)
    w0: float = Field(default=1.0, gt=0)
    w0_initial: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        if self.degree * self.degree * self.hidden > 50_000_000:
            raise ValueError(f"degree {self.degree} with hidden {self.hidden} is too large")
        return self


class LocationEncoder(nn.Module):
    """Places ``[N, 2]`` (lon, lat; degrees) -> embeddings ``[N, dim]``.

    Args:
        degree: Spherical harmonics degree ``L`` (``L²`` features).
        hidden: Width of the sine layers.
        layers: Number of sine layers.
        dim: Embedding length.
        w0: Frequency factor of the hidden sine layers.
        w0_initial: Frequency factor of the first sine layer.

    Raises:
        ConfigError: ``degree`` outside ``[1, 100]``.
    """

    def __init__(
        self,
        degree: int = 10,
        hidden: int = 256,
        layers: int = 2,
        dim: int = 256,
        *,
        w0: float = 1.0,
        w0_initial: float = 30.0,
    ) -> None:
        super().__init__()
        self.spec = LocationSpec(
            degree=degree, hidden=hidden, layers=layers, dim=dim, w0=w0, w0_initial=w0_initial
        )
        self.harmonics = SphericalHarmonics(degree)
        self.network = Siren(
            self.harmonics.features, hidden, layers, dim, w0=w0, w0_initial=w0_initial
        )

    @classmethod
    def from_spec(cls, spec: LocationSpec) -> LocationEncoder:
        """The encoder of ``spec``, freshly initialised."""
        return cls(**spec.model_dump())

    @property
    def dim(self) -> int:
        """Embedding length ``D``."""
        return self.spec.dim

    def forward(self, lonlat: Tensor) -> Tensor:
        """Embed places.

        Args:
            lonlat: ``[N, 2]`` longitude and latitude, degrees (latitude in
                ``[-90, 90]``; see :func:`~eoforge.location.points.check_points`).

        Returns:
            ``[N, dim]`` in the dtype of the encoder's weights.
        """
        features = self.harmonics(lonlat).to(self.network.last.weight.dtype)
        output: Tensor = self.network(features)
        return output
