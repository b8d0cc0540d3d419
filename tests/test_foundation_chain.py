"""Foundation models end to end as a user runs them: pretrain, probe, embed, search, cluster.

The README's section "Foundation models: pretrain, probe, embed, search" is run
as written (its ``probe.yaml`` block saved, its ``eoforge`` commands run in
this process through the real entry point, in a fresh folder), then every
step's outputs are checked: the bundle, the probe reports and their
fingerprint, the embedding table's windows, the searches, the typology COG.
A second bundle's table must be refused by the first one's index. The same
chain runs on the real BigEarthNet patches in ``../shared/data/real/`` when
they are there.
"""

from __future__ import annotations

import contextlib
import glob
import io
import json
import math
import re
import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import torch
import yaml
from pyproj import CRS
from rio_cogeo.cogeo import cog_validate
from tests.helpers import run_cli
from tests.models.test_importers import vit_layout

from eoforge.embeddings import open_index, read_tables
from eoforge.models import load_bundle
from eoforge.predict.identity import bundle_identity

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SECTION = "## Foundation models: pretrain, probe, embed, search"
TABLE = "emb/s2-20240701_embeddings.parquet"
WINDOW_19 = (643730.0, 5068410.0)  # the centre of lattice row 2, column 3 of the probe scene


@dataclass
class Ran:
    """One ``eoforge`` command: its arguments, exit status and what it printed."""

    args: list[str]
    code: int
    out: str
    err: str
    seconds: float


def section() -> str:
    """The README's foundation-model section, heading to the next heading."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION + "\n")
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end >= 0 else len(text)]


def blocks(kind: str) -> list[str]:
    """The section's fenced blocks of one kind (``yaml``, ``bash``), in order."""
    return re.findall(rf"^```{kind}\n(.*?)^```", section(), flags=re.M | re.S)


def commands() -> list[list[str]]:
    """The section's shell commands, as argument lists after ``eoforge``."""
    found = []
    for block in blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                assert words[0] == "eoforge", line
                found.append(words[1:])
    return found


def eoforge(args: list[str], monkeypatch: pytest.MonkeyPatch) -> Ran:
    """Run ``eoforge ARGS`` in this process (globs expanded as a shell would)."""
    expanded: list[str] = []
    for word in args:
        expanded.extend(sorted(glob.glob(word)) or [word] if "*" in word else [word])
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(expanded, monkeypatch, columns=200)
    return Ran(expanded, code, out.getvalue(), err.getvalue(), time.perf_counter() - start)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Ran]]]:
    """The section run in a fresh folder: ``(the folder, each command's result)``.

    ``configs/`` is linked into the folder, as the commands run from a checkout.
    """
    work = tmp_path_factory.mktemp("foundation")
    (work / "configs").symlink_to(ROOT / "configs")
    (yaml_block,) = blocks("yaml")
    (work / "probe.yaml").write_text(yaml_block, encoding="utf-8")
    ran: list[Ran] = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(work)
        for args in commands():
            ran.append(eoforge(args, monkeypatch))
            if ran[-1].code != 0:
                break
        yield work, ran


def _scene_bounds(work: Path) -> rasterio.coords.BoundingBox:
    with rasterio.open(work / "scenes/probe/s2/20240701/S2.B02.tif") as ds:
        assert ds.crs == CRS.from_epsg(32631) and ds.shape == (256, 256)
        return ds.bounds


def test_the_section_lists_the_whole_chain() -> None:
    steps = [args[:2] if args[0] == "embeddings" else args[:1] for args in commands()]
    assert steps == [
        ["synth"], ["synth"], ["train"], ["evaluate"], ["evaluate"], ["embed"],
        ["embeddings", "index"], ["embeddings", "search"], ["embeddings", "search"],
        ["embeddings", "search"], ["embeddings", "cluster"],
    ]  # fmt: skip
    assert yaml.safe_load(blocks("yaml")[0])["data"]["kind"] == "geo"


def test_every_command_succeeds(chain: tuple[Path, list[Ran]]) -> None:
    _, ran = chain
    for step in ran:
        assert step.code == 0, (
            f"eoforge {' '.join(step.args)} ({step.seconds:.0f} s)\n{step.out[-2000:]}{step.err}"
        )
    assert len(ran) == len(commands())
    assert "wrote bundle runs/fm/bundle" in ran[2].out


def test_pretraining_exports_an_embedding_bundle(chain: tuple[Path, list[Ran]]) -> None:
    work, _ = chain
    loaded = load_bundle(work / "runs/fm/bundle")
    bundle = loaded.bundle
    assert bundle.task == "embedding" and bundle.classes == []
    bands = yaml.safe_load((ROOT / "configs/pretrain_synth.yaml").read_text())["data"]["bands"]
    assert bundle.bands == bands and len(bands) == 10
    assert bundle.patch_size == 32 and bundle.gsd == 10.0
    assert bundle.model.arch == "spectral_vit" and bundle.model.options["depth"] == 2
    run = yaml.safe_load((work / "runs/fm/config.yaml").read_text())
    assert run["data"]["train"]["images"] == ["scenes/pretrain"]
    assert (run["task"]["kind"], run["task"]["method"]) == ("pretrain", "simclr")  # the recipe's
    logged = next((work / "runs/fm/logs").glob("version_*/metrics.csv")).read_text()
    losses = [float(v) for line in logged.splitlines()[1:] for v in line.split(",")[1:2] if v]
    header = logged.splitlines()[0].split(",")
    assert "train/loss" in header and "val/loss" in header
    assert losses == [] or all(math.isfinite(v) for v in losses)


def test_probe_reports_carry_the_bundle_fingerprint(chain: tuple[Path, list[Ran]]) -> None:
    work, ran = chain
    fingerprint = bundle_identity([work / "runs/fm/bundle"]).fingerprint
    for probe, step in (("knn", ran[3]), ("linear", ran[4])):
        report = json.loads((work / f"runs/fm/probe_{probe}.json").read_text())
        assert f"wrote runs/fm/probe_{probe}.json" in step.out
        assert report["probe"] == probe and report["data"] == "probe.yaml"
        assert report["bundle"]["fingerprint"] == fingerprint
        assert report["bundle"]["bundles"] == ["runs/fm/bundle"]
        # 128 random training windows; the held-out 64 rows hold 2 x 8 windows of 32 px
        assert (report["n_train"], report["n_val"]) == (128, 16)
        assert report["feature_dim"] == 192 and report["input"]["size"] == 32
        assert report["input"]["normalization"] == "bundle"
        assert report["labels"] == {
            "single": True,
            "multi": True,
            "single_from": "dominant class of the window's labelled pixels",
            "multi_from": "classes covering at least 0.1 of them",
        }
        assert "nodata" not in report["classes"] and "water" in report["classes"]
        metrics = report["metrics"]
        assert set(metrics) == ({"accuracy", "map", "precision_at_10"} if probe == "knn" else
                                {"accuracy", "map"})  # fmt: skip
        assert all(0.0 <= float(v) <= 1.0 for v in metrics.values())
        # the features separate the land cover better than a guess without them
        assert metrics["accuracy"] > report["baseline"]["accuracy"]
        assert metrics["map"] > report["baseline"]["map"]


def test_the_scene_is_embedded_window_by_window(chain: tuple[Path, list[Ran]]) -> None:
    work, ran = chain
    assert f"wrote {TABLE} (64 windows)" in ran[5].out
    bounds = _scene_bounds(work)
    table = gpd.read_parquet(work / TABLE)
    assert len(table) == 64 and CRS.from_user_input(table.crs) == CRS.from_epsg(32631)
    assert tuple(table.total_bounds) == pytest.approx(tuple(bounds))
    assert np.allclose(table.area, 320.0 * 320.0)  # 32-px windows of 10 m
    assert (table.row.to_numpy() == np.repeat(np.arange(8) * 32, 8)).all()
    assert (table.col.to_numpy() == np.tile(np.arange(8) * 32, 8)).all()
    vectors = np.stack(table.embedding.to_numpy())
    assert vectors.shape == (64, 192) and np.isfinite(vectors).all()
    assert (table.valid == 1.0).all()
    read = read_tables(work / TABLE)
    assert read.model is not None
    assert read.model.fingerprint == bundle_identity([work / "runs/fm/bundle"]).fingerprint
    centre = gpd.points_from_xy([WINDOW_19[0]], [WINDOW_19[1]])[0]
    assert table.geometry.iloc[19].centroid.distance(centre) < 1e-6


def test_searches_by_row_and_by_point(chain: tuple[Path, list[Ran]]) -> None:
    work, ran = chain
    assert "wrote emb/index (64 windows of 192 values from runs/fm/bundle" in ran[6].out
    similar = gpd.read_file(work / "similar.geojson")
    assert len(similar) == 5 and 19 not in set(similar.id)  # the example itself left out
    scores = similar.score.to_numpy()
    assert (np.diff(scores) <= 1e-9).all() and (scores < 1.0 + 1e-6).all()
    index = open_index(work / "emb/index")
    expected = index.like(19, 5)
    assert list(similar.id) == list(expected.id)
    assert "most similar to window 19" in ran[8].out  # --at found the window at the point
    at = gpd.read_parquet(work / "at.parquet")
    assert list(at.id) == list(expected.id)
    assert CRS.from_user_input(at.crs) == CRS.from_epsg(32631)
    itself = gpd.read_file(work / "self.gpkg")
    assert len(itself) == 3 and int(itself.id.iloc[0]) == 19  # a row's nearest window: itself
    assert itself.score.iloc[0] == pytest.approx(1.0, abs=1e-5)
    assert (itself.score.iloc[1:] < itself.score.iloc[0]).all()


def test_clusters_make_a_typology_cog(chain: tuple[Path, list[Ran]]) -> None:
    work, _ = chain
    typology = work / "typology/s2-20240701_clusters.tif"
    assert cog_validate(str(typology), quiet=True)[0]
    with rasterio.open(typology) as ds:
        assert ds.crs == CRS.from_epsg(32631) and ds.shape == (8, 8)
        assert tuple(ds.bounds) == pytest.approx(tuple(_scene_bounds(work)))
        assert ds.res == (320.0, 320.0)
        clusters = ds.read(1)
        colours = ds.colormap(1)
        names = ds.tags(1)
    assert set(np.unique(clusters)) <= set(range(6))
    assert len({colours[i] for i in range(6)}) == 6
    assert [names[f"CLASS_{i}"] for i in range(6)] == [f"cluster {i}" for i in range(6)]
    stats = json.loads((work / "typology/clusters.json").read_text())
    assert stats["k"] == 6 and stats["windows"] == 64
    assert stats["model"]["fingerprint"] == bundle_identity([work / "runs/fm/bundle"]).fingerprint
    counts = [c["count"] for c in stats["clusters"]]
    assert sum(counts) == 64 and counts == [int((clusters == i).sum()) for i in range(6)]
    for cluster in stats["clusters"]:
        assert cluster["area_km2"] == pytest.approx(cluster["count"] * 0.1024)
        if cluster["count"]:
            assert sum(cluster["land_cover"].values()) == pytest.approx(1.0, abs=1e-6)


def test_a_table_of_another_bundle_is_refused(
    chain: tuple[Path, list[Ran]], monkeypatch: pytest.MonkeyPatch
) -> None:
    work, ran = chain
    monkeypatch.chdir(work)
    train = ran[2].args
    other = [*train, "--set", "trainer.seed=1", "--set", "trainer.output_dir=runs/other"]
    assert eoforge(other, monkeypatch).code == 0
    scene = "scenes/probe/stac/collection.json"
    embedded = eoforge(["embed", "runs/other/bundle", scene, "--out", "emb_other"], monkeypatch)
    assert embedded.code == 0, embedded.err
    first = bundle_identity([work / "runs/fm/bundle"]).fingerprint
    second = bundle_identity([work / "runs/other/bundle"]).fingerprint
    assert first != second
    args = ["embeddings", "search", "emb/index", "--like", "0", "--example"]
    refused = eoforge([*args, "emb_other/s2-20240701_embeddings.parquet"], monkeypatch)
    message = " ".join(refused.err.split())
    assert refused.code == 2, refused.out
    assert f"runs/fm/bundle (fingerprint {first})" in message
    assert f"runs/other/bundle (fingerprint {second})" in message
    assert "Traceback" not in refused.err and message.count("error:") == 1
    mixed = ["embeddings", "index", TABLE, "emb_other/s2-20240701_embeddings.parquet"]
    refused = eoforge([*mixed, "--out", "mixed"], monkeypatch)
    assert refused.code == 2 and second in refused.err and not (work / "mixed").exists()


def test_the_chain_on_real_bigearthnet_patches(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SoftCon pretraining on the 6 real S2 patches (their multi-labels set the targets),
    probes on them, every patch embedded in 3 x 3 windows, indexed across 3 UTM zones,
    searched and clustered."""
    root = real_data / "bigearthnet" / "BigEarthNet-S2-Example"
    patches = sorted(p for p in root.iterdir() if p.is_dir())
    assert len(patches) == 6
    monkeypatch.chdir(tmp_path)
    data = {"kind": "bigearthnet", "root_s2": str(root), "val_fraction": 0.5}
    data["bands"] = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
    (tmp_path / "ben.yaml").write_text(yaml.safe_dump({"data": data}))
    recipe = str(ROOT / "configs/pretrain_softcon_synth.yaml")
    train = ["train", recipe, "--set", f"data={json.dumps({**data, 'batch_size': 3})}"]
    train += ["--set", "model.options.depth=1", "--set", "trainer.max_epochs=1"]
    step = eoforge([*train, "--set", "trainer.output_dir=runs/ben"], monkeypatch)
    assert step.code == 0, step.out[-2000:] + step.err
    bundle = load_bundle(tmp_path / "runs/ben/bundle").bundle
    assert bundle.task == "embedding" and bundle.patch_size == 120 and bundle.bands == data["bands"]
    fingerprint = bundle_identity([tmp_path / "runs/ben/bundle"]).fingerprint

    for probe in ("knn", "linear"):
        step = eoforge(["evaluate", "runs/ben/bundle", "ben.yaml", "--probe", probe], monkeypatch)
        assert step.code == 0, step.out[-2000:] + step.err
        report = json.loads((tmp_path / f"runs/ben/probe_{probe}.json").read_text())
        assert report["bundle"]["fingerprint"] == fingerprint
        assert (report["n_train"], report["n_val"]) == (3, 3)  # 6 patches, half held out
        assert report["labels"]["multi"] and not report["labels"]["single"]
        assert len(report["classes"]) == 19 and report["input"]["size"] == 120
        assert 0.0 < report["metrics"]["map"] <= 1.0

    step = eoforge(
        ["embed", "runs/ben/bundle", *map(str, patches), "--out", "emb", "--window", "40"],
        monkeypatch,
    )
    assert step.code == 0, step.out[-2000:] + step.err
    for patch in patches:
        table = gpd.read_parquet(tmp_path / f"emb/{patch.name}_embeddings.parquet")
        with rasterio.open(patch / f"{patch.name}_B02.tif") as ds:
            crs, bounds = ds.crs, ds.bounds
        assert len(table) == 9 and CRS.from_user_input(table.crs) == crs  # each in its own zone
        assert tuple(table.total_bounds) == pytest.approx(tuple(bounds))
        assert np.isfinite(np.stack(table.embedding.to_numpy())).all()
        model = read_tables(tmp_path / f"emb/{patch.name}_embeddings.parquet").model
        assert model is not None and model.fingerprint == fingerprint

    tables = sorted(glob.glob("emb/*_embeddings.parquet"))
    assert eoforge(["embeddings", "index", *tables, "--out", "emb/index"], monkeypatch).code == 0
    assert len(open_index(tmp_path / "emb/index")) == 54
    like = ["embeddings", "search", "emb/index", "--like", "4", "--example", tables[1]]
    assert eoforge([*like, "--k", "3", "--out", "self.parquet"], monkeypatch).code == 0
    itself = gpd.read_parquet(tmp_path / "self.parquet")
    assert int(itself.id.iloc[0]) == 9 + 4  # row 4 of the second table: index id 13
    assert itself.score.iloc[0] == pytest.approx(1.0, abs=1e-5)

    step = eoforge(["embeddings", "cluster", *tables, "--k", "3", "--out", "typology"], monkeypatch)
    assert step.code == 0, step.out[-2000:] + step.err
    for patch in patches:
        typology = tmp_path / f"typology/{patch.name}_clusters.tif"
        assert cog_validate(str(typology), quiet=True)[0]
        with rasterio.open(typology) as ds, rasterio.open(patch / f"{patch.name}_B02.tif") as src:
            assert ds.crs == src.crs and ds.shape == (3, 3) and ds.res == (400.0, 400.0)
            assert tuple(ds.bounds) == pytest.approx(tuple(src.bounds))
            assert len({ds.colormap(1)[i] for i in range(3)}) == 3
    stats = json.loads((tmp_path / "typology/clusters.json").read_text())
    assert stats["windows"] == 54 and sum(c["count"] for c in stats["clusters"]) == 54


BEN_BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def ssl4eo_checkpoint(path: Path) -> Path:
    """A file in the published SSL4EO-S12 DINO ViT layout (13 L1C bands; random weights:
    nothing is downloaded), 1 block of width 192, 16-px patches, 32-px input."""
    encoder = vit_layout(192, 1, 13, 16, grid=2)
    teacher = {"module.backbone." + k: v for k, v in encoder.items()}
    torch.save({"teacher": teacher, "epoch": 99}, path)
    return path


def reflectance_stats(patches: list[Path]) -> tuple[list[float], list[float]]:
    """Per-band mean and std of the patches as eoforge reads them (reflectance, DN / 10000)."""
    means, stds = [], []
    for band in BEN_BANDS:
        values = []
        for patch in patches:
            with rasterio.open(patch / f"{patch.name}_{band.split('.')[1]}.tif") as ds:
                values.append(ds.read(1).astype(np.float64).ravel() / 10000.0)
        joined = np.concatenate(values)
        means.append(float(joined.mean()))
        stds.append(float(joined.std()))
    return means, stds


def _embed_patches(bundle: str, patches: list[Path], out: str, mp: pytest.MonkeyPatch) -> Ran:
    return eoforge(["embed", bundle, *map(str, patches), "--out", out, "--window", "32"], mp)


def _min_cosine(folder: Path) -> float:
    tables = sorted(folder.glob("*_embeddings.parquet"))
    vectors = np.concatenate([np.stack(gpd.read_parquet(t).embedding.to_numpy()) for t in tables])
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return float((vectors @ vectors.T).min())


def test_an_imported_encoder_on_real_bigearthnet_patches(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """models import (a checkpoint file in a published layout, with the data's statistics),
    then probe, embed, index and search the real patches with it."""
    root = real_data / "bigearthnet" / "BigEarthNet-S2-Example"
    patches = sorted(p for p in root.iterdir() if p.is_dir())
    monkeypatch.chdir(tmp_path)
    checkpoint = ssl4eo_checkpoint(tmp_path / "B13_vits16_dino.pth")
    mean, std = reflectance_stats(patches)
    args = ["models", "import", str(checkpoint), "--out", "ssl4eo", "--bands", ",".join(BEN_BANDS)]
    args += ["--mean", ",".join(map(str, mean)), "--std", ",".join(map(str, std))]
    step = eoforge(args, monkeypatch)
    assert step.code == 0, step.out[-2000:] + step.err
    record = json.loads((tmp_path / "ssl4eo/imported.json").read_text())
    assert record["importer"] == "ssl4eo_vit" and record["stem"] == "selected"
    bundle = load_bundle(tmp_path / "ssl4eo").bundle
    assert bundle.task == "embedding" and bundle.bands == BEN_BANDS and bundle.patch_size == 32
    assert bundle.normalization.mean == pytest.approx(mean)
    fingerprint = bundle_identity([tmp_path / "ssl4eo"]).fingerprint

    data = {"kind": "bigearthnet", "root_s2": str(root), "bands": BEN_BANDS, "val_fraction": 0.5}
    (tmp_path / "ben.yaml").write_text(yaml.safe_dump({"data": data}))
    step = eoforge(["evaluate", "ssl4eo", "ben.yaml", "--probe", "knn", "--k", "3"], monkeypatch)
    assert step.code == 0, step.out[-2000:] + step.err
    report = json.loads((tmp_path / "probe_knn.json").read_text())
    assert report["bundle"]["fingerprint"] == fingerprint and report["input"]["size"] == 32
    assert (report["n_train"], report["n_val"]) == (3, 3) and report["feature_dim"] == 192

    step = _embed_patches("ssl4eo", patches, "emb", monkeypatch)
    assert step.code == 0, step.out[-2000:] + step.err
    tables = sorted(glob.glob("emb/*_embeddings.parquet"))
    assert len(tables) == 6 and all(len(gpd.read_parquet(t)) == 9 for t in tables)  # 3 x 3 of 32 px
    assert _min_cosine(tmp_path / "emb") < 0.99  # the windows' vectors differ
    assert eoforge(["embeddings", "index", *tables, "--out", "index"], monkeypatch).code == 0
    like = ["embeddings", "search", "index", "--like", "2", "--example", tables[3]]
    assert eoforge([*like, "--k", "2", "--out", "self.parquet"], monkeypatch).code == 0
    itself = gpd.read_parquet(tmp_path / "self.parquet")
    assert int(itself.id.iloc[0]) == 3 * 9 + 2 and itself.score.iloc[0] == pytest.approx(1.0)


def test_published_ssl4eo_statistics_suit_eoforge_reflectance(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The importer's own (published) statistics, stored in the reflectance eoforge reads
    Sentinel-2 in: the windows' vectors differ (in L1C digital numbers they all pointed the
    same way: lowest cosine 1.0)."""
    root = real_data / "bigearthnet" / "BigEarthNet-S2-Example"
    patches = sorted(p for p in root.iterdir() if p.is_dir())
    monkeypatch.chdir(tmp_path)
    checkpoint = ssl4eo_checkpoint(tmp_path / "B13_vits16_dino.pth")
    args = ["models", "import", str(checkpoint), "--out", "ssl4eo", "--bands", ",".join(BEN_BANDS)]
    assert eoforge(args, monkeypatch).code == 0
    bundle = load_bundle(tmp_path / "ssl4eo").bundle
    mean, std = reflectance_stats(patches)
    # the patches' reflectance lands inside the published map's [0, 1] and spreads across it
    # (0.31 to 0.45 of it; in digital-number statistics it spread over 4e-5)
    norm = bundle.normalization
    assert ((np.array(mean) - norm.mean) / norm.std > 0.0).all()
    assert ((np.array(mean) - norm.mean) / norm.std < 1.0).all()
    assert (np.array(std) / norm.std > 0.2).all()
    assert _embed_patches("ssl4eo", patches, "emb", monkeypatch).code == 0
    assert _min_cosine(tmp_path / "emb") < 0.99
