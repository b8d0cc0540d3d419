"""How well a CH4 enhancement map recovers known plumes (synthetic checks).

The matched filter sees a plume through the radiance it absorbs, so over dark
surfaces (water, deep shadow: a few percent reflectance at 2.3 µm) the signal is
below the noise whatever the filter does. Scores are therefore computed over the
**plume pixels on non-dark ground**: pixels whose true enhancement is at least
``outline_ppm_m`` and whose mean radiance in the filter's window is at least
``dark_share`` of the scene median (a mask computed from the radiance itself, as
an operational system would).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Recovery:
    """Agreement of an enhancement map with the truth.

    Attributes:
        correlation: Pearson r over the plume pixels on non-dark ground.
        slope: Least-squares slope of estimate on truth there (1: unbiased scale).
        pixels: Pixels scored.
        correlation_all_plume: Pearson r over every plume pixel (dark ones too).
        background_std: Standard deviation of the estimate where the truth is < 1 ppm·m.
        background_mean: Its mean (ppm·m).
    """

    correlation: float
    slope: float
    pixels: int
    correlation_all_plume: float
    background_std: float
    background_mean: float


def score_recovery(
    estimate: F32,
    truth: F32,
    window_radiance: F32,
    outline_ppm_m: float = 200.0,
    dark_share: float = 0.3,
) -> Recovery:
    """Score an enhancement map ``[H, W]`` against the true enhancement ``[H, W]``.

    Args:
        estimate: Estimated enhancement, ppm·m (NaN where invalid).
        truth: True enhancement, ppm·m.
        window_radiance: Mean radiance of the window bands per pixel ``[H, W]``.
        outline_ppm_m: Plume pixels: true enhancement at least this.
        dark_share: Non-dark ground: window radiance at least this share of the median.
    """
    finite = np.isfinite(estimate)
    plume = finite & (truth >= outline_ppm_m)
    bright = window_radiance >= dark_share * np.nanmedian(window_radiance)
    scored = plume & bright
    background = finite & (truth < 1.0)
    return Recovery(
        correlation=float(np.corrcoef(estimate[scored], truth[scored])[0, 1]),
        slope=float(np.polyfit(truth[scored], estimate[scored], 1)[0]),
        pixels=int(scored.sum()),
        correlation_all_plume=float(np.corrcoef(estimate[plume], truth[plume])[0, 1]),
        background_std=float(estimate[background].std()),
        background_mean=float(estimate[background].mean()),
    )
