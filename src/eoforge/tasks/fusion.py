"""Segmentation and multi-label classification from several input groups, each on its own grid.

Batch keys: ``inputs`` ``{name: {"image": float32 [B, C_g, H_g, W_g], "valid":
bool [B, H_g, W_g]}}`` in physical units, ``present`` ``{name: bool [B]}``, and
on the label grid ``mask`` int64 ``[B, H, W]``, ``valid`` bool ``[B, H, W]``,
``crs`` and ``transform`` (see :mod:`eoforge.data.multi_input`). The network
(:class:`~eoforge.models.fusion.FusionUNet`) takes ``(images, present)`` and
returns logits ``[B, K, H, W]`` on the label grid. For multi-label classification
(:class:`FusionMultiLabelTask`, network :mod:`eoforge.models.fusion_classifier`) the
batch holds ``label`` float32 multi-hot ``[B, K]`` instead of ``mask`` and the
network returns logits ``[B, K]``. For field boundaries (:class:`FusionFieldBoundaryTask`,
networks :mod:`eoforge.models.field_series`) ``mask`` numbers the fields and the network
returns the three maps ``[B, 3, H, W]``.

A time-series group (:mod:`eoforge.data.time_series`) holds ``image`` ``[B, T,
C_g, H_g, W_g]``, ``valid`` ``[B, T, H_g, W_g]``, ``doy`` ``[B, T]`` and
``date_mask`` ``[B, T]``; its network (:mod:`eoforge.models.temporal`) takes
``(images, present, series)`` with ``series`` ``{name: {"doy": [B, T], "valid":
[B, T, H_g, W_g]}}`` (a pixel's date counts where it is valid on a real date).

Each group is standardised with its own slice of the normalisation (the groups'
bands follow one another, in the order of ``model_spec.options.inputs``) and its
invalid pixels blanked. Training batches get one random D4 element per sample,
applied to every group, the mask and the valid masks alike. The share of
samples in which each group was present is logged per stage as
``<stage>/present_<group>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from eoforge.errors import ConfigError
from eoforge.tasks.base import Batch, EOTask, Stage, blank_invalid
from eoforge.tasks.classification import MultiLabelTask
from eoforge.tasks.field_boundaries import FieldBoundaryTask
from eoforge.tasks.segmentation import SegmentationTask
from eoforge.transforms.d4 import D4, apply_d4

INPUTS, PRESENT = "inputs", "present"
SPATIAL = ("image", "valid")
"""Keys of a group's batch that hold pixels (a time series' ``doy`` and ``date_mask`` do not)."""


def _groups_of(spec: Any) -> list[tuple[str, int]]:
    """``[(name, band count)]`` of a fusion spec (a ModelSpec or its dict), in order.

    Raises:
        ConfigError: The spec names no input groups.
    """
    options = spec.get("options", {}) if isinstance(spec, Mapping) else spec.options
    inputs = options.get("inputs") if isinstance(options, Mapping) else None
    if not inputs:
        raise ConfigError(
            "a multi-input task needs a model spec with options.inputs.",
            fix="build the spec from data.inputs (eoforge train does).",
        )
    return [(str(name), len(group["bands"])) for name, group in inputs.items()]


def _per_sample_d4(x: Tensor, elements: Tensor) -> Tensor:
    """D4 element ``elements[i]`` applied to ``x[i]`` (``[B, ..., H, W]``, square)."""
    out = torch.empty_like(x)
    for element in sorted(set(elements.tolist())):
        index = (elements == element).nonzero().squeeze(1).to(x.device)
        out[index] = apply_d4(x[index], int(element))
    return out


def d4_groups(batch: Mapping[str, Any], elements: Tensor) -> Batch:
    """D4 element ``elements[i]`` applied to sample ``i`` of every group, its mask and valid masks.

    All of a sample's grids cover one footprint, so turning each the same way
    keeps them on the same ground (square footprints; for others pass only
    shape-preserving elements).

    Args:
        batch: Multi-input batch (``inputs``, ``mask``, ``valid``...).
        elements: D4 element per sample ``[B]`` (0-7, see :func:`~eoforge.transforms.d4.apply_d4`).

    Returns:
        A new batch dict; other keys are shared with ``batch``.
    """
    out = dict(batch)
    out[INPUTS] = {
        name: {
            key: _per_sample_d4(value, elements) if key in SPATIAL else value
            for key, value in group.items()
        }
        for name, group in batch[INPUTS].items()
    }
    for key in ("mask", "valid"):
        if key in batch:
            out[key] = _per_sample_d4(batch[key], elements)
    return out


class GroupInputTask(EOTask):
    """The input-group side of a task: per-group standardisation, presence, D4 on every group.

    Subclassed together with a task kind (``class X(GroupInputTask, SegmentationTask)``);
    takes :class:`~eoforge.tasks.base.EOTask`'s arguments; ``model_spec`` must
    carry ``options.inputs`` and ``normalization`` the groups' bands in that order.

    Raises:
        ConfigError: No groups in the spec, a normalisation of another length,
            or photometric augmentation (not applied to input groups yet).
    """

    def __init__(self, model: torch.nn.Module, **options: Any) -> None:
        super().__init__(model, **options)
        self.groups = _groups_of(options.get("model_spec"))
        total = sum(count for _, count in self.groups)
        if self.normalize is not None and self.normalize.num_bands != total:
            raise ConfigError(
                f"normalization has {self.normalize.num_bands} bands; the input groups hold "
                f"{total}.",
                fix="compute one mean and std per band of every group, group after group.",
            )
        photometric = None if self.augment is None else self.augment.photometric
        if photometric is not None and photometric.active:
            raise ConfigError(
                "photometric augmentation is not applied to input groups yet.",
                fix="turn photometric augmentation off for data.inputs (D4 augmentation works).",
            )
        self.present_counts: dict[str, dict[str, float]] = {s: {} for s in ("train", "val", "test")}
        self.items_seen: dict[str, int] = {"train": 0, "val": 0, "test": 0}

    def batch_items(self, batch: Mapping[str, Any]) -> int:
        """Samples in a batch (its ``valid``'s first axis)."""
        return int(batch["valid"].shape[0])

    def forward(self, image: Any, valid: Any = None) -> Tensor:
        """The network's output for the groups (``[B, K, H, W]`` on the label grid, ``[B, K]``).

        Args:
            image: The batch's ``inputs``: per group ``{"image": [B, C_g, H_g, W_g]``
                physical units, ``"valid": [B, H_g, W_g]}``.
            valid: The batch's ``present``: per group bool ``[B]`` (None: all present).
        """
        inputs: Mapping[str, Mapping[str, Tensor]] = image
        images: dict[str, Tensor] = {}
        present: dict[str, Tensor] = {}
        series: dict[str, dict[str, Tensor]] = {}
        start = 0
        for name, count in self.groups:
            if name not in inputs:
                raise ConfigError(
                    f"the batch lacks input group {name!r} (it has {sorted(inputs)}).",
                    fix="read every group the model was trained on.",
                )
            x = inputs[name]["image"]
            if self.normalize is not None:
                mean = self.normalize.mean[start : start + count].view(-1, 1, 1)
                std = self.normalize.std[start : start + count].view(-1, 1, 1)
                x = (x - mean) / std
            if "doy" in inputs[name]:  # a time series [B, T, C, H, W]
                dates = inputs[name]["valid"].to(torch.bool)
                dates = dates & inputs[name]["date_mask"].to(torch.bool)[..., None, None]
                x = torch.where(dates[:, :, None], x, torch.zeros((), dtype=x.dtype))
                series[name] = {"doy": inputs[name]["doy"].to(x.dtype), "valid": dates}
                images[name] = x
            else:
                images[name] = blank_invalid(x, inputs[name].get("valid"))
            flags = None if valid is None else valid.get(name)
            present[name] = (
                torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
                if flags is None
                else flags.to(x.device).reshape(-1)
            )
            start += count
        output: Tensor = (
            self.model(images, present, series) if series else self.model(images, present)
        )
        return self.postprocess(output)

    def batch_output(self, batch: Mapping[str, Any]) -> Tensor:
        """The model output for a multi-input batch."""
        output: Tensor = self(batch[INPUTS], batch.get(PRESENT))
        return output

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        """One random D4 element per training sample, applied to every group and the label grid."""
        if self.augment is None or self._trainer is None or not self.trainer.training:
            return batch
        if self.augment.d4 is None:
            return batch
        tensors = [g[k] for g in batch[INPUTS].values() for k in ("image", "valid")]
        tensors += [batch[k] for k in ("mask", "valid") if k in batch]
        square = all(t.shape[-1] == t.shape[-2] for t in tensors)
        return d4_groups(batch, D4().draw(int(batch["valid"].shape[0]), square=square))

    def _step(self, batch: Batch, stage: Stage) -> Tensor:
        counts = self.present_counts[stage]
        for name, flags in batch.get(PRESENT, {}).items():
            counts[name] = counts.get(name, 0.0) + float(flags.sum())
        self.items_seen[stage] += self.batch_items(batch)
        return super()._step(batch, stage)

    def _finish(self, stage: Stage) -> None:
        before = len(self.history[stage])
        super()._finish(stage)
        seen = self.items_seen[stage]
        shares = {f"{stage}/present_{n}": c / seen for n, c in self.present_counts[stage].items()}
        self.present_counts[stage], self.items_seen[stage] = {}, 0
        if seen and shares:
            self.log_dict(shares, sync_dist=False)
            if len(self.history[stage]) > before:
                self.history[stage][-1].update(shares)


class FusionSegmentationTask(GroupInputTask, SegmentationTask):
    """Per-pixel classes from several input groups (see the module docstring)."""


class FusionMultiLabelTask(GroupInputTask, MultiLabelTask):
    """Several labels per sample from several input groups (e.g. BigEarthNet S2 + S1).

    Batch keys: ``inputs`` and ``present`` as in the module docstring, ``valid``
    bool ``[B, H, W]`` on the label grid and ``label`` float32 multi-hot
    ``[B, K]``; the network returns logits ``[B, K]``. Metrics as
    :class:`~eoforge.tasks.classification.MultiLabelTask`'s.
    """


class FusionFieldBoundaryTask(GroupInputTask, FieldBoundaryTask):
    """Field extent, boundary and distance from a time-series input group.

    Batch keys: ``inputs`` and ``present`` as in the module docstring, on the
    label grid ``mask`` int64 ``[B, H, W]`` numbering the fields (0: no field) and
    ``valid`` bool ``[B, H, W]`` (a pixel usable on some date). Loss, targets and
    metrics as :class:`~eoforge.tasks.field_boundaries.FieldBoundaryTask`'s; the
    targets are computed after the D4 turn every group and the mask share.
    """
