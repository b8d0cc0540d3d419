"""A high-resolution reference of a super-resolution pair's place at another date.

Reference-guided super-resolution gets the low-resolution target image and a
high-resolution image of the same place taken at another date. The synthetic
reference is the pair's target (``hr.tif``) changed by a documented change
model, :func:`change_reference`, applied in this order:

1. land-cover change: a smooth fractal field (features about a quarter of the
   image across) thresholded at its ``1 - changed`` quantile marks a share
   ``changed`` of the pixels, in blobs; there the reference shows the image
   shifted by a third of its size in both axes (wrapped), i.e. other land
   cover with its own texture and edges;
2. seasonal change: every band multiplied by its own gain drawn uniformly in
   ``[1 - season, 1 + season]``, times a smooth per-pixel factor
   ``1 + season / 2 * fbm`` (vegetation greening unevenly).

Presets (:data:`CHANGES`): ``recent`` (5 % of the area changed, season 0.03)
and ``old`` (30 % changed, season 0.15). The reference lies on the target's
grid (same CRS, transform and size) and carries its band descriptions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio

from eoforge.errors import ConfigError
from eoforge.synth.world.noise import fbm, salt_of

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ChangeModel:
    """How the reference date differs from the target date.

    Attributes:
        changed: Share of the area whose land cover changed, 0-0.9.
        season: Largest relative brightness change per band, 0-0.5.
    """

    changed: float
    season: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.changed <= 0.9 and 0.0 <= self.season <= 0.5):
            raise ConfigError(
                f"change model {self} is out of range.",
                fix="use changed in [0, 0.9] and season in [0, 0.5].",
            )


CHANGES = {"recent": ChangeModel(0.05, 0.03), "old": ChangeModel(0.30, 0.15)}
"""The named change models: a reference taken shortly before, or long before."""


def change_reference(
    hr: F32, model: ChangeModel, seed: int = 0
) -> tuple[F32, npt.NDArray[np.bool_]]:
    """The reference ``model`` makes of ``hr`` (see the module doc).

    Args:
        hr: ``[C, H, W]`` reflectance of the target date.
        model: The change model.
        seed: Seed of the changed places and the gains.

    Returns:
        ``(reference [C, H, W] float32, changed [H, W])``.
    """
    _, h, w = hr.shape
    rows = np.arange(h, dtype=np.float64)[:, None]
    cols = np.arange(w, dtype=np.float64)[None, :]
    out = hr.astype(np.float32).copy()
    changed = np.zeros((h, w), dtype=bool)
    if model.changed > 0:
        field = fbm(cols, rows, max(h, w) / 4, salt_of(seed, "sr-reference-change"))
        changed = field > np.quantile(field, 1.0 - model.changed)
        other = np.roll(hr, (h // 3, w // 3), axis=(1, 2))
        out[:, changed] = other[:, changed]
    if model.season > 0:
        rng = np.random.default_rng(salt_of(seed, "sr-reference-season"))
        gains = np.asarray(
            rng.uniform(1 - model.season, 1 + model.season, size=hr.shape[0]), dtype=np.float64
        )
        smooth = fbm(cols, rows, max(h, w) / 3, salt_of(seed, "sr-reference-smooth"))
        factor = gains[:, None, None] * (1.0 + 0.5 * model.season * smooth[None])
        out = (out * factor).astype(np.float32)
    return out, changed


def write_reference(hr_path: Path, out: Path, model: ChangeModel, seed: int = 0) -> Path:
    """Write the reference of the target ``hr_path`` to ``out`` (same grid, bands, profile).

    Also writes ``<out stem>.json`` with the change model, the seed and the
    share of pixels changed.

    Returns:
        ``out``.
    """
    with rasterio.open(hr_path) as src:
        hr = src.read().astype(np.float32)
        profile = src.profile
        names = list(src.descriptions)
    reference, changed = change_reference(hr, model, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp")
    with rasterio.open(staging, "w", **profile) as dst:
        dst.write(reference)
        for i, name in enumerate(names, start=1):
            if name:
                dst.set_band_description(i, name)
    staging.replace(out)
    meta = {**asdict(model), "seed": seed, "changed_share": float(changed.mean())}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return out
