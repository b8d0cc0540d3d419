"""``eoforge.location.encode``, reading places, bundles, and ``eoforge location encode``."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import torch
from tests.helpers import run_cli
from tests.location.places import image_bundle

from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.location import (
    LocationBundle,
    LocationImageModel,
    LocationSpec,
    check_points,
    encode,
    load_location_bundle,
    read_points,
    save_location_bundle,
)
from eoforge.location.writing import write_location_embeddings

SPEC = LocationSpec(degree=6, hidden=16, layers=1, dim=8)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A location bundle of a freshly initialised encoder (no training needed here)."""
    model = LocationImageModel(SPEC, image_dim=12)
    return save_location_bundle(
        tmp_path / "location", model, LocationBundle(encoder=SPEC, image_dim=12, temperature=0.07)
    )


def test_encode_takes_scalars_and_arrays(bundle: Path) -> None:
    one = encode(2.35, 48.85, bundle=bundle)
    assert one.shape == (1, 8) and one.dtype == np.float32
    many = encode(np.array([2.35, -74.0, 180.0]), np.array([48.85, 40.7, 0.0]), bundle=bundle)
    assert many.shape == (3, 8) and np.allclose(many[0], one[0])
    assert np.allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-5)
    assert np.allclose(encode(-180.0, 0.0, bundle=bundle), many[2:], atol=1e-6)  # same place
    raw = encode(2.35, 48.85, bundle=bundle, normalize=False)
    assert np.allclose(raw / np.linalg.norm(raw), one, atol=1e-6)
    loaded = load_location_bundle(bundle)
    with torch.no_grad():
        expected = loaded.model.encoder(torch.tensor([[2.35, 48.85]], dtype=torch.float64))
    assert np.allclose(raw, expected.numpy(), atol=1e-6)
    assert encode([], [], bundle=loaded).shape == (0, 8)


@pytest.mark.parametrize(
    ("lon", "lat", "match"),
    [
        (0.0, 91.0, r"latitude 91\.0, outside \[-90, 90\]"),
        ([0.0, 1.0], [0.0, -90.5], r"point 1 has latitude -90\.5"),
        (float("nan"), 0.0, "not finite"),
        (0.0, float("inf"), "not finite"),
        ([0.0, 1.0, 2.0], [0.0, 1.0], "matching shapes"),
        ("east", 0.0, "matching shapes"),
    ],
)
def test_bad_coordinates_are_named(bundle: Path, lon: object, lat: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        encode(lon, lat, bundle=bundle)  # type: ignore[arg-type]


def test_points_from_csv_parquet_and_geoparquet(tmp_path: Path) -> None:
    pd.DataFrame({"Longitude": [2.35, -74.0], "Latitude": [48.85, 40.7]}).to_csv(
        tmp_path / "p.csv", index=False
    )
    assert np.allclose(read_points(tmp_path / "p.csv"), [[2.35, 48.85], [-74.0, 40.7]])
    pd.DataFrame({"lon": [10.0], "lat": [-5.0]}).to_parquet(tmp_path / "p.parquet")
    assert np.allclose(read_points(tmp_path / "p.parquet"), [[10.0, -5.0]])
    utm = gpd.GeoDataFrame(geometry=[shapely.Point(500000, 0)], crs="EPSG:32631")
    utm.to_parquet(tmp_path / "utm.parquet")
    assert np.allclose(read_points(tmp_path / "utm.parquet"), [[3.0, 0.0]], atol=1e-9)
    assert np.allclose(check_points(1.0, [2.0, 3.0]), [[1.0, 2.0], [1.0, 3.0]])


def test_bad_points_files_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError):
        read_points(tmp_path / "nowhere.csv")
    (tmp_path / "p.txt").write_text("1 2\n")
    with pytest.raises(UnreadableFileError, match=r"\.csv or \.parquet"):
        read_points(tmp_path / "p.txt")
    pd.DataFrame({"a": [1.0], "b": [2.0]}).to_csv(tmp_path / "cols.csv", index=False)
    with pytest.raises(UnreadableFileError, match="name the columns lon and lat"):
        read_points(tmp_path / "cols.csv")
    pd.DataFrame({"lon": [5.0, 6.0], "lat": [45.0, 4500000.0]}).to_csv(tmp_path / "m.csv")
    with pytest.raises(ConfigError, match=r"m\.csv: point 1 has latitude 4500000\.0"):
        read_points(tmp_path / "m.csv")


def test_bundle_checks(bundle: Path, tmp_path: Path) -> None:
    again = LocationImageModel(SPEC, image_dim=12)
    with torch.no_grad():
        again.image_projection.bias.fill_(0.5)
    info = LocationBundle(encoder=SPEC, image_dim=12, temperature=0.07)
    save_location_bundle(bundle, again, info)  # replaces the bundle there
    reloaded = load_location_bundle(bundle).model.image_projection.bias
    assert torch.equal(reloaded, torch.full((8,), 0.5))
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["location"]  # nothing left over
    image = image_bundle(tmp_path / "image")
    with pytest.raises(ConfigError, match=r"not a location bundle \(a embedding model bundle"):
        load_location_bundle(image)
    with pytest.raises(MissingFileError):
        load_location_bundle(tmp_path / "nothing")
    info = json.loads((bundle / "bundle.json").read_text())
    (bundle / "bundle.json").write_text(json.dumps({**info, "image_dim": 13}))
    with pytest.raises(ConfigError, match="weights do not match"):
        load_location_bundle(bundle)
    (bundle / "bundle.json").write_text(json.dumps({**info, "format_version": 9}))
    with pytest.raises(ConfigError, match="format_version 9"):
        load_location_bundle(bundle)
    with pytest.raises(ConfigError, match="not a bundle folder"):
        (tmp_path / "busy").mkdir()
        (tmp_path / "busy" / "notes.txt").write_text("mine")
        save_location_bundle(tmp_path / "busy", LocationImageModel(SPEC, 12), LocationBundle(
            encoder=SPEC, image_dim=12, temperature=0.07))  # fmt: skip


def test_command_line_encodes_a_points_file(
    bundle: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pd.DataFrame({"lon": [2.35, 179.99], "lat": [48.85, -17.0]}).to_csv(
        tmp_path / "places.csv", index=False
    )
    monkeypatch.chdir(tmp_path)
    # the real entry point in this process (a subprocess paid a fresh interpreter and imports)
    code = run_cli(["location", "encode", str(bundle), "--points", "places.csv", "--out",
                    "emb.parquet"], monkeypatch)  # fmt: skip
    done = capsys.readouterr()
    assert code == 0, done.err
    assert "wrote emb.parquet (2 places, 8 values each)" in done.out
    table = gpd.read_parquet(tmp_path / "emb.parquet")
    assert table.crs == "EPSG:4326" and list(table["lon"]) == [2.35, 179.99]
    vectors = np.stack(table["embedding"].to_numpy())
    assert np.allclose(vectors, encode([2.35, 179.99], [48.85, -17.0], bundle=bundle), atol=1e-6)
    write_location_embeddings(read_points(tmp_path / "places.csv"), vectors, tmp_path / "e.csv")
    columns = ["lon", "lat"] + [f"e{i}" for i in range(8)]
    assert list(pd.read_csv(tmp_path / "e.csv").columns) == columns

    pd.DataFrame({"lon": [2.0], "lat": [95.0]}).to_csv(tmp_path / "bad.csv", index=False)
    code = run_cli(["location", "encode", str(bundle), "--points", "bad.csv", "--out",
                    "x.parquet"], monkeypatch)  # fmt: skip
    assert code == 2
    assert "bad.csv: point 0 has latitude 95.0" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "x.parquet").exists()
