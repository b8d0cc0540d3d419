"""``train(config)``: data, normalisation, model, Lightning fit, bundle export.

The run folder (``trainer.output_dir``) receives ``config.yaml`` (the
resolved config), ``checkpoints/last.ckpt`` (every N training steps and at
each epoch end), ``logs/version_<n>/metrics.csv`` (Lightning's CSV logger, one version per
attempt, so a resumed run keeps the interrupted attempt's log),
``bundle/`` (weights, ``bundle.json``, ``experiment.yaml``) and, when
``data.on_bad_file: skip`` left files out, ``skipped_files.tsv`` (one
``path<TAB>reason`` line per skip). The
``pixel_forest`` baseline is fitted by :mod:`.forest` instead of gradient
descent and exported the same way. Progress is one bar
(:class:`~eoforge.experiment.progress.TrainingBar`), and an eoforge error
raised while a DataLoader worker reads the data reaches the caller as itself
(:mod:`.workers`), not as PyTorch's wrapped copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from rich.console import Console
from torch import nn

from eoforge.data.sr_pairs import band_stats
from eoforge.errors import ConfigError
from eoforge.experiment.config import ExperimentConfig, GeoData, GroupChipsData
from eoforge.experiment.data import SKIPPED_LOG, ExperimentData, build_data
from eoforge.experiment.datamodule import ExperimentDataModule
from eoforge.experiment.export import export_bundle, fold_target_scale, write_config
from eoforge.experiment.fields import FIELD_TASK
from eoforge.experiment.fields import OUTPUTS as FIELD_OUTPUTS
from eoforge.experiment.forest import fit_forest
from eoforge.experiment.group_chips import group_chips_data
from eoforge.experiment.image_text import (
    caption_data,
    export_image_text,
    image_text_spec,
    image_text_task,
    is_closp,
    train_closp,
)
from eoforge.experiment.image_to_image import band_target_stats, image_to_image_spec
from eoforge.experiment.location import (
    LocationDataModule,
    export_location,
    location_pairs,
    location_spec,
    location_task,
)
from eoforge.experiment.multi_input import (
    group_normalization,
    is_multi_input,
    multi_input_data,
    multi_input_spec,
)
from eoforge.experiment.pretrain import pretrain_spec, pretrain_task
from eoforge.experiment.progress import TrainingBar
from eoforge.experiment.resume import ExactResume, persist_metrics
from eoforge.experiment.superres import (
    SRDataModule,
    export_sr,
    sr_spec,
    sr_task,
)
from eoforge.experiment.superres import read_pairs as read_sr_pairs
from eoforge.experiment.workers import worker_errors_unwrapped
from eoforge.location.task import LocationTask
from eoforge.models import ModelSpec, build_model
from eoforge.tasks import (
    EOTask,
    FusionFieldBoundaryTask,
    FusionMultiLabelTask,
    FusionSegmentationTask,
    build_task,
)
from eoforge.tasks.image_text import ImageTextTask
from eoforge.transforms import compute_band_stats

LAST = "last.ckpt"
MONITORS = {
    "segmentation": ("val/miou", "max"),
    "change": ("val/miou", "max"),
    "classification": ("val/accuracy", "max"),
    "multilabel": ("val/map", "max"),
    "regression": ("val/rmse", "min"),
    "pixel_regression": ("val/rmse", "min"),
    "detection": ("val/map", "max"),
    "oriented_detection": ("val/map", "max"),
    "pretrain": ("val/loss", "min"),
    "image_text": ("val/loss", "min"),
    "location": ("val/loss", "min"),
    "super_resolution": ("val/cpsnr", "max"),
    "image_to_image": ("val/rmse", "min"),
    "field_boundaries": ("val/extent_iou", "max"),
}


@dataclass
class TrainResult:
    """What a training run wrote.

    Attributes:
        bundle: The exported model bundle folder.
        run_dir: The run folder.
        metrics: Final metrics (``"val/miou"``, ``"train/loss"``...).
        checkpoint: ``last.ckpt`` (None for the pixel forest).
        log_dir: Folder of ``metrics.csv`` (None for the pixel forest).
        seconds: Wall time of the run.
        classes: Class names by id (empty for regression); per-class metrics
            are named ``<metric>_<class>``.
        monitor: The validation metric that early stopping watches and the
            progress bar shows (e.g. ``"val/miou"``).
        skipped: Bad files left out under ``data.on_bad_file: skip``, each
            once, with the reason (listed in ``<run_dir>/skipped_files.tsv``).
    """

    bundle: Path
    run_dir: Path
    metrics: dict[str, float]
    checkpoint: Path | None
    log_dir: Path | None
    seconds: float
    classes: list[str] = field(default_factory=list)
    monitor: str = ""
    skipped: dict[str, str] = field(default_factory=dict)

    def summary_metrics(self, stage: str = "val") -> dict[str, float]:
        """The stage's metrics without the per-class ones, e.g. ``{"val/miou": 0.8, ...}``."""
        suffixes = tuple(f"_{name}" for name in self.classes)
        return {
            name: value
            for name, value in sorted(self.metrics.items())
            if name.startswith(f"{stage}/") and not (suffixes and name.endswith(suffixes))
        }


def model_spec(config: ExperimentConfig, data: ExperimentData) -> ModelSpec:
    """The network spec: architecture from the config, bands and outputs from the data."""
    if config.task.kind == "pretrain":
        return pretrain_spec(config, data)
    if config.task.kind == "image_text":
        return image_text_spec(config, data)
    if config.task.kind == "location":
        raise ConfigError(
            "a location encoder has no image model spec.", fix="train it with train(config)."
        )
    m = config.model
    if data.inputs is not None:
        return multi_input_spec(config, data)
    if config.task.kind == "image_to_image":
        return image_to_image_spec(config, data)
    outputs = (
        1 if config.task.kind in ("regression", "pixel_regression") else len(data.classes.names)
    )
    if config.task.kind == FIELD_TASK:
        outputs = FIELD_OUTPUTS
    return m.spec(config.task.kind, data.bands, outputs)


def normalization(data: ExperimentData) -> tuple[list[float], list[float]]:
    """Per-band ``(mean, std)`` of the statistics samples (per group with ``data.inputs``)."""
    if data.inputs is not None:
        return group_normalization(data)
    stats = compute_band_stats(data.stats_samples(), data.bands, max_samples=None)
    return stats.mean.tolist(), stats.std.tolist()


def target_stats(data: ExperimentData) -> tuple[float, float]:
    """Mean and std of the finite regression targets of the statistics sample."""
    values = [s["target"][torch.isfinite(s["target"])] for s in data.stats_samples()]
    joined = torch.cat([v.flatten().double() for v in values])
    if joined.numel() < 2:
        raise ConfigError(
            "no labelled target pixel in the training sample.",
            fix="raise data.train.target.footprint_fraction or data.stats_samples.",
        )
    return float(joined.mean()), max(float(joined.std()), 1e-6)


def make_task(
    config: ExperimentConfig, spec: ModelSpec, data: ExperimentData, norm: tuple[Any, Any]
) -> EOTask:
    """The Lightning task around a fresh network."""
    if config.task.kind == "pretrain":
        pretraining = pretrain_task(config, spec, norm)
        persist_metrics(pretraining)
        return pretraining
    if config.task.kind == "image_text":
        pairs = image_text_task(config, spec, norm)
        persist_metrics(pairs)
        return pairs
    t, o = config.task, config.optim
    regression = t.kind in ("regression", "pixel_regression")
    options: dict[str, Any] = {
        "model_spec": spec,
        "loss": t.loss,
        "class_weights": t.class_weights,
        "ignore_index": None if regression else t.ignore_index,
        "lr": o.lr,
        "weight_decay": o.weight_decay,
        "optimizer": o.optimizer,
        "scheduler": o.scheduler,
        "max_epochs": config.trainer.max_epochs,
        "augment": t.augment,
        "normalization": norm,
        "class_names": data.classes.names or None,
    }
    if regression:
        options["target_normalization"] = target_stats(data)
    if t.kind == "image_to_image":
        options.update(
            ignore_index=None,
            class_names=None,
            target_normalization=band_target_stats(data),
            target_bands=list(spec.options["target_bands"]),
        )
    if t.kind == FIELD_TASK:
        options.update(ignore_index=None, class_names=None, boundary_width=t.boundary_width)
    if t.kind in ("detection", "oriented_detection"):
        options.update(style=t.ap_style, iou_threshold=t.iou_threshold, ignore_index=None)
    if t.rotate:
        options.update(rotate=t.rotate, rotate_min_visible=min_visible(config))
    task: EOTask
    if data.inputs is not None and t.kind == "multilabel":  # BigEarthNet's groups
        task = FusionMultiLabelTask(build_model(spec), **options)
    elif data.inputs is not None and t.kind == FIELD_TASK:  # fields from a time series
        task = FusionFieldBoundaryTask(build_model(spec), **options)
    elif data.inputs is not None:
        task = FusionSegmentationTask(build_model(spec), **options)
    else:
        task = build_task(t.kind, build_model(spec), **options)
    persist_metrics(task)
    return task


def min_visible(config: ExperimentConfig) -> float:
    """Least visible share of an object the data keeps: prepared chips' or geo windows'."""
    data = config.data
    if isinstance(data, GeoData):
        return data.detection.min_visible
    return float(getattr(data, "min_visible", 0.5))


def last_checkpoint(
    folder: Path, *, epochs: int | None = None, steps: int | None = None
) -> Callback:
    """A checkpoint callback overwriting ``folder/last.ckpt`` every N epochs or N training steps."""
    return ModelCheckpoint(
        folder,
        filename="last",
        save_top_k=1,
        enable_version_counter=False,
        every_n_epochs=epochs,
        every_n_train_steps=steps,
    )


def monitored(config: ExperimentConfig) -> tuple[str, str]:
    """The validation metric to watch and whether higher (``"max"``) or lower is better."""
    default, mode = MONITORS[config.task.kind]
    return config.trainer.monitor or default, mode


def callbacks(
    config: ExperimentConfig, run_dir: Path, resume: ExactResume, console: Console | None = None
) -> list[Callback]:
    """``last.ckpt`` every N steps and at epoch ends, early stopping, exact resume, the bar.

    Args:
        config: The experiment.
        run_dir: The run folder.
        resume: The exact-resume callback.
        console: Draw the progress bar there; None draws none.
    """
    folder = run_dir / "checkpoints"
    every = config.trainer.checkpoint_every_n_steps
    found: list[Callback] = [last_checkpoint(folder, epochs=1), resume]
    if every > 0:
        found.append(last_checkpoint(folder, steps=every))
    monitor, mode = monitored(config)
    patience = config.trainer.early_stopping_patience
    if patience is not None:
        found.append(EarlyStopping(monitor, patience=patience, mode=mode))
    if console is not None:
        found.append(TrainingBar(console, monitor))
    return found


def make_trainer(config: ExperimentConfig, run_dir: Path, found: list[Callback]) -> L.Trainer:
    """A Lightning trainer as the config says (CSV logs, no sanity pass, eoforge samplers).

    ``trainer.max_time`` becomes Lightning's wall-clock budget: training stops
    after the step that exceeds it and validates once more.

    Lightning's own progress bar is off: :class:`TrainingBar` (in ``found``) draws one.
    """
    t = config.trainer
    return L.Trainer(
        max_epochs=t.max_epochs,
        max_time=t.time_budget(),
        accelerator=t.accelerator,
        devices=t.devices,
        strategy=t.strategy,
        precision=t.precision,  # type: ignore[arg-type]
        default_root_dir=run_dir,
        logger=CSVLogger(run_dir, name="logs"),
        callbacks=found,
        num_sanity_val_steps=0,
        check_val_every_n_epoch=t.val_every_n_epochs,
        use_distributed_sampler=False,
        log_every_n_steps=10,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


def trained_network(task: EOTask) -> nn.Module:
    """The task's network, regression heads made to output physical units."""
    model: nn.Module = task.model
    mean, std = getattr(task, "target_mean", None), getattr(task, "target_std", None)
    if isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor):
        fold_target_scale(model, mean.flatten().tolist(), std.flatten().tolist())
    return model


def checkpoint_to_resume(run_dir: Path, resume: bool) -> Path | None:
    """``last.ckpt`` when resuming; refuse to silently mix a new run into an old one.

    Raises:
        ConfigError: Resuming without a checkpoint, or a new run over one.
    """
    last = run_dir / "checkpoints" / LAST
    if resume and not last.is_file():
        raise ConfigError(
            "no checkpoint to resume from.", path=last, fix="run without --resume to start afresh."
        )
    if not resume and last.is_file():
        raise ConfigError(
            "this run folder already holds a checkpoint.",
            path=last,
            fix="pass --resume to continue it, or set trainer.output_dir to a new folder.",
        )
    return last if resume else None


def train(
    config: ExperimentConfig,
    resume: bool = False,
    *,
    progress: bool = True,
    console: Console | None = None,
) -> TrainResult:
    """Train the experiment and export its bundle.

    Args:
        config: The validated experiment.
        resume: Continue from ``<output_dir>/checkpoints/last.ckpt``.
        progress: Show the progress bar (epoch, step, train loss, monitored metric).
        console: Console of the progress bar (default: a new one on stdout).

    Returns:
        Where everything was written, and the final metrics.

    Raises:
        ConfigError: Bad data or settings, or a checkpoint problem.
        EoforgeError: Unreadable data, also when a DataLoader worker reads it.
    """
    start = time.perf_counter()
    ckpt = checkpoint_to_resume(config.trainer.output_dir, resume)
    before = torch.get_num_threads()
    if config.trainer.threads is not None:
        torch.set_num_threads(config.trainer.threads)
    try:  # the caller's process keeps its own thread count (a library call, not only the CLI)
        return _train(config, resume, ckpt, progress, console, start)
    finally:
        torch.set_num_threads(before)


def _train(
    config: ExperimentConfig,
    resume: bool,
    ckpt: Path | None,
    progress: bool,
    console: Console | None,
    start: float,
) -> TrainResult:
    run_dir = config.trainer.output_dir
    L.seed_everything(config.trainer.seed, workers=True, verbose=False)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:  # a new run starts a new list of skipped files
        (run_dir / SKIPPED_LOG).unlink(missing_ok=True)
    write_config(run_dir / "config.yaml", config)
    if config.task.kind == "location":
        bar = (console or Console()) if progress else None
        return train_location(config, ckpt, bar, start)
    if config.task.kind == "super_resolution":
        bar = (console or Console()) if progress else None
        return train_superres(config, ckpt, bar, start)
    if is_closp(config):  # one tower per modality, one bundle each
        closp = train_closp(config, ckpt, (console or Console()) if progress else None)
        return TrainResult(
            closp.bundle,
            run_dir,
            closp.metrics,
            run_dir / "checkpoints" / LAST,
            closp.log_dir,
            time.perf_counter() - start,
            monitor="val/loss",
        )
    pairs = config.task.kind == "image_text" or config.data.kind == "captions"
    if pairs:
        data = caption_data(config)
    elif is_multi_input(config.data):
        assert isinstance(config.data, GeoData)
        data = multi_input_data(config, config.data, run_dir)
    elif isinstance(config.data, GroupChipsData):
        data = group_chips_data(config, config.data)
    else:
        data = build_data(config, run_dir)
    spec = model_spec(config, data)
    monitor, _ = monitored(config)
    classes = data.classes.names
    if config.model.arch == "pixel_forest":
        with worker_errors_unwrapped():
            forest, metrics = fit_forest(config, data, spec)
        identity = ([0.0] * len(data.bands), [1.0] * len(data.bands))
        bundle = export_bundle(run_dir / "bundle", forest, spec, data, identity, metrics, config)
        seconds = time.perf_counter() - start
        skipped = data.bad_files.skipped()
        return TrainResult(bundle, run_dir, metrics, None, None, seconds, classes, monitor, skipped)
    norm = normalization(data)
    task = make_task(config, spec, data, norm)
    module = data_module(config, data)
    exact = ExactResume(module.skipper, config.data.batch_size)
    bar = (console or Console()) if progress else None
    trainer = make_trainer(config, run_dir, callbacks(config, run_dir, exact, bar))
    with worker_errors_unwrapped():
        trainer.fit(task, datamodule=module, ckpt_path=ckpt, weights_only=True)
    metrics = task.final_metrics()
    bundle = run_dir / "bundle"
    if trainer.is_global_zero and isinstance(task, ImageTextTask):  # tower + text side
        export_image_text(bundle, task, spec, data, norm, metrics, config)
    elif trainer.is_global_zero:  # one process writes the bundle
        export_bundle(bundle, trained_network(task), spec, data, norm, metrics, config)
    return TrainResult(
        bundle=bundle,
        run_dir=run_dir,
        metrics=metrics,
        checkpoint=run_dir / "checkpoints" / LAST,
        log_dir=Path(trainer.log_dir) if trainer.log_dir is not None else None,
        seconds=time.perf_counter() - start,
        classes=classes,
        monitor=monitor,
        skipped=data.bad_files.skipped(),
    )


def train_location(
    config: ExperimentConfig, ckpt: Path | None, console: Console | None, start: float
) -> TrainResult:
    """Contrastive location training (``task.kind: location``) and its location bundle.

    Args:
        config: The experiment.
        ckpt: Checkpoint to resume from, or None.
        console: Console of the progress bar (None: no bar).
        start: ``time.perf_counter()`` when the run began.
    """
    spec = location_spec(config)
    train_pairs, val_pairs = location_pairs(config)
    task = location_task(config, spec, train_pairs)
    persist_metrics(task)
    module = LocationDataModule(train_pairs, val_pairs, config.data.batch_size, config.trainer.seed)
    return _fit_and_export(
        config,
        task,
        module,
        ckpt,
        console,
        start,
        lambda bundle, metrics: export_location(bundle, task, train_pairs, metrics),
    )


def train_superres(
    config: ExperimentConfig, ckpt: Path | None, console: Console | None, start: float
) -> TrainResult:
    """Super-resolution training (``task.kind: super_resolution``) and its bundle.

    Args:
        config: The experiment.
        ckpt: Checkpoint to resume from, or None.
        console: Console of the progress bar (None: no bar).
        start: ``time.perf_counter()`` when the run began.
    """
    train_pairs, val_pairs = read_sr_pairs(config)
    spec = sr_spec(config)
    task = sr_task(config, spec, band_stats(train_pairs))
    module = SRDataModule(train_pairs, val_pairs, config)
    return _fit_and_export(
        config,
        task,
        module,
        ckpt,
        console,
        start,
        lambda bundle, metrics: export_sr(bundle, task, spec, train_pairs, config, metrics),
        classes=list(spec.in_bands),
    )


def _fit_and_export(
    config: ExperimentConfig,
    task: EOTask | LocationTask,
    module: L.LightningDataModule,
    ckpt: Path | None,
    console: Console | None,
    start: float,
    export: Callable[[Path, dict[str, float]], object],
    classes: list[str] | None = None,
) -> TrainResult:
    """Fit a task whose data module skips batches exactly on resume, then export its bundle.

    Args:
        config: The experiment.
        task: The LightningModule.
        module: Its data; must have a ``skipper`` (exact mid-epoch resume).
        ckpt: Checkpoint to resume from, or None.
        console: Console of the progress bar (None: no bar).
        start: ``time.perf_counter()`` when the run began.
        export: Writes the bundle folder from the final metrics (called on rank 0 only).
        classes: What the result lists as classes (None: none).
    """
    run_dir = config.trainer.output_dir
    exact = ExactResume(module.skipper, config.data.batch_size)  # type: ignore[attr-defined]
    trainer = make_trainer(config, run_dir, callbacks(config, run_dir, exact, console))
    trainer.fit(task, datamodule=module, ckpt_path=ckpt, weights_only=True)
    metrics = task.final_metrics()
    bundle = run_dir / "bundle"
    if trainer.is_global_zero:  # one process writes the bundle
        export(bundle, metrics)
    return TrainResult(
        bundle=bundle,
        run_dir=run_dir,
        metrics=metrics,
        checkpoint=run_dir / "checkpoints" / LAST,
        log_dir=Path(trainer.log_dir) if trainer.log_dir is not None else None,
        seconds=time.perf_counter() - start,
        classes=[] if classes is None else classes,
        monitor=monitored(config)[0],
    )


def data_module(config: ExperimentConfig, data: ExperimentData) -> ExperimentDataModule:
    """The loaders as ``config.data`` says; pinned memory by default only when training on a GPU."""
    d, t = config.data, config.trainer
    pin = d.pin_memory
    if pin is None:
        pin = t.accelerator != "cpu" and torch.cuda.is_available()
    return ExperimentDataModule(
        data,
        d.batch_size,
        d.num_workers,
        t.seed,
        persistent_workers=d.persistent_workers,
        prefetch_factor=d.prefetch_factor,
        pin_memory=pin,
        eval_batch_size=d.eval_batch_size,
    )
