"""Image-text contrastive training as a Lightning task (``task.kind: image_text``).

Model contract: an :class:`~eoforge.models.image_text.ImageTextModel` (image
tower + text tower + projections + temperature). Batch keys: ``image`` in
physical units ``[B, C, H, W]``, optional ``valid`` ``[B, H, W]``,
``caption`` (``B`` sentences) and ``window`` ``[B]`` (equal for captions of
one window).

Each step standardises and blanks the images, embeds images and captions in
the joint space and scores the symmetric InfoNCE loss
(:func:`~eoforge.models.image_text.clip_loss`). Pairs of one window, and with
``positives="caption"`` pairs whose captions are the very same sentence, are
positives of each other rather than negatives. Logged: ``train/loss_step``,
per epoch ``train/loss`` and ``val/loss``, and ``val/recall@1`` (share of
validation images whose best caption in their batch is one of theirs). No
augmentation: captions may say where things lie in the window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor
from torchmetrics import MeanMetric, MetricCollection

from eoforge.errors import ConfigError
from eoforge.models.image_text import ImageTextModel, clip_loss, same_pairs
from eoforge.tasks.base import Batch, EOTask, Stage, blank_invalid

POSITIVES = ("window", "caption")


class ImageTextTask(EOTask):
    """CLIP-style training of an image-text model (see the module docstring).

    Args:
        model: The dual encoder.
        positives: ``window`` or ``caption`` (see the module docstring).
        **options: :class:`~eoforge.tasks.base.EOTask` arguments (``lr``,
            ``normalization``, ``model_spec`` of the image tower...);
            ``augment`` is forced off.

    Raises:
        ConfigError: Unknown ``positives``.
    """

    kind = "image_text"
    default_loss = "infonce"

    def __init__(
        self, model: ImageTextModel, *, positives: str = "caption", **options: Any
    ) -> None:
        options["augment"] = False
        super().__init__(model, **options)
        if positives not in POSITIVES:
            raise ConfigError(
                f"unknown positives {positives!r}.", fix=f"use one of {', '.join(POSITIVES)}."
            )
        self.positives = positives
        self.recall = MeanMetric()
        self.hparams.update({"positives": positives})

    @property
    def dual(self) -> ImageTextModel:
        """The dual encoder."""
        model = self.model
        assert isinstance(model, ImageTextModel)
        return model

    def make_metrics(self) -> MetricCollection:
        """None beyond the loss: retrieval is scored per epoch in :meth:`_step`."""
        return MetricCollection({})

    def select(self, output: Tensor, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Unused: the loss compares the batch's images and captions."""
        return output, output

    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """Refused: the loss needs images and captions (see :meth:`pair_loss`).

        Raises:
            ConfigError: Always.
        """
        raise ConfigError(
            "the image-text loss compares a batch's images with its captions.",
            fix="call pair_loss(batch) (training_step does).",
        )

    def check_loss(self) -> None:
        """Accept no ``task.loss``: symmetric InfoNCE is the loss."""
        if self.loss_name != self.default_loss:
            raise ConfigError(
                f"task.loss {self.loss_name!r} is not used by image-text training.",
                fix="remove task.loss.",
            )

    def forward(self, image: Tensor, valid: Tensor | None = None) -> Tensor:
        """Joint-space unit vectors ``[B, D]`` of images in physical units."""
        x = image if self.normalize is None else self.normalize(image)
        return self.dual.encode_image(blank_invalid(x, valid))

    def pair_loss(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """``(loss, in-batch image->caption top-1 hits [B])`` of a batch."""
        model = self.dual
        images = self(batch["image"], batch.get("valid"))
        captions = list(batch["caption"])
        texts = model.encode_text(captions)
        match = same_pairs(batch["window"].tolist())
        if self.positives == "caption":
            match = match | same_pairs(captions)
        match = match.to(images.device)
        loss = clip_loss(images, texts, model.scale(), match)
        best = (images @ texts.T).argmax(dim=1)
        hits = match[torch.arange(len(best), device=best.device), best].float()
        return loss, hits

    def _step(self, batch: Batch, stage: Stage) -> Tensor:
        loss, hits = self.pair_loss(batch)
        size = int(batch["image"].shape[0])
        if stage == "train":
            self.log("train/loss_step", loss, batch_size=size, prog_bar=True)
        else:
            self.recall.update(hits.mean(), weight=size)
        self._loss_mean(stage).update(loss.detach(), weight=size)
        return loss

    def on_validation_epoch_end(self) -> None:
        """Validation loss and in-batch recall@1."""
        recall = float(self.recall.compute()) if self.recall.update_count else None
        self.recall.reset()
        super().on_validation_epoch_end()
        if recall is not None and not (self._trainer is not None and self.trainer.sanity_checking):
            self.log("val/recall@1", recall)
            if self.history["val"]:
                self.history["val"][-1]["val/recall@1"] = recall
