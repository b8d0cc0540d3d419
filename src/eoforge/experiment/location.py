"""The pieces of a location run (``task.kind: location``): encoder spec, pairs, loaders, bundle.

``data.kind: embeddings`` names embedding tables; every window's centre
(WGS84 degrees) is paired with its frozen image vector
(:func:`~eoforge.location.pairs.read_pairs`). ``model.arch: location_siren``
with ``model.options`` (``degree``, ``hidden``, ``layers``, ``dim``, ``w0``,
``w0_initial``) sizes the encoder, ``task.location`` the loss. The run ends
in a location bundle (:mod:`eoforge.location.bundle`) whose ``bundle.json``
lists each training table's fingerprint and the image model's identity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from pydantic import ValidationError
from torch.utils.data import DataLoader, Dataset

from eoforge.errors import ConfigError
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.sampling import ShuffledIndices, SkippingSampler
from eoforge.location.bundle import LocationBundle, save_location_bundle
from eoforge.location.encoder import LocationSpec
from eoforge.location.pairs import LocationPairs, read_pairs
from eoforge.location.task import LocationTask


def location_spec(config: ExperimentConfig) -> LocationSpec:
    """The encoder's sizes from ``model.options``.

    Raises:
        ConfigError: An unknown option or a bad value, naming ``model.options.<key>``.
    """
    try:
        return LocationSpec.model_validate(config.model.options)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(
            f"model.options.{key}: {message}.",
            fix="location_siren takes degree, hidden, layers, dim, w0 and w0_initial.",
        ) from None


def location_pairs(config: ExperimentConfig) -> tuple[LocationPairs, LocationPairs]:
    """Training and validation pairs.

    Validation reads ``data.val`` when given; otherwise it holds out
    ``data.val_fraction`` of the training windows, drawn from ``trainer.seed``.

    Raises:
        ConfigError: Not embedding data, tables of different models, or too few windows.
    """
    data = config.data
    if data.kind != "embeddings":
        raise ConfigError(
            f"task.kind location reads embedding tables, not data.kind {data.kind!r}.",
            fix="use data.kind embeddings with data.embeddings: [tables].",
        )
    pairs = read_pairs(data.embeddings, min_valid=data.min_valid)
    if data.val is not None:
        val = read_pairs(data.val, min_valid=data.min_valid)
        if (val.model and val.model.fingerprint) != (pairs.model and pairs.model.fingerprint):
            raise ConfigError(
                "data.val tables come from another image model than data.embeddings.",
                fix="embed the validation scenes with the same bundle.",
            )
        return pairs, val
    order = np.random.default_rng(config.trainer.seed).permutation(len(pairs))
    held = round(len(pairs) * data.val_fraction)
    if held < 1 or held >= len(pairs):
        raise ConfigError(
            f"{len(pairs)} windows cannot be split by data.val_fraction {data.val_fraction}.",
            fix="embed more windows, or give data.val tables.",
        )
    return pairs.subset(np.sort(order[held:])), pairs.subset(np.sort(order[:held]))


def location_task(
    config: ExperimentConfig, spec: LocationSpec, pairs: LocationPairs
) -> LocationTask:
    """The Lightning module around a fresh encoder and projection."""
    options, optim = config.task.location, config.optim
    return LocationTask(
        spec,
        pairs.image_dim,
        temperature=options.temperature,
        learn_temperature=options.learn_temperature,
        lr=optim.lr,
        weight_decay=optim.weight_decay,
        max_epochs=config.trainer.max_epochs if optim.scheduler == "cosine" else None,
        hit_km=options.hit_km,
    )


class PairDataset(Dataset[dict[str, torch.Tensor]]):
    """Item ``i``: ``{"lonlat": float64 [2], "vector": float32 [D]}``."""

    def __init__(self, pairs: LocationPairs) -> None:
        self.lonlat = torch.from_numpy(np.ascontiguousarray(pairs.lonlat))
        self.vectors = torch.from_numpy(np.ascontiguousarray(pairs.vectors))

    def __len__(self) -> int:
        return len(self.lonlat)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"lonlat": self.lonlat[index], "vector": self.vectors[index]}


class LocationDataModule(L.LightningDataModule):
    """Loaders over in-memory pairs (no worker processes: items are two small tensors).

    Args:
        train: Training pairs.
        val: Validation pairs.
        batch_size: Pairs per batch (also the number of InfoNCE candidates).
        seed: Seed of the training order (epoch ``e`` draws from ``(seed, e)``).
    """

    def __init__(
        self, train: LocationPairs, val: LocationPairs, batch_size: int, seed: int
    ) -> None:
        super().__init__()
        self.train, self.val = PairDataset(train), PairDataset(val)
        self.batch_size = batch_size
        self.sampler = SkippingSampler(ShuffledIndices(len(self.train), shuffle=True, seed=seed))

    def skipper(self) -> SkippingSampler:
        """The training sampler (exact resume skips the batches done)."""
        return self.sampler

    def train_dataloader(self) -> DataLoader[Any]:
        """Shuffled training batches; a last partial batch is dropped."""
        drop = len(self.train) > self.batch_size
        return DataLoader(self.train, self.batch_size, sampler=self.sampler, drop_last=drop)

    def val_dataloader(self) -> DataLoader[Any]:
        """Validation batches in a fixed order."""
        order = ShuffledIndices(len(self.val), shuffle=False)
        return DataLoader(self.val, self.batch_size, sampler=order)


def export_location(
    folder: Path, task: LocationTask, pairs: LocationPairs, metrics: dict[str, float]
) -> Path:
    """Write the trained encoder and projection as a location bundle."""
    model = task.model
    bundle = LocationBundle(
        encoder=model.encoder.spec,
        image_dim=pairs.image_dim,
        image_model=None if pairs.model is None else pairs.model.to_dict(),
        temperature=float(1.0 / model.logit_scale.detach()),
        tables=pairs.tables,
        metrics=metrics,
    )
    return save_location_bundle(folder, model, bundle)
