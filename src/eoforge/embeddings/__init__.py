"""Window embeddings at scale: embed scenes, search windows by example, cluster them into maps.

* :func:`embed`: one vector per window of each scene with an embedding bundle,
  through the prediction engine (GeoParquet and/or Zarr, resumable, Dask);
* :func:`read_tables`: embedding files of one model as one table;
* :class:`EmbeddingIndex`, :func:`build_index`, :func:`open_index`: exact
  cosine-similarity search (FAISS) by window, by point or by vector;
* :func:`cluster_embeddings`: k-means into a typology map (COG with a colour
  table) and per-cluster statistics.

Vectors of different models are never combined: every table and index carries
the fingerprint of the bundle that made it.
"""

from eoforge.embeddings.cluster import Clustering, ClusterStats, cluster_embeddings, kmeans
from eoforge.embeddings.embed import embed
from eoforge.embeddings.index import EmbeddingIndex, build_index, open_index
from eoforge.embeddings.table import EmbeddingTable, Lattice, read_tables
from eoforge.predict.identity import ModelIdentity, bundle_identity

__all__ = [
    "ClusterStats",
    "Clustering",
    "EmbeddingIndex",
    "EmbeddingTable",
    "Lattice",
    "ModelIdentity",
    "build_index",
    "bundle_identity",
    "cluster_embeddings",
    "embed",
    "kmeans",
    "open_index",
    "read_tables",
]
