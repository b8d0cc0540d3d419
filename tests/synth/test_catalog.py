"""A generated scene is readable through eoforge's catalog and reader by band name."""

from __future__ import annotations

import numpy as np
import rasterio
from odc.geo.geobox import GeoBox

from eoforge.catalog import Catalog
from eoforge.io.reader import read
from eoforge.sensors import get_band
from eoforge.synth import SceneManifest
from eoforge.synth.render.bands import BANDS_BY_NAME


def test_every_band_name_is_in_the_sensor_registry() -> None:
    for name, spec in BANDS_BY_NAME.items():
        band = get_band(name)
        assert band.name == name
        if spec.center is not None and band.center_wavelength_nm is not None:
            assert abs(band.center_wavelength_nm / 1000 - spec.center) < 0.006, name


def test_catalog_reads_bands_by_name(scene: SceneManifest) -> None:
    assert scene.stac is not None
    catalog = Catalog.from_stac(scene.stac)
    stamp = f"{scene.dates[0]:%Y%m%d}"
    entry = catalog[f"s2-{stamp}"]
    with rasterio.open(scene.find("S2.B04", scene.dates[0])) as ds:
        grid = GeoBox(ds.shape, ds.transform, ds.crs)
        red = ds.read(1) * ds.scales[0] + ds.offsets[0]
    image, valid = read(entry.source, grid, ["S2.B04", "nir", "S2.B06", "swir16"])
    assert image.shape == (4, *grid.shape) and valid.all()
    np.testing.assert_allclose(image[0], red, atol=1e-6)
    sar, _ = read(catalog[f"s1-{stamp}"].source, grid, ["S1.VV"])
    assert -30 < float(sar.mean()) < 0
