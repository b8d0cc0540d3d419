"""Similarity search over window embeddings: k nearest windows by cosine similarity.

Built on FAISS (``faiss-cpu``) with an exact flat inner-product index over
L2-normalised vectors, so scores are cosine similarities and results are
exact, not approximate. FAISS rather than LanceDB because it is what this
needs and no more: an in-process library over NumPy arrays, brute-force
search that stays fast on CPU for millions of rows (a few GB of float32
held in memory, scanned with BLAS), a single index file written beside the
window table, and no server, database format or Arrow version to manage.
LanceDB would add its own storage format and a large dependency tree for
the same exact search.

An index is a folder:

* ``vectors.faiss``: the FAISS index (row id = position, ``0..N-1``);
* ``windows.parquet``: the windows (scene, window, valid share, time,
  footprint in the index's CRS), one row per id;
* ``index.json``: the model's identity (fingerprint of the bundle's weights,
  bands and normalisation), the vector length and the source tables.

Queries are an example window (a row id, or a row of another table of the
same model), a point on the map (the window there) or raw vectors; results
are a GeoDataFrame of the k most similar windows with their scores. Vectors
of another model are refused (:func:`~eoforge.predict.identity.same_model`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from eoforge.embeddings.table import WINDOW_COLUMNS, EmbeddingTable, read_tables
from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.predict.identity import ModelIdentity, same_model

PathLike = str | os.PathLike[str]

INDEX_JSON = "index.json"
VECTORS_FILE = "vectors.faiss"
WINDOWS_FILE = "windows.parquet"
FORMAT_VERSION = 1

RESULT_COLUMNS = ["query", "rank", "id", "score", *WINDOW_COLUMNS, "geometry"]
"""Columns of a search result."""


def normalized(vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Rows scaled to unit length (zero rows stay zero), float32 C-contiguous ``[N, D]``."""
    array = np.array(vectors, dtype=np.float32, ndmin=2, order="C")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.ascontiguousarray(array / np.where(norms > 0, norms, 1.0), dtype=np.float32)


@dataclass
class EmbeddingIndex:
    """Exact cosine-similarity search over the windows of one model.

    Attributes:
        index: FAISS flat inner-product index of the normalised vectors.
        windows: The windows, one per id (see :class:`~eoforge.embeddings.table.EmbeddingTable`).
        model: The model behind the vectors.
        tables: The embedding files the index was built from.
    """

    index: faiss.IndexFlatIP
    windows: gpd.GeoDataFrame
    model: ModelIdentity | None
    tables: list[str]

    @classmethod
    def build(cls, table: EmbeddingTable) -> EmbeddingIndex:
        """Index every window of ``table``."""
        index = faiss.IndexFlatIP(table.dim)
        index.add(normalized(table.vectors))
        return cls(index, table.windows, table.model, [str(t.path) for t in table.lattices])

    @property
    def dim(self) -> int:
        """Vector length ``D``."""
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def save(self, folder: PathLike) -> Path:
        """Write the index folder (replacing one there), complete or not at all."""
        target = Path(folder)
        if target.exists() and not (target / INDEX_JSON).is_file() and any(target.iterdir()):
            raise ConfigError(
                "exists and is not an embedding index; refusing to replace it.",
                path=target,
                fix="choose a new or empty folder for the index.",
            )
        staging = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            faiss.write_index(self.index, str(staging / VECTORS_FILE))
            self.windows.to_parquet(staging / WINDOWS_FILE, index=False)
            description = {
                "format_version": FORMAT_VERSION,
                "metric": "cosine",
                "dim": self.dim,
                "count": len(self),
                "model": None if self.model is None else self.model.to_dict(),
                "tables": self.tables,
            }
            (staging / INDEX_JSON).write_text(json.dumps(description, indent=2) + "\n")
            shutil.rmtree(target, ignore_errors=True)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    @classmethod
    def load(cls, folder: PathLike) -> EmbeddingIndex:
        """Read an index folder written by :meth:`save`.

        Raises:
            MissingFileError: The folder or one of its files is missing.
            UnreadableFileError: ``index.json`` is not an index description.
        """
        root = Path(folder)
        paths = [root / INDEX_JSON, root / VECTORS_FILE, root / WINDOWS_FILE]
        for path in paths:
            if not path.is_file():
                raise MissingFileError(
                    "embedding index file not found.",
                    path=path,
                    fix="build the index again with `eoforge embeddings index`.",
                )
        try:
            description = json.loads(paths[0].read_text())
            model_raw = description["model"]
            tables = [str(t) for t in description["tables"]]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise UnreadableFileError(
                f"not an embedding index description ({error}).",
                path=paths[0],
                fix="build the index again with `eoforge embeddings index`.",
            ) from None
        index = faiss.read_index(str(paths[1]))
        if not isinstance(index, faiss.IndexFlatIP):
            raise UnreadableFileError(
                f"not a flat inner-product FAISS index ({type(index).__name__}).",
                path=paths[1],
                fix="build the index again with `eoforge embeddings index`.",
            )
        windows = gpd.read_parquet(paths[2])
        model = None if model_raw is None else ModelIdentity.from_dict(model_raw)
        return cls(index, windows, model, tables)

    # -- queries ---------------------------------------------------------------

    def vector(self, row: int) -> npt.NDArray[np.float32]:
        """The normalised vector of window ``row``.

        Raises:
            ConfigError: ``row`` is not an id of the index.
        """
        if not 0 <= row < len(self):
            raise ConfigError(
                f"window {row} is not in the index (ids 0..{len(self) - 1}).",
                fix="give a row id of the index (the id column of its windows).",
            )
        return np.asarray(self.index.reconstruct(int(row)), dtype=np.float32)

    def at(self, x: float, y: float, crs: str | None = None) -> int:
        """The id of the window at a point (the nearest one when none contains it).

        Of the windows containing the point, the one whose centre is nearest wins.

        Args:
            x: Easting or longitude.
            y: Northing or latitude.
            crs: CRS of the point (default: the index's CRS, see ``windows.crs``).
        """
        point = shapely.Point(x, y)
        if crs is not None and self.windows.crs is not None:
            point = gpd.GeoSeries([point], crs=CRS.from_user_input(crs)).to_crs(self.windows.crs)[0]
        hits = self.windows.sindex.query(point, predicate="intersects")
        if len(hits):
            centres = self.windows.geometry.iloc[hits].centroid
            return int(hits[int(np.argmin(centres.distance(point).to_numpy()))])
        return int(self.windows.sindex.nearest(point)[1][0])

    def search(
        self,
        vectors: npt.ArrayLike,
        k: int = 10,
        *,
        model: ModelIdentity | None = None,
        check_model: bool = True,
        exclude: Sequence[Sequence[int]] | None = None,
        exclude_overlapping: bool = False,
    ) -> gpd.GeoDataFrame:
        """The ``k`` windows most similar to each query vector.

        Args:
            vectors: ``[D]`` or ``[Q, D]`` query vectors (any length; normalised here).
            k: Results per query.
            model: The model that made the query vectors: must be the index's.
            check_model: Compare ``model`` with the index's (False: raw vectors whose
                origin is unknown, at the caller's risk).
            exclude: Per query, ids never returned (e.g. the example window itself).
            exclude_overlapping: Leave out windows whose footprint overlaps the
                query window's (``exclude``'s first id), i.e. its neighbours on an
                overlapping lattice.

        Returns:
            ``RESULT_COLUMNS``: query number, rank (0 = most similar), window id,
            cosine similarity and the window, best first per query.

        Raises:
            ConfigError: ``model`` is not the index's model, the vectors have the
                wrong length, or ``k`` < 1.
        """
        if check_model:
            same_model(
                self.model,
                model,
                what="the embedding index",
                fix="query with vectors of the index's bundle, or rebuild the index from "
                "tables embedded with this bundle (eoforge embeddings index).",
            )
        queries = normalized(vectors)
        if queries.shape[1] != self.dim or k < 1:
            raise ConfigError(
                f"query vectors have {queries.shape[1]} values and k is {k}; the index holds "
                f"{self.dim}-value vectors.",
                fix="query with vectors of the index's model and k >= 1.",
            )
        rows: list[dict[str, object]] = []
        for q, query in enumerate(queries):
            given = list(exclude[q]) if exclude is not None else []
            skip = set(given)
            if exclude_overlapping and given:
                first = self.windows.geometry.iloc[given[0]]
                touching = self.windows.sindex.query(first, predicate="intersects")
                near = self.windows.geometry.iloc[touching].intersection(first).area > 0
                skip |= {int(i) for i in touching[near.to_numpy()]}
            for rank, (row, score) in enumerate(self._top(query, k, skip)):
                rows.append({"query": q, "rank": rank, "id": row, "score": score})
        found = pd.DataFrame(rows, columns=["query", "rank", "id", "score"])
        windows = self.windows.iloc[found["id"].to_numpy()].reset_index(drop=True)
        frame = pd.concat([found, windows[[*WINDOW_COLUMNS, "geometry"]]], axis=1)
        return gpd.GeoDataFrame(frame, geometry="geometry", crs=self.windows.crs)

    def _top(
        self, query: npt.NDArray[np.float32], k: int, skip: set[int]
    ) -> list[tuple[int, float]]:
        """Best ``k`` ``(id, score)`` not in ``skip``, searching wider until enough are found."""
        wanted = min(k + len(skip), len(self))
        while True:
            scores, ids = self.index.search(query[None], wanted)
            kept = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
            kept = [(i, s) for i, s in kept if i not in skip]
            if len(kept) >= k or wanted >= len(self):
                return kept[:k]
            wanted = min(wanted * 4, len(self))

    def like(self, row: int, k: int = 10, *, exclude_overlapping: bool = False) -> gpd.GeoDataFrame:
        """The ``k`` windows most similar to window ``row`` of the index (itself left out)."""
        return self.search(
            self.vector(row),
            k,
            model=self.model,
            exclude=[[row]],
            exclude_overlapping=exclude_overlapping,
        )

    def like_row(self, table: EmbeddingTable, row: int, k: int = 10) -> gpd.GeoDataFrame:
        """The ``k`` windows most similar to window ``row`` of another ``table``.

        Raises:
            ConfigError: ``table`` comes from another model than the index, or has no
                window ``row``.
        """
        if not 0 <= row < len(table.vectors):
            raise ConfigError(
                f"window {row} is not in the table (rows 0..{len(table.vectors) - 1}).",
                fix="give a row id of the example table.",
            )
        return self.search(table.vectors[row], k, model=table.model)


def build_index(
    tables: PathLike | Sequence[PathLike], out: PathLike | None = None
) -> EmbeddingIndex:
    """Index embedding tables of one model, and save the index when ``out`` is given.

    Args:
        tables: ``<scene>_embeddings.parquet`` files of one model.
        out: Index folder to write (None: keep it in memory).

    Raises:
        ConfigError: The tables come from different models.
    """
    index = EmbeddingIndex.build(read_tables(tables))
    if out is not None:
        index.save(out)
    return index


def open_index(paths: PathLike | Sequence[PathLike]) -> EmbeddingIndex:
    """An index folder, or an in-memory index over embedding tables.

    Args:
        paths: One index folder (with ``index.json``), or embedding GeoParquet files.
    """
    given = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if len(given) == 1 and given[0].is_dir():
        return EmbeddingIndex.load(given[0])
    return build_index(given)
