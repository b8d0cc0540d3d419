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

CLOSP (``data.modalities``: the bands of each modality's tower, each caption
table naming its ``modality``): one tower per modality, all trained against
one shared text side, each step one batch per modality; the windows of
different modalities are never paired. :func:`train_closp` writes
``bundle/<modality>/`` per tower (:func:`~eoforge.models.image_text_bundle.save_closp_bundles`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import CombinedLoader
from rich.console import Console
from torch.utils.data import DataLoader

from eoforge.data import collate
from eoforge.errors import ConfigError
from eoforge.experiment.classes import ClassSet
from eoforge.experiment.config import CaptionData, CaptionSource, ExperimentConfig
from eoforge.experiment.data import ExperimentData
from eoforge.experiment.export import export_bundle
from eoforge.experiment.progress import TrainingBar
from eoforge.experiment.sampling import ShuffledIndices
from eoforge.experiment.scenes import catalog_of
from eoforge.io.source import RasterSource
from eoforge.models import ModelSpec, build_model
from eoforge.models.image_text import ENCODERS, ClospModel, ImageTextModel, ImageTower
from eoforge.models.image_text_bundle import save_closp_bundles, write_text_side
from eoforge.tasks.image_text import CaptionPairs, CaptionTable, ImageTextTask, read_caption_table
from eoforge.tasks.image_text.closp import ClospTask
from eoforge.text import SentenceTower
from eoforge.transforms import compute_band_stats

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
    if data.modalities is not None:
        raise ConfigError(
            "data.modalities makes a CLOSP run: one set of pairs per modality, not one.",
            fix="train it with eoforge train (closp_pairs reads its pairs).",
        )
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


@dataclass
class ClospRun:
    """What a CLOSP run wrote.

    Attributes:
        bundle: Parent folder of the bundles, one per modality (``bundle/<modality>/``).
        bundles: The bundle folder of each modality.
        metrics: The last logged metrics (``train/loss_step``, ``val/loss``, ``val/loss_<m>``).
        log_dir: The CSV log folder.
    """

    bundle: Path
    bundles: dict[str, Path]
    metrics: dict[str, float]
    log_dir: Path | None


def is_closp(config: ExperimentConfig) -> bool:
    """Whether the config trains CLOSP towers (``data.modalities`` set)."""
    return isinstance(config.data, CaptionData) and config.data.modalities is not None


def closp_pairs(
    config: ExperimentConfig,
) -> tuple[dict[str, CaptionPairs], dict[str, CaptionPairs]]:
    """Training and validation pairs of each modality, from its own tables only.

    A modality without ``data.val`` tables holds out ``val_fraction`` of its windows.

    Raises:
        ConfigError: Images without the modality's bands, no window size, too few windows.
    """
    data = _check(config)
    assert data.modalities is not None
    train: dict[str, CaptionPairs] = {}
    val: dict[str, CaptionPairs] = {}
    size = data.patch_size
    for name, bands in data.modalities.items():
        own = [s for s in data.train if s.modality == name]
        tables = _tables(own, list(bands), f"data.train ({name})")
        size = size or tables[0][0].window_px
        if size is None:
            raise ConfigError(
                f"{tables[0][0].path} records no window_px.",
                fix="set data.patch_size (pixels per window side).",
            )
        held = [s for s in data.val or [] if s.modality == name]
        if held:
            train[name] = CaptionPairs(tables, list(bands), size)
            val[name] = CaptionPairs(
                _tables(held, list(bands), f"data.val ({name})"), list(bands), size
            )
        else:
            rows, val_rows = _split(tables, data.val_fraction, config.trainer.seed)
            train[name] = CaptionPairs(tables, list(bands), size, rows)
            val[name] = CaptionPairs(tables, list(bands), size, val_rows)
    return train, val


def _stats(pairs: CaptionPairs, bands: list[str], count: int) -> tuple[list[float], list[float]]:
    picks = np.linspace(0, len(pairs) - 1, min(count, len(pairs))).astype(int)
    stats = compute_band_stats((pairs[int(i)] for i in picks), bands, max_samples=None)
    return stats.mean.tolist(), stats.std.tolist()


def closp_task(
    config: ExperimentConfig, train: dict[str, CaptionPairs]
) -> tuple[ClospTask, dict[str, tuple[list[float], list[float]]]]:
    """A fresh CLOSP task: one ``model.arch`` tower per modality, one frozen-or-not text side.

    Raises:
        ConfigError: ``model.arch`` cannot be an image tower.
    """
    data = _check(config)
    assert data.modalities is not None
    t, m = config.task.text, config.model
    if m.arch not in ENCODERS:
        raise ConfigError(
            f"model.arch {m.arch!r} cannot be the image tower of an image-text model.",
            fix=f"use one of {', '.join(ENCODERS)}.",
        )
    towers: dict[str, ImageTower] = {}
    norm = {}
    for name, bands in data.modalities.items():
        options = {"encoder": m.arch, "encoder_options": dict(m.options), "dim": t.dim}
        spec = ModelSpec(
            task="embedding",
            arch="image_text_tower",
            backbone=m.backbone,
            in_bands=list(bands),
            num_classes=1,
            options=options,
        )
        tower = build_model(spec)
        assert isinstance(tower, ImageTower)
        towers[name] = tower
        norm[name] = _stats(train[name], list(bands), data.stats_samples)
    model = ClospModel(towers, SentenceTower(trainable=t.train_text), temperature=t.temperature)
    if not t.learn_temperature:
        model.logit_scale.requires_grad_(False)
    task = ClospTask(
        model,
        norm,
        lr=config.optim.lr,
        weight_decay=config.optim.weight_decay,
        positives=t.positives,
    )
    return task, norm


def closp_loaders(
    config: ExperimentConfig, train: dict[str, CaptionPairs], val: dict[str, CaptionPairs]
) -> tuple[CombinedLoader, CombinedLoader]:
    """One loader per modality, combined.

    Training steps take one batch of each modality (the shorter loaders cycled);
    validation goes through every modality's windows once.
    """
    d, seed = config.data, config.trainer.seed

    def loader(data: CaptionPairs, shuffle: bool, offset: int) -> DataLoader[Any]:
        generator = torch.Generator().manual_seed(seed + offset)
        return DataLoader(
            data,
            batch_size=d.batch_size,
            shuffle=shuffle,
            generator=generator,
            num_workers=d.num_workers,
            persistent_workers=d.num_workers > 0,
            collate_fn=collate,
            drop_last=shuffle and len(data) > d.batch_size,
        )

    names = sorted(train)
    training = {n: loader(train[n], True, i) for i, n in enumerate(names)}
    checking = {n: loader(val[n], False, 0) for n in names if len(val[n])}
    return CombinedLoader(training, mode="max_size_cycle"), CombinedLoader(
        checking, mode="max_size"
    )


def train_closp(config: ExperimentConfig, ckpt: Path | None, console: Console | None) -> ClospRun:
    """Train CLOSP towers (``data.modalities``) and write one bundle per modality.

    Each step averages the modalities' symmetric InfoNCE losses (one batch each,
    every batch against its own captions); the towers meet only in the shared text
    space. Resuming restarts the interrupted epoch from ``last.ckpt``.
    ``bundle/<modality>/`` is an image-text bundle of that tower with the shared
    text side; all record one ``joint_space``, so an index of one modality's
    vectors can be searched with another's vectors or bundle.

    Raises:
        ConfigError: Bad data or settings (see :func:`closp_pairs`).
    """
    run_dir = config.trainer.output_dir
    train, val = closp_pairs(config)
    task, norm = closp_task(config, train)
    training, checking = closp_loaders(config, train, val)
    t = config.trainer
    found: list[Callback] = [
        ModelCheckpoint(run_dir / "checkpoints", filename="last", enable_version_counter=False)
    ]
    if console is not None:
        found.append(TrainingBar(console, "val/loss"))
    trainer = L.Trainer(
        max_epochs=t.max_epochs,
        max_time=t.time_budget(),
        accelerator=t.accelerator,
        devices=1,
        precision=t.precision,  # type: ignore[arg-type]
        default_root_dir=run_dir,
        logger=CSVLogger(run_dir, name="logs"),
        callbacks=found,
        num_sanity_val_steps=0,
        log_every_n_steps=10,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, training, checking, ckpt_path=ckpt, weights_only=True)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    first = next(iter(train.values()))
    minx, _, maxx, _ = first.items[0][1]
    gsd = (maxx - minx) / first.size
    folder = run_dir / "bundle"
    bundles: dict[str, Path] = {}
    if trainer.is_global_zero:  # one process writes the bundles
        task.model.cpu()
        shutil.rmtree(folder, ignore_errors=True)
        bundles = save_closp_bundles(
            folder, task.model, norm, gsd=dict.fromkeys(norm, gsd), patch_size=first.size
        )
    log_dir = Path(trainer.log_dir) if trainer.log_dir is not None else None
    return ClospRun(folder, bundles, metrics, log_dir)
