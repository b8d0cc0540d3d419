"""Vessels in the Sentinel-1 images: placement, brightness, labels, determinism, opt-in."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pytest
import rasterio
import typer
from odc.geo.geobox import GeoBox
from rasterio.features import rasterize
from shapely.geometry import Polygon, box
from typer.testing import CliRunner

from eoforge.cli.synth import register
from eoforge.errors import ConfigError
from eoforge.io.vector.boxes import boxes_in_pixels
from eoforge.predict.detections import corners
from eoforge.synth import SceneManifest, SynthOptions, generate_scene
from eoforge.synth.render.vessels import rcs_m2, vessel_sigma0
from eoforge.synth.render.wakes import wake_factor, wake_factor_at
from eoforge.synth.scene_setup import set_up_scene
from eoforge.synth.world import legend
from eoforge.synth.world.geometry import OrientedRect
from eoforge.synth.world.sampling import Window
from eoforge.synth.world.vessels import Vessel, length_quantile, local_angle

F32 = npt.NDArray[np.float32]

#: Documented margin: the median vessel's brightest VV pixel over the surrounding sea, dB.
MARGIN_DB = 15.0

PLAIN = SynthOptions(size=256, seed=3, sensors=("s1",), dates=2, vectors=False)
#: sha256 of every file of ``PLAIN``, written by the code before vessels existed.
PLAIN_SHA256 = {
    "labels/change_20240301_20241031.tif": (
        "37298f786dd682d0f99dfec941668de82a7da2cba7c22a5bb037e61b69296ccd"
    ),
    "labels/croptype.tif": "259b4f1b3272646d901c6662baabbcc8c0bc7caefe56e9d28905f2bd884e95eb",
    "labels/landcover_20240301.tif": (
        "cb436aed053a856c86758bb31df9f5ee0d0598c5eb8b7e627960ed7056b494b9"
    ),
    "labels/landcover_20241031.tif": (
        "27bcfe210283f0f63b7a426746e7651e4a6196157c6d99000f9b599ac82a1cc5"
    ),
    "legend.json": "d3e8cf9dad6270db2576964f2cac0f6f3d89b9788d009cbcf5f4f39675ea679b",
    "s1/20240301/S1.VH.tif": "158b63228f6bba4a13aa3d468007b06d50e2cc2bc6b54a068c65dc7fcb7ef511",
    "s1/20240301/S1.VV.tif": "c28f8ebc2010ab3cfb448abcecb4e2eb61482830dfc5038b120fadadab83ed7c",
    "s1/20241031/S1.VH.tif": "ab373b549f558f1ccf9cfbe8ff9cb11e173f486c21e98a39b2616268d46a46e4",
    "s1/20241031/S1.VV.tif": "1c9ce9bc4c3b06225007fed923cf24fa2ae13cf47b21a8981578801b6d2a6b14",
    "stac/collection.json": "fc8ab1aa6640f4bb9f0cead15a3850d52566367fb4ee49ff86d6aece9feefafb",
    "stac/labels/labels.json": "6d7516d0ead9c6d84e51984b42f29c31f9930e2ec61d68924243d5389ec1a2e3",
    "stac/labels-20240301/labels-20240301.json": (
        "658f627f6a48b6c1f32c15fd8f09225628d70be0a41b975dce5cf1c59216b132"
    ),
    "stac/labels-20241031/labels-20241031.json": (
        "cfe005ea7fe228ab41033672581da6fb1f4a26a2ff56814d77f328960104d283"
    ),
    "stac/s1-20240301/s1-20240301.json": (
        "dae76fe8b5ee542229e1c54487301e5368b8b42ca1bb0c38f2a39dc0c9f6e9f9"
    ),
    "stac/s1-20241031/s1-20241031.json": (
        "5e381e5f6dd4c3ca9827494fcaf21f00b2d6811ee927c8f6054fc263eee20a1e"
    ),
}

#: The S1 rasters' sha256 where NumPy's SIMD dispatch lacks AVX-512 (e.g. an AVX2-only AMD EPYC).
#: Float32 backscatter goes through NumPy's vectorised transcendental functions, whose last bits
#: differ between the AVX-512 and AVX2 kernels; every other file is the same on both. These were
#: recorded by the vessel-aware code with ``vessels=0`` on such a CPU (the AVX-512 ones above by
#: the code before vessels existed), so on AVX2 CPUs this guards the plain scene from now on.
PLAIN_S1_SHA256_AVX2 = {
    "s1/20240301/S1.VH.tif": "bee6e1b4b5c46ff10ffe0bb64888757abe34722f47ceb9125f28426386c96354",
    "s1/20240301/S1.VV.tif": "7b7a12d02f5bd8a1ecbd09eee2d83f4e2a5e208317966199056aaf46fa8b9b3c",
    "s1/20241031/S1.VH.tif": "e85113b67f320af3dd970964f2a7f73913d0365b95114d87f19bf5578c8e212f",
    "s1/20241031/S1.VV.tif": "c64ceeeeb45a804d560ace58cfec9c9b1552710a40c8091b3f74739a40d75d33",
}

SHIPS = SynthOptions(size=384, seed=7, sensors=("s1",), dates=2, vectors=False, vessels=20)


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def ships(tmp_path_factory: pytest.TempPathFactory) -> SceneManifest:
    return generate_scene(tmp_path_factory.mktemp("vessels") / "scene", SHIPS)


def _read(path: Path) -> tuple[F32, GeoBox]:
    with rasterio.open(path) as ds:
        return ds.read(1), GeoBox(ds.shape, ds.transform, ds.crs)


def _frame(scene: SceneManifest) -> gpd.GeoDataFrame:
    return gpd.read_parquet(scene.root / "vectors" / "vessels.parquet")


def test_without_vessels_the_scene_is_byte_identical(tmp_path: Path) -> None:
    scene = generate_scene(tmp_path / "plain", PLAIN)
    assert PLAIN.vessels == 0
    expected = PLAIN_SHA256 if _numpy_has_avx512() else PLAIN_SHA256 | PLAIN_S1_SHA256_AVX2
    assert _digest(scene.root) == expected


def _numpy_has_avx512() -> bool:
    """Whether NumPy dispatches its SIMD kernels to AVX-512 on this CPU."""
    from numpy._core._multiarray_umath import __cpu_features__

    return bool(__cpu_features__.get("AVX512F") and __cpu_features__.get("AVX512_SKX"))


def test_length_law_and_cross_section() -> None:
    # density ~ L**-2 on [15, 300]: quantile 1 / (1/15 - u (1/15 - 1/300))
    np.testing.assert_allclose(
        length_quantile(np.array([0.0, 0.5, 0.9, 1.0])), [15.0, 1 / 0.035, 3000 / 29, 300.0]
    )
    vv, vh = rcs_m2(15.0)
    assert vv == pytest.approx(100.0) and vh == pytest.approx(100.0 * 10**-0.8)
    assert 10 * math.log10(rcs_m2(300.0)[0]) == pytest.approx(20.0 + 23.0 * math.log10(20.0))


def test_rendered_power_is_the_cross_section_and_block_independent() -> None:
    rect = OrientedRect(1003.0, 517.0, 60.0, 10.0, local_angle(30.0))
    vessel = Vessel(rect, 30.0)
    whole = vessel_sigma0(Window(0, 0, 128, 160, 10.0), (vessel,))
    # sigma0 summed over pixels times the pixel area is the cross-section, VV and VH
    np.testing.assert_allclose(whole.sum(axis=(1, 2)) * 100.0, rcs_m2(60.0), rtol=1e-9)
    part = vessel_sigma0(Window(48, 96, 16, 16, 10.0), (vessel,))
    np.testing.assert_array_equal(part, whole[:, 48:64, 96:112])
    # the bow points along the heading: 30 deg east of north is up and to the right
    bow = rect.corners()[1:3].mean(axis=0)
    assert bow == pytest.approx([1003 + 30 * math.sin(math.radians(30)), 517 - 30 * 0.8660254])


def test_twenty_vessels_per_date_all_on_open_water(ships: SceneManifest) -> None:
    frame = _frame(ships)
    columns = ["vessel_id", "class", "length_m", "width_m", "heading_deg", "date", "geometry"]
    assert list(frame.columns) == columns
    assert len(frame) == 40 and set(frame["class"]) == {"vessel"}
    assert frame["length_m"].between(15.0, 300.0).all()
    np.testing.assert_allclose(frame["width_m"], frame["length_m"] / 6, atol=2e-3)
    assert frame["heading_deg"].between(0.0, 360.0).all()
    for date in ships.dates:
        rows = frame[frame["date"] == date.isoformat()]
        assert len(rows) == 20
        cls, grid = _read(ships.find("landcover", date))
        for geom in rows.geometry:
            touched = rasterize(
                [(geom, 1)], out_shape=cls.shape, transform=grid.transform, all_touched=True
            ).astype(bool)
            assert touched.any() and np.all(cls[touched] == legend.WATER)
    # vessels move: the two dates have different fleets
    first, second = (frame[frame["date"] == d.isoformat()] for d in ships.dates)
    assert not np.allclose(first["length_m"].to_numpy(), second["length_m"].to_numpy())


def _near(
    box5: npt.NDArray[np.float32], shape: tuple[int, int], grow: float
) -> npt.NDArray[np.bool_]:
    """Pixels whose centre lies in an oriented pixel box grown by ``grow`` pixels."""
    cx, cy, w, h, a = (float(v) for v in box5)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    dx, dy = cols + 0.5 - cx, rows + 0.5 - cy
    u = dx * math.cos(a) - dy * math.sin(a)
    v = dx * math.sin(a) + dy * math.cos(a)
    inside: npt.NDArray[np.bool_] = (np.abs(u) <= w / 2 + grow) & (np.abs(v) <= h / 2 + grow)
    return inside


def test_boxes_cover_the_brightest_pixel_and_vessels_outshine_the_sea(
    ships: SceneManifest,
) -> None:
    frame = _frame(ships)
    contrast_vv, vv_minus_vh = [], []
    for date in ships.dates:
        rows = frame[frame["date"] == date.isoformat()]
        vv, grid = _read(ships.find("S1.VV", date))
        vh, _ = _read(ships.find("S1.VH", date))
        cls, _ = _read(ships.find("landcover", date))
        boxes, _ = boxes_in_pixels(rows, grid, oriented=True)
        assert boxes.shape == (20, 5)
        # box sides are the vessel's length and width in 10 m pixels
        np.testing.assert_allclose(boxes[:, 2], rows["length_m"] / 10, atol=1e-3)
        np.testing.assert_allclose(boxes[:, 3], rows["width_m"] / 10, atol=1e-3)
        # angle: counter-clockwise as displayed = 90 deg - heading, folded into [-90, 90)
        expected = (90.0 - rows["heading_deg"].to_numpy() + 90.0) % 180.0 - 90.0
        turn = (np.degrees(boxes[:, 4]) - expected + 90.0) % 180.0 - 90.0
        np.testing.assert_allclose(turn, 0.0, atol=1e-3)
        for b, quad in zip(boxes, corners(boxes.astype(np.float64)), strict=True):
            near = _near(b, vv.shape, 3.0)
            ring = _near(b, vv.shape, 8.0) & ~_near(b, vv.shape, 4.0) & (cls == legend.WATER)
            r, c = (
                int(i) for i in np.unravel_index(np.where(near, vv, -np.inf).argmax(), vv.shape)
            )
            assert Polygon(quad).intersects(box(c, r, c + 1, r + 1))
            contrast_vv.append(float(vv[r, c] - np.median(vv[ring])))
            vv_minus_vh.append(float(vv[near].max() - vh[near].max()))
    assert float(np.median(contrast_vv)) >= MARGIN_DB
    assert min(contrast_vv) >= 10.0
    # VH is 8 dB below VV on the vessel (speckle spreads single pixels)
    assert float(np.median(vv_minus_vh)) == pytest.approx(8.0, abs=1.5)


def test_dota_files_list_the_footprints_in_s1_pixels(ships: SceneManifest) -> None:
    frame = _frame(ships)
    for date in ships.dates:
        text = (ships.root / f"s1/{date:%Y%m%d}/vessels.txt").read_text().splitlines()
        assert text[:2] == ["imagesource:eoforge-synth", "gsd:10.0"] and len(text) == 22
        rows = frame[frame["date"] == date.isoformat()]
        _, grid = _read(ships.find("S1.VV", date))
        inverse = ~grid.transform
        for line, geom in zip(text[2:], rows.geometry, strict=True):
            *numbers, name, difficult = line.split()
            assert (name, difficult) == ("vessel", "0")
            pixels = [inverse @ xy for xy in list(geom.exterior.coords)[:4]]
            np.testing.assert_allclose(
                np.array(numbers, dtype=float).reshape(4, 2), pixels, atol=6e-3
            )


def test_vessel_files_are_in_the_stac_and_reproducible(
    ships: SceneManifest, tmp_path: Path
) -> None:
    listed = {f.path for f in ships.files}
    assert {"vectors/vessels.parquet", "vectors/vessels.geojson"} <= listed
    assert {f"s1/{d:%Y%m%d}/vessels.txt" for d in ships.dates} <= listed
    # same seed, same bytes, and the block size changes none of them
    again = generate_scene(tmp_path / "again", SHIPS, block=256)
    assert _digest(again.root) == _digest(ships.root)


def test_vessels_need_s1_and_a_sane_count(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="s1"):
        generate_scene(tmp_path / "a", size=64, sensors="s2", vessels=3)
    with pytest.raises(ConfigError, match="vessels"):
        generate_scene(tmp_path / "b", size=64, sensors="s1", vessels=-1)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cli_vessels_option(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """Root command."""

    args = ["synth", "--out", str(tmp_path / "s"), "--size", "256", "--dates", "1"]
    args += ["--sensors", "s1", "--no-vectors", "--vessels", "5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    frame = gpd.read_parquet(tmp_path / "s" / "vectors" / "vessels.parquet")
    assert len(frame) == 5 and set(frame["date"]) == {"2024-07-01"}


def test_wake_factor_at_hand_computed_points() -> None:
    # 100 m vessel heading east (local angle 0): stern at x = 450, wake 600 m long behind it
    vessel = Vessel(OrientedRect(500.0, 500.0, 100.0, 100.0 / 6, local_angle(90.0)), 90.0)
    x = np.array([440.0, 150.0, 150.0, 700.0, 450.0 - 700.0])
    y = np.array(
        [500.0, 500.0 + 300.0 / math.sqrt(8.0), 500.0 - 300.0 / math.sqrt(8.0), 500.0, 500.0]
    )
    db = 10 * np.log10(wake_factor_at(vessel, x, y))
    # 10 m behind the stern on the track: -3 dB * (1 - 10/600); on either Kelvin arm 300 m
    # behind (tan 19.47 deg = 1/sqrt(8)): +2 dB * (1 - 300/600); ahead and past the end: 0
    np.testing.assert_allclose(db, [-3.0 * (1 - 10 / 600), 1.0, 1.0, 0.0, 0.0], atol=1e-9)


def test_wakes_change_only_the_sea_behind_the_vessels(tmp_path: Path) -> None:
    options = SynthOptions(size=256, seed=7, sensors=("s1",), dates=1, vectors=False, vessels=6)
    plain = generate_scene(tmp_path / "plain", options)
    waked = generate_scene(tmp_path / "waked", options, wakes=True)
    date = plain.dates[0]
    before, grid = _read(plain.find("S1.VV", date))
    after, _ = _read(waked.find("S1.VV", date))
    cls, _ = _read(plain.find("landcover", date))
    fleet = gpd.read_parquet(plain.root / "vectors" / "vessels.parquet")
    assert len(fleet) == 6
    near_vessel = rasterize(
        [(g.buffer(40.0), 1) for g in fleet.geometry], out_shape=cls.shape, transform=grid.transform
    ).astype(bool)
    # the same speckle draws: away from the vessels' own power, after - before (dB) is the
    # wakes' factor (pixels clipped at the noise floor excepted)
    fleet_now = set_up_scene(options.validate(), tmp_path / "plain").vessels[0]
    factor = wake_factor(Window(0, 0, 256, 256, 10.0), fleet_now, cls == legend.WATER)
    keep = (cls == legend.WATER) & ~near_vessel & (np.minimum(before, after) > -29.99)
    np.testing.assert_allclose((after - before)[keep], 10 * np.log10(factor[keep]), atol=1e-3)
    assert 10 * np.log10(factor.min()) < -1.5 and 10 * np.log10(factor.max()) > 1.0
    assert (factor[keep] != 1).sum() > 100
    assert np.all(after[cls != legend.WATER] == before[cls != legend.WATER])
