"""Image-to-image translation: predict target bands from input bands, pixel by pixel.

Cross-sensor translation and band infilling (COP-GEN's setting): e.g. cloud-free
Sentinel-2 reflectance from Sentinel-1 VV/VH and a cloudy Sentinel-2 view. It is
dense multi-band regression: each target band is standardised with its own mean
and std (reflectances of the visible bands are a tenth of the NIR's), the loss is
computed on standardised values, the metrics and :meth:`forward` use physical
units.

Model contract: ``image [B, C, H, W] -> [B, K, H, W]`` with ``K`` target bands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torchmetrics import MetricCollection

from eoforge.errors import ConfigError
from eoforge.tasks.base import EOTask
from eoforge.tasks.losses import regression_loss
from eoforge.tasks.metrics import regression_metrics


class ImageToImageTask(EOTask):
    """Dense multi-band regression with per-band target standardisation.

    Batch keys: ``image`` float32 ``[B, C, H, W]`` (physical units), ``target``
    float32 ``[B, K, H, W]`` (physical units; NaN: no target there) and
    optional ``valid`` bool ``[B, H, W]``. Only finite targets on valid pixels
    count. Metrics: MAE, RMSE (in target standard deviations, so every band
    weighs the same) and R², pooled over bands and pixels; per-band scores in
    physical units: :mod:`eoforge.evaluate.i2i_metrics`.

    Args:
        model: Network obeying the contract above.
        target_normalization: Per-band ``(mean [K], std [K])`` of the targets,
            physical units; None: 0 and 1.
        target_bands: Names of the ``K`` target bands (kept in hyperparameters).
        **options: See :class:`EOTask`; ``loss`` is ``"l1"`` (default),
            ``"mse"`` or ``"huber"``.
    """

    kind = "image_to_image"

    default_loss = "l1"
    target_mean: Tensor
    target_std: Tensor

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        target_normalization: tuple[Sequence[float], Sequence[float]] | None = None,
        target_bands: Sequence[str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        outputs = self.num_classes or (len(target_bands) if target_bands else 1)
        if target_normalization is None:
            mean, std = [0.0] * outputs, [1.0] * outputs
        else:
            mean, std = (list(map(float, v)) for v in target_normalization)
        if len(mean) != len(std) or (self.num_classes is not None and len(mean) != outputs):
            raise ConfigError(
                f"target normalisation has {len(mean)} means and {len(std)} stds for "
                f"{outputs} target bands.",
                fix="give one mean and one std per target band.",
            )
        if min(std) <= 0:
            raise ConfigError(f"target stds {std} must be positive.", fix="use targets that vary.")
        self.register_buffer("target_mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("target_std", torch.tensor(std).view(1, -1, 1, 1))
        self.hparams["target_normalization"] = [mean, std]
        self.hparams["target_bands"] = None if target_bands is None else list(target_bands)

    def make_metrics(self) -> MetricCollection:
        """MAE, RMSE (standardised units) and R²."""
        return regression_metrics()

    def postprocess(self, output: Tensor) -> Tensor:
        """Standardised network output ``[B, K, H, W]`` to physical units."""
        return output * self.target_std + self.target_mean

    def select(self, output: Tensor, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Standardised predictions and targets ``[N]`` where the target is finite (and valid).

        Raises:
            ConfigError: The target is not ``[B, K, H, W]`` like the output.
        """
        target: Tensor = batch["target"].float()
        if target.shape != output.shape:
            raise ConfigError(
                f"target {tuple(target.shape)} does not fit model output {tuple(output.shape)}.",
                fix="give one target band per model output ([B, K, H, W]).",
            )
        keep = torch.isfinite(target)
        valid = batch.get("valid")
        if valid is not None:
            keep &= valid.to(torch.bool).unsqueeze(1)
        pred = (output - self.target_mean) / self.target_std
        truth = (target - self.target_mean) / self.target_std
        return pred[keep], truth[keep]

    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """The configured loss on standardised values (every band weighs the same)."""
        return regression_loss(self.loss_name)(pred, target)

    def check_loss(self) -> None:
        """Accept ``mse``, ``l1``, ``huber``."""
        regression_loss(self.loss_name)

    def metric_inputs(self, pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Pooled metrics on standardised values (bands mixed; per band see the evaluator)."""
        return pred, target
