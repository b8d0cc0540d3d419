"""SkyScript: image archives and caption CSVs in, per-split images/ and captions.csv out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.datasets.fixtures import bigearthnet_txt, chatearthnet, gaia, skyscript
from tests.datasets.prepared import download_and_prepare

from eoforge.datasets import get
from eoforge.datasets.prepare import prepare
from eoforge.errors import ConfigError, MissingFileError


def _captions(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_skyscript_entry_is_complete() -> None:
    entry = get("skyscript")
    assert entry.task == "image_text" and not entry.trainable
    assert "image-text" in entry.later
    archives = [f for f in entry.files if f.extract]
    assert [f.filename for f in archives] == [f"images{i}.zip" for i in range(2, 8)]
    assert all(f.md5 and f.url.endswith(f.filename) for f in archives)
    csvs = {f.splits: f for f in entry.files if not f.extract}
    assert set(csvs) == {("train",), ("val",), ("test",)}
    assert all(f.checksum is None and "first download" in f.checksum_source for f in csvs.values())


def test_skyscript_prepare_links_images_and_writes_captions(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("skyscript"), skyscript.write, tmp_path)
    assert done.unit == "images"
    assert (
        {s.name: s.count for s in done.splits}
        == fixture.counts
        == {
            "train": 3,
            "val": 1,
            "test": 2,
        }
    )
    assert all(s.class_counts == {} for s in done.splits) and done.unassigned == 0
    train = done.splits[0].path
    assert sorted(p.name for p in (train / "images").iterdir()) == [
        "a198234555_CH_19.jpg",
        "w602363451_US_21.jpg",
        "w779523169_CH_18.jpg",
    ]
    rows = _captions(train / "captions.csv")
    assert [r["image"] for r in rows] == [
        "w779523169_CH_18.jpg",
        "w602363451_US_21.jpg",
        "a198234555_CH_19.jpg",
        "w779523169_CH_18.jpg",
    ]
    assert rows[0]["caption"] == "a satellite image of a house, with a garden"
    assert rows[1]["caption"] == 'a satellite image of a "mall"'
    assert rows[2]["caption"].endswith("Zürich")
    # the val image of the same name is the one from images4, linked not copied
    val_image = done.splits[1].path / "images" / "w779523169_CH_18.jpg"
    extracted = done.folder / "extracted" / "images4" / "images4" / "w779523169_CH_18.jpg"
    assert val_image.samefile(extracted)
    assert not any(p.name.startswith(".") for p in train.iterdir())
    assert json.loads(done.manifest.read_text())["data"] == {}


def test_skyscript_caption_naming_a_missing_image_is_refused(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("skyscript"), skyscript.write, tmp_path)
    val = done.folder / "SkyScript_val_5K_filtered_by_CLIP_openai.csv"
    val.write_text(val.read_text() + 'images3/w000_US_21.jpg,"a lost image","x",0.1\n')
    with pytest.raises(MissingFileError, match=r"line 3 of SkyScript_val_5K.*w000_US_21\.jpg"):
        prepare(done.entry, tmp_path / "data")


def test_skyscript_csv_without_the_caption_column_is_refused(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("skyscript"), skyscript.write, tmp_path)
    test = done.folder / "SkyScript_test_30K_filtered_by_CLIP_openai.csv"
    test.write_text("filepath,caption\nimages5/w602363451_US_21.jpg,a parking lot\n")
    with pytest.raises(ConfigError, match=r"SkyScript_test_30K.*no column 'title'"):
        prepare(done.entry, tmp_path / "data")


def test_gaia_entry_is_complete() -> None:
    entry = get("gaia")
    assert entry.task == "image_text" and not entry.trainable and entry.data_kind is None
    assert "image-text" in entry.later
    assert {f.filename: f.splits for f in entry.files} == {
        "train_data.json": ("train",),
        "val_data.json": ("val",),
        "test_data.json": ("test",),
    }
    assert all(
        f.url == f"https://huggingface.co/datasets/azavras/GAIA/resolve/main/{f.filename}"
        and f.checksum is None
        and "first download" in f.checksum_source
        and not f.extract
        for f in entry.files
    )
    assert "NOT distributed" in entry.notes


def test_gaia_prepare_writes_keyed_captions(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("gaia"), gaia.write, tmp_path)
    assert done.unit == "images" and done.unassigned == 0
    assert (
        {s.name: s.count for s in done.splits}
        == fixture.counts
        == {
            "train": 3,
            "val": 1,
            "test": 2,
        }
    )
    assert all(s.class_counts == {} for s in done.splits)
    train = done.splits[0].path
    assert sorted(p.name for p in train.iterdir()) == ["captions.csv"]  # no images published
    rows = _captions(train / "captions.csv")
    assert list(rows[0]) == ["id", "image_src", "caption"]
    assert len(rows) == 15  # five captions per record, repeats kept
    assert [r["id"] for r in rows[:6]] == ["esa_0001"] * 5 + ["nasa_eo_1187"]
    assert rows[0]["image_src"].endswith("/esa_0001.jpg")
    assert rows[1]["caption"] == 'Scene esa_0001: the "lagoon" of Venice seen by Sentinel-2.'
    assert rows[2]["caption"] == "Scene esa_0001 over São Paulo shows dense urban fabric."
    assert rows[5]["image_src"] == (
        "https://eoimages.gsfc.nasa.gov/images/imagerecords/nasa_eo_1187.jpg"
    )
    test_rows = _captions(done.splits[2].path / "captions.csv")
    assert sorted({r["id"] for r in test_rows}) == ["esa_0902", "nasa_eo_2001"]
    assert json.loads(done.manifest.read_text())["data"] == {}


def test_gaia_json_lines_are_read(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("gaia"), gaia.write, tmp_path)
    val = done.folder / "val_data.json"
    records = json.loads(val.read_text(encoding="utf-8"))
    records.append(gaia.record("esa_0311", 1))
    val.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    again = prepare(done.entry, tmp_path / "data")
    assert {s.name: s.count for s in again.splits}["val"] == 2


def test_gaia_record_without_captions_is_refused(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("gaia"), gaia.write, tmp_path)
    test = done.folder / "test_data.json"
    records = json.loads(test.read_text(encoding="utf-8"))
    records[1]["captions"] = []
    test.write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"record 2 of test_data\.json.*'nasa_eo_2001'.*captions"):
        prepare(done.entry, tmp_path / "data")


def test_gaia_repeated_id_is_refused(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("gaia"), gaia.write, tmp_path)
    train = done.folder / "train_data.json"
    records = json.loads(train.read_text(encoding="utf-8"))
    records[2]["id"] = "esa_0001"
    train.write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"records 1 and 3 of train_data\.json.*'esa_0001'"):
        prepare(done.entry, tmp_path / "data")


def test_gaia_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("gaia"), gaia.write, tmp_path)
    (done.folder / "val_data.json").write_text("<html>rate limited</html>\n")
    with pytest.raises(ConfigError, match=r"val_data\.json is not JSON"):
        prepare(done.entry, tmp_path / "data")


def test_bigearthnet_txt_entry_is_complete() -> None:
    entry = get("bigearthnet-txt")
    assert entry.task == "image_text" and not entry.trainable and entry.family is None
    assert "image-text" in entry.later
    (file,) = entry.files
    assert file.url == (
        "https://huggingface.co/datasets/BIFOLD-BigEarthNetv2-0/BigEarthNet.txt/resolve/main/"
        "BigEarthNet.txt.parquet"
    )
    assert file.checksum is None and "first download" in file.checksum_source
    assert entry.splits == ("train", "validation", "test")
    assert "bigearthnet-v2" in entry.notes and get("bigearthnet-v2").bands == entry.bands


def test_bigearthnet_txt_prepare_writes_keyed_captions(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("bigearthnet-txt"), bigearthnet_txt.write, tmp_path)
    assert done.unit == "patches" and done.unassigned == 0
    assert (
        {s.name: s.count for s in done.splits}
        == fixture.counts
        == {
            "train": 2,
            "validation": 1,
            "test": 1,
        }
    )
    assert all(s.class_counts == {} for s in done.splits)
    train = done.splits[0].path
    assert sorted(p.name for p in train.iterdir()) == ["captions.csv"]  # images not published
    rows = _captions(train / "captions.csv")
    assert list(rows[0]) == ["patch_id", "s1_name", "caption"]
    a, b = bigearthnet_txt.S2["a"], bigearthnet_txt.S2["b"]
    assert [r["patch_id"] for r in rows] == [a, a, b]  # captioning rows only, file order
    assert rows[0]["s1_name"] == bigearthnet_txt.S1["a"]
    assert rows[1]["caption"] == 'Pastures, "arable land" and a small village.'
    test_rows = _captions(done.splits[2].path / "captions.csv")
    assert [r["patch_id"] for r in test_rows] == [bigearthnet_txt.S2["d"]]
    assert json.loads(done.manifest.read_text())["data"] == {}


def test_bigearthnet_txt_other_split_values_are_unassigned(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("bigearthnet-txt"), bigearthnet_txt.write, tmp_path)
    rows = [*bigearthnet_txt.ROWS, ("e", "captioning", "benchmark", "Lakes and forest.")]
    rows.append(("a", "captioning", "benchmark", "Forest and pastures."))  # also in train
    pq.write_table(bigearthnet_txt.table(rows), done.folder / bigearthnet_txt.FILE)
    again = prepare(done.entry, tmp_path / "data")
    assert again.unassigned == 1
    assert {s.name: s.count for s in again.splits} == {"train": 2, "validation": 1, "test": 1}


def test_bigearthnet_txt_caption_without_patch_is_refused(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("bigearthnet-txt"), bigearthnet_txt.write, tmp_path)
    path = done.folder / bigearthnet_txt.FILE
    table = bigearthnet_txt.table()
    patches = table.column("patch_id").to_pylist()
    patches[4] = ""
    pq.write_table(table.set_column(2, "patch_id", pa.array(patches)), path)
    with pytest.raises(ConfigError, match=r"row ID 1004 of BigEarthNet\.txt\.parquet.*patch_id"):
        prepare(done.entry, tmp_path / "data")


def test_bigearthnet_txt_without_a_column_is_refused(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("bigearthnet-txt"), bigearthnet_txt.write, tmp_path)
    path = done.folder / bigearthnet_txt.FILE
    pq.write_table(bigearthnet_txt.table().drop_columns(["split"]), path)
    with pytest.raises(ConfigError, match=r"BigEarthNet\.txt\.parquet has no column split"):
        prepare(done.entry, tmp_path / "data")
    path.write_text("<html>not found</html>")
    with pytest.raises(ConfigError, match=r"BigEarthNet\.txt\.parquet is not a Parquet file"):
        prepare(done.entry, tmp_path / "data")


def test_chatearthnet_entry_is_complete() -> None:
    entry = get("chatearthnet")
    assert entry.task == "image_text" and not entry.trainable and "image-text" in entry.later
    assert [(f.filename, f.md5, f.extract) for f in entry.files] == [
        ("json_files.zip", "ac365a328d645641ca28315bee9e1d25", True),
        ("s2_rgb_images.zip", "5425015e2537271044341403e8d90965", True),
    ]
    assert all(
        f.url == f"https://zenodo.org/records/11003436/files/{f.filename}"
        and "Zenodo" in f.checksum_source
        for f in entry.files
    )
    assert entry.bands == ("S2.B04", "S2.B03", "S2.B02") and entry.gsd == 10.0


def test_chatearthnet_prepare_links_images_and_writes_captions(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("chatearthnet"), chatearthnet.write, tmp_path)
    assert done.unit == "images" and done.unassigned == 0
    assert (
        {s.name: s.count for s in done.splits}
        == fixture.counts
        == {
            "train": 3,
            "val": 1,
            "test": 2,
        }
    )
    assert all(s.class_counts == {} for s in done.splits)
    train = done.splits[0].path
    assert sorted(p.name for p in (train / "images").iterdir()) == chatearthnet.IMAGES["train"]
    rows = _captions(train / "captions.csv")
    assert [r["image"] for r in rows] == chatearthnet.IMAGES["train"]  # 4V captions not read
    assert rows[0]["caption"] == chatearthnet.caption("s2_000017.png").strip()
    extracted = done.folder / "extracted" / "s2_rgb_images" / "s2_images" / "s2_052311.png"
    assert (done.splits[1].path / "images" / "s2_052311.png").samefile(extracted)
    assert json.loads(done.manifest.read_text())["data"] == {}


def test_chatearthnet_record_naming_a_missing_image_is_refused(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("chatearthnet"), chatearthnet.write, tmp_path)
    path = done.folder / "extracted" / "json_files" / "json_files" / "ChatEarthNet_caps_35_val.json"
    path.write_text(
        json.dumps([*chatearthnet.records("val"), {"image": "s2_images/x.png", "caption": "c"}])
    )
    with pytest.raises(MissingFileError, match=r"ChatEarthNet_caps_35_val\.json.*'x\.png'"):
        prepare(done.entry, tmp_path / "data")


def test_chatearthnet_record_without_caption_is_refused(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("chatearthnet"), chatearthnet.write, tmp_path)
    folder = done.folder / "extracted" / "json_files" / "json_files"
    records = chatearthnet.records("test")
    records[1]["caption"] = "  "
    (folder / "ChatEarthNet_caps_35_test.json").write_text(json.dumps(records))
    with pytest.raises(ConfigError, match=r"record 2 of ChatEarthNet_caps_35_test\.json"):
        prepare(done.entry, tmp_path / "data")
    (folder / "ChatEarthNet_caps_35_test.json").unlink()
    with pytest.raises(MissingFileError, match=r"no ChatEarthNet_caps_35_test\.json"):
        prepare(done.entry, tmp_path / "data")
