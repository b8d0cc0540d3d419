"""Training windows kept only where a cloud mask says they are clear enough.

A cloud mask is any single-band code raster: the ``cloudmask`` band of a
synthetic Sentinel-2 date (0 clear, 1 cloud, 2 shadow), a mask raster read
from disk, or the class map ``eoforge predict`` writes for a cloud bundle (band
``class``: 0 clear, 1 cloud, 2 cloud_shadow). A window's cloud fraction is the
share of its pixels whose code is among ``values``, counted over the pixels
the mask covers (read on the window's grid, nearest neighbour).

:class:`CloudFilteredSampler` wraps another sampler: it draws that sampler's
windows and drops those above ``max_fraction``, drawing again (further seeded
draws of the inner sampler) until the epoch is full. The epoch's windows still
depend on ``(seed, epoch)`` only and are the same on every rank.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from odc.geo.geobox import GeoBox

from eoforge.data.sharding import GeoSampler
from eoforge.data.windows import Window
from eoforge.errors import ConfigError, OutsideSourcesError
from eoforge.io.reader import read
from eoforge.io.source import RasterSource

#: Inner draws tried per epoch before giving up on filling it with distinct windows.
MAX_DRAWS = 20


def cloud_fraction(
    masks: Sequence[RasterSource], band: str, values: Sequence[int], grid: GeoBox
) -> float:
    """Share of a grid's mask-covered pixels whose code is among ``values``.

    Args:
        masks: Rasters holding ``band`` (a mosaic: earlier ones win).
        band: The mask band (e.g. ``cloudmask``, or ``class`` of a predicted map).
        values: Codes that count as cloudy (e.g. ``[1, 2]``: cloud and shadow).
        grid: The window's grid ``(H, W)``.

    Returns:
        The fraction in [0, 1]; 1.0 when the masks cover none of the grid (an
        unknown window is not taken for a clear one).
    """
    try:
        codes, known = read(list(masks), grid, [band], "nearest", fill=0.0)
    except OutsideSourcesError:
        return 1.0
    covered = int(known.sum())
    if covered == 0:
        return 1.0
    cloudy = np.isin(codes[0].astype(np.int64), np.asarray(list(values), np.int64)) & known
    return float(cloudy.sum()) / covered


class CloudFilteredSampler(GeoSampler):
    """Another sampler's windows, without those whose cloud fraction exceeds a threshold.

    Args:
        inner: The sampler drawing candidate windows (its ``seed`` is used; its
            epochs ``epoch * MAX_DRAWS + k`` are the ``k``-th draws of an epoch).
        masks: Rasters holding the mask ``band`` over the inner sampler's regions.
        band: Mask band name.
        values: Codes that count as cloudy.
        max_fraction: Largest cloud fraction a kept window may have, 0-1.
        rank: DDP rank (default from ``torch.distributed``, else 0).
        world_size: DDP world size (default from ``torch.distributed``, else 1).

    Raises:
        ConfigError: ``max_fraction`` outside [0, 1], no mask raster, or (when
            drawing) no candidate window of an epoch passes the threshold.
    """

    def __init__(
        self,
        inner: GeoSampler,
        masks: Sequence[RasterSource],
        band: str,
        values: Sequence[int],
        max_fraction: float,
        *,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__(seed=inner.seed, rank=rank, world_size=world_size)
        if not 0.0 <= max_fraction <= 1.0:
            raise ConfigError(f"max_fraction must be in [0, 1]; got {max_fraction}.")
        if not masks:
            raise ConfigError(
                "a cloud filter needs at least one mask raster.",
                fix="give the rasters holding the mask band, or drop the filter.",
            )
        self.inner = inner
        self.masks = list(masks)
        self.band = band
        self.values = tuple(int(v) for v in values)
        self.max_fraction = float(max_fraction)
        self.rejected = 0

    @property
    def epoch_size(self) -> int:
        """Windows per epoch (the inner sampler's)."""
        return self.inner.epoch_size

    def fraction(self, window: Window) -> float:
        """The cloud fraction of one window (see :func:`cloud_fraction`)."""
        return cloud_fraction(self.masks, self.band, self.values, window.grid)

    def epoch_windows(self, epoch: int | None = None) -> Sequence[Window]:
        """An epoch's windows at or below ``max_fraction``, ``epoch_size`` of them.

        Candidates come from up to :data:`MAX_DRAWS` inner draws; when fewer pass
        than the epoch needs, the passing ones are repeated in order.

        Raises:
            ConfigError: No candidate passes (the message gives the threshold and
                the cloudiest-to-clearest range seen).
        """
        current = self.epoch if epoch is None else epoch
        need = self.epoch_size
        kept: list[Window] = []
        seen: list[float] = []
        self.rejected = 0
        for draw in range(MAX_DRAWS):
            for window in self.inner.epoch_windows(current * MAX_DRAWS + draw):
                share = self.fraction(window)
                seen.append(share)
                if share <= self.max_fraction:
                    kept.append(window)
                    if len(kept) == need:
                        return kept
                else:
                    self.rejected += 1
        if not kept:
            raise ConfigError(
                f"no training window has a cloud fraction at or below {self.max_fraction:g} "
                f"(band {self.band!r}, codes {list(self.values)}; {len(seen)} windows drawn, "
                f"fractions {min(seen):.2f}-{max(seen):.2f}).",
                fix="raise max_fraction, or train on clearer scenes.",
            )
        return [kept[i % len(kept)] for i in range(need)]
