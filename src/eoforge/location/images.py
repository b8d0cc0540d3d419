"""Windows in a location bundle's space: the image vectors of embedding tables, projected.

``encode_images(tables, bundle=...)`` projects the vectors of tables written
by ``eoforge embed`` with the bundle's image projection, so windows and
places (:func:`~eoforge.location.api.encode`) compare by dot product. Tables
of another image model than the one the bundle was trained against are
refused. Kept out of the package's top level: reading tables brings in the
embeddings package (FAISS, Dask), which configs and ``encode`` do not need.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch

from eoforge.embeddings.table import EmbeddingTable, read_tables
from eoforge.errors import ConfigError
from eoforge.location.api import BundleLike
from eoforge.location.bundle import LoadedLocation, load_location_bundle
from eoforge.predict.identity import ModelIdentity, same_model


def encode_images(
    tables: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | EmbeddingTable,
    *,
    bundle: BundleLike,
    batch: int = 65536,
) -> npt.NDArray[np.float32]:
    """Project the image vectors of embedding tables into a location bundle's space.

    Args:
        tables: Embedding tables written by ``eoforge embed`` (or one already read).
        bundle: A location bundle folder, or one already loaded.
        batch: Vectors per forward pass.

    Returns:
        ``[N, D]`` float32 unit vectors, one per window in table order; compare them with
        :func:`encode`'s vectors by dot product.

    Raises:
        ConfigError: The tables come from another image model than the bundle was trained
            against, or their vectors have another length.
    """
    table = tables if isinstance(tables, EmbeddingTable) else read_tables(tables)
    loaded = bundle if isinstance(bundle, LoadedLocation) else load_location_bundle(bundle)
    info = loaded.bundle
    where = bundle if not isinstance(bundle, LoadedLocation) else "the location bundle"
    if info.image_model is not None:
        same_model(
            ModelIdentity.from_dict(info.image_model),
            table.model,
            what=f"the location bundle {where} (trained against image vectors)",
            fix="embed the scenes with the image bundle the location encoder was trained "
            "against (bundle.json: image_model).",
        )
    if table.dim != info.image_dim:
        raise ConfigError(
            f"the tables hold vectors of {table.dim} values; the location bundle {where} "
            f"projects {info.image_dim}.",
            fix="embed the scenes with the image bundle the location encoder was trained against.",
        )
    model = loaded.model.eval()
    parts = [np.zeros((0, info.encoder.dim), dtype=np.float32)]
    with torch.no_grad():
        for start in range(0, len(table.vectors), max(1, batch)):
            chunk = torch.from_numpy(table.vectors[start : start + batch])
            parts.append(model.embed_images(chunk).float().numpy())
    return np.concatenate(parts)
