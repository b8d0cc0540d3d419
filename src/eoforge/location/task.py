"""The Lightning module of contrastive location training (``task.kind: location``).

Batch keys: ``lonlat`` float64 ``[B, 2]`` (window centres, degrees) and
``vector`` float32 ``[B, D_image]`` (the windows' frozen image vectors). Each
step scores :meth:`LocationImageModel.loss` (symmetric InfoNCE); logged are
``train/loss_step`` and, per epoch, ``train/loss``, ``val/loss`` and
``val/top1`` (share of validation places whose most similar image in their
batch lies within ``hit_km`` kilometres: windows of one scene share a place,
so "its own image" is too strict). The module keeps eoforge's task
bookkeeping (``history``, :meth:`final_metrics`) so the shared training
loop, checkpoints and exact resume work unchanged.
"""

from __future__ import annotations

from typing import Any, cast

import lightning as L
import torch
from torch import Tensor
from torchmetrics import MeanMetric

from eoforge.location.contrastive import LocationImageModel
from eoforge.location.encoder import LocationSpec

Batch = dict[str, Tensor]
EARTH_RADIUS_KM = 6371.0088


def great_circle_km(a: Tensor, b: Tensor) -> Tensor:
    """Distances in km between places ``a`` ``[N, 2]`` and ``b`` ``[N, 2]`` (degrees)."""
    lon1, lat1, lon2, lat2 = (
        torch.deg2rad(t.double()) for t in (a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    )
    h = (
        torch.sin((lat2 - lat1) / 2) ** 2
        + torch.cos(lat1) * torch.cos(lat2) * torch.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * torch.asin(h.clamp(0, 1).sqrt())


class LocationTask(L.LightningModule):
    """Train a location encoder against frozen image vectors.

    Args:
        spec: Sizes of the location encoder.
        image_dim: Length of the image vectors.
        temperature: Initial temperature.
        learn_temperature: Learn the temperature.
        lr: Learning rate (AdamW).
        weight_decay: Weight decay.
        max_epochs: Length of the cosine schedule, epochs (None: constant rate).
        hit_km: Radius of a correct retrieval for ``val/top1``, km.
    """

    kind = "location"

    def __init__(
        self,
        spec: LocationSpec,
        image_dim: int,
        *,
        temperature: float = 0.07,
        learn_temperature: bool = True,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        max_epochs: int | None = 100,
        hit_km: float = 50.0,
    ) -> None:
        super().__init__()
        self.model = LocationImageModel(
            spec, image_dim, temperature=temperature, learn_temperature=learn_temperature
        )
        self.hit_km = hit_km
        self.save_hyperparameters(
            {
                "spec": spec.model_dump(),
                "image_dim": image_dim,
                "temperature": temperature,
                "learn_temperature": learn_temperature,
                "lr": lr,
                "weight_decay": weight_decay,
                "max_epochs": max_epochs,
                "hit_km": hit_km,
            }
        )
        self.losses = torch.nn.ModuleDict({s: MeanMetric() for s in ("fit", "val")})
        self.top1 = MeanMetric()
        self.history: dict[str, list[dict[str, float]]] = {"train": [], "val": [], "test": []}

    def forward(self, lonlat: Tensor) -> Tensor:
        """Unit location embeddings ``[N, D]`` of places ``[N, 2]`` (degrees)."""
        return self.model.embed_places(lonlat)

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Symmetric InfoNCE of one batch."""
        loss = self.model.loss(batch["lonlat"], batch["vector"])
        size = int(batch["lonlat"].shape[0])
        self.log("train/loss_step", loss, batch_size=size, prog_bar=True)
        cast(MeanMetric, self.losses["fit"]).update(loss.detach(), weight=size)
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Loss and retrieval of one validation batch."""
        lonlat, vectors = batch["lonlat"], batch["vector"]
        loss = self.model.loss(lonlat, vectors)
        places = self.model.embed_places(lonlat)
        images = self.model.embed_images(vectors)
        best = (places @ images.T).argmax(dim=1)
        hits = (great_circle_km(lonlat, lonlat[best]) <= self.hit_km).float()
        cast(MeanMetric, self.losses["val"]).update(loss.detach(), weight=int(lonlat.shape[0]))
        self.top1.update(hits)
        return loss

    def _finish(self, stage: str, values: dict[str, MeanMetric]) -> None:
        if all(metric.update_count == 0 for metric in values.values()):
            return
        results = {f"{stage}/{name}": float(m.compute()) for name, m in values.items()}
        for metric in values.values():
            metric.reset()
        self.log_dict(results)
        if not (self._trainer is not None and self.trainer.sanity_checking):
            self.history[stage].append(results)

    def on_train_epoch_end(self) -> None:
        """Log the epoch's training loss."""
        self._finish("train", {"loss": cast(MeanMetric, self.losses["fit"])})

    def on_validation_epoch_end(self) -> None:
        """Log the validation loss and top-1 retrieval."""
        self._finish("val", {"loss": cast(MeanMetric, self.losses["val"]), "top1": self.top1})

    def final_metrics(self) -> dict[str, float]:
        """The last completed epoch's metrics of each stage, plus the temperature."""
        out: dict[str, float] = {}
        for epochs in self.history.values():
            if epochs:
                out.update(epochs[-1])
        out["temperature"] = float(1.0 / self.model.logit_scale.detach())
        return out

    def configure_optimizers(self) -> Any:
        """AdamW, with a cosine schedule over ``max_epochs`` when given."""
        hp = self.hparams
        scale = self.model.log_logit_scale
        params = [p for p in self.parameters() if p.requires_grad and p is not scale]
        groups: list[dict[str, Any]] = [{"params": params}]
        if scale.requires_grad:  # no decay pulling the temperature towards 1
            groups.append({"params": [scale], "weight_decay": 0.0})
        optimizer = torch.optim.AdamW(groups, lr=hp["lr"], weight_decay=hp["weight_decay"])
        if hp["max_epochs"] is None:
            return optimizer
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(1, int(hp["max_epochs"]))
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": schedule, "interval": "epoch"},
        }
