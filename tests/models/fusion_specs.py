"""Small two-group ``fusion_unet`` specs shared by the model, task and prediction tests."""

from __future__ import annotations

from typing import Any

from eoforge.models import ModelSpec


def two_group_spec(
    s2: list[str],
    s1: list[str],
    num_classes: int,
    decoder_channels: tuple[int, ...] = (8, 8, 8),
    **options: Any,
) -> ModelSpec:
    """A 3-level ``fusion_unet`` on an ``s2`` group at 10 m and an ``s1`` group at 20 m.

    Args:
        s2: Bands of the 10 m group.
        s1: Bands of the 20 m group.
        num_classes: Output classes.
        decoder_channels: Channels of the three decoder stages.
        **options: Further model options (``fuse``, ``reference``...).
    """
    return ModelSpec(
        task="segmentation",
        arch="fusion_unet",
        backbone="tu-resnet10t",
        in_bands=[*s2, *s1],
        num_classes=num_classes,
        options={
            "inputs": {"s2": {"bands": s2, "gsd": 10.0}, "s1": {"bands": s1, "gsd": 20.0}},
            "encoder_depth": 3,
            "decoder_channels": list(decoder_channels),
            **options,
        },
    )
