"""A bundle predicts a whole scene into a class-map COG with colours, names and nodata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rio_cogeo.cogeo import cog_validate
from tests.helpers import write_tif

from eoforge.geo import make_grid
from eoforge.io import source_from_file
from eoforge.models import Bundle, ClassInfo, ModelSpec, Normalization, PixelForest, save_bundle
from eoforge.predict import CLASS_NODATA, OutputSpec, TilingOptions, bundle_predictor, predict_scene

T = Affine(10, 0, 600000, 0, -10, 5700000)
BANDS = ["S2.B04", "S2.B08"]


def _bundle(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    images = rng.random((4, 2, 32, 32), dtype=np.float32)
    masks = (images[:, 1] > images[:, 0]).astype(np.int64)  # class 1 where NIR > red
    spec = ModelSpec(
        task="segmentation",
        arch="pixel_forest",
        in_bands=BANDS,
        num_classes=2,
        options={"n_estimators": 8},
    )
    model = PixelForest(spec).fit(images, masks)
    bundle = Bundle(
        task="segmentation",
        model=spec,
        bands=BANDS,
        normalization=Normalization(mean=[0.0, 0.0], std=[1.0, 1.0]),
        patch_size=32,
        classes=[
            ClassInfo(id=0, name="bare", color="#a0522d"),
            ClassInfo(id=1, name="vegetation", color="#228b22"),
        ],
    )
    return save_bundle(tmp_path / "bundle", model, bundle)


def test_bundle_classifies_a_scene_into_a_class_map_cog(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    red, nir = rng.random((2, 200, 300), dtype=np.float32)
    data = np.stack([red, nir])
    data[:, 20:40, 50:90] = -1  # nodata
    path = write_tif(tmp_path / "scene.tif", data, T, "EPSG:32631", nodata=-1, descriptions=BANDS)
    predictor, loaded = bundle_predictor(_bundle(tmp_path))
    out = predict_scene(
        predictor,
        source_from_file(path),
        make_grid((200, 300), T, "EPSG:32631"),
        loaded.bundle.bands,
        tmp_path / "scene",
        spec=OutputSpec.from_bundle(loaded),
        options=TilingOptions(96, 16, 4),
    )["classes"]
    assert out == tmp_path / "scene_classes.tif"
    assert cog_validate(str(out), quiet=True)[0]
    with rasterio.open(out) as ds:
        labels = ds.read(1)
        assert ds.dtypes[0] == "uint8" and ds.nodata == CLASS_NODATA
        assert ds.colormap(1)[1][:3] == (0x22, 0x8B, 0x22)
        assert ds.tags(1)["CLASS_1"] == "vegetation"
    invalid = data[0] == -1
    assert (labels[invalid] == CLASS_NODATA).all()
    expected = (nir > red).astype(np.uint8)
    clear = ~invalid & (np.abs(nir - red) > 0.1)  # away from the decision boundary
    assert (labels[clear] == expected[clear]).mean() > 0.95
