"""Shared pieces of the registry's entries: band tuples and class lists."""

from __future__ import annotations

from collections.abc import Sequence

from eoforge.classes import ClassInfo

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
    "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5", "#393b79",
)  # fmt: skip
"""Display colours given to classes in order when a dataset publishes none."""

RGB = ("RGB.red", "RGB.green", "RGB.blue")
S2_13 = (
    "S2.B01", "S2.B02", "S2.B03", "S2.B04", "S2.B05", "S2.B06", "S2.B07",
    "S2.B08", "S2.B8A", "S2.B09", "S2.B10", "S2.B11", "S2.B12",
)  # fmt: skip
"""The 13 Sentinel-2 L1C bands of EuroSAT's GeoTIFFs, in file order."""

S2_12 = tuple(b for b in S2_13 if b != "S2.B10")
"""The 12 Sentinel-2 L2A bands of a BigEarthNet patch (B10 is not distributed)."""


def classes(names: Sequence[str], colours: Sequence[str] = PALETTE) -> tuple[ClassInfo, ...]:
    """Classes with ids 0, 1, ... in order, coloured from ``colours``."""
    return tuple(ClassInfo(id=i, name=n, color=colours[i]) for i, n in enumerate(names))


S1_VV_VH = ("S1.VV", "S1.VH")
"""Sentinel-1 dual polarisation, in the usual file order."""
