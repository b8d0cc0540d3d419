"""Image-to-image training pieces: the network spec and per-band target statistics.

The data are geo data (``data.kind: geo``) whose samples carry ``target``
``[K, H, W]``: the ``data.target_bands`` read from ``target_scene`` (see
:func:`eoforge.experiment.scenes.with_target_bands`).
"""

from __future__ import annotations

import torch

from eoforge.errors import ConfigError
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.data import ExperimentData
from eoforge.models import ModelSpec


def image_to_image_spec(config: ExperimentConfig, data: ExperimentData) -> ModelSpec:
    """A dense network with one output per target band; their names go in ``options``.

    Raises:
        ConfigError: No ``data.target_bands``.
    """
    targets = list(getattr(config.data, "target_bands", None) or [])
    if not targets:
        raise ConfigError(
            "data.target_bands: missing; image_to_image predicts bands named there.",
            fix="list them, e.g. data.target_bands: [S2.B02, S2.B03, S2.B04, S2.B08].",
        )
    options = {**config.model.options, "target_bands": targets}
    return config.model.spec("image_to_image", data.bands, len(targets), options)


def band_target_stats(data: ExperimentData) -> tuple[list[float], list[float]]:
    """Per-band mean and std ``[K]`` of the finite targets of the statistics sample.

    Raises:
        ConfigError: A target band without two finite values in the sample.
    """
    totals: torch.Tensor | None = None
    for sample in data.stats_samples():
        target = sample["target"].double()
        if target.ndim != 3:
            raise ConfigError(
                f"image_to_image targets are [K, H, W], got {tuple(target.shape)}.",
                fix="set data.target_bands.",
            )
        finite = torch.isfinite(target)
        values = torch.where(finite, target, torch.zeros((), dtype=target.dtype))
        part = torch.stack([finite.sum((1, 2)), values.sum((1, 2)), (values * values).sum((1, 2))])
        totals = part if totals is None else totals + part
    if totals is None or bool((totals[0] < 2).any()):
        raise ConfigError(
            "a target band has no valid pixel in the training sample.",
            fix="check data.target_bands and that target_scene covers the input scenes.",
        )
    count, total, squares = totals
    mean = total / count
    var = (squares / count - mean * mean).clamp_min(0) * count / (count - 1)
    std = var.sqrt().clamp_min(1e-6)
    return mean.tolist(), std.tolist()
