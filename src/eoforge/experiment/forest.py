"""Fit the ``pixel_forest`` baseline from the experiment's loaders and export its bundle.

The forest learns from the pixels of the first training epoch's windows (at
most ``model.options.fit_windows`` of them, default 128), in physical units
(its spectral indices need reflectance), so its bundle's normalisation is the
identity. It is scored on the validation loader with the segmentation task's
metric code, like the networks.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from eoforge.errors import ConfigError
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.data import ExperimentData
from eoforge.experiment.datamodule import ExperimentDataModule
from eoforge.experiment.export import export_bundle
from eoforge.experiment.scoring import score
from eoforge.experiment.train import TrainResult, model_spec
from eoforge.models import PixelForest, build_model
from eoforge.tasks import build_task


def training_pixels(
    module: ExperimentDataModule, limit: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images, masks and valid masks of up to ``limit`` training windows (epoch 0)."""
    images, masks, valid = [], [], []
    seen = 0
    for batch in module.train_dataloader():
        images.append(batch["image"])
        masks.append(batch["mask"])
        valid.append(batch["valid"])
        seen += int(batch["image"].shape[0])
        if seen >= limit:
            break
    return torch.cat(images)[:limit], torch.cat(masks)[:limit], torch.cat(valid)[:limit]


def train_forest(
    config: ExperimentConfig, data: ExperimentData, run_dir: Path, start: float
) -> TrainResult:
    """Fit, score and export the pixel forest.

    Raises:
        ConfigError: The task is not segmentation.
    """
    if config.task.kind != "segmentation":
        raise ConfigError("model.arch: pixel_forest serves segmentation only.")
    spec = model_spec(config, data)
    forest = build_model(spec)
    assert isinstance(forest, PixelForest)
    module = ExperimentDataModule(
        data, config.data.batch_size, config.data.num_workers, config.trainer.seed
    )
    limit = int(config.model.options.get("fit_windows", 128))
    forest.fit(*training_pixels(module, limit))
    identity = ([0.0] * len(data.bands), [1.0] * len(data.bands))
    task = build_task(
        "segmentation",
        forest,
        model_spec=spec,
        ignore_index=config.task.ignore_index,
        augment=False,
        class_names=data.classes.names,
    )
    metrics = {f"val/{k}": v for k, v in score(task, module.val_dataloader()).items()}
    bundle = export_bundle(run_dir / "bundle", forest, spec, data, identity, metrics, config)
    return TrainResult(bundle, run_dir, metrics, None, None, time.perf_counter() - start)
