"""What makes embedding tables cheap to write: float columns without dictionary pages, and a
bundle's weights hashed once per process while the file is unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from tests.embeddings.windows import embedding_bundle

from eoforge.models import build_model, read_bundle_json, save_bundle
from eoforge.predict.identity import bundle_identity
from eoforge.predict.tables import GeoParquetWriter


def test_floats_are_written_plainly_and_the_rest_with_dictionaries(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    fields = [
        pa.field("name", pa.string()),
        pa.field("valid", pa.float32()),
        pa.field("embedding", pa.list_(pa.float32(), 16)),
    ]
    path = tmp_path / "t.parquet"
    with GeoParquetWriter(path, "EPSG:32631", fields, ["Point"]) as writer:
        writer.write(
            {
                "name": ["forest", "water", "urban"] * 100,
                "valid": rng.uniform(size=300).astype(np.float32),
                "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), 16),
            },
            shapely.points(rng.uniform(size=(300, 2))),
        )
        writer.publish()
    chunks = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {
        chunks.column(i).path_in_schema.split(".")[0]: chunks.column(i).encodings
        for i in range(chunks.num_columns)
    }
    assert "RLE_DICTIONARY" in encodings["name"]
    for name in ("valid", "embedding", "geometry"):
        assert not any("DICTIONARY" in e for e in encodings[name]), (name, encodings[name])
    table = gpd.read_parquet(path)
    np.testing.assert_array_equal(np.stack(table.embedding), vectors)
    assert list(table.name[:3]) == ["forest", "water", "urban"]


def test_a_rewritten_weights_file_gets_another_fingerprint(tmp_path: Path) -> None:
    folder = embedding_bundle(tmp_path / "b", seed=0)
    first = bundle_identity([folder])
    assert bundle_identity([folder]) == first  # kept: the file is unchanged
    info = read_bundle_json(folder)
    other = embedding_bundle(tmp_path / "other", seed=1)
    weights = folder / "weights.safetensors"
    stamp = weights.stat()
    os.replace(other / "weights.safetensors", weights)  # same size, another inode and time
    assert weights.stat().st_size == stamp.st_size
    second = bundle_identity([folder]).fingerprint
    assert second != first.fingerprint
    # retraining in place (save_bundle over the folder: new random weights) changes it again
    save_bundle(folder, build_model(info.model), info)
    assert bundle_identity([folder]).fingerprint not in {first.fingerprint, second}
