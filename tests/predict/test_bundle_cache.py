"""A bundle is loaded once per process while its files are unchanged, and again once rewritten."""

from __future__ import annotations

from pathlib import Path

import torch
from tests.embeddings.windows import BANDS, embedding_bundle

from eoforge.predict import BundleModel, bundle_predictor


def test_a_bundle_loads_once_until_its_files_change(tmp_path: Path) -> None:
    folder = embedding_bundle(tmp_path / "bundle")
    model = BundleModel((str(folder),))
    first = model.load()
    assert model.load()[0].model is first[0].model  # resolving, sizing and building share it
    predictor = model.build()
    assert model.build() is predictor
    x = torch.rand(2, len(BANDS), 16, 16)
    with torch.inference_mode():
        before = predictor(x)

    embedding_bundle(tmp_path / "bundle", seed=1)  # other weights under the same name
    again = model.load()
    assert again[0].model is not first[0].model
    rebuilt = model.build()
    assert rebuilt is not predictor
    with torch.inference_mode():
        after = rebuilt(x)
    assert not torch.allclose(before, after)
    fresh, _ = bundle_predictor(folder)  # loaded from the files, past the cache
    with torch.inference_mode():
        assert torch.equal(fresh(x), after)
