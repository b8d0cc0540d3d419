"""Embeddings: one vector per window of the scene, with its footprint, as GeoParquet and Zarr.

Every tile is one window: the model maps ``[B, C, h, w]`` to ``[B, D]``. For a
regular lattice of equal windows set the tile to the window and the stride
between window starts (``TilingOptions(tile=64, stride=32)``: 64-px windows
every 32 px, overlapping by 32); without a stride, tiles are spread evenly
(``TilingOptions(tile=224, overlap=0, multiple=1)``) and, when the scene is not
a multiple of the window, the last ones overlap their neighbours a little.
Rows are written in row-major window order: GeoParquet with the footprint
polygon, the window in grid pixels, the share of valid input pixels, the
scene's acquisition time (null when unknown) and the vector (a fixed-size
list of float32), and optionally a Zarr group with ``embedding [N, D]`` and
``window [N, 4]`` and ``valid [N]`` plus the grid's CRS and transform, for array work. Both
carry the scene, the lattice (window, stride, grid) and the identity of the
model (:class:`~eoforge.predict.identity.ModelIdentity`) in their metadata,
so tables of other models are never mixed up.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import shapely
import torch
import zarr

from eoforge.geo.grid import crs_of
from eoforge.predict.identity import ModelIdentity
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
        valid: ``[n]`` share of valid input pixels in each window, 0..1.
    """

    windows: list[tuple[int, int, int, int]]
    vectors: list[npt.NDArray[np.float32]]
    valid: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class EmbeddingSpec(OutputKind[WindowRows]):
    """One embedding vector per window.

    Attributes:
        dim: Vector length ``D`` the model returns.
        parquet: Write ``<stem>_embeddings.parquet`` (GeoParquet).
        zarr: Write ``<stem>_embeddings.zarr``.
        scene: The scene's name, stored in the metadata.
        time: The scene's acquisition time (ISO 8601, UTC), or None when unknown.
        model: The model's identity, stored in the metadata (None: unknown).
    """

    dim: int
    parquet: bool = True
    zarr: bool = False
    scene: str | None = None
    time: str | None = None
    model: ModelIdentity | None = None

    def __post_init__(self) -> None:
        if self.dim < 1 or not (self.parquet or self.zarr):
            raise ValueError("embeddings need dim >= 1 and at least one of parquet, zarr")
        if self.time is not None:
            datetime.fromisoformat(self.time)  # ValueError names a malformed time

    def describe(self) -> dict[str, object]:
        """JSON-ready description (part of the resume fingerprint)."""
        return {
            "output": "embeddings",
            "dim": self.dim,
            "parquet": self.parquet,
            "zarr": self.zarr,
            "scene": self.scene,
            "time": self.time,
            "model": None if self.model is None else self.model.to_dict(),
        }

    def metadata(self, plan: BlockPlan) -> dict[str, object]:
        """What the files record besides the rows: scene, time, lattice and model."""
        return {
            "output": "embeddings",
            "dim": self.dim,
            "scene": self.scene,
            "time": self.time,
            "window": plan.tile if plan.stride is not None else None,
            "stride": plan.stride,
            "grid": {
                "transform": list(plan.grid.affine)[:6],
                "shape": [plan.grid.shape.y, plan.grid.shape.x],
            },
            "model": None if self.model is None else self.model.to_dict(),
        }

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
            state.valid.append(1.0 - float(item.invalid.mean()) if item.invalid.size else 1.0)

    def store(self, work: WorkStore, plan: BlockPlan, block: Block, state: WindowRows) -> None:
        """Keep the block's rows in the work store."""
        windows = np.asarray(state.windows, np.int64).reshape(-1, 4)
        vectors = np.asarray(state.vectors, np.float32).reshape(-1, self.dim)
        valid = np.asarray(state.valid, np.float32).reshape(-1)
        work.save_arrays(block, "windows", {"windows": windows, "vectors": vectors, "valid": valid})

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
            pa.field("valid", pa.float32()),
            pa.field("time", pa.timestamp("us", tz="UTC")),
            pa.field("embedding", pa.list_(pa.float32(), self.dim)),
        ]
        meta = {"eoforge": self.metadata(plan)}
        when = None if self.time is None else _utc(self.time)
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
                extra = {"valid": rows["valid"], "time": [when] * len(windows)}
                writer.write(
                    {**columns, **extra, "embedding": embedding}, _footprints(windows, plan)
                )
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
            valid = group.create_array("valid", shape=(count,), chunks=(chunk,), dtype="float32")
            group.attrs.update(
                {
                    "crs": crs_of(plan.grid).to_wkt(),
                    "transform": list(plan.grid.affine)[:6],
                    "window_columns": ["row", "col", "height", "width"],
                    # a JSON round trip: zarr's attribute type wants JSON values
                    "eoforge": json.loads(json.dumps(self.metadata(plan))),
                }
            )
            start = 0
            for block in plan.blocks:
                rows = work.load_arrays(block, "windows")
                n = len(rows["windows"])
                vectors[start : start + n] = rows["vectors"]
                windows[start : start + n] = rows["windows"]
                valid[start : start + n] = rows["valid"]
                start += n
            shutil.rmtree(path, ignore_errors=True)
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return path


def _utc(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime (naive times are taken as UTC)."""
    when = datetime.fromisoformat(text)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _footprints(windows: npt.NDArray[np.int64], plan: BlockPlan) -> npt.NDArray[np.object_]:
    """Polygons of ``[n, 4]`` windows in map coordinates."""
    a, b, c, d, e, f = list(plan.grid.affine)[:6]
    row, col, h, w = (windows[:, i].astype(np.float64) for i in range(4))
    xs = np.stack([col, col + w, col + w, col], 1)
    ys = np.stack([row, row, row + h, row + h], 1)
    rings = np.stack([a * xs + b * ys + c, d * xs + e * ys + f], axis=-1)
    return np.asarray(shapely.polygons(rings), dtype=object)
