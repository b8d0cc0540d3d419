"""The pieces of an image-text run (``task.kind: image_text``): data, spec, task, export.

The data are caption tables and the images their windows lie in
(``data.kind: captions``); each (window, caption) row is one training pair.
The image tower is the config's encoder (``model.arch``: ``spectral_vit``,
``spectral_resnet`` or ``timm_encoder``, its options in ``model.options``)
plus a projection into the joint space, built as the ``image_text_tower``
arch, so the exported bundle is an ``embedding`` bundle of the tower: its
bands, normalisation and input size (the window size). The text side
(package, projection, temperature) is written into the same folder
(:mod:`eoforge.models.image_text_bundle`) before the folder is renamed into place.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from eoforge.errors import ConfigError
from eoforge.experiment.classes import ClassSet
from eoforge.experiment.config import CaptionData, CaptionSource, ExperimentConfig
from eoforge.experiment.data import ExperimentData
from eoforge.experiment.export import export_bundle
from eoforge.experiment.sampling import ShuffledIndices
from eoforge.experiment.scenes import catalog_of
from eoforge.io.source import RasterSource
from eoforge.models import ModelSpec, build_model
from eoforge.models.image_text import ENCODERS, ImageTextModel, ImageTower
from eoforge.models.image_text_bundle import write_text_side
from eoforge.tasks.image_text import CaptionPairs, CaptionTable, ImageTextTask, read_caption_table
from eoforge.text import SentenceTower

Sample = dict[str, Any]


def _check(config: ExperimentConfig) -> CaptionData:
    data = config.data
    if (config.task.kind == "image_text") != isinstance(data, CaptionData):
        raise ConfigError(
            f"task.kind {config.task.kind!r} with data.kind {data.kind!r}: image-text training "
            "reads caption tables, and caption tables serve only image-text training.",
            fix="pair task.kind image_text with data.kind captions.",
        )
    assert isinstance(data, CaptionData)
    return data


def _tables(
    sources: list[CaptionSource], bands: list[str], key: str
) -> list[tuple[CaptionTable, list[RasterSource]]]:
    out = []
    for i, source in enumerate(sources):
        images = [
            e.source
            for e in catalog_of(list(source.images)).query(kind="image")
            if e.source is not None and any(e.source.resolve(b) for b in bands)
        ]
        if not images:
            raise ConfigError(
                f"{key}[{i}].images: no image provides any of the bands {bands}.",
                fix="point at the scenes the captions describe, or change data.bands.",
            )
        out.append((read_caption_table(source.table), images))
    return out


def _split(
    tables: list[tuple[CaptionTable, list[RasterSource]]], fraction: float, seed: int
) -> tuple[list[list[int]], list[list[int]]]:
    """Row positions of training and validation pairs; a window's captions stay together."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for table, _ in tables:
        ids = table.rows["window_id"].to_numpy()
        windows = np.unique(ids)
        held = set(rng.permutation(windows)[: max(1, round(fraction * len(windows)))].tolist())
        if len(held) == len(windows):
            raise ConfigError(
                f"{table.path} has {len(windows)} window(s): none left to train on after holding "
                "out validation windows.",
                path=table.path,
                fix="give data.val tables, or more windows.",
            )
        val.append([i for i, w in enumerate(ids) if w in held])
        train.append([i for i, w in enumerate(ids) if w not in held])
    return train, val


def caption_data(config: ExperimentConfig) -> ExperimentData:
    """The pairs of ``data.train`` and ``data.val`` (or a held-out share of windows).

    Raises:
        ConfigError: Wrong data kind for the task, images without the bands, no window size.
    """
    data = _check(config)
    bands = list(data.bands)
    train_tables = _tables(data.train, bands, "data.train")
    size = data.patch_size or train_tables[0][0].window_px
    if size is None:
        raise ConfigError(
            f"{train_tables[0][0].path} records no window_px.",
            fix="set data.patch_size (pixels per window side).",
        )
    if data.val is None:
        train_rows, val_rows = _split(train_tables, data.val_fraction, config.trainer.seed)
        train = CaptionPairs(train_tables, bands, size, train_rows)
        val = CaptionPairs(train_tables, bands, size, val_rows)
    else:
        train = CaptionPairs(train_tables, bands, size)
        val = CaptionPairs(_tables(data.val, bands, "data.val"), bands, size)
    first = train_tables[0][0].rows.geometry.bounds.iloc[0]
    gsd = float(first["maxx"] - first["minx"]) / size
    seed, count = config.trainer.seed, data.stats_samples

    def stats() -> Iterator[Sample]:
        for i in np.linspace(0, len(train) - 1, min(count, len(train))).astype(int):
            yield train[int(i)]

    return ExperimentData(
        train=train,
        val=val,
        train_sampler=lambda: ShuffledIndices(len(train), shuffle=True, seed=seed),
        val_sampler=lambda: ShuffledIndices(len(val), shuffle=False),
        bands=bands,
        classes=ClassSet(),
        gsd=gsd,
        patch_size=size,
        stats_samples=stats,
    )


def image_text_spec(config: ExperimentConfig, data: ExperimentData) -> ModelSpec:
    """The image tower's spec: the config's encoder + a projection of ``task.text.dim``.

    Raises:
        ConfigError: ``model.arch`` cannot be an image tower.
    """
    m = config.model
    if m.arch not in ENCODERS:
        raise ConfigError(
            f"model.arch {m.arch!r} cannot be the image tower of an image-text model.",
            fix=f"use one of {', '.join(ENCODERS)}.",
        )
    options = {"encoder": m.arch, "encoder_options": dict(m.options), "dim": config.task.text.dim}
    return ModelSpec(
        task="embedding",
        arch="image_text_tower",
        backbone=m.backbone,
        in_bands=list(data.bands),
        num_classes=1,
        options=options,
    )


def image_text_task(
    config: ExperimentConfig, spec: ModelSpec, norm: tuple[Any, Any]
) -> ImageTextTask:
    """The task around a fresh image tower (``model.pretrained`` loaded into its encoder)."""
    t, o = config.task.text, config.optim
    tower = build_model(spec)
    assert isinstance(tower, ImageTower)
    if config.model.pretrained is not None:
        inner = config.model.spec("embedding", spec.in_bands, 1)
        tower.encoder = build_model(inner)
    model = ImageTextModel(
        tower,
        SentenceTower(trainable=t.train_text),
        temperature=t.temperature,
        learn_temperature=t.learn_temperature,
    )
    return ImageTextTask(
        model,
        positives=t.positives,
        model_spec=spec,
        lr=o.lr,
        weight_decay=o.weight_decay,
        optimizer=o.optimizer,
        scheduler=o.scheduler,
        max_epochs=config.trainer.max_epochs,
        normalization=norm,
    )


def export_image_text(
    folder: Path,
    task: ImageTextTask,
    spec: ModelSpec,
    data: ExperimentData,
    norm: tuple[Any, Any],
    metrics: dict[str, Any],
    config: ExperimentConfig,
) -> Path:
    """Write the image tower's bundle with the text side beside it, then rename it into place."""
    model = task.model
    assert isinstance(model, ImageTextModel)
    model.cpu()
    staging = folder.with_name(f".{folder.name}.image-text.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        export_bundle(staging, model.image_tower, spec, data, norm, metrics, config)
        write_text_side(staging, model)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
