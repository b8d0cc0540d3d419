"""Frozen features of labelled windows: an embedding model run over a probe split.

The model is an embedding bundle's network (``[B, C, H, W] -> [B, D]``) in
eval mode without gradients; windows are prepared by a
:class:`~eoforge.evaluate.probe_data.ProbeInput` (resize, normalisation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from eoforge.errors import ConfigError
from eoforge.evaluate.probe_data import LabelledItem, ProbeInput, ProbeSplits


@dataclass
class Features:
    """Vectors of a split with their labels.

    Attributes:
        vectors: float32 ``[N, D]``.
        single: int64 ``[N]`` class ids, or None when the data gives none.
        multi: float32 multi-hot ``[N, K]``, or None.
        images: The prepared inputs ``[N, C, S, S]`` (kept for fine-tuning), or None.
    """

    vectors: npt.NDArray[np.float32]
    single: npt.NDArray[np.int64] | None
    multi: npt.NDArray[np.float32] | None
    images: Tensor | None = None

    def __len__(self) -> int:
        return int(self.vectors.shape[0])


def extract_features(
    model: nn.Module,
    splits: ProbeSplits,
    split: Literal["train", "val"],
    prepared: ProbeInput,
    *,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    keep_images: bool = False,
) -> Features:
    """Run the frozen ``model`` over every labelled window of ``split``.

    Args:
        model: Embedding network ``[B, C, S, S] -> [B, D]``.
        splits: The probe data.
        split: ``"train"`` or ``"val"``.
        prepared: Resize and normalisation of the inputs.
        batch_size: Windows per forward pass.
        device: Where the model runs.
        keep_images: Keep the prepared inputs (for fine-tuning).

    Raises:
        ConfigError: The split has no labelled window.
    """
    return features_of(
        model,
        splits.items(split),
        prepared,
        batch_size=batch_size,
        device=device,
        keep_images=keep_images,
        what=f"the {split} split of {splits.described}",
    )


def features_of(
    model: nn.Module,
    items: Iterable[LabelledItem],
    prepared: ProbeInput,
    *,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    keep_images: bool = False,
    what: str = "the data",
) -> Features:
    """Features of labelled items (see :func:`extract_features`)."""
    model = model.eval().to(device)
    vectors: list[Tensor] = []
    images: list[Tensor] = []
    singles: list[int | None] = []
    multis: list[npt.NDArray[np.float32] | None] = []
    batch: list[Tensor] = []

    def flush() -> None:
        x = prepared.normalize(torch.stack(batch)).to(device)
        with torch.no_grad():
            vectors.append(model(x).float().cpu())
        if keep_images:
            images.append(x.cpu())
        batch.clear()

    for item in items:
        # windows of one split may differ in size: each is resized alone, then stacked
        batch.append(prepared.resize(item.image[None])[0])
        singles.append(item.single)
        multis.append(item.multi)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    if not vectors:
        raise ConfigError(
            f"{what} has no labelled window to probe.", fix="check the data's labels."
        )
    single = None
    if all(s is not None for s in singles):
        single = np.asarray(singles, dtype=np.int64)
    multi = None
    if all(m is not None for m in multis):
        multi = np.stack([m for m in multis if m is not None]).astype(np.float32)
    return Features(
        torch.cat(vectors).numpy().astype(np.float32),
        single,
        multi,
        torch.cat(images) if keep_images else None,
    )
