"""Scene-level and pixel-level regression, with sparse targets.

Model contracts: scene ``image [B, C, H, W] -> [B, K]``; pixel
``image [B, C, H, W] -> [B, K, H, W]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor
from torchmetrics import MetricCollection

from eoforge.errors import ConfigError
from eoforge.tasks.base import EOTask
from eoforge.tasks.losses import regression_loss
from eoforge.tasks.metrics import regression_metrics


class RegressionTask(EOTask):
    """Continuous targets; ``loss`` is ``"mse"``, ``"l1"`` or ``"huber"``.

    Batch keys: ``image`` float32 ``[B, C, H, W]`` and ``target`` float32:
    ``[B]`` or ``[B, K]`` for scene-level values, ``[B, H, W]`` or
    ``[B, K, H, W]`` for per-pixel values, where NaN marks unlabelled pixels
    (sparse labels such as GEDI footprints); optional ``valid`` bool
    ``[B, H, W]``. Only finite targets on valid pixels count. Metrics: MAE,
    RMSE, R² pooled over all counted values.

    Args:
        model: Network obeying the contract above.
        target_normalization: ``(mean, std)`` of the targets, physical units.
            The network then learns standardised targets, :meth:`forward`
            returns physical units, the loss is computed in standardised
            units and the metrics in physical units.
        **options: See :class:`EOTask`.
    """

    kind = "regression"

    default_loss = "mse"
    target_mean: Tensor
    target_std: Tensor

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        target_normalization: tuple[float, float] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        mean, std = target_normalization if target_normalization is not None else (0.0, 1.0)
        self.register_buffer("target_mean", torch.tensor(float(mean)))
        self.register_buffer("target_std", torch.tensor(float(std)))
        self.hparams["target_normalization"] = [float(mean), float(std)]

    def make_metrics(self) -> MetricCollection:
        """MAE, RMSE and R²."""
        return regression_metrics()

    def postprocess(self, output: Tensor) -> Tensor:
        """Standardised network output to physical units."""
        return output * self.target_std + self.target_mean

    def select(self, output: Tensor, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Predictions and targets ``[N]`` where the target is finite (and valid).

        Both are divided by the target std, so the loss sees standardised errors.
        """
        target: Tensor = batch["target"].float()
        if target.ndim == output.ndim - 1:
            target = target.unsqueeze(1)
        if target.shape != output.shape:
            raise ConfigError(
                f"target {tuple(batch['target'].shape)} does not fit model output "
                f"{tuple(output.shape)}.",
                fix="give one target per model output ([B], [B, K], [B, H, W] or [B, K, H, W]).",
            )
        keep = torch.isfinite(target)
        valid = batch.get("valid")
        if output.ndim == 4 and valid is not None:
            keep &= valid.to(torch.bool).unsqueeze(1)
        return output[keep] / self.target_std, target[keep] / self.target_std

    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """The configured regression loss on standardised values."""
        return regression_loss(self.loss_name)(pred, target)

    def check_loss(self) -> None:
        """Accept ``mse``, ``l1``, ``huber``."""
        regression_loss(self.loss_name)

    def metric_inputs(self, pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Back to physical units for MAE and RMSE (R² is unit-free)."""
        return pred * self.target_std, target * self.target_std
