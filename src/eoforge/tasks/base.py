"""The shared LightningModule of every eoforge task.

:class:`EOTask` owns what all tasks share: input normalisation as buffers (so
checkpoints carry it), blanking of invalid pixels before the model sees them,
training-time batch augmentation, the optimiser and schedule, and metric
bookkeeping per stage. A subclass says which predictions and targets count
(:meth:`EOTask.select`), how to score them, and which metrics to keep.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, cast

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, MetricCollection

from eoforge.errors import ConfigError, available_list
from eoforge.location.features import batch_centres
from eoforge.models.location_fusion import takes_location
from eoforge.tasks.losses import empty_loss
from eoforge.tasks.metrics import to_floats
from eoforge.transforms.augment import BatchAugment
from eoforge.transforms.normalize import Normalize

Batch = dict[str, Any]
Stage = Literal["train", "val", "test"]
STAGES: tuple[Stage, ...] = ("train", "val", "test")
Normalization = tuple[Sequence[float] | Tensor, Sequence[float] | Tensor]
OPTIMIZERS = ("adamw", "adam", "sgd")


def _spec_dict(spec: Any) -> Any:
    """A model spec as plain data for hyperparameters (pydantic models are dumped)."""
    dump = getattr(spec, "model_dump", None)
    return dump(mode="json") if callable(dump) else spec


def blank_invalid(x: Tensor, valid: Tensor | None) -> Tensor:
    """Set invalid pixels of ``x`` ``[B, ..., H, W]`` to 0 (the band mean once standardised).

    Invalid pixels may hold anything (fill values, NaN); blanking them keeps
    that garbage out of the model, so it cannot leak into valid pixels'
    predictions through convolutions, nor NaN into gradients.
    """
    if valid is None:
        return x
    shape = (valid.shape[0],) + (1,) * (x.ndim - 3) + tuple(valid.shape[-2:])
    return torch.where(valid.reshape(shape).to(torch.bool), x, torch.zeros((), dtype=x.dtype))


def check_class_ids(target: Tensor, num_classes: int, key: str) -> Tensor:
    """Return ``target`` after checking its class ids lie in ``[0, num_classes)``.

    Raises:
        ConfigError: A counted target holds an id outside that range (a common
            slip: an "unlabelled" class that should have been ``ignore_index``).
    """
    if target.numel() and not bool(((target >= 0) & (target < num_classes)).all()):
        bad = sorted(set(target[(target < 0) | (target >= num_classes)].tolist()))
        raise ConfigError(
            f"{key!r} holds class ids {bad[:10]} but the task has {num_classes} classes.",
            fix="set num_classes to cover them, or pass their id as ignore_index.",
        )
    return target


def _num_classes(num_classes: int | None, spec: Any) -> int | None:
    if num_classes is not None:
        return int(num_classes)
    from_spec = getattr(spec, "num_classes", None)
    return None if from_spec is None else int(from_spec)


def _augment(augment: bool | BatchAugment | None) -> BatchAugment | None:
    if augment is True:
        return BatchAugment(d4=True)
    return augment or None


class EOTask(L.LightningModule, ABC):
    """Base of the eoforge tasks.

    Args:
        model: Network obeying the task's forward contract (see subclasses).
        model_spec: The spec it was built from (kept in hyperparameters).
        loss: Loss name (task-specific choices) or a callable on the
            selected ``(prediction, target)``.
        class_weights: Per-class loss weights ``[K]`` (class tasks).
        ignore_index: Target value that never counts in loss or metrics.
        lr: Learning rate.
        weight_decay: Weight decay.
        optimizer: ``"adamw"``, ``"adam"`` or ``"sgd"`` (momentum 0.9).
        scheduler: ``"cosine"`` (cosine annealing over ``max_epochs``) or None.
        max_epochs: Length of the learning-rate schedule in epochs.
        augment: True for D4 flips/rotations, a :class:`BatchAugment`, or
            False/None for none; applied to training batches only.
        normalization: Per-band ``(mean, std)`` in physical units, or None.
        class_names: Names of the classes, used in per-class metric names.
        num_classes: Number of classes or outputs ``K`` (default: the spec's
            ``num_classes``).
    """

    kind = ""
    """Task name as :func:`~eoforge.tasks.build_task` and model specs know it."""
    default_loss = "ce"
    fused_optimizer = False
    """Step Adam/AdamW with one fused kernel over all parameters when they allow it
    (floating point, on a CPU or GPU): the same update, a fraction of the time of one
    small kernel per operation and parameter."""

    def __init__(
        self,
        model: nn.Module,
        *,
        model_spec: Any = None,
        loss: str | Callable[[Tensor, Tensor], Tensor] | None = None,
        class_weights: Sequence[float] | Tensor | None = None,
        ignore_index: int | None = None,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        optimizer: str = "adamw",
        scheduler: str | None = "cosine",
        max_epochs: int = 100,
        augment: bool | BatchAugment | None = True,
        normalization: Normalization | None = None,
        class_names: Sequence[str] | None = None,
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        self.num_classes = _num_classes(num_classes, model_spec)
        if optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"unknown optimizer {optimizer!r}.", fix=f"use one of {available_list(OPTIMIZERS)}."
            )
        if scheduler not in ("cosine", None):
            raise ConfigError(f"unknown scheduler {scheduler!r}.", fix="use 'cosine' or None.")
        self.model = model
        self.normalize = None if normalization is None else Normalize(*normalization)
        self.class_weights: Tensor | None
        weights = None if class_weights is None else torch.as_tensor(class_weights).float()
        self.register_buffer("class_weights", weights)
        self.ignore_index = ignore_index
        self.loss_name = loss if isinstance(loss, str) else self.default_loss
        self.custom_loss = None if isinstance(loss, str) else loss
        self.augment = _augment(augment)
        self.class_names = None if class_names is None else list(class_names)
        # plain data only, named as the constructor's arguments, so that
        # load_from_checkpoint(path, model=..., weights_only=True) rebuilds the task
        self.save_hyperparameters(
            {
                "model_spec": _spec_dict(model_spec),
                "loss": self.loss_name if self.custom_loss is None else None,
                "class_weights": None if weights is None else weights.tolist(),
                "ignore_index": ignore_index,
                "lr": lr,
                "weight_decay": weight_decay,
                "optimizer": optimizer,
                "scheduler": scheduler,
                "max_epochs": max_epochs,
                "class_names": self.class_names,
                "num_classes": self.num_classes,
                "augment": self.augment is not None,
                "normalization": None
                if self.normalize is None
                else [self.normalize.mean.tolist(), self.normalize.std.tolist()],
            }
        )
        # ModuleDict keys cannot be "train" (an nn.Module method), hence the prefix
        self.metrics = nn.ModuleDict(
            {f"stage_{s}": self.make_metrics().clone(prefix=f"{s}/") for s in STAGES}
        )
        self.losses = nn.ModuleDict({f"stage_{s}": MeanMetric() for s in STAGES})
        self.history: dict[str, list[dict[str, float]]] = {s: [] for s in STAGES}
        self._check_weights()
        if self.custom_loss is None:
            self.check_loss()

    def _check_weights(self) -> None:
        weights = self.class_weights
        if weights is not None and self.num_classes not in (None, weights.numel()):
            raise ConfigError(
                f"{weights.numel()} class weights given for {self.num_classes} classes.",
                fix="give one weight per class.",
            )

    def require_classes(self) -> int:
        """``num_classes``, which class tasks cannot do without.

        Raises:
            ConfigError: Neither ``num_classes`` nor a spec giving it was passed.
        """
        if self.num_classes is None:
            raise ConfigError(
                f"{type(self).__name__} needs the number of classes.",
                fix="pass num_classes= or a model_spec with num_classes.",
            )
        return self.num_classes

    # --- what subclasses define -------------------------------------------------

    @abstractmethod
    def make_metrics(self) -> MetricCollection:
        """The metrics of this task (unprefixed)."""

    @abstractmethod
    def select(self, output: Tensor, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Predictions and targets that count, flattened over samples/pixels."""

    @abstractmethod
    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """Loss on selected predictions and targets."""

    @abstractmethod
    def check_loss(self) -> None:
        """Raise :class:`~eoforge.errors.ConfigError` unless ``loss_name`` suits this task."""

    def metric_inputs(self, pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Arguments of the metrics' ``update`` from selected predictions and targets."""
        return pred, target

    def postprocess(self, output: Tensor) -> Tensor:
        """Turn the network's raw output into the task's prediction (identity by default)."""
        return output

    # --- forward and steps ---------------------------------------------------------

    def forward(self, image: Tensor, valid: Tensor | None = None) -> Tensor:
        """Normalise, blank invalid pixels, run the network, post-process.

        Args:
            image: Batch in physical units, ``[B, C, H, W]`` (``[B, 2, C, H, W]``
                for change detection).
            valid: Valid pixels ``[B, H, W]`` or None (all valid).

        Returns:
            The model output (see the subclass for its shape).
        """
        return self.located(image, valid, None)

    def located(self, image: Tensor, valid: Tensor | None, lonlat: Tensor | None) -> Tensor:
        """:meth:`forward` of images at places: ``lonlat`` ``[B, 2]`` (degrees) or None.

        Raises:
            ConfigError: The network takes location (``model.location``) but
                ``lonlat`` is None.
        """
        x = blank_invalid(image if self.normalize is None else self.normalize(image), valid)
        output: Tensor
        if takes_location(self.model):
            if lonlat is None:
                raise ConfigError(
                    "this network takes the windows' locations, but none were given.",
                    fix="pass lonlat [B, 2] (degrees), or batches that carry crs and transform.",
                )
            output = self.model(x, lonlat)
        else:
            output = self.model(x)
        return self.postprocess(output)

    def batch_output(self, batch: Mapping[str, Any]) -> Tensor:
        """The model output for a batch: its windows' centres go in when the network takes them."""
        if takes_location(self.model):
            return self.located(batch["image"], batch.get("valid"), self.batch_lonlat(batch))
        output: Tensor = self(batch["image"], batch.get("valid"))
        return output

    def batch_lonlat(self, batch: Mapping[str, Any]) -> Tensor | None:
        """Window centres ``[B, 2]`` (degrees, float64) when the network takes location.

        Raises:
            ConfigError: The network takes location but the batch carries no grid
                (chips without georeferencing).
        """
        if not takes_location(self.model):
            return None
        return torch.from_numpy(batch_centres(batch))

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        """Augment training batches (on the device, after transfer)."""
        if self.augment is not None and self._trainer is not None and self.trainer.training:
            return self.augment(batch, self.normalize)
        return batch

    def _step(self, batch: Batch, stage: Stage) -> Tensor:
        output = self.batch_output(batch)
        pred, target = self.select(output, batch)
        if pred.shape[0] == 0:
            return empty_loss(output)
        loss = self.custom_loss(pred, target) if self.custom_loss else self.loss_fn(pred, target)
        size = self.batch_items(batch)
        if stage == "train":
            self.log("train/loss_step", loss, batch_size=size, prog_bar=True)
        self._loss_mean(stage).update(loss.detach(), weight=size)
        self._metrics(stage).update(*self.metric_inputs(pred.detach(), target))
        return loss

    def batch_items(self, batch: Mapping[str, Any]) -> int:
        """Number of samples in a batch (its ``image``'s first axis)."""
        return int(batch["image"].shape[0])

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """One optimisation step on a batch."""
        return self._step(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Score a validation batch."""
        return self._step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Score a test batch."""
        return self._step(batch, "test")

    def predict_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Model output for a batch (no augmentation)."""
        return self.batch_output(batch)

    # --- epoch bookkeeping ---------------------------------------------------------

    def _metrics(self, stage: Stage) -> MetricCollection:
        return cast(MetricCollection, self.metrics[f"stage_{stage}"])

    def _loss_mean(self, stage: Stage) -> MeanMetric:
        return cast(MeanMetric, self.losses[f"stage_{stage}"])

    def _finish(self, stage: Stage) -> None:
        collection = self._metrics(stage)
        loss = self._loss_mean(stage)
        if loss.update_count == 0:
            return
        results = to_floats(collection.compute(), self.class_names)
        results[f"{stage}/loss"] = float(loss.compute())
        collection.reset()
        loss.reset()
        self.log_dict(results, sync_dist=False)
        if not (self._trainer is not None and self.trainer.sanity_checking):
            self.history[stage].append(results)

    def on_train_epoch_end(self) -> None:
        """Compute, log and reset the training metrics."""
        self._finish("train")

    def on_validation_epoch_end(self) -> None:
        """Compute, log and reset the validation metrics."""
        self._finish("val")

    def on_test_epoch_end(self) -> None:
        """Compute, log and reset the test metrics."""
        self._finish("test")

    def final_metrics(self) -> dict[str, float]:
        """The last completed epoch's metrics of each stage, as plain floats.

        Returns:
            ``{"<stage>/<metric>": value}``, e.g. ``{"val/miou": 0.81, ...}``.
        """
        out: dict[str, float] = {}
        for epochs in self.history.values():
            if epochs:
                out.update(epochs[-1])
        return out

    # --- optimisation ----------------------------------------------------------------

    def _fused(self, params: Sequence[Tensor]) -> bool | None:
        """True when :attr:`fused_optimizer` is set and ``params`` allow it, else None."""
        ok = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
        return True if self.fused_optimizer and ok and params else None

    def configure_optimizers(self) -> Any:
        """The optimiser, and the cosine schedule when asked for."""
        hp = self.hparams
        params = [p for p in self.parameters() if p.requires_grad]
        optimizer: torch.optim.Optimizer
        if hp["optimizer"] == "sgd":
            optimizer = torch.optim.SGD(
                params, lr=hp["lr"], momentum=0.9, weight_decay=hp["weight_decay"]
            )
        elif hp["optimizer"] == "adam":
            optimizer = torch.optim.Adam(
                params, lr=hp["lr"], weight_decay=hp["weight_decay"], fused=self._fused(params)
            )
        else:
            optimizer = torch.optim.AdamW(
                params, lr=hp["lr"], weight_decay=hp["weight_decay"], fused=self._fused(params)
            )
        if hp["scheduler"] is None:
            return optimizer
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(1, int(hp["max_epochs"]))
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": schedule, "interval": "epoch"},
        }
