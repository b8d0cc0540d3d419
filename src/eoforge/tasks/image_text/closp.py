"""CLOSP-style training: optical-text and SAR-text pairs, aligned through the text.

Each training step takes one batch per modality (Lightning's
``CombinedLoader`` of a caption-pair loader per modality, e.g. optical
windows of some scenes and SAR windows of others, never the same places),
scores symmetric InfoNCE of each modality's images against its captions in
the shared text space, and averages the modalities' losses. Optical and SAR
vectors are thereby comparable without a single optical-SAR pair:
:func:`cross_modality_scores` ranks the windows of one modality for the
windows of the other.

Batches: ``{modality: {"image", "valid", "caption", "window"}}``, images in
physical units, standardised here with each modality's ``(mean, std)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from eoforge.evaluate.retrieval import rank_metrics
from eoforge.models.image_text import ClospModel, clip_loss, same_pairs
from eoforge.tasks.base import blank_invalid

Stats = tuple[Sequence[float], Sequence[float]]


class ClospTask(L.LightningModule):
    """Trains a :class:`~eoforge.models.image_text.ClospModel` on per-modality caption pairs.

    Args:
        model: The towers, shared text tower and projection.
        normalization: Per modality, per-band ``(mean, std)`` in physical units.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        positives: ``caption`` (pairs with the same sentence, or window, are positives)
            or ``window`` (the same window only).
    """

    def __init__(
        self,
        model: ClospModel,
        normalization: Mapping[str, Stats],
        *,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        positives: str = "caption",
    ) -> None:
        super().__init__()
        self.model = model
        self.lr, self.weight_decay, self.positives = lr, weight_decay, positives
        for name, (mean, std) in normalization.items():
            self.register_buffer(f"mean_{name}", torch.tensor(list(mean))[None, :, None, None])
            self.register_buffer(f"std_{name}", torch.tensor(list(std))[None, :, None, None])
        self.history: list[float] = []

    def embed(self, modality: str, image: Tensor, valid: Tensor | None = None) -> Tensor:
        """Joint unit vectors ``[B, D]`` of images of ``modality`` in physical units."""
        mean: Tensor = getattr(self, f"mean_{modality}")
        std: Tensor = getattr(self, f"std_{modality}")
        return self.model.encode_image(modality, blank_invalid((image - mean) / std, valid))

    def modality_loss(self, modality: str, batch: Mapping[str, Any]) -> Tensor:
        """Symmetric InfoNCE of one modality's images against their captions."""
        images = self.embed(modality, batch["image"], batch.get("valid"))
        captions = list(batch["caption"])
        match = same_pairs(batch["window"].tolist())
        if self.positives == "caption":
            match = match | same_pairs(captions)
        texts = self.model.encode_text(captions)
        return clip_loss(images, texts, self.model.scale(), match.to(images.device))

    def training_step(self, batch: Mapping[str, Mapping[str, Any]], batch_idx: int) -> Tensor:
        """The mean of the modalities' losses."""
        losses = [self.modality_loss(m, b) for m, b in batch.items() if b is not None]
        loss = torch.stack(losses).mean()
        size = sum(int(b["image"].shape[0]) for b in batch.values() if b is not None)
        self.log("train/loss_step", loss, batch_size=size, prog_bar=True)
        self.history.append(float(loss.detach()))
        return loss

    def validation_step(
        self, batch: Mapping[str, Mapping[str, Any] | None], batch_idx: int
    ) -> None:
        """``val/loss_<modality>`` of each modality's batch and their mean ``val/loss``."""
        losses = []
        for modality, part in batch.items():
            if part is None:  # this modality's validation windows are used up
                continue
            loss = self.modality_loss(modality, part)
            size = int(part["image"].shape[0])
            self.log(f"val/loss_{modality}", loss, batch_size=size, on_epoch=True)
            losses.append(loss)
        if losses:
            size = sum(int(p["image"].shape[0]) for p in batch.values() if p is not None)
            self.log(
                "val/loss",
                torch.stack(losses).mean(),
                batch_size=size,
                on_epoch=True,
                prog_bar=True,
            )

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """AdamW over the trainable parameters."""
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)


def cross_modality_scores(
    queries: npt.ArrayLike, candidates: npt.ArrayLike, relevance: npt.ArrayLike
) -> dict[str, float]:
    """Retrieval of one modality's windows for the other's (e.g. optical -> SAR).

    Args:
        queries: ``[Q, D]`` joint vectors of one modality.
        candidates: ``[N, D]`` joint vectors of the other.
        relevance: ``[Q, N]`` (e.g. the same place, or the same dominant class).
    """
    q = np.asarray(queries, np.float64)
    c = np.asarray(candidates, np.float64)
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    return rank_metrics(q @ c.T, relevance).as_dict()
