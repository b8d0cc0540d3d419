"""A model bundle as a :data:`~eoforge.predict.engine.Predictor`: its own preprocessing, always.

The bundle carries the band names and the normalisation it was trained with,
so prediction cannot mix up band order or statistics.
"""

from __future__ import annotations

from os import PathLike

import torch

from eoforge.models import LoadedBundle, load_bundle
from eoforge.predict.engine import Predictor

_SOFTMAX_TASKS = ("segmentation", "change")


def bundle_predictor(bundle: LoadedBundle | str | PathLike[str]) -> tuple[Predictor, LoadedBundle]:
    """Wrap a bundle's model with its normalisation (and softmax for class scores).

    Invalid input pixels arrive as NaN and are set to 0 after normalisation, as in
    training, so they cannot leak into neighbours through convolutions.

    Args:
        bundle: A loaded bundle or its folder.

    Returns:
        ``(predictor, loaded bundle)``; the predictor maps ``[B, C, h, w]`` physical
        values to ``[B, K, h, w]`` probabilities (classification tasks) or values.
    """
    loaded = bundle if isinstance(bundle, LoadedBundle) else load_bundle(bundle)
    model = loaded.model.eval()
    mean = torch.tensor(loaded.bundle.normalization.mean, dtype=torch.float32)[None, :, None, None]
    std = torch.tensor(loaded.bundle.normalization.std, dtype=torch.float32)[None, :, None, None]
    softmax = loaded.bundle.task in _SOFTMAX_TASKS

    def predict(images: torch.Tensor) -> torch.Tensor:
        x = torch.nan_to_num((images - mean) / std, nan=0.0)
        out = model(x)
        return torch.softmax(out, dim=1) if softmax else out

    return predict, loaded
