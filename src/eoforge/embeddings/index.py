"""Similarity search over window embeddings: k nearest windows by cosine similarity.

The vectors are L2-normalised and held in an exact flat inner-product
FAISS index (``faiss-cpu``), so scores are cosine similarities and results
are exact, not approximate. FAISS rather than LanceDB because it is what
this needs and no more: an in-process library over NumPy arrays, a single
index file written beside the window table, and no server, database format
or Arrow version to manage. LanceDB would add its own storage format and a
large dependency tree for the same exact search.

A search scans FAISS's stored vectors (a view, not a copy) with one NumPy
BLAS matrix product for all its queries rather than with FAISS's own search:
measured at 100,000 x 512 on 2 busy cores (``benchmarks/bench_text.py``),
FAISS's batched search ran 4 to 6 times slower per query than the product
and its OpenMP threads made single queries several times slower, while the
product needs a single code path for one query or many, for exclusions and
for filters (left-out windows get score -inf before the best are picked).

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import faiss
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS
from threadpoolctl import ThreadpoolController

from eoforge.embeddings.table import WINDOW_COLUMNS, EmbeddingTable, read_tables
from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.io.staging import staged_folder
from eoforge.predict.identity import ModelIdentity, same_model

PathLike = str | os.PathLike[str]

INDEX_JSON = "index.json"
VECTORS_FILE = "vectors.faiss"
WINDOWS_FILE = "windows.parquet"
FORMAT_VERSION = 1

RESULT_COLUMNS = ["query", "rank", "id", "score", *WINDOW_COLUMNS, "geometry"]
"""Columns of a search result."""

SCORE_BLOCK = 2**24
"""Most scores (float32: 64 MiB) held at once while searching: queries go in blocks."""

RESCORE_BLOCK = 2**22
"""Most values (float32: 16 MiB) multiplied at once when the best windows are scored again."""

FEW_QUERIES = 4
"""Up to this many queries are scored on one BLAS thread (see :meth:`EmbeddingIndex.search`)."""


def normalized(vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Rows scaled to unit length (zero rows stay zero), float32 C-contiguous ``[N, D]``."""
    array = np.array(vectors, dtype=np.float32, ndmin=2, order="C")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.ascontiguousarray(array / np.where(norms > 0, norms, 1.0), dtype=np.float32)


@contextmanager
def _blas_threads(count: int | None) -> Iterator[None]:
    """Run the block on ``count`` BLAS threads (None: as configured), restored after."""
    if count is None:
        yield
        return
    with _threads().limit(limits=count, user_api="blas"):
        yield


@cache
def _threads() -> ThreadpoolController:
    """The BLAS libraries loaded (found once: looking them up takes about a millisecond)."""
    return ThreadpoolController()


def _best(
    scores: npt.NDArray[np.float32],
    queries: npt.NDArray[np.float32],
    matrix: npt.NDArray[np.float32],
    k: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The ``k`` best windows of each query, ranked on scores computed again row by row.

    A BLAS product may round the same dot product differently depending on
    where the row falls in its blocks, so equal vectors could score apart. The
    windows within rounding reach (``(D + 2) * 2**-23``) of the k-th best score are
    scored again one window at a time (float32 products summed in float64: equal
    vectors score equal) and ranked on that: score descending, then id ascending.

    Args:
        scores: ``[B, N]`` BLAS scores (left-out windows -inf).
        queries: ``[B, D]`` the normalised queries.
        matrix: ``[N, D]`` the normalised windows.
        k: Windows per query.

    Returns:
        Query numbers (``0..B-1``), window ids and scores, float64 ``[M]`` each,
        query by query, best first; ``M <= B * k`` (fewer where windows ran out).
    """
    n = scores.shape[1]
    reach = (matrix.shape[1] + 2) * 2.0**-23
    if k < n:
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
        near = scores >= kth - reach
        near &= scores > -np.inf
    else:
        near = scores > -np.inf
    rows, ids = np.nonzero(near)
    exact = np.empty(len(ids), np.float64)
    step = max(1, RESCORE_BLOCK // matrix.shape[1])
    for start in range(0, len(ids), step):
        part = slice(start, start + step)
        products = matrix[ids[part]] * queries[rows[part]]
        exact[part] = products.sum(axis=1, dtype=np.float64)
    order = np.lexsort((ids, -exact, rows))
    rows, ids, exact = rows[order], ids[order], exact[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    best = rank < k
    return rows[best].astype(np.int64), ids[best].astype(np.int64), exact[best]


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
        with staged_folder(target) as staging:
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
        keep: npt.NDArray[np.bool_] | None = None,
    ) -> gpd.GeoDataFrame:
        """The ``k`` windows most similar to each query vector.

        All queries are scored in one matrix product with the index's vectors
        (exact, float32); excluded windows are taken out of the scores before
        the best ``k`` are picked, so no query comes back short while windows
        remain. The windows near the k-th place are scored again one by one, so
        that equal vectors score equal; equal scores are ranked by id, lowest
        first.

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
            keep: ``[N]`` booleans, one per window id: only windows marked True are
                returned (e.g. those inside a box or time interval); None keeps all.

        Returns:
            ``RESULT_COLUMNS``: query number, rank (0 = most similar), window id,
            cosine similarity and the window, best first per query; fewer than
            ``k`` rows for a query only when fewer windows are left.

        Raises:
            ConfigError: ``model`` is not the index's model, the vectors have the
                wrong length or are not finite, ``k`` < 1, ``exclude`` does not
                match the queries or names ids outside the index, or ``keep`` is
                not one boolean per window.
        """
        if check_model:
            same_model(
                self.model,
                model,
                what="the embedding index",
                fix="query with vectors of the index's bundle, or rebuild the index from "
                "tables embedded with this bundle (eoforge embeddings index).",
                joint=True,  # towers of one joint space (CLOSP) query each other's indexes
            )
        queries = normalized(vectors)
        if queries.shape[1] != self.dim or k < 1:
            raise ConfigError(
                f"query vectors have {queries.shape[1]} values and k is {k}; the index holds "
                f"{self.dim}-value vectors.",
                fix="query with vectors of the index's model and k >= 1.",
            )
        if not np.isfinite(queries).all():
            raise ConfigError(
                "query vectors hold NaN or infinite values.",
                fix="query with finite vectors (e.g. of windows with valid pixels).",
            )
        if keep is not None and (keep.dtype != np.bool_ or keep.shape != (len(self),)):
            raise ConfigError(
                f"keep has shape {keep.shape} and dtype {keep.dtype}; the index holds "
                f"{len(self)} windows.",
                fix="give one boolean per window id (e.g. a filter over index.windows).",
            )
        skipped = self._skipped(len(queries), exclude, exclude_overlapping)
        return self._results(*self._top(queries, k, skipped, keep))

    def _skipped(
        self,
        count: int,
        exclude: Sequence[Sequence[int]] | None,
        overlapping: bool,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(query, id)`` pairs never returned: the given ids and, when asked, overlaps.

        Returns:
            Two int64 ``[M]`` arrays: query numbers and window ids.
        """
        if exclude is None:
            empty = np.zeros(0, np.int64)
            return empty, empty
        if len(exclude) != count:
            raise ConfigError(
                f"exclude has {len(exclude)} lists for {count} queries.",
                fix="give one list of ids to leave out per query vector.",
            )
        lengths = np.array([len(ids) for ids in exclude], dtype=np.int64)
        ids = np.fromiter((i for given in exclude for i in given), np.int64, int(lengths.sum()))
        queries = np.repeat(np.arange(count, dtype=np.int64), lengths)
        if ids.size and not (ids.min() >= 0 and ids.max() < len(self)):
            raise ConfigError(
                f"exclude names ids outside the index (ids 0..{len(self) - 1}).",
                fix="give row ids of the index (the id column of its windows).",
            )
        if overlapping and ids.size:
            asking = np.flatnonzero(lengths > 0)
            footprints = self.windows.geometry.to_numpy()
            first = footprints[ids[np.cumsum(lengths) - lengths][asking]]
            which, touching = self.windows.sindex.query(first, predicate="intersects")
            shared = shapely.area(shapely.intersection(first[which], footprints[touching])) > 0
            queries = np.concatenate([queries, asking[which[shared]]])
            ids = np.concatenate([ids, touching[shared].astype(np.int64)])
        return queries, ids

    def _matrix(self) -> npt.NDArray[np.float32]:
        """The index's normalised vectors, ``[N, D]`` float32, a view of FAISS's storage."""
        if len(self) == 0:
            return np.zeros((0, self.dim), np.float32)
        flat = faiss.rev_swig_ptr(self.index.get_xb(), len(self) * self.dim)
        return np.asarray(flat, dtype=np.float32).reshape(len(self), self.dim)

    def _top(
        self,
        queries: npt.NDArray[np.float32],
        k: int,
        skipped: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
        keep: npt.NDArray[np.bool_] | None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Best ``k`` windows per query: query numbers, ids and scores, ``[M]`` each.

        Queries go through the BLAS matrix product in blocks of at most
        ``SCORE_BLOCK`` scores; up to ``FEW_QUERIES`` queries run on one BLAS thread
        (a matrix-vector product gains little from more, and threads that wait for
        each other on a busy machine cost several times the scan).
        """
        matrix = self._matrix()
        n = len(matrix)
        skip_q, skip_id = skipped
        block = max(1, SCORE_BLOCK // max(n, 1))
        threads = 1 if len(queries) <= FEW_QUERIES else None
        parts = []
        with _blas_threads(threads):
            for start in range(0, len(queries), block):
                stop = min(start + block, len(queries))
                table = queries[start:stop] @ matrix.T  # [B, N]
                if keep is not None:
                    table[:, ~keep] = -np.inf
                inside = (skip_q >= start) & (skip_q < stop)
                table[skip_q[inside] - start, skip_id[inside]] = -np.inf
                table[np.isnan(table)] = -np.inf
                rows, ids, scores = _best(table, queries[start:stop], matrix, k)
                parts.append((rows + start, ids, scores))
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
        rows, ids, scores = (np.concatenate(column) for column in zip(*parts, strict=True))
        return rows, ids, scores

    def _results(
        self,
        queries: npt.NDArray[np.int64],
        ids: npt.NDArray[np.int64],
        scores: npt.NDArray[np.float64],
    ) -> gpd.GeoDataFrame:
        """The result table of ``[M]`` query numbers, ids and scores, query by query, best first."""
        rank = np.arange(len(queries)) - np.searchsorted(queries, queries)
        columns: dict[str, object] = {"query": queries, "rank": rank, "id": ids, "score": scores}
        for name in WINDOW_COLUMNS:  # one take per column: the frame is built once, in order
            columns[name] = self.windows[name].array.take(ids)
        columns["geometry"] = self.windows.geometry.array.take(ids)
        return gpd.GeoDataFrame(columns, geometry="geometry", crs=self.windows.crs)

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
