"""Physical plausibility of a generated scene (issue 3, 'Done when')."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import rasterio

from eoforge.synth import SceneManifest
from eoforge.synth.world import legend
from eoforge.synth.world.phenology import CROP_CALENDAR

F = npt.NDArray[np.float64]


def _read(path: object) -> F:
    with rasterio.open(path) as ds:
        values = ds.read(1).astype(np.float64)
        return values * ds.scales[0] + ds.offsets[0]


def _labels(scene: SceneManifest, index: int) -> npt.NDArray[np.uint8]:
    with rasterio.open(scene.find("landcover", scene.dates[index])) as ds:
        out: npt.NDArray[np.uint8] = ds.read(1)
        return out


def _clear(scene: SceneManifest, index: int) -> npt.NDArray[np.bool_]:
    path = scene.root / f"s2/{scene.dates[index]:%Y%m%d}/cloudmask.tif"
    with rasterio.open(path) as ds:
        ok: npt.NDArray[np.bool_] = ds.read(1) == legend.CLOUD_CLEAR
        return ok


def _ndvi(scene: SceneManifest, index: int) -> F:
    red = _read(scene.find("S2.B04", scene.dates[index]))
    nir = _read(scene.find("S2.B08", scene.dates[index]))
    out: F = (nir - red) / (nir + red)
    return out


def _peak_index(scene: SceneManifest) -> int:
    doys = [d.timetuple().tm_yday for d in scene.dates]
    return int(np.argmin([abs(d - 190) for d in doys]))


def test_forest_ndvi_high_and_water_negative_at_peak(scene: SceneManifest) -> None:
    t = _peak_index(scene)
    cls, clear, ndvi = _labels(scene, t), _clear(scene, t), _ndvi(scene, t)
    assert ndvi[(cls == legend.FOREST) & clear].mean() > 0.6
    assert ndvi[(cls == legend.WATER) & clear].mean() < 0


def test_each_crop_ndvi_above_0_6_at_its_peak_and_peaks_differ(scene: SceneManifest) -> None:
    with rasterio.open(scene.root / "labels/croptype.tif") as ds:
        crop = ds.read(1)
    curves = {code: [] for code in CROP_CALENDAR}
    for t in range(len(scene.dates)):
        ndvi, clear, cls = _ndvi(scene, t), _clear(scene, t), _labels(scene, t)
        for code in curves:
            sel = (crop == code) & clear & (cls == legend.CROPLAND)
            curves[code].append(ndvi[sel].mean() if sel.sum() > 50 else np.nan)
    peaks = {code: int(np.nanargmax(values)) for code, values in curves.items()}
    assert len(set(peaks.values())) == len(peaks), peaks
    for code, values in curves.items():
        assert np.nanmax(values) > 0.6, (code, values)


def test_water_darkest_in_b08_and_clouds_brightest_in_b02(scene: SceneManifest) -> None:
    t = _peak_index(scene)
    cls, clear = _labels(scene, t), _clear(scene, t)
    nir = _read(scene.find("S2.B08", scene.dates[t]))
    means = {
        c: nir[(cls == c) & clear].mean()
        for c in np.unique(cls[clear])
        if ((cls == c) & clear).sum() > 20
    }
    assert min(means, key=lambda c: means[c]) == legend.WATER
    cloudy = 0
    for t in range(len(scene.dates)):
        path = scene.root / f"s2/{scene.dates[t]:%Y%m%d}/cloudmask.tif"
        with rasterio.open(path) as ds:
            mask = ds.read(1)
        if (mask == legend.CLOUD).sum() < 100:
            continue
        cloudy += 1
        blue = _read(scene.find("S2.B02", scene.dates[t]))
        cls = _labels(scene, t)
        cloud_blue = blue[mask == legend.CLOUD].mean()
        for c in np.unique(cls):
            sel = (cls == c) & (mask == legend.CLOUD_CLEAR)
            if sel.sum() > 20:
                assert cloud_blue > blue[sel].mean()
        shadow = mask == legend.CLOUD_SHADOW
        if shadow.sum() > 50:
            assert blue[shadow].mean() < cloud_blue
    assert cloudy >= 1


def test_s1_water_darkest_and_urban_brightest_in_vv(scene: SceneManifest) -> None:
    for t in (0, len(scene.dates) - 1):
        cls = _labels(scene, t)
        vv = _read(scene.find("S1.VV", scene.dates[t]))
        means = {c: vv[cls == c].mean() for c in np.unique(cls) if (cls == c).sum() > 20}
        assert min(means, key=lambda c: means[c]) == legend.WATER
        urban = {legend.URBAN, legend.BUILDING}
        assert max(means, key=lambda c: means[c]) in urban
        assert min(means[c] for c in urban if c in means) > max(
            v for c, v in means.items() if c not in urban
        )


def test_vh_lower_than_vv(scene: SceneManifest) -> None:
    vv = _read(scene.find("S1.VV", scene.dates[0]))
    vh = _read(scene.find("S1.VH", scene.dates[0]))
    assert (vh < vv).mean() > 0.9


def test_landsat_thermal_clouds_cold(scene: SceneManifest) -> None:
    for t in range(len(scene.dates)):
        stamp = f"{scene.dates[t]:%Y%m%d}"
        with rasterio.open(scene.root / f"l8/{stamp}/cloudmask.tif") as ds:
            mask = ds.read(1)
        if (mask == legend.CLOUD).sum() < 10:
            continue
        temp = _read(scene.root / f"l8/{stamp}/L8.B10.tif")
        assert temp[mask == legend.CLOUD].mean() < temp[mask == legend.CLOUD_CLEAR].mean() - 5
        assert 240 < temp.mean() < 320
        return
    raise AssertionError("no Landsat date with clouds")


def test_ndsm_buildings_and_trees(scene: SceneManifest) -> None:
    cls = _labels(scene, 0)
    ndsm = _read(scene.find("DEM.ndsm"))
    dsm = _read(scene.find("DEM.dsm"))
    dtm = _read(scene.find("DEM.dtm"))
    assert ndsm[cls == legend.BUILDING].min() >= 3.0
    assert ndsm[cls == legend.FOREST].mean() > 8.0
    assert np.all(ndsm[np.isin(cls, [legend.WATER, legend.ROAD, legend.CROPLAND])] == 0)
    assert np.allclose(dsm, dtm + ndsm, atol=1e-3)


def test_change_masks_match_landcover(scene: SceneManifest) -> None:
    seen = set()
    for t in range(1, len(scene.dates)):
        before, after = _labels(scene, t - 1), _labels(scene, t)
        name = f"labels/change_{scene.dates[t - 1]:%Y%m%d}_{scene.dates[t]:%Y%m%d}.tif"
        with rasterio.open(scene.root / name) as ds:
            change = ds.read(1)
        built = change == legend.CHANGE_CONSTRUCTION
        assert np.all(after[built] == legend.BUILDING) and np.all(before[built] != legend.BUILDING)
        cut = change == legend.CHANGE_DEFORESTATION
        assert np.all(before[cut] == legend.FOREST) and np.all(after[cut] == legend.BARE_SOIL)
        assert np.all(change[before == after] == legend.CHANGE_NONE)
        seen |= set(np.unique(change).tolist())
    assert {
        legend.CHANGE_FLOODING,
        legend.CHANGE_FLOOD_RECESSION,
        legend.CHANGE_DEFORESTATION,
    } <= seen
