"""File-level contracts: COGs, metadata, STAC, legend, determinism, errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pystac
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from eoforge.errors import ConfigError
from eoforge.synth import SceneManifest, SynthOptions, generate_scene


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_every_raster_is_a_valid_cog_with_nodata(scene: SceneManifest) -> None:
    rasters = [f for f in scene.files if f.path.endswith(".tif")]
    assert len(rasters) > 100
    for f in rasters:
        valid, errors, _ = cog_validate(scene.root / f.path, quiet=True)
        assert valid, (f.path, errors)
        with rasterio.open(scene.root / f.path) as ds:
            assert ds.nodata is not None, f.path
            assert ds.crs is not None


def test_band_metadata(scene: SceneManifest) -> None:
    with rasterio.open(scene.find("S2.B04", scene.dates[0])) as ds:
        assert ds.descriptions == ("S2.B04",)
        assert ds.dtypes == ("uint16",) and ds.scales == (1e-4,) and ds.offsets == (0.0,)
        assert ds.res == (10.0, 10.0) and ds.overviews(1)
    with rasterio.open(scene.find("S2.B11", scene.dates[0])) as ds:
        assert ds.res == (20.0, 20.0)
    with rasterio.open(scene.find("L8.B10", scene.dates[0])) as ds:
        assert ds.res == (30.0, 30.0) and ds.units == ("K",)
    with rasterio.open(scene.find("landcover", scene.dates[0])) as ds:
        assert ds.colormap(1)[8][:3] == (200, 30, 30)
    legend = json.loads((scene.root / "legend.json").read_text())
    assert [c["name"] for c in legend["landcover"]][8] == "building"


def test_stac_lists_every_file(scene: SceneManifest) -> None:
    assert scene.stac is not None
    collection = pystac.Collection.from_file(str(scene.stac))
    listed = {Path(a.get_absolute_href() or "").resolve() for a in collection.assets.values()}
    items = list(collection.get_items())
    for item in items:
        listed |= {Path(a.get_absolute_href() or "").resolve() for a in item.assets.values()}
    on_disk = {p.resolve() for p in scene.root.rglob("*") if p.is_file() and "stac" not in p.parts}
    assert listed == on_disk
    s2 = next(i for i in items if i.id.startswith("s2-"))
    bands = s2.assets["S2.B8A"].to_dict()["eo:bands"]
    assert bands == [{"name": "S2.B8A", "common_name": "nir08", "center_wavelength": 0.865}]
    assert s2.assets["S2.B8A"].to_dict()["raster:bands"][0]["scale"] == 1e-4


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    options = SynthOptions(size=256, dates=2, sensors=("s2", "s1", "dsm"), clouds=0.3, seed=3)
    a = generate_scene(tmp_path / "a", options)
    b = generate_scene(tmp_path / "b", options)
    c = generate_scene(tmp_path / "c", options, seed=4)
    da, db, dc = _digest(a.root), _digest(b.root), _digest(c.root)
    assert da == db
    tifs = [k for k in da if k.endswith(".tif")]
    assert all(da[k] != dc[k] for k in tifs)


def test_offset_option_writes_scale_and_offset(tmp_path: Path) -> None:
    options = SynthOptions(size=256, dates=1, sensors=("s2",), s2_offset=-1000, vectors=False)
    m = generate_scene(tmp_path / "o", options)
    with rasterio.open(m.find("S2.B04")) as ds:
        assert ds.offsets == (-0.1,)
        assert ds.read(1).min() > 1000


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (SynthOptions(sensors=("s2", "modis")), "s1, s2"),
        (SynthOptions(crs="EPSG:4326"), "projected"),
        (SynthOptions(size=10), "--size"),
        (SynthOptions(clouds=2.0), "--clouds"),
    ],
)
def test_bad_options_raise_config_error(tmp_path: Path, options: SynthOptions, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        generate_scene(tmp_path / "x", options)
    assert not (tmp_path / "x").exists()
