"""Whole-scene runs: Dask equals local, kill -9 then --resume is byte-identical, ensembles,
TTA, probabilities, two-date change input, and scenes in EPSG:4326 and UTM landing right."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from rasterio.warp import Resampling, calculate_default_transform, reproject
from tests.cli.test_info import run_main
from tests.helpers import write_tif
from tests.predict.test_classify import BANDS, T, _bundle

from eoforge.errors import ConfigError
from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.models import Bundle, ClassInfo, ModelSpec, Normalization, build_model, save_bundle
from eoforge.predict import (
    PROBABILITY_SCALE,
    BundleModel,
    DaskOptions,
    OutputSpec,
    RunOptions,
    TilingOptions,
    predict_scene,
)
from eoforge.predict.bundle import d4

EOFORGE = Path(sys.executable).with_name("eoforge")
CLASSES = OutputSpec(
    "classes",
    (
        ClassInfo(id=0, name="bare", color="#a0522d"),
        ClassInfo(id=1, name="vegetation", color="#228b22"),
    ),
    probabilities=True,
    confidence=True,
)


def _scene(tmp_path: Path, shape: tuple[int, int] = (300, 400), seed: int = 1) -> Path:
    data = np.random.default_rng(seed).random((2, *shape), dtype=np.float32)
    data[:, 30:50, 60:120] = -1
    return write_tif(tmp_path / "scene.tif", data, T, "EPSG:32631", nodata=-1, descriptions=BANDS)


def _read_all(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    out = {}
    for name, path in paths.items():
        with rasterio.open(path) as ds:
            out[name] = ds.read()
    return out


def test_dask_cluster_gives_the_local_class_map_bit_for_bit(tmp_path: Path) -> None:
    scene = _scene(tmp_path)
    model = BundleModel((str(_bundle(tmp_path)),))
    grid = make_grid((300, 400), T, "EPSG:32631")
    opts = TilingOptions(96, 16, 3, block=150)
    args = (model, source_from_file(scene), grid, BANDS)
    local = predict_scene(*args, tmp_path / "local" / "s", spec=CLASSES, options=opts)
    dask = predict_scene(
        *args,
        tmp_path / "dask" / "s",
        spec=CLASSES,
        options=opts,
        run=RunOptions(dask=DaskOptions(workers=2)),
    )
    a, b = _read_all(local), _read_all(dask)
    assert set(a) == {"classes", "confidence", "probabilities"}
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert (a["classes"][0, 30:50, 60:120] == 255).all()
    assert sorted(p.name for p in (tmp_path / "dask").iterdir()) == sorted(
        p.name for p in dask.values()
    )  # work folder removed


def test_cli_runs_on_a_running_scheduler_and_matches_the_local_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import LocalCluster

    bundle, scene = _bundle(tmp_path), _scene(tmp_path, (200, 240))
    code, _, err = run_main(_predict_args(bundle, scene, tmp_path / "local"), capsys, monkeypatch)
    assert code == 0, err
    # worker threads in this process (no interpreter start-ups), reached over real TCP
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        args = _predict_args(bundle, scene, tmp_path / "remote")
        code, _, err = run_main(
            [*args, "--scheduler", cluster.scheduler_address], capsys, monkeypatch
        )
        assert code == 0, err
        prefixes = cluster.scheduler.task_prefixes
        ran = {name: prefixes[name].all_durations["compute"] for name in prefixes}
    # the blocks were computed and finalised by this scheduler's workers
    assert ran["dask_compute"] > 0 and ran["dask_finalize"] > 0
    for name in ("scene_classes.tif", "scene_confidence.tif"):
        a, b = (_read_all({name: tmp_path / d / name})[name] for d in ("local", "remote"))
        np.testing.assert_array_equal(a, b)


def test_an_unreachable_scheduler_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dask

    bundle, scene = _bundle(tmp_path), _scene(tmp_path, (64, 64))
    args = _predict_args(bundle, scene, tmp_path / "out")
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code, _, err = run_main([*args, "--scheduler", "tcp://127.0.0.1:9"], capsys, monkeypatch)
    assert code != 0
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in err
    assert "Traceback" not in err
    assert not list((tmp_path / "out").glob("*.tif"))


def test_a_malformed_scheduler_address_is_a_clear_error(tmp_path: Path) -> None:
    scene = _scene(tmp_path, (64, 64))
    model = BundleModel((str(_bundle(tmp_path)),))
    run = RunOptions(dask=DaskOptions(scheduler="headnode"))  # no port
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler at 'headnode'"):
        predict_scene(
            model,
            source_from_file(scene),
            make_grid((64, 64), T, "EPSG:32631"),
            BANDS,
            tmp_path / "o" / "s",
            spec=CLASSES,
            run=run,
        )
    assert not list((tmp_path / "o").glob("*.tif"))


def _unet_bundle(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    spec = ModelSpec(task="segmentation", arch="unet", in_bands=BANDS, num_classes=2)
    bundle = Bundle(
        task="segmentation",
        model=spec,
        bands=BANDS,
        normalization=Normalization(mean=[0.5, 0.5], std=[0.3, 0.3]),
        patch_size=64,
        classes=[
            ClassInfo(id=0, name="a", color="#000080"),
            ClassInfo(id=1, name="b", color="#808000"),
        ],
    )
    return save_bundle(tmp_path / "unet", build_model(spec).eval(), bundle)


def _predict_cmd(bundle: Path, scene: Path, out: Path, *extra: str) -> list[str]:
    return [str(EOFORGE), *_predict_args(bundle, scene, out, *extra)]


def _predict_args(bundle: Path, scene: Path, out: Path, *extra: str) -> list[str]:
    return [
        "predict",
        str(bundle),
        str(scene),
        "--out",
        str(out),
        "--tile",
        "64",
        "--overlap",
        "16",
        "--block",
        "64",
        "--batch",
        "1",
        "--confidence",
        *extra,
    ]


@pytest.fixture
def one_thread() -> Iterator[None]:
    """PyTorch on one thread in this process, as in a child run with ``OMP_NUM_THREADS=1``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")  # the same kernels as the killed child: the same bytes
def test_kill_then_resume_gives_byte_identical_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = _unet_bundle(tmp_path)
    scene = _scene(tmp_path, (384, 384))
    code, _, err = run_main(_predict_args(bundle, scene, tmp_path / "whole"), capsys, monkeypatch)
    assert code == 0, err
    out = tmp_path / "killed"
    journal = out / ".scene.work" / "journal.txt"
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        _predict_cmd(bundle, scene, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_text().count("final") >= 4:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "scene_classes.tif").exists()  # nothing published by a killed run
    finished_before = journal.read_text().count("computed")
    code, _, err = run_main(_predict_args(bundle, scene, out, "--resume"), capsys, monkeypatch)
    assert code == 0, err
    assert 4 <= finished_before < 36  # the kill landed mid-run; 36 blocks in all
    for name in ("scene_classes.tif", "scene_confidence.tif"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["scene_classes.tif", "scene_confidence.tif"]


def test_resume_refuses_a_different_job_and_starts_over(tmp_path: Path) -> None:
    scene = _scene(tmp_path, (128, 128))
    model = BundleModel((str(_bundle(tmp_path)),))
    grid = make_grid((128, 128), T, "EPSG:32631")
    run = RunOptions(resume=True, keep_work=True)
    args = (model, source_from_file(scene), grid, BANDS, tmp_path / "o" / "s")
    predict_scene(*args, spec=CLASSES, options=TilingOptions(64, 16, 2, 64), run=run)
    journal = tmp_path / "o" / ".s.work" / "journal.txt"
    assert journal.read_text().count("final") == 9
    predict_scene(*args, spec=CLASSES, options=TilingOptions(96, 16, 2, 96), run=run)
    assert journal.read_text().count("final") == 4  # the old journal was not reused


def test_resume_starts_over_when_an_input_was_rewritten(tmp_path: Path) -> None:
    scene = _scene(tmp_path, (128, 128))
    model = BundleModel((str(_bundle(tmp_path)),))
    grid = make_grid((128, 128), T, "EPSG:32631")
    run = RunOptions(resume=True, keep_work=True)
    opts = TilingOptions(64, 16, 2, 64)
    out = tmp_path / "o" / "s"
    predict_scene(
        model, source_from_file(scene), grid, BANDS, out, spec=CLASSES, options=opts, run=run
    )
    journal = tmp_path / "o" / ".s.work" / "journal.txt"
    first = _read_all({"p": out.with_name("s_probabilities.tif")})["p"]
    _scene(tmp_path, (128, 128), seed=2)  # same path, grid and bands; new pixels
    paths = predict_scene(
        model, source_from_file(scene), grid, BANDS, out, spec=CLASSES, options=opts, run=run
    )
    assert journal.read_text().count("final") == 9  # not 18: the old journal was dropped
    fresh = predict_scene(
        model,
        source_from_file(scene),
        grid,
        BANDS,
        tmp_path / "f" / "s",
        spec=CLASSES,
        options=opts,
    )
    resumed, new = _read_all(paths), _read_all(fresh)
    for name in new:
        np.testing.assert_array_equal(resumed[name], new[name])
    assert not np.array_equal(first, new["probabilities"])


def test_ensemble_tta_and_probabilities_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _bundle(tmp_path / "one")
    second = _bundle(tmp_path / "two")
    scene = _scene(tmp_path, (160, 200))
    code, _, err = run_main(
        [
            "predict",
            str(first),
            str(second),
            str(scene),
            "--out",
            str(tmp_path / "maps"),
            "--tta",
            "--probabilities",
            "--tile",
            "96",
            "--overlap",
            "16",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    with rasterio.open(tmp_path / "maps" / "scene_probabilities.tif") as ds:
        assert ds.count == 2 and ds.scales == (1 / PROBABILITY_SCALE,) * 2
        assert ds.descriptions == ("p(bare)", "p(vegetation)")
        p = ds.read().astype(np.int32)
    with rasterio.open(tmp_path / "maps" / "scene_classes.tif") as ds:
        labels = ds.read(1)
    valid = labels != 255
    assert (np.abs(p[0] + p[1] - PROBABILITY_SCALE)[valid] <= 1).all()  # sums to 1
    assert (labels[valid] == (p[1] > p[0])[valid]).mean() > 0.99


def test_d4_averages_the_eight_views_back_onto_the_input() -> None:
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    assert torch.equal(d4(lambda t: t)(x), x)  # an equivariant model is unchanged

    def rows_only(t: torch.Tensor) -> torch.Tensor:  # depends on orientation
        return torch.arange(t.shape[-2], dtype=torch.float32)[:, None].expand(t.shape).clone()

    out = d4(rows_only)(x)
    # averaging row index over the 8 views of a 4x6 tile: (rows + flipped rows + cols...) / 8
    assert (
        out.shape == x.shape
        and torch.allclose(out, out.flip(-1))
        and torch.allclose(out, out.flip(-2))
    )


def test_change_model_gets_both_dates_on_one_grid(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    before = rng.random((2, 200, 240), dtype=np.float32)
    after = before.copy()
    after[:, 50:120, 80:200] += 2.0  # a changed area
    p1 = write_tif(tmp_path / "t1.tif", before, T, "EPSG:32631", descriptions=BANDS)
    # the second date comes at 20 m: it must be read onto the first date's 10 m grid
    coarse = after[:, ::2, ::2]
    t20 = T @ Affine.scale(2)
    p2 = write_tif(tmp_path / "t2.tif", coarse, t20, "EPSG:32631", descriptions=BANDS)

    def change(x: torch.Tensor) -> torch.Tensor:
        assert x.dim() == 5 and x.shape[1:3] == (2, 2)
        score = ((x[:, 1] - x[:, 0]).abs().mean(dim=1, keepdim=True) > 1).float()
        return torch.cat([1 - score, score], dim=1)

    spec = OutputSpec(
        "classes",
        (
            ClassInfo(id=0, name="same", color="#000000"),
            ClassInfo(id=1, name="new", color="#ff0000"),
        ),
    )
    paths = predict_scene(
        change,
        source_from_file(p1),
        make_grid((200, 240), T, "EPSG:32631"),
        BANDS,
        tmp_path / "out" / "pair",
        spec=spec,
        options=TilingOptions(96, 16, 2, 128, multiple=16),
        second=source_from_file(p2),
    )
    with rasterio.open(paths["classes"]) as ds:
        labels = ds.read(1)
    expected = np.zeros((200, 240), np.uint8)
    expected[50:120, 80:200] = 1
    inner = np.zeros_like(expected, bool)
    inner[2:-2, 2:-2] = True
    edge = np.zeros_like(inner)
    edge[48:122, 78:202] = True
    edge[52:118, 82:198] = False  # resampling of the 20 m date blurs a 2-px rim
    assert (labels[inner & ~edge] == expected[inner & ~edge]).all()


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32631"])
def test_scenes_in_degrees_and_utm_land_on_the_right_ground(
    tmp_path: Path, crs: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # truth in UTM: vegetation (NIR > red) in a block, bare elsewhere
    red = np.full((240, 300), 0.6, np.float32)
    nir = np.full((240, 300), 0.2, np.float32)
    nir[60:180, 90:240], red[60:180, 90:240] = 0.7, 0.1
    truth = np.zeros((240, 300), np.uint8)
    truth[60:180, 90:240] = 1
    utm = write_tif(tmp_path / "utm.tif", np.stack([red, nir]), T, "EPSG:32631", descriptions=BANDS)
    scene = utm
    if crs == "EPSG:4326":
        with rasterio.open(utm) as src:
            transform, width, height = calculate_default_transform(
                src.crs, crs, src.width, src.height, *src.bounds
            )
            warped = np.full((2, height, width), -1, np.float32)
            for i in range(2):
                reproject(
                    rasterio.band(src, i + 1),
                    warped[i],
                    dst_transform=transform,
                    dst_crs=crs,
                    dst_nodata=-1,
                    resampling=Resampling.nearest,
                )
        scene = write_tif(
            tmp_path / "geo.tif", warped, transform, crs, nodata=-1, descriptions=BANDS
        )
    bundle = _bundle(tmp_path)
    args = ["predict", str(bundle), str(scene), "--out", str(tmp_path / "maps")]
    code, _, err = run_main(args, capsys, monkeypatch)
    assert code == 0, err
    with rasterio.open(tmp_path / "maps" / f"{scene.stem}_classes.tif") as ds:
        assert ds.crs == rasterio.crs.CRS.from_string(crs)
        on_truth = np.full((240, 300), 255, np.uint8)
        reproject(
            ds.read(1),
            on_truth,
            src_transform=ds.transform,
            src_crs=ds.crs,
            src_nodata=255,
            dst_transform=T,
            dst_crs="EPSG:32631",
            dst_nodata=255,
            resampling=Resampling.nearest,
        )
    scored = on_truth != 255
    inner = np.zeros_like(scored)
    inner[5:-5, 5:-5] = True
    edge = np.zeros_like(scored)
    edge[57:183, 87:243] = True
    edge[63:177, 93:237] = False
    check = scored & inner & ~edge
    assert check.sum() > 0.8 * inner.sum() - edge.sum()
    assert (on_truth[check] == truth[check]).all()
