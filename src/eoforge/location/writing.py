"""Location embeddings written to a file: GeoParquet (points + vectors) or CSV.

Files are written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import shapely

from eoforge.errors import ConfigError
from eoforge.predict.tables import GeoParquetWriter

FORMATS = (".parquet", ".csv")


def write_location_embeddings(
    points: npt.NDArray[np.float64],
    vectors: npt.NDArray[np.float32],
    out: str | os.PathLike[str],
) -> Path:
    """Write places and their embeddings.

    Args:
        points: ``[N, 2]`` longitude and latitude, degrees.
        vectors: ``[N, D]`` embeddings, row ``i`` of ``points[i]``.
        out: ``.parquet`` (GeoParquet: WGS84 point ``geometry``, ``lon``, ``lat`` and an
            ``embedding`` column of fixed-size float32 lists) or ``.csv`` (``lon``,
            ``lat``, ``e0`` .. ``e{D-1}``).

    Returns:
        The file written.

    Raises:
        ConfigError: Another suffix, or rows that do not pair up.
    """
    target = Path(out)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(
            f"cannot write location embeddings as {suffix or 'a file without suffix'}.",
            path=target,
            fix=f"end --out with {' or '.join(FORMATS)}.",
        )
    if len(points) != len(vectors):
        raise ConfigError(f"{len(points)} places but {len(vectors)} embeddings.", path=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        _write_parquet(points, vectors, target)
        return target
    partial = target.with_name(f".{target.name}.partial")
    try:
        columns = {f"e{i}": vectors[:, i] for i in range(vectors.shape[1])}
        frame = pd.DataFrame({"lon": points[:, 0], "lat": points[:, 1], **columns})
        frame.to_csv(partial, index=False)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _write_parquet(
    points: npt.NDArray[np.float64], vectors: npt.NDArray[np.float32], path: Path
) -> None:
    fields = [
        pa.field("lon", pa.float64()),
        pa.field("lat", pa.float64()),
        pa.field("embedding", pa.list_(pa.float32(), int(vectors.shape[1]))),
    ]
    with GeoParquetWriter(path, "EPSG:4326", fields, ["Point"]) as writer:
        columns = {"lon": points[:, 0], "lat": points[:, 1], "embedding": list(vectors)}
        geometries = np.asarray(shapely.points(points[:, 0], points[:, 1]), dtype=object)
        writer.write(columns, geometries)
        writer.publish()
