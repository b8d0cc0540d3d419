"""Embedding tables read back: windows with footprints, their vectors, and the model behind them.

``eoforge embed`` writes one GeoParquet file per scene
(:class:`~eoforge.predict.embeddings.EmbeddingSpec`). :func:`read_tables`
reads one or more of them into one :class:`EmbeddingTable`: the windows as a
GeoDataFrame (footprints in the first file's CRS), the vectors as one
``[N, D]`` array, each file's lattice, and the identity of the model, which
must be the same for every file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from affine import Affine
from pyproj import CRS

from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.predict.identity import ModelIdentity, same_model

PathLike = str | os.PathLike[str]

WINDOW_COLUMNS = ["scene", "row", "col", "height", "width", "valid", "time"]
"""Columns of :attr:`EmbeddingTable.windows` besides ``geometry``."""


@dataclass(frozen=True)
class Lattice:
    """Where a file's windows lie: a regular lattice on the scene's grid.

    Attributes:
        scene: The scene's name.
        path: The embedding file.
        crs: The scene grid's CRS (WKT).
        transform: The scene grid's affine transform.
        shape: The scene grid's ``(height, width)``, pixels.
        window: Window side, pixels (None when the windows are not a lattice).
        stride: Pixels between window starts (None when not a lattice).
    """

    scene: str
    path: Path
    crs: str
    transform: Affine
    shape: tuple[int, int]
    window: int | None
    stride: int | None


@dataclass
class EmbeddingTable:
    """Windows and their vectors, from one or more embedding files.

    Attributes:
        windows: One row per window: ``scene``, ``row``, ``col``, ``height``,
            ``width`` (grid pixels), ``valid`` (share of valid pixels), ``time``
            (UTC, may be null) and the footprint ``geometry``; the index is the
            row id ``0..N-1``.
        vectors: ``[N, D]`` float32, row ``i`` belongs to window ``i``.
        model: The model that made the vectors (None: unknown).
        lattices: Each file's lattice, in file order.
        starts: Row id of each file's first window, in file order.
    """

    windows: gpd.GeoDataFrame
    vectors: npt.NDArray[np.float32]
    model: ModelIdentity | None
    lattices: list[Lattice]
    starts: list[int]

    @property
    def dim(self) -> int:
        """Vector length ``D``."""
        return int(self.vectors.shape[1])

    def rows_of(self, index: int) -> slice:
        """Row ids of the ``index``-th file's windows."""
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.windows)
        return slice(self.starts[index], end)


def read_tables(paths: PathLike | Sequence[PathLike]) -> EmbeddingTable:
    """Read embedding GeoParquet files of one model into one table.

    Args:
        paths: Files written by ``eoforge embed`` (``<scene>_embeddings.parquet``).

    Raises:
        MissingFileError: A file does not exist.
        UnreadableFileError: A file is not an embedding table.
        ConfigError: The files come from different models or have different widths.
    """
    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if not files:
        raise ConfigError("no embedding table given.", fix="give <scene>_embeddings.parquet files.")
    frames, vectors, lattices, starts = [], [], [], []
    model: ModelIdentity | None = None
    crs = None
    count = 0
    for i, path in enumerate(files):
        meta, table = _read(path)
        raw_model = meta.get("model")
        identity = ModelIdentity.from_dict(raw_model) if isinstance(raw_model, dict) else None
        if i == 0:
            model = identity
        else:
            same_model(
                model,
                identity,
                what=f"{files[0]}",
                fix=f"embed every scene with the same bundle (rerun eoforge embed for {path}).",
            )
        frame = gpd.read_parquet(path, columns=[c for c in table.column_names if c != "embedding"])
        crs = crs or frame.crs
        if frame.crs != crs:
            frame = frame.to_crs(crs)
        scene = str(meta.get("scene") or path.name.removesuffix("_embeddings.parquet"))
        frame.insert(0, "scene", scene)
        if "time" not in frame:
            frame["time"] = pd.NaT
        if "valid" not in frame:
            frame["valid"] = np.float32(1.0)
        frames.append(frame[[*WINDOW_COLUMNS, "geometry"]])
        vectors.append(_vectors(table, path))
        lattices.append(_lattice(meta, path, scene, table))
        starts.append(count)
        count += len(frame)
    dims = {v.shape[1] for v in vectors}
    if len(dims) > 1:
        raise ConfigError(
            f"the embedding tables have vectors of different lengths ({sorted(dims)}).",
            fix="combine tables of one model.",
        )
    windows = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)
    return EmbeddingTable(windows, np.concatenate(vectors), model, lattices, starts)


def _read(path: Path) -> tuple[dict[str, object], pa.Table]:
    if not path.is_file():
        raise MissingFileError(
            "embedding table not found.", path=path, fix="check the path (eoforge embed writes it)."
        )
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise UnreadableFileError(
            f"not a Parquet file ({error}).", path=path, fix="give a file written by eoforge embed."
        ) from None
    raw = (table.schema.metadata or {}).get(b"eoforge")
    meta = json.loads(raw) if raw else {}
    if not isinstance(meta, dict) or meta.get("output") != "embeddings":
        raise UnreadableFileError(
            "not an embedding table (its metadata names no eoforge embeddings).",
            path=path,
            fix="give a <scene>_embeddings.parquet file written by eoforge embed.",
        )
    return meta, table


def _vectors(table: pa.Table, path: Path) -> npt.NDArray[np.float32]:
    column = table.column("embedding").combine_chunks()
    if not isinstance(column.type, pa.FixedSizeListType):
        raise UnreadableFileError(
            f"the embedding column is {column.type}, not a fixed-size list.",
            path=path,
            fix="give a file written by eoforge embed.",
        )
    width = column.type.list_size
    values = np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    return values.reshape(-1, width)


def _lattice(meta: dict[str, object], path: Path, scene: str, table: pa.Table) -> Lattice:
    grid = meta.get("grid")
    geo = json.loads((table.schema.metadata or {}).get(b"geo", b"{}"))
    crs = geo.get("columns", {}).get("geometry", {}).get("crs")
    if not isinstance(grid, dict):
        grid = {"transform": [1, 0, 0, 0, -1, 0], "shape": [0, 0]}
    window, stride = meta.get("window"), meta.get("stride")
    return Lattice(
        scene=scene,
        path=path,
        crs=CRS.from_json_dict(crs).to_wkt() if isinstance(crs, dict) else str(crs),
        transform=Affine(*grid["transform"]),
        shape=(int(grid["shape"][0]), int(grid["shape"][1])),
        window=window if isinstance(window, int) else None,
        stride=stride if isinstance(stride, int) else None,
    )
