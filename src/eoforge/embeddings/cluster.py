"""Clustering window embeddings into a typology map with per-cluster statistics.

The vectors of one model (one or more scenes) are L2-normalised, as for the
cosine search of :mod:`.index`, and grouped by scikit-learn's k-means with
k-means++ seeding and a fixed seed (several restarts, the lowest inertia
kept; k-means++ finds well separated groups where FAISS's random starts
can merge two of them). Each window
then takes its nearest centroid, every centroid becomes the mean of its
windows, and clusters are numbered by size, largest first (ties: the cluster
holding the lowest row id first), so the numbering is reproducible.

The typology map of a scene is a COG with one pixel per window of the
lattice: pixel ``(i, j)`` is the window starting at ``(i * stride, j *
stride)`` and covers its central ``stride x stride`` input pixels, so the
pixels tile the windows' area edge to edge (minus a margin of ``(window -
stride) / 2`` px around the scene) at the resolution of the stride. Values
are cluster ids with a colour table and ``CLASS_<id> = cluster <id>`` tags,
as eoforge's class maps; 255 is nodata.

Statistics per cluster: number of windows, area in km² (the map pixels'
area; geodesic on geographic grids), mean Euclidean distance of the
normalised vectors to their centroid, and, given land-cover labels (a class
raster or a vector layer, :mod:`.labels`), the share of each label class
among the labelled input pixels under the cluster's map pixels. Written as
``clusters.json`` and ``clusters.csv``, with the windows' assignments
(``clusters.parquet``) and the centroids (``centroids.npy``).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
import shapely
from affine import Affine
from matplotlib import colormaps
from pyproj import CRS, Geod
from sklearn.cluster import KMeans

from eoforge.classes import ClassInfo, hex_color
from eoforge.embeddings.index import normalized
from eoforge.embeddings.labels import UNLABELLED, LabelLayer
from eoforge.embeddings.table import EmbeddingTable, Lattice, read_tables
from eoforge.errors import ConfigError
from eoforge.predict.cog import write_cog

PathLike = str | os.PathLike[str]

NODATA = 255
MAX_CLUSTERS = 254


@dataclass(frozen=True)
class ClusterStats:
    """Statistics of one cluster.

    Attributes:
        id: Cluster id (value in the typology maps).
        name: ``cluster <id>``.
        color: ``#rrggbb`` colour in the maps' colour table.
        count: Windows in the cluster.
        area_km2: Area of its map pixels, km².
        mean_distance: Mean Euclidean distance of its normalised vectors to the centroid.
        land_cover: Label class name → share of the labelled pixels under its map
            pixels (empty without labels).
    """

    id: int
    name: str
    color: str
    count: int
    area_km2: float
    mean_distance: float
    land_cover: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (an entry of ``clusters.json``)."""
        return dataclasses.asdict(self)


@dataclass
class Clustering:
    """What :func:`cluster_embeddings` computed and wrote.

    Attributes:
        labels: ``[N]`` cluster id of each window (row id order).
        distances: ``[N]`` distance of each normalised vector to its centroid.
        centroids: ``[k, D]`` cluster means of the normalised vectors.
        clusters: Cluster names and colours.
        stats: One entry per cluster, in id order.
        maps: Scene name → its typology COG.
        files: ``json``, ``csv``, ``assignments`` (GeoParquet of the windows with
            ``cluster`` and ``distance``) and ``centroids`` (``.npy``).
    """

    labels: npt.NDArray[np.int64]
    distances: npt.NDArray[np.float32]
    centroids: npt.NDArray[np.float32]
    clusters: list[ClassInfo]
    stats: list[ClusterStats]
    maps: dict[str, Path]
    files: dict[str, Path]


def kmeans(
    vectors: npt.NDArray[np.float32],
    k: int,
    seed: int = 0,
    iterations: int = 100,
    restarts: int = 4,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Deterministic k-means of normalised ``vectors``, clusters numbered by size.

    Returns:
        ``(labels [N], distances [N], centroids [k, D])``.

    Raises:
        ConfigError: ``k`` is out of 1..254 or larger than the number of vectors.
    """
    x = normalized(vectors)
    if not 1 <= k <= min(MAX_CLUSTERS, len(x)):
        raise ConfigError(
            f"cannot make {k} clusters of {len(x)} windows.",
            fix=f"give k between 1 and {min(MAX_CLUSTERS, len(x))}.",
        )
    model = KMeans(k, init="k-means++", n_init=restarts, max_iter=iterations, random_state=seed)
    raw = model.fit_predict(x).astype(np.int64)
    counts = np.bincount(raw, minlength=k)
    first = np.full(k, len(x))
    np.minimum.at(first, raw, np.arange(len(x)))
    order = sorted(range(k), key=lambda c: (-counts[c], first[c]))
    relabel = np.empty(k, np.int64)
    relabel[order] = np.arange(k)
    labels = relabel[raw]
    centroids = np.zeros((k, x.shape[1]), np.float32)
    np.add.at(centroids, labels, x)
    sizes = np.bincount(labels, minlength=k)
    centroids /= np.maximum(sizes, 1)[:, None]
    trained = np.asarray(model.cluster_centers_, np.float32)[order]
    centroids[sizes == 0] = trained[sizes == 0]
    distances = np.linalg.norm(x - centroids[labels], axis=1).astype(np.float32)
    return labels, distances, centroids


def cluster_colors(k: int) -> list[ClassInfo]:
    """``cluster 0`` .. ``cluster k-1`` with distinct colours (tab10/tab20, else a hue wheel)."""
    if k <= 10:
        rgb = [colormaps["tab10"](i)[:3] for i in range(k)]
    elif k <= 20:
        rgb = [colormaps["tab20"](i)[:3] for i in range(k)]
    else:
        rgb = [colormaps["hsv"](i / k)[:3] for i in range(k)]
    return [
        ClassInfo(id=i, name=f"cluster {i}", color=hex_color([round(255 * v) for v in c]))
        for i, c in enumerate(rgb)
    ]


def cluster_embeddings(
    tables: PathLike | Sequence[PathLike] | EmbeddingTable,
    out: PathLike,
    k: int = 8,
    *,
    seed: int = 0,
    labels: PathLike | None = None,
    label_column: str | None = None,
    iterations: int = 100,
) -> Clustering:
    """Cluster the windows of embedding tables; write typology maps and statistics.

    Args:
        tables: ``<scene>_embeddings.parquet`` files of one model (or a read table).
        out: Output folder: ``<scene>_clusters.tif`` per scene, ``clusters.json``,
            ``clusters.csv``, ``clusters.parquet``, ``centroids.npy``.
        k: Number of clusters (1..254).
        seed: k-means seed (same seed, same clusters).
        labels: Land-cover labels for the share of each class per cluster: a class
            raster, or a vector layer with ``label_column``.
        label_column: The vector layer's class column.
        iterations: k-means iterations per restart.

    Raises:
        ConfigError: Tables of different models, windows not on a lattice, a bad ``k``,
            or a vector label layer without ``label_column``.
        MissingFileError: ``labels`` does not exist.
    """
    table = tables if isinstance(tables, EmbeddingTable) else read_tables(tables)
    for lattice in table.lattices:
        if lattice.window is None or lattice.stride is None:
            raise ConfigError(
                "its windows are not on a regular lattice, so they make no map.",
                path=lattice.path,
                fix="embed the scene with eoforge embed (--window, --stride).",
            )
    layer = None if labels is None else LabelLayer(labels, label_column)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    assigned, distances, centroids = kmeans(table.vectors, k, seed, iterations)
    clusters = cluster_colors(k)
    area = np.zeros(k)
    land: list[Counter[str]] = [Counter() for _ in range(k)]
    maps: dict[str, Path] = {}
    for i, lattice in enumerate(table.lattices):
        rows = table.rows_of(i)
        grid = _map(table, rows, assigned[rows], lattice)
        transform = _map_transform(lattice)
        maps[lattice.scene] = _write_map(
            folder / f"{lattice.scene}_clusters.tif", grid, transform, lattice.crs, clusters
        )
        pixel = _pixel_areas(grid.shape, transform, lattice.crs)
        area += np.bincount(grid[grid != NODATA], weights=pixel[grid != NODATA], minlength=k)[:k]
        if layer is not None:
            _land_cover(layer, grid, lattice, transform, land)
    stats = [
        ClusterStats(
            id=c.id,
            name=c.name,
            color=c.color,
            count=int((assigned == c.id).sum()),
            area_km2=float(area[c.id] / 1e6),
            mean_distance=float(distances[assigned == c.id].mean())
            if (assigned == c.id).any()
            else 0.0,
            land_cover=_shares(land[c.id]),
        )
        for c in clusters
    ]
    files = _write_stats(folder, table, k, seed, stats, labels)
    frame = table.windows.copy()
    frame["cluster"] = assigned.astype(np.int16)
    frame["distance"] = distances
    frame.to_parquet(folder / "clusters.parquet", index=False)
    np.save(folder / "centroids.npy", centroids)
    files |= {"assignments": folder / "clusters.parquet", "centroids": folder / "centroids.npy"}
    return Clustering(assigned, distances, centroids, clusters, stats, maps, files)


def lattice_shape(lattice: Lattice) -> tuple[int, int]:
    """``(rows, cols)`` of windows on ``lattice``."""
    assert lattice.window is not None and lattice.stride is not None
    h, w = lattice.shape
    return (
        (h - lattice.window) // lattice.stride + 1,
        (w - lattice.window) // lattice.stride + 1,
    )


def _map(
    table: EmbeddingTable, rows: slice, assigned: npt.NDArray[np.int64], lattice: Lattice
) -> npt.NDArray[np.uint8]:
    assert lattice.stride is not None
    grid = np.full(lattice_shape(lattice), NODATA, np.uint8)
    windows = table.windows.iloc[rows]
    i = windows["row"].to_numpy() // lattice.stride
    j = windows["col"].to_numpy() // lattice.stride
    grid[i, j] = assigned
    return grid


def _map_transform(lattice: Lattice) -> Affine:
    assert lattice.window is not None and lattice.stride is not None
    margin = (lattice.window - lattice.stride) / 2
    return lattice.transform @ Affine.translation(margin, margin) @ Affine.scale(lattice.stride)


def _write_map(
    path: Path,
    grid: npt.NDArray[np.uint8],
    transform: Affine,
    crs: str,
    clusters: list[ClassInfo],
) -> Path:
    profile: dict[str, object] = {
        "driver": "GTiff",
        "height": grid.shape[0],
        "width": grid.shape[1],
        "count": 1,
        "dtype": "uint8",
        "crs": crs,
        "transform": transform,
        "nodata": NODATA,
    }

    def fill(dst: rasterio.io.DatasetWriter) -> None:
        dst.write(grid, 1)
        dst.write_colormap(1, {c.id: c.rgba for c in clusters})
        dst.update_tags(1, **{f"CLASS_{c.id}": c.name for c in clusters})
        dst.set_band_description(1, "cluster")

    return write_cog(path, profile, fill, resampling="nearest")


def _pixel_areas(shape: tuple[int, int], transform: Affine, crs: str) -> npt.NDArray[np.float64]:
    """Area of every map pixel in m² (geodesic on geographic grids)."""
    parsed = CRS.from_user_input(crs)
    if not parsed.is_geographic:
        factor = parsed.axis_info[0].unit_conversion_factor if parsed.axis_info else 1.0
        return np.full(shape, abs(transform.determinant) * factor**2)
    geod = Geod(ellps="WGS84")
    areas = np.empty(shape)
    for r in range(shape[0]):  # the area depends on the latitude, i.e. the row (north-up)
        for c in range(shape[1]):
            x0, y0 = transform @ (c, r)
            x1, y1 = transform @ (c + 1, r + 1)
            areas[r, c] = abs(geod.geometry_area_perimeter(shapely.box(x0, y0, x1, y1))[0])
    return areas


def _land_cover(
    layer: LabelLayer,
    grid: npt.NDArray[np.uint8],
    lattice: Lattice,
    transform: Affine,
    land: list[Counter[str]],
) -> None:
    """Add the label pixels under each map pixel to its cluster's counts, one map row at a time."""
    assert lattice.stride is not None
    s = lattice.stride
    for r in range(grid.shape[0]):
        fine = transform @ Affine.translation(0, r) @ Affine.scale(1 / s)
        strip = layer.read(fine, (s, grid.shape[1] * s), lattice.crs)
        cluster = np.repeat(grid[r].astype(np.int64), s)[None].repeat(s, 0)
        ok = (strip != UNLABELLED) & (cluster != NODATA)
        pairs, counts = np.unique(np.stack([cluster[ok], strip[ok]]), axis=1, return_counts=True)
        for (c, value), n in zip(pairs.T, counts, strict=True):
            land[int(c)][layer.name(int(value))] += int(n)


def _shares(counts: Counter[str]) -> dict[str, float]:
    total = sum(counts.values())
    return {name: counts[name] / total for name in sorted(counts)} if total else {}


def _write_stats(
    folder: Path,
    table: EmbeddingTable,
    k: int,
    seed: int,
    stats: list[ClusterStats],
    labels: PathLike | None,
) -> dict[str, Path]:
    description = {
        "k": k,
        "seed": seed,
        "windows": len(table.windows),
        "model": None if table.model is None else table.model.to_dict(),
        "tables": [str(t.path) for t in table.lattices],
        "labels": None if labels is None else str(labels),
        "clusters": [s.to_dict() for s in stats],
    }
    json_path = folder / "clusters.json"
    json_path.write_text(json.dumps(description, indent=2) + "\n")
    classes = sorted({name for s in stats for name in s.land_cover})
    csv_path = folder / "clusters.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["id", "name", "color", "count", "area_km2", "mean_distance"]
            + [f"share {c}" for c in classes]
        )
        for s in stats:
            writer.writerow(
                [s.id, s.name, s.color, s.count, s.area_km2, s.mean_distance]
                + [s.land_cover.get(c, 0.0) for c in classes]
            )
    return {"json": json_path, "csv": csv_path}
