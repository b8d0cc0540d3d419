"""Fit the ``pixel_forest`` baseline from the experiment's loaders and score it.

The forest learns from the pixels of the first training epoch's windows (at
most ``model.options.fit_windows`` of them, default 128), in physical units
(its spectral indices need reflectance), so its bundle's normalisation is the
identity. It is scored on the validation loader with the segmentation task's
metric code, like the networks; :func:`eoforge.experiment.train.train`
exports it like them.
"""

from __future__ import annotations

import torch

from eoforge.errors import ConfigError
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.data import ExperimentData
from eoforge.experiment.datamodule import ExperimentDataModule
from eoforge.experiment.scoring import score
from eoforge.models import ModelSpec, PixelForest, build_model
from eoforge.tasks import build_task


def training_pixels(
    module: ExperimentDataModule, limit: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images, masks and valid masks of up to ``limit`` training windows (epoch 0).

    Returns:
        ``image`` ``[N, C, H, W]`` float32 in physical units, ``mask``
        ``[N, H, W]`` int64 class ids and ``valid`` ``[N, H, W]`` bool, with
        ``N <= limit``.
    """
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


def fit_forest(
    config: ExperimentConfig, data: ExperimentData, spec: ModelSpec
) -> tuple[PixelForest, dict[str, float]]:
    """Fit the pixel forest on training windows and score it on the validation loader.

    Args:
        config: The experiment (``model.arch`` is ``pixel_forest``).
        data: Its datasets.
        spec: The network spec (:func:`eoforge.experiment.train.model_spec`).

    Returns:
        The fitted forest, and its validation metrics (``"val/miou"``...).

    Raises:
        ConfigError: The task is not segmentation.
    """
    if config.task.kind != "segmentation":
        raise ConfigError(
            f"model.arch: pixel_forest serves segmentation only, not {config.task.kind!r}.",
            fix="set task.kind to segmentation, or choose another model.arch (eoforge models).",
        )
    forest = build_model(spec)
    assert isinstance(forest, PixelForest)
    module = ExperimentDataModule(
        data, config.data.batch_size, config.data.num_workers, config.trainer.seed
    )
    limit = int(config.model.options.get("fit_windows", 128))
    try:
        forest.fit(*training_pixels(module, limit))
        task = build_task(
            "segmentation",
            forest,
            model_spec=spec,
            ignore_index=config.task.ignore_index,
            augment=False,
            class_names=data.classes.names,
        )
        metrics = {f"val/{k}": v for k, v in score(task, module.val_dataloader()).items()}
    finally:
        module.stop_workers()  # the training loader stopped early; its workers wait
    return forest, metrics
