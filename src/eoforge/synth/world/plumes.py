"""Methane plumes of known enhancement (ppm·m): round puffs and wind-blown elongated plumes.

A puff is a 2-D Gaussian of standard deviation ``sigma`` pixels. An elongated
plume starts at a source and is carried along the wind direction: across the
wind it is a Gaussian whose width grows linearly with distance (``sigma · (1 +
s / (4 sigma))``), its column falls as that width grows (mass is conserved
across each cross-section) and decays with an e-folding length of
``6 sigma`` (dilution and turbulence at the tail); upwind of the source it
falls off as a Gaussian of ``sigma``. ``peak_ppm_m`` is the enhancement at the
plume's maximum. Plumes are placed without overlapping (puffs ``3 sigma``, elongated
plumes ``8 sigma`` from their source apart), drawn from the scene seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from eoforge.errors import ConfigError

F32 = npt.NDArray[np.float32]

PLUME_SIZES_PX = (2.0, 4.0, 8.0)
"""Plume widths (Gaussian sigma, pixels) drawn in turn: small, medium, large."""

PEAK_RANGE_PPM_M = (1500.0, 6000.0)
"""Peak enhancements are drawn uniformly in this range, ppm·m."""


@dataclass(frozen=True)
class Plume:
    """One injected plume, in scene pixel coordinates.

    Attributes:
        plume_id: 1-based id.
        shape: ``"puff"`` or ``"elongated"``.
        row: Source (puff centre) row, pixels (fractional).
        col: Source column, pixels.
        sigma_px: Width at the source (Gaussian sigma), pixels.
        peak_ppm_m: Enhancement at the maximum, ppm·m.
        direction_deg: Wind direction the plume is carried to, degrees clockwise
            from up (north on a north-up grid); 0 for puffs.
    """

    plume_id: int
    shape: Literal["puff", "elongated"]
    row: float
    col: float
    sigma_px: float
    peak_ppm_m: float
    direction_deg: float

    @property
    def reach_px(self) -> float:
        """Half-side of the box that holds the plume above 1 % of its peak, pixels."""
        return 3.5 * self.sigma_px if self.shape == "puff" else 20.0 * self.sigma_px

    def render(self, rows: F32, cols: F32) -> F32:
        """Enhancement (ppm·m) at pixel centres ``rows`` ``(h, 1)`` and ``cols`` ``(1, w)``."""
        dr, dc = rows - np.float32(self.row), cols - np.float32(self.col)
        s0 = np.float32(self.sigma_px)
        if self.shape == "puff":
            out: F32 = (self.peak_ppm_m * np.exp(-(dr**2 + dc**2) / (2 * s0**2))).astype(np.float32)
            return out
        theta = math.radians(self.direction_deg)
        along = dc * np.float32(math.sin(theta)) - dr * np.float32(math.cos(theta))
        across = dc * np.float32(math.cos(theta)) + dr * np.float32(math.sin(theta))
        downwind = np.maximum(along, 0.0)
        width = s0 * (1.0 + downwind / (4.0 * s0))
        column = (s0 / width) * np.exp(-downwind / (6.0 * s0))
        upwind = np.exp(-(np.minimum(along, 0.0) ** 2) / (2 * s0**2))
        shape = column * upwind * np.exp(-(across**2) / (2 * width**2))
        out = (self.peak_ppm_m * shape).astype(np.float32)
        return out


def draw_plumes(count: int, height: int, width: int, seed: int) -> list[Plume]:
    """``count`` non-overlapping plumes inside a ``height`` x ``width`` scene.

    Sizes cycle through :data:`PLUME_SIZES_PX` (at most an eighth of the scene's shorter
    side); shapes alternate puff / elongated.

    Raises:
        ConfigError: The plumes do not fit into the scene.
    """
    rng = np.random.default_rng([seed, 0x0C4])
    plumes: list[Plume] = []
    boxes: list[tuple[float, float, float]] = []
    for i in range(count):
        sigma = min(PLUME_SIZES_PX[i % len(PLUME_SIZES_PX)], min(height, width) / 8.0)
        shape: Literal["puff", "elongated"] = "puff" if i % 2 == 0 else "elongated"
        for _ in range(500):
            margin = 3.0 * sigma + 2.0
            row = float(rng.uniform(margin, height - margin))
            col = float(rng.uniform(margin, width - margin))
            free = 3.0 * sigma if shape == "puff" else 8.0 * sigma
            if all(math.hypot(row - r, col - c) > free + f for r, c, f in boxes):
                break
        else:
            raise ConfigError(
                f"{count} plumes do not fit into a {height} x {width} px scene.",
                fix="ask for fewer plumes or a larger scene.",
            )
        boxes.append((row, col, free))
        plumes.append(
            Plume(
                plume_id=i + 1,
                shape=shape,
                row=row,
                col=col,
                sigma_px=sigma,
                peak_ppm_m=float(rng.uniform(*PEAK_RANGE_PPM_M)),
                direction_deg=0.0 if shape == "puff" else float(rng.uniform(0.0, 360.0)),
            )
        )
    return plumes


def enhancement(plumes: list[Plume], row0: int, row1: int, width: int) -> F32:
    """Total enhancement (ppm·m) of rows ``[row0, row1)``, float32 ``[row1 - row0, width]``."""
    rows = (np.arange(row0, row1, dtype=np.float32) + 0.5)[:, None]
    cols = (np.arange(width, dtype=np.float32) + 0.5)[None, :]
    out = np.zeros((row1 - row0, width), dtype=np.float32)
    for plume in plumes:
        if plume.row + plume.reach_px < row0 or plume.row - plume.reach_px > row1:
            continue
        out += plume.render(rows, cols)
    return out
