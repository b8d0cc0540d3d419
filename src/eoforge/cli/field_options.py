"""Options of the commands that turn field-boundary maps into field polygons.

``eoforge predict`` and ``eoforge evaluate`` take the same three thresholds of the
seeded watershed (:class:`~eoforge.predict.fields.FieldPolygonOptions`), so a bundle
whose maps are calibrated otherwise than the defaults' model (e.g. a ``field_utae``,
which predicts shorter distances to the edge) can be delineated with thresholds
chosen on its validation scene (``benchmarks/tune_field_polygons.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from eoforge.predict.fields import FieldPolygonOptions

ExtentThreshold = Annotated[
    float,
    typer.Option(
        "--extent-threshold",
        min=0.0,
        max=1.0,
        help="Field-boundary bundles: extent probability from which a pixel is field.",
    ),
]
"""``--extent-threshold P``."""

SeedDistance = Annotated[
    float,
    typer.Option(
        "--seed-distance",
        min=0.0,
        max=1.0,
        help="Field-boundary bundles: normalised distance to the edge from which a pixel "
        "can seed a field (0 edge, 1 core).",
    ),
]
"""``--seed-distance D``."""

SeedBoundary = Annotated[
    float,
    typer.Option(
        "--seed-boundary",
        min=0.0,
        max=1.0,
        help="Field-boundary bundles: boundary probability below which a pixel can seed.",
    ),
]
"""``--seed-boundary P``."""

DEFAULT_EXTENT, DEFAULT_DISTANCE, DEFAULT_BOUNDARY = 0.5, 0.4, 0.15
""":class:`~eoforge.predict.fields.FieldPolygonOptions`' defaults (checked by a test)."""


def field_options(extent: float, distance: float, boundary: float) -> FieldPolygonOptions:
    """The watershed options for the three flags (the others at their defaults)."""
    # the predict engine loads only when a command runs it: `eoforge --version` stays fast
    from eoforge.predict.fields import FieldPolygonOptions

    return FieldPolygonOptions(
        extent_threshold=extent, seed_distance=distance, seed_boundary=boundary
    )
