"""What a prediction publishes per pixel, and how blended scores become those products.

Class maps are uint8 with a colour table and class names; probabilities and
confidence are uint8 scaled by 1/254 (the GeoTIFF ``scale`` says so, GDAL
and QGIS show 0..1) with 255 as nodata; regression values are float32 with
NaN as nodata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

CLASS_NODATA = 255
"""Class map (and uint8 probability) value of pixels whose inputs are invalid."""

PROBABILITY_SCALE = 254
"""uint8 probability = round(p * 254); 255 is nodata."""


@dataclass(frozen=True)
class ClassDef:
    """One output class: id written in the map, name and ``#rrggbb`` colour."""

    id: int
    name: str
    color: str


@dataclass(frozen=True)
class OutputSpec:
    """The products of one prediction.

    Attributes:
        kind: ``"classes"`` (scores per class, argmax → class map) or ``"values"``
            (regression, written as float32).
        classes: Output classes in model channel order (kind ``"classes"``).
        names: Channel names (kind ``"values"``).
        probabilities: Also write per-class probabilities (uint8).
        confidence: Also write the winning class's probability (uint8).
    """

    kind: Literal["classes", "values"]
    classes: tuple[ClassDef, ...] = ()
    names: tuple[str, ...] = ()
    probabilities: bool = False
    confidence: bool = False

    @property
    def channels(self) -> int:
        """Model outputs per pixel ``K``."""
        return len(self.classes) if self.kind == "classes" else len(self.names)

    def products(self) -> list[str]:
        """Names of the rasters written, in order."""
        if self.kind == "values":
            return ["values"]
        return [
            "classes",
            *(["confidence"] if self.confidence else []),
            *(["probabilities"] if self.probabilities else []),
        ]

    def bands(self, product: str) -> int:
        """Band count of ``product``."""
        return self.channels if product in ("probabilities", "values") else 1

    def dtype(self, product: str) -> str:
        """Data type of ``product``."""
        return "float32" if product == "values" else "uint8"

    def nodata(self, product: str) -> float:
        """Nodata value of ``product``."""
        return float("nan") if product == "values" else float(CLASS_NODATA)

    def describe(self) -> dict[str, object]:
        """JSON-ready description (part of the resume fingerprint)."""
        return {
            "kind": self.kind,
            "classes": [[c.id, c.name, c.color] for c in self.classes],
            "names": list(self.names),
            "probabilities": self.probabilities,
            "confidence": self.confidence,
        }


def finalize(
    partial: npt.NDArray[np.float32], spec: OutputSpec
) -> dict[str, npt.NDArray[np.generic]]:
    """Turn accumulated ``[K + 2, h, w]`` sums into the published products.

    Args:
        partial: Channels ``0..K-1``: weighted score sums; ``K``: weight sums;
            ``K + 1``: count of tiles that saw an invalid input at the pixel.
        spec: Which products to compute.

    Returns:
        Product name → array (``[h, w]`` for class/confidence, ``[K, h, w]`` otherwise).
    """
    k = spec.channels
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = partial[:k] / partial[k]
    bad = (partial[k + 1] > 0) | ~(partial[k] > 0) | ~np.isfinite(scores).all(axis=0)
    if spec.kind == "values":
        scores[:, bad] = np.nan
        return {"values": scores.astype(np.float32)}
    ids = np.array([c.id for c in spec.classes], np.uint8)
    safe = np.nan_to_num(scores, nan=-np.inf)
    best = safe.argmax(axis=0)
    out: dict[str, npt.NDArray[np.generic]] = {}
    labels = ids[best]
    labels[bad] = CLASS_NODATA
    out["classes"] = labels
    if spec.confidence:
        top = np.take_along_axis(safe, best[None], axis=0)[0]
        out["confidence"] = _scale(top, bad)
    if spec.probabilities:
        out["probabilities"] = _scale(scores, np.broadcast_to(bad, scores.shape))
    return out


def _scale(p: npt.NDArray[np.float32], bad: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    q = np.rint(np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0) * PROBABILITY_SCALE).astype(np.uint8)
    q[bad] = CLASS_NODATA
    return q


def class_defs(classes: Sequence[tuple[int, str, str]]) -> tuple[ClassDef, ...]:
    """``(id, name, colour)`` triples as :class:`ClassDef`."""
    return tuple(ClassDef(int(i), str(n), str(c)) for i, n, c in classes)


def rgba(color: str) -> tuple[int, int, int, int]:
    """``"#rrggbb"`` → ``(r, g, b, 255)``."""
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255
