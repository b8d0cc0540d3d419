"""Embeddings: one vector per window of the scene, with its footprint, as GeoParquet and Zarr.

Every tile is one window: the model maps ``[B, C, h, w]`` to ``[B, D]``. Set
the tile to the window the encoder expects and the overlap to 0 for a
lattice of windows (``TilingOptions(tile=224, overlap=0, multiple=1)``);
windows are spread evenly over the scene, so when its size is not a
multiple of the window the last ones overlap their neighbours a little.
Rows are written in row-major window order: GeoParquet with the footprint
polygon, the window in grid pixels and the vector (a fixed-size list of
float32), and optionally a Zarr group with ``embedding [N, D]`` and
``window [N, 4]`` plus the grid's CRS and transform, for array work.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import shapely
import torch
import zarr

from eoforge.geo.grid import crs_of
from eoforge.predict.kinds import OutputKind
from eoforge.predict.plan import Block, BlockPlan
from eoforge.predict.tables import GeoParquetWriter
from eoforge.predict.types import PredictorOutput, TileInput
from eoforge.predict.work import WorkStore


@dataclass
class WindowRows:
    """Windows of a block and their vectors.

    Attributes:
        windows: ``[n, 4]`` ``row, col, height, width`` in grid pixels.
        vectors: ``[n, D]`` float32.
    """

    windows: list[tuple[int, int, int, int]]
    vectors: list[npt.NDArray[np.float32]]


@dataclass(frozen=True)
class EmbeddingSpec(OutputKind[WindowRows]):
    """One embedding vector per window.

    Attributes:
        dim: Vector length ``D`` the model returns.
        parquet: Write ``<stem>_embeddings.parquet`` (GeoParquet).
        zarr: Write ``<stem>_embeddings.zarr``.
    """

    dim: int
    parquet: bool = True
    zarr: bool = False

    def __post_init__(self) -> None:
        if self.dim < 1 or not (self.parquet or self.zarr):
            raise ValueError("embeddings need dim >= 1 and at least one of parquet, zarr")

    def describe(self) -> dict[str, object]:
        """JSON-ready description (part of the resume fingerprint)."""
        return {"output": "embeddings", "dim": self.dim, "parquet": self.parquet, "zarr": self.zarr}

    def products(self) -> list[str]:
        """``embeddings`` (parquet) and/or ``embeddings_zarr``."""
        return [
            *(["embeddings"] if self.parquet else []),
            *(["embeddings_zarr"] if self.zarr else []),
        ]

    def begin(self, plan: BlockPlan, block: Block) -> WindowRows:
        """No rows yet."""
        return WindowRows([], [])

    def add(
        self,
        plan: BlockPlan,
        state: WindowRows,
        items: Sequence[TileInput],
        output: PredictorOutput,
    ) -> None:
        """Keep each window's ``[D]`` vector."""
        if not isinstance(output, torch.Tensor) or tuple(output.shape) != (len(items), self.dim):
            got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise ValueError(f"an embedding model must return [B, {self.dim}]; got {got}")
        values = output.float().numpy()
        for item, vector in zip(items, values, strict=True):
            state.windows.append(item.tile.window)
            state.vectors.append(vector)

    def store(self, work: WorkStore, plan: BlockPlan, block: Block, state: WindowRows) -> None:
        """Keep the block's rows in the work store."""
        windows = np.asarray(state.windows, np.int64).reshape(-1, 4)
        vectors = np.asarray(state.vectors, np.float32).reshape(-1, self.dim)
        work.save_arrays(block, "windows", {"windows": windows, "vectors": vectors})

    def finalize(self, work: WorkStore, plan: BlockPlan, block: Block) -> None:
        """Nothing to combine: every window belongs to one block."""
        return None

    def publish(self, work: WorkStore, plan: BlockPlan, stem: Path) -> dict[str, Path]:
        """Write the rows of every block, row-major, to GeoParquet and/or Zarr."""
        out: dict[str, Path] = {}
        if self.parquet:
            out["embeddings"] = self._parquet(
                work, plan, stem.with_name(f"{stem.name}_embeddings.parquet")
            )
        if self.zarr:
            out["embeddings_zarr"] = self._zarr(
                work, plan, stem.with_name(f"{stem.name}_embeddings.zarr")
            )
        return out

    def _parquet(self, work: WorkStore, plan: BlockPlan, path: Path) -> Path:
        fields = [
            *[pa.field(name, pa.int32()) for name in ("row", "col", "height", "width")],
            pa.field("embedding", pa.list_(pa.float32(), self.dim)),
        ]
        meta = {"eoforge": {"output": "embeddings", "dim": self.dim}}
        with GeoParquetWriter(
            path, crs_of(plan.grid).to_wkt(), fields, ["Polygon"], metadata=meta
        ) as writer:
            for block in plan.blocks:
                rows = work.load_arrays(block, "windows")
                windows, vectors = rows["windows"], rows["vectors"]
                columns = {
                    name: windows[:, i].astype(np.int32)
                    for i, name in enumerate(("row", "col", "height", "width"))
                }
                embedding = pa.FixedSizeListArray.from_arrays(
                    pa.array(vectors.reshape(-1), pa.float32()), self.dim
                )
                writer.write({**columns, "embedding": embedding}, _footprints(windows, plan))
            writer.publish()
        return path

    def _zarr(self, work: WorkStore, plan: BlockPlan, path: Path) -> Path:
        count = len(plan.tiles)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            group = zarr.open_group(str(tmp), mode="w")
            chunk = max(1, min(count, 4096))
            vectors = group.create_array(
                "embedding", shape=(count, self.dim), chunks=(chunk, self.dim), dtype="float32"
            )
            windows = group.create_array(
                "window", shape=(count, 4), chunks=(chunk, 4), dtype="int64"
            )
            group.attrs.update(
                {
                    "crs": crs_of(plan.grid).to_wkt(),
                    "transform": list(plan.grid.affine)[:6],
                    "window_columns": ["row", "col", "height", "width"],
                }
            )
            start = 0
            for block in plan.blocks:
                rows = work.load_arrays(block, "windows")
                n = len(rows["windows"])
                vectors[start : start + n] = rows["vectors"]
                windows[start : start + n] = rows["windows"]
                start += n
            shutil.rmtree(path, ignore_errors=True)
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return path


def _footprints(windows: npt.NDArray[np.int64], plan: BlockPlan) -> npt.NDArray[np.object_]:
    """Polygons of ``[n, 4]`` windows in map coordinates."""
    a, b, c, d, e, f = list(plan.grid.affine)[:6]
    row, col, h, w = (windows[:, i].astype(np.float64) for i in range(4))
    xs = np.stack([col, col + w, col + w, col], 1)
    ys = np.stack([row, row, row + h, row + h], 1)
    rings = np.stack([a * xs + b * ys + c, d * xs + e * ys + f], axis=-1)
    return np.asarray(shapely.polygons(rings), dtype=object)
