"""Batching samples without losing their grids.

:func:`collate` stacks same-shape tensors (``image`` ``[B, C, H, W]`` or
``[B, T, C, H, W]``, ``mask`` ``[B, H, W]``, ``valid`` ``[B, H, W]``...) and
keeps per-sample values as lists: ``crs`` (WKT strings), ``transform`` (6
floats each), and the variable-length ``boxes``/``labels`` tensors of
detection. :func:`grid_of` rebuilds item ``i``'s grid from a batch, so
predictions can be written back where they belong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from odc.geo.geobox import GeoBox
from torch.utils.data import default_collate

from eoforge.errors import ConfigError
from eoforge.geo.grid import grid_from_sample

Batch = dict[str, Any]
LIST_KEYS = frozenset({"crs", "transform", "boxes", "labels", "difficult"})
"""Keys always kept as per-sample lists (grids, and detection targets of varying length)."""


def _batch_view(values: list[torch.Tensor]) -> torch.Tensor | None:
    """The batch tensor when ``values`` are consecutive items of one, else None.

    :meth:`~eoforge.data.datasets.GeoDataset.__getitems__` returns such items.
    """
    first = values[0]
    if not first.is_contiguous():
        return None
    size, pointer, offset = (
        first.numel(),
        first.untyped_storage().data_ptr(),
        first.storage_offset(),
    )
    for i, value in enumerate(values):
        same_block = value.untyped_storage().data_ptr() == pointer
        if not (same_block and value.is_contiguous() and value.shape == first.shape):
            return None
        if value.storage_offset() != offset + i * size:
            return None
    return first.as_strided((len(values), *first.shape), (size, *first.stride()))


def _stack(key: str, values: list[torch.Tensor]) -> torch.Tensor:
    shapes = {tuple(v.shape) for v in values}
    if len(shapes) > 1:
        raise ConfigError(
            f"cannot batch {key!r}: samples have different shapes {sorted(shapes)}.",
            fix="use one window size per batch (samplers yield a fixed size; for mixed sizes "
            "use batch_size=1 or resize in transforms).",
        )
    view = _batch_view(values)
    if view is not None:
        return view  # already one batch buffer: no copy
    # default_collate stacks straight into shared memory inside DataLoader workers, saving
    # the copy that sending a freshly stacked batch to the main process would cost.
    stacked: torch.Tensor = default_collate(values)
    return stacked


def collate(samples: Sequence[Mapping[str, Any]]) -> Batch:
    """Batch samples: stack tensors, keep grids and detection targets as lists.

    Args:
        samples: Sample dicts with the same keys.

    Returns:
        The batch: each tensor key stacked on a new first axis of size ``B``,
        dict values (the ``inputs`` and ``present`` of samples with several input
        groups) batched the same way inside, :data:`LIST_KEYS` and other values as
        lists of length ``B``.

    Raises:
        ConfigError: No samples, or a stacked key with differing shapes.
    """
    if not samples:
        raise ConfigError("cannot collate an empty list of samples.")
    batch: Batch = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        if key not in LIST_KEYS and all(isinstance(v, Mapping) for v in values):
            batch[key] = collate(values)  # nested dicts (input groups) keep their structure
        elif key not in LIST_KEYS and all(isinstance(v, torch.Tensor) for v in values):
            batch[key] = _stack(key, values)
        else:
            batch[key] = values
    return batch


def batch_size(batch: Mapping[str, Any]) -> int:
    """Number of samples in a batch (from its ``crs`` list, or ``image`` for non-geo chips)."""
    return len(batch["crs"]) if "crs" in batch else len(batch["image"])


def uncollate(batch: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Split a batch back into sample dicts (tensors are views of the batch's)."""
    return [{key: value[i] for key, value in batch.items()} for i in range(batch_size(batch))]


def grid_of(batch: Mapping[str, Any], index: int, key: str = "image") -> GeoBox:
    """The grid of item ``index`` of a batch.

    Args:
        batch: A batch from :func:`collate`.
        index: Item position in the batch.
        key: Tensor whose last two axes are the grid's ``(H, W)`` (any
            per-pixel output, e.g. a model's logits, works too).

    Returns:
        The item's GeoBox: CRS, transform, and shape from ``batch[key]``.
    """
    height, width = batch[key][index].shape[-2:]
    return grid_from_sample(
        batch["crs"][index], batch["transform"][index], (int(height), int(width))
    )
