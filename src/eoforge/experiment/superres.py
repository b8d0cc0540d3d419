"""The pieces of a super-resolution run (``task.kind: super_resolution``): data, task, bundle.

``data.kind: sr_pairs`` names input/target GeoTIFF pairs on aligned grids
(:mod:`eoforge.data.sr_pairs`); the scale is the pairs' pixel-size ratio and
must equal ``model.options.scale``. The input bands' mean and std (over the
training inputs) standardise inputs and outputs. The run ends in a standard
bundle (``task: super_resolution``, ``num_classes`` = bands, the scale in the
model options, ``gsd`` and ``patch_size`` of the input) whose network maps
physical input values to physical target values, so ``eoforge predict``
writes the target grid in the input's units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from eoforge.data.sr_grids import refuse_resampling_with
from eoforge.data.sr_pairs import CropSampler, SRPair, read_sr_pair, tiles
from eoforge.data.sr_reference import check_references, with_reference
from eoforge.data.sr_stacks import check_frames, clear_items, make_crops, read_sr_stack
from eoforge.errors import ConfigError
from eoforge.experiment.config import ExperimentConfig, SRPairData, SRPairPaths
from eoforge.experiment.export import write_config
from eoforge.experiment.sampling import SkippingSampler
from eoforge.models import Bundle, ModelSpec, Normalization, build_model, save_bundle
from eoforge.models.sr_common import SRNetwork
from eoforge.models.sr_multiframe import MULTIFRAME_ARCHS
from eoforge.models.sr_reference import REFERENCE_ARCHS
from eoforge.tasks.super_resolution import SuperResolutionTask


def sr_data(config: ExperimentConfig) -> SRPairData:
    """``config.data`` as super-resolution pairs.

    Raises:
        ConfigError: Another data kind.
    """
    if not isinstance(config.data, SRPairData):
        raise ConfigError(
            f"task.kind super_resolution reads input/target pairs, not data.kind "
            f"{config.data.kind!r}.",
            fix="use data.kind sr_pairs with data.train and data.val: [{lr: ..., hr: ...}].",
        )
    return config.data


def read_pairs(config: ExperimentConfig) -> tuple[list[SRPair], list[SRPair]]:
    """Training and validation pairs, checked against ``model.options.scale``.

    Raises:
        ConfigError: Misaligned grids, or a scale other than the model's.
    """
    data = sr_data(config)
    if data.resample_target:
        refuse_resampling_with(data.frames)
    lists = any(p.revisits is not None and len(p.revisits) > 1 for p in data.train + data.val)
    check_frames(config.model.arch, data.frames, lists, MULTIFRAME_ARCHS)
    if data.frames is not None:
        return _read_stacks(data, int(config.model.options.get("scale", 4)))
    resample = data.resample_target
    train = [read_sr_pair(p.lr, p.hr, data.bands, resample_target=resample) for p in data.train]
    val = [read_sr_pair(p.lr, p.hr, data.bands, resample_target=resample) for p in data.val]
    train = [_referenced(q, p, data.bands) for q, p in zip(train, data.train, strict=True)]
    val = [_referenced(q, p, data.bands) for q, p in zip(val, data.val, strict=True)]
    check_references(train + val, config.model.arch in REFERENCE_ARCHS)
    want = int(config.model.options.get("scale", 4))
    for pair in train + val:
        if pair.scale != want:
            raise ConfigError(
                f"{pair.name} is a x{pair.scale} pair but model.options.scale is {want}.",
                fix=f"set model.options.scale: {pair.scale}, or give x{want} pairs.",
            )
    return train, val


def _read_stacks(data: SRPairData, want: int) -> tuple[list[SRPair], list[SRPair]]:
    """Multi-frame items (revisits stacked), cloudy ones skipped, checked against the scale."""
    out: list[list[SRPair]] = []
    for items in (data.train, data.val):
        stacks = [read_sr_stack(p.revisits or [p.lr], p.hr, data.bands, p.masks) for p in items]
        out.append(list(clear_items(stacks)))
    for pair in out[0] + out[1]:
        if pair.scale != want:
            raise ConfigError(
                f"{pair.name} is a x{pair.scale} item but model.options.scale is {want}.",
                fix=f"set model.options.scale: {pair.scale}, or give x{want} items.",
            )
    return out[0], out[1]


def _referenced(pair: SRPair, item: SRPairPaths, bands: list[str]) -> SRPair:
    """``pair`` with ``item``'s reference when it names one."""
    if item.reference is None:
        return pair
    return with_reference(pair, item.reference, item.hr, bands)


def sr_spec(config: ExperimentConfig) -> ModelSpec:
    """The network's spec: as many outputs as input bands, the scale in the options."""
    data = sr_data(config)
    options = {"scale": 4, **config.model.options}
    if data.frames is not None:  # the bundle records how many revisits the model fuses
        options["frames"] = data.frames
    return config.model.spec("super_resolution", data.bands, len(data.bands), options)


def sr_task(
    config: ExperimentConfig, spec: ModelSpec, normalization: tuple[list[float], list[float]]
) -> SuperResolutionTask:
    """The Lightning module around a fresh network."""
    t, optim, sr = config.task, config.optim, config.task.sr
    return SuperResolutionTask(
        build_model(spec),
        model_spec=spec,
        ssim_weight=sr.ssim_weight,
        edge_weight=sr.edge_weight,
        data_range=sr.data_range,
        cpsnr_border=sr.cpsnr_border,
        loss=t.loss or "l1",
        lr=optim.lr,
        weight_decay=optim.weight_decay,
        optimizer=optim.optimizer,
        scheduler=optim.scheduler,
        max_epochs=config.trainer.max_epochs,
        augment=t.augment,
        normalization=normalization,
        class_names=list(spec.in_bands),
    )


class SRDataModule(L.LightningDataModule):
    """Random training crops and fixed validation tiles of in-memory pairs.

    Args:
        train: Training pairs.
        val: Validation pairs.
        config: The experiment (patch sizes, crops per epoch, batch sizes, seed).
    """

    def __init__(self, train: list[SRPair], val: list[SRPair], config: ExperimentConfig) -> None:
        super().__init__()
        data = sr_data(config)
        self.train = make_crops(train, data.patch_size, data.frames)
        self.val = make_crops(val, data.val_patch_size, data.frames)
        self.batch_size = data.batch_size
        self.eval_batch_size = data.eval_batch_size or data.batch_size
        self.sampler = SkippingSampler(
            CropSampler(self.train, data.samples_per_epoch, config.trainer.seed)
        )

    def skipper(self) -> SkippingSampler:
        """The training sampler (exact resume skips the batches done)."""
        return self.sampler

    def train_dataloader(self) -> DataLoader[Any]:
        """Batches of random crops (in the training process: the pairs are in memory)."""
        return DataLoader(self.train, self.batch_size, sampler=self.sampler)

    def val_dataloader(self) -> DataLoader[Any]:
        """Every validation tile once, in order."""
        return DataLoader(self.val, self.eval_batch_size, sampler=tiles(self.val))


def export_sr(
    folder: Path,
    task: SuperResolutionTask,
    spec: ModelSpec,
    pairs: list[SRPair],
    config: ExperimentConfig,
    metrics: dict[str, float],
) -> Path:
    """Write the trained network as a bundle, with ``experiment.yaml`` beside it."""
    network = task.model
    assert isinstance(network, SRNetwork)
    mean = network.output_mean.tolist()
    std = network.output_std.tolist()
    bundle = Bundle(
        task="super_resolution",
        model=spec,
        bands=list(spec.in_bands),
        normalization=Normalization(mean=mean, std=std),
        gsd=pairs[0].gsd,
        patch_size=sr_data(config).patch_size,
        metrics=metrics,
    )
    path = save_bundle(folder, network.cpu(), bundle)
    write_config(path / "experiment.yaml", config)
    return path
