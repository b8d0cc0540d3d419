from __future__ import annotations

import numpy as np
import pytest
import torch

from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, PixelForest, build_model
from eoforge.models.spectral import index_channels

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08", "S2.B11"]


def _scene(seed: int, n: int = 3, size: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Reflectance-like images ``[n, 5, size, size]`` and 3-class masks driven by NDVI/NDWI."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.01, 0.5, size=(n, len(BANDS), size, size)).astype(np.float32)
    ndvi = (images[:, 3] - images[:, 2]) / (images[:, 3] + images[:, 2])
    ndwi = (images[:, 1] - images[:, 3]) / (images[:, 1] + images[:, 3])
    masks = np.where(ndvi > 0.3, 1, np.where(ndwi > 0.2, 2, 0)).astype(np.int64)
    return images, masks


def _forest(estimator: str = "random_forest") -> PixelForest:
    options = {"n_estimators": 12, "max_depth": 9, "samples_per_class": 400, "estimator": estimator}
    spec = ModelSpec(
        task="segmentation", arch="pixel_forest", in_bands=BANDS, num_classes=4, options=options
    )
    model = build_model(spec)
    assert isinstance(model, PixelForest)
    return model


def test_indices_found_by_band_name() -> None:
    assert index_channels(BANDS) == {"NDVI": (3, 2), "NDWI": (1, 3), "NDBI": (4, 3)}
    assert index_channels(["S2.B02", "S2.B03", "S2.B04"]) == {}
    assert index_channels(["L8.B4", "L8.B5"]) == {"NDVI": (1, 0)}


@pytest.mark.parametrize("estimator", ["random_forest", "extra_trees"])
def test_exported_forest_matches_sklearn(estimator: str) -> None:
    images, masks = _scene(0)
    valid = np.ones(masks.shape, dtype=bool)
    valid[:, :4] = False
    model = _forest(estimator).fit(images, masks, valid).eval()
    test_images, _ = _scene(1)
    for batch in (torch.from_numpy(test_images), torch.from_numpy(images)):  # unseen + training
        with torch.no_grad():
            log_proba = model(batch)
        assert log_proba.shape == (3, 4, 24, 24)
        features = model.features(batch).permute(0, 2, 3, 1).reshape(-1, 8).numpy()
        expected = model.estimator.predict_proba(features)  # classes 0, 1, 2 seen
        got = log_proba.exp().permute(0, 2, 3, 1).reshape(-1, 4).numpy()
        np.testing.assert_allclose(got[:, :3], expected, atol=1e-6)
        assert np.all(got[:, 3] < 1e-9)  # class 3 never labelled
        np.testing.assert_array_equal(got.argmax(1), expected.argmax(1))


def test_forest_learns_the_index_rule() -> None:
    images, masks = _scene(0)
    model = _forest().fit(images, masks).eval()
    test_images, test_masks = _scene(2)
    with torch.no_grad():
        predicted = model(torch.from_numpy(test_images)).argmax(1).numpy()
    assert (predicted == test_masks).mean() > 0.9


def test_fit_ignores_invalid_and_out_of_range_labels() -> None:
    images, masks = _scene(0)
    masks[:, :12] = 255  # ignore index
    model = _forest().fit(images, masks)
    assert model.fitted and model.estimator is not None
    assert model.estimator.n_features_in_ == 8
    assert set(model.estimator.classes_) <= {0, 1, 2}
    with pytest.raises(ConfigError, match="no valid labelled pixel"):
        _forest().fit(images, np.full_like(masks, 255))


def test_unfitted_forest_says_so() -> None:
    with pytest.raises(ConfigError, match="has not been fitted"):
        _forest()(torch.zeros(1, 5, 8, 8))
