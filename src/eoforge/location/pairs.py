"""(place, image vector) pairs from embedding tables: what contrastive location training eats.

Each window of tables written by ``eoforge embed`` becomes one pair: the
centre of its footprint in WGS84 degrees and its vector. Tables must come
from one image model (:func:`~eoforge.embeddings.table.read_tables` checks
the fingerprints); windows with little valid data are left out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eoforge.embeddings.table import read_tables
from eoforge.errors import ConfigError
from eoforge.location.bundle import TrainingTable, file_fingerprint
from eoforge.location.points import window_centres
from eoforge.predict.identity import ModelIdentity


@dataclass
class LocationPairs:
    """Places and the image vectors seen there.

    Attributes:
        lonlat: ``[N, 2]`` float64 window centres (longitude, latitude; degrees).
        vectors: ``[N, D]`` float32 image vectors, row ``i`` at ``lonlat[i]``.
        scenes: ``[N]`` scene name of each row.
        model: The image model that made the vectors (None: unknown).
        tables: The tables read, with fingerprints and windows kept.
    """

    lonlat: npt.NDArray[np.float64]
    vectors: npt.NDArray[np.float32]
    scenes: npt.NDArray[np.str_]
    model: ModelIdentity | None
    tables: list[TrainingTable]

    def __len__(self) -> int:
        return len(self.lonlat)

    @property
    def image_dim(self) -> int:
        """Length of the image vectors."""
        return int(self.vectors.shape[1])

    def subset(self, rows: npt.NDArray[np.int64]) -> LocationPairs:
        """The pairs at ``rows`` (tables unchanged)."""
        return LocationPairs(
            self.lonlat[rows], self.vectors[rows], self.scenes[rows], self.model, self.tables
        )


def read_pairs(paths: Sequence[str | os.PathLike[str]], *, min_valid: float = 0.5) -> LocationPairs:
    """Pairs of every window with at least ``min_valid`` valid pixels.

    Args:
        paths: Embedding tables (``<scene>_embeddings.parquet``) of one image model.
        min_valid: Least share of valid pixels a window needs.

    Raises:
        MissingFileError, UnreadableFileError: A table is missing or not a table.
        ConfigError: Tables of different models, or no window left.
    """
    table = read_tables(list(paths))
    keep = table.windows["valid"].to_numpy(dtype=np.float64) >= min_valid
    lonlat = window_centres(table.windows)
    kept = []
    for i, lattice in enumerate(table.lattices):
        rows = keep[table.rows_of(i)]
        fingerprint = file_fingerprint(lattice.path)
        kept.append(TrainingTable(path=str(lattice.path), fingerprint=fingerprint,
                                  windows=int(rows.sum())))  # fmt: skip
    if not keep.any():
        raise ConfigError(
            f"no window of {len(paths)} embedding table(s) has {min_valid:.0%} valid pixels.",
            path=os.fspath(paths[0]) if len(paths) == 1 else None,
            fix="lower data.min_valid, or embed scenes with data.",
        )
    scenes = table.windows["scene"].to_numpy(dtype=np.str_)
    return LocationPairs(lonlat[keep], table.vectors[keep], scenes[keep], table.model, kept)
