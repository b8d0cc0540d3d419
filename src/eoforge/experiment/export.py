"""Export a trained model as a bundle, with the experiment config beside it.

The bundle (:func:`eoforge.models.save_bundle`) carries the task, spec,
bands, normalisation, GSD, patch size, classes and final metrics (an
``embedding`` bundle, e.g. of a pretrained encoder, carries no classes);
``experiment.yaml`` in the same folder keeps the training config so that
``eoforge evaluate`` can read a new scene the way training read its scenes
(label band, class merging, ignore index).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from eoforge.errors import ConfigError
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.data import ExperimentData
from eoforge.models import Bundle, ModelSpec, Normalization, save_bundle

CONFIG_FILE = "experiment.yaml"


def export_bundle(
    folder: Path,
    model: nn.Module,
    spec: ModelSpec,
    data: ExperimentData,
    normalization: tuple[Sequence[float], Sequence[float]],
    metrics: dict[str, Any],
    config: ExperimentConfig,
) -> Path:
    """Write the bundle folder and its ``experiment.yaml``.

    Args:
        folder: Bundle folder (replaced atomically).
        model: Trained network built from ``spec``.
        spec: Its spec.
        data: The experiment's data (bands, classes, GSD, patch size).
        normalization: Per-band ``(mean, std)`` in physical units.
        metrics: Final metrics (``"val/miou"``...).
        config: The experiment config.

    Returns:
        The bundle folder.
    """
    mean, std = normalization
    bundle = Bundle(
        task=spec.task,
        model=spec,
        bands=list(data.bands),
        normalization=Normalization(mean=[float(v) for v in mean], std=[float(v) for v in std]),
        gsd=data.gsd,
        patch_size=data.patch_size,
        classes=[] if spec.task == "embedding" else data.classes.infos(),
        metrics=metrics,
    )
    path = save_bundle(folder, model.cpu(), bundle)
    write_config(path / CONFIG_FILE, config)
    return path


def write_config(path: Path, config: ExperimentConfig) -> None:
    """Write a config as YAML (temporary file, then rename)."""
    text = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # DDP ranks write it too
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)


def fold_target_scale(
    model: nn.Module, mean: float | Sequence[float], std: float | Sequence[float]
) -> None:
    """Make a regression network output physical units: ``y = std * y' + mean``.

    ``mean`` and ``std`` are one value for every output, or one per output
    channel (image-to-image: one per target band).

    Scales the weights and shifts the bias of the last convolution or linear
    layer (the head; what follows it in eoforge networks is linear
    resampling, which preserves the affine map), so the bundle needs no
    separate target de-normalisation.

    Raises:
        ConfigError: The last layer has no bias to carry the target mean.
    """
    heads = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    head = heads[-1]
    if head.bias is None:
        raise ConfigError(
            "cannot fold the target mean into a head without bias.",
            fix="use an architecture whose last layer has a bias (smp and timm heads do).",
        )
    out = head.bias.shape[0]
    scale = torch.as_tensor(std, dtype=head.weight.dtype).flatten().expand(out).clone()
    shift = torch.as_tensor(mean, dtype=head.bias.dtype).flatten().expand(out).clone()
    head.weight.data.mul_(scale.view(-1, *([1] * (head.weight.ndim - 1))))
    head.bias.data.mul_(scale).add_(shift)
