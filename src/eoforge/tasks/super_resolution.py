"""Single-frame super-resolution: L1 (+ SSIM, + edge) loss, PSNR/cPSNR/SSIM per band.

Model contract (``task: super_resolution``, see
:mod:`eoforge.models.sr_common`): standardised ``[B, C, h, w]`` to physical
``[B, C, h s, w s]``. Batch keys: ``image`` float32 ``[B, C, h, w]`` (the
low-resolution input, physical units) and ``target`` float32
``[B, C, h s, w s]`` (the high-resolution truth, same units and bands).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection

from eoforge.errors import ConfigError
from eoforge.evaluate.sr_metrics import cpsnr, psnr, ssim, ssim_maps
from eoforge.models.sr_common import SRNetwork
from eoforge.tasks.base import Batch, EOTask
from eoforge.transforms.d4 import D4, apply_d4

LOSSES = ("l1",)


class ImageQuality(Metric):
    """Mean per-band PSNR, cPSNR and SSIM over the images seen (physical units).

    Args:
        bands: Channels ``C``.
        data_range: Value span of PSNR's peak and SSIM's constants.
        border: cPSNR's largest shift and cropped border, target pixels.
    """

    full_state_update = False
    psnr_sum: Tensor
    cpsnr_sum: Tensor
    ssim_sum: Tensor
    images: Tensor

    def __init__(self, bands: int, data_range: float = 1.0, border: int = 3) -> None:
        super().__init__()
        self.data_range, self.border = data_range, border
        for name in ("psnr_sum", "cpsnr_sum", "ssim_sum"):
            self.add_state(name, torch.zeros(bands, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("images", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: Tensor, target: Tensor) -> None:
        """Add a batch ``[B, C, H, W]`` of predictions and targets.

        An image equal to its target (infinite PSNR) counts as 100 dB.
        """
        window = min(11, *pred.shape[-2:])
        for p, t in zip(pred.detach().double().cpu(), target.double().cpu(), strict=True):
            r = self.data_range
            for name, scores in (
                ("psnr_sum", psnr(p, t, r)),
                ("cpsnr_sum", cpsnr(p, t, r, border=self.border)),
                ("ssim_sum", ssim(p, t, r, window=window - (1 - window % 2))),
            ):
                value = torch.tensor(scores.bands, dtype=torch.float64).clamp(max=100.0)
                getattr(self, name).add_(value.to(self.images.device))
            self.images += 1

    def compute(self) -> dict[str, Tensor]:
        """``psnr``, ``cpsnr``, ``ssim`` (band means) and ``<name>_band`` vectors ``[C]``."""
        out: dict[str, Tensor] = {}
        for name in ("psnr", "cpsnr", "ssim"):
            per_band = getattr(self, f"{name}_sum") / self.images.clamp(min=1)
            out[name] = per_band.mean().float()
            out[f"{name}_band"] = per_band.float()
        return out


class SuperResolutionTask(EOTask):
    """Learn ``target`` (high resolution) from ``image`` (low resolution).

    The loss is computed on standardised values (``(x - mean) / std`` per
    band): ``L1 + ssim_weight * (1 - SSIM) + edge_weight * L1(gradients)``;
    metrics in physical units, on validation and test batches only. Training
    batches get one random D4 element per sample, the same on input and
    target. ``class_names`` name the bands in per-band metrics
    (``val/cpsnr_band_S2.B04``).

    Args:
        model: A :class:`~eoforge.models.sr_common.SRNetwork`.
        ssim_weight: Weight of the SSIM term.
        edge_weight: Weight of the gradient (edge) term.
        data_range: Value span of the metrics (1.0 for reflectance).
        cpsnr_border: cPSNR border, target pixels.
        **options: See :class:`EOTask` (``normalization`` is required).

    Raises:
        ConfigError: No normalisation, or a model that is not a super-resolution network.
    """

    kind = "super_resolution"
    default_loss = "l1"

    def __init__(
        self,
        model: nn.Module,
        *,
        ssim_weight: float = 0.0,
        edge_weight: float = 0.0,
        data_range: float = 1.0,
        cpsnr_border: int = 3,
        **options: Any,
    ) -> None:
        if not isinstance(model, SRNetwork):
            raise ConfigError(
                f"{type(model).__name__} is not a super-resolution network.",
                fix="use model.arch sr_edsr or sr_swin.",
            )
        self.data_range, self.cpsnr_border = data_range, cpsnr_border
        self.bands = model.output_mean.numel()
        super().__init__(model, **options)
        if self.normalize is None:
            raise ConfigError(
                "super-resolution needs the band normalisation.",
                fix="pass normalization=(mean, std) per band.",
            )
        model.set_output_units(self.normalize.mean.flatten(), self.normalize.std.flatten())
        self.ssim_weight, self.edge_weight = ssim_weight, edge_weight
        self.hparams.update(
            ssim_weight=ssim_weight,
            edge_weight=edge_weight,
            data_range=data_range,
            cpsnr_border=cpsnr_border,
        )
        self.d4 = D4()

    def make_metrics(self) -> MetricCollection:
        """PSNR, cPSNR and SSIM, per band and mean."""
        return MetricCollection(
            {"quality": ImageQuality(self.bands, self.data_range, self.cpsnr_border)},
            compute_groups=False,
        )

    def check_loss(self) -> None:
        """Accept ``l1`` (the SSIM and edge terms have weights of their own)."""
        if self.loss_name not in LOSSES:
            raise ConfigError(
                f"unknown super-resolution loss {self.loss_name!r}.",
                fix="use 'l1' and set ssim_weight / edge_weight for the other terms.",
            )

    def select(self, output: Tensor, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Output and target ``[B, C, H, W]``, physical units.

        Raises:
            ConfigError: The target's shape is not the output's.
        """
        target: Tensor = batch["target"].float()
        if target.shape != output.shape:
            raise ConfigError(
                f"target {tuple(target.shape)} does not fit the model output "
                f"{tuple(output.shape)}.",
                fix="give targets scale times the input's size, with the same bands.",
            )
        return output, target

    def _standard(self, x: Tensor) -> Tensor:
        assert self.normalize is not None
        standard: Tensor = self.normalize(x)
        return standard

    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """L1 (+ SSIM, + edge terms) on standardised values."""
        p, t = self._standard(pred), self._standard(target)
        loss = F.l1_loss(p, t)
        if self.ssim_weight:
            span = float(t.amax() - t.amin()) or 1.0
            loss = loss + self.ssim_weight * (
                1 - ssim_maps(p, t, span, min(7, *p.shape[-2:])).mean()
            )
        if self.edge_weight:
            loss = loss + self.edge_weight * (
                F.l1_loss(p.diff(dim=-1), t.diff(dim=-1))
                + F.l1_loss(p.diff(dim=-2), t.diff(dim=-2))
            )
        return loss

    def forward(
        self, image: Tensor, valid: Tensor | None = None, reference: Tensor | None = None
    ) -> Tensor:
        """Physical ``[B, C, h, w]`` (and a reference ``[B, C, h s, w s]``) to ``[B, C, h s, w s]``.

        Reference-guided networks (``sr_reference``) get the reference
        standardised like the input; others take none.
        """
        if reference is None:
            return super().forward(image, valid)
        x, ref = self._standard(image), self._standard(reference)
        output: Tensor = self.model(x, ref)
        return output

    def batch_output(self, batch: Mapping[str, Any]) -> Tensor:
        """The output for ``image`` (and ``reference`` when the batch has one)."""
        output: Tensor = self(batch["image"], reference=batch.get("reference"))
        return output

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """One optimisation step; only the loss is kept (image metrics are for evaluation)."""
        pred, target = self.select(self.batch_output(batch), batch)
        loss = self.loss_fn(pred, target)
        size = int(batch["image"].shape[0])
        self.log("train/loss_step", loss, batch_size=size, prog_bar=True)
        self._loss_mean("train").update(loss.detach(), weight=size)
        return loss

    def on_train_epoch_end(self) -> None:
        """Log the epoch's mean training loss."""
        mean = self._loss_mean("train")
        if mean.update_count == 0:
            return
        results = {"train/loss": float(mean.compute())}
        mean.reset()
        self.log_dict(results, sync_dist=False)
        if not (self._trainer is not None and self.trainer.sanity_checking):
            self.history["train"].append(results)

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        """One random D4 element per training sample, applied to input and target alike."""
        if self.augment is None or self._trainer is None or not self.trainer.training:
            return batch
        image: Tensor = batch["image"]
        elements = self.d4.draw(image.shape[0], square=image.shape[-1] == image.shape[-2])
        return d4_pairs(batch, elements)


def d4_pairs(batch: Batch, elements: Tensor) -> Batch:
    """Apply D4 element ``elements[i]`` to sample ``i`` of ``image`` and ``target`` alike.

    Args:
        batch: ``image`` ``[B, C, h, w]`` and ``target`` ``[B, C, h s, w s]`` (and
            ``reference`` ``[B, C, h s, w s]``, transformed alike when present).
        elements: One element index (0-7) per sample ``[B]``.

    Returns:
        A new batch; a target pixel stays above the input pixel it was above.
    """
    out = dict(batch)
    for key in [k for k in ("image", "target", "reference") if k in batch]:
        out[key] = torch.stack(
            [apply_d4(x, int(e)) for x, e in zip(batch[key], elements.tolist(), strict=True)]
        )
    return out


def bicubic(image: Tensor, scale: int) -> Tensor:
    """The bicubic baseline: ``[B, C, h, w]`` upsampled ``scale`` times (no anti-aliasing)."""
    return F.interpolate(image, scale_factor=scale, mode="bicubic", align_corners=False)
