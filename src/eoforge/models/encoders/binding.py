"""Band binding: an encoder's default bands, and the bands of one call.

Models are built from a :class:`~eoforge.models.spec.ModelSpec` whose
``in_bands`` fix the channels, so an encoder is *bound* to those bands and
``encoder(image)`` uses them. The same weights run on other bands by naming
them per call: ``encoder(image, bands=["L8.B2", "L8.B3", "L8.B4"])``.
"""

from __future__ import annotations

from collections.abc import Sequence

from eoforge.errors import ConfigError
from eoforge.models.encoders.band_embedding import describe_band
from eoforge.sensors import Band


def canonical_bands(bands: Sequence[str | Band]) -> tuple[str, ...]:
    """Canonical names of ``bands``, each checked to be embeddable.

    Raises:
        ConfigError: A band the encoder cannot embed.
    """
    return tuple(describe_band(band).name for band in bands)


def call_bands(
    given: Sequence[str | Band] | None, bound: Sequence[str] | None
) -> Sequence[str | Band]:
    """The bands of one call: ``given`` if not None, else the ``bound`` ones.

    Raises:
        ConfigError: Neither given nor bound.
    """
    if given is not None:
        return given
    if bound is None:
        raise ConfigError(
            "the spectral encoder is not bound to bands and none were passed.",
            fix="call encoder(image, bands=[...]) or build it with bands=.",
        )
    return bound
