"""A tiny, randomly initialised super-resolution bundle for scene-evaluation tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from eoforge.models import Bundle, ModelSpec, Normalization, build_model, save_bundle

MEAN, STD = [0.2, 0.25], [0.1, 0.1]
"""Normalisation of the two bands (reflectance)."""


def tiny_sr_bundle(folder: Path, arch: str, bands: list[str], **options: Any) -> Path:
    """A seeded ``arch`` bundle (``sr_edsr``, ``sr_reference``...) for two bands at 10 m.

    Args:
        folder: Where the bundle is written.
        arch: The super-resolution architecture.
        bands: Its two input bands.
        **options: Model options (``scale``, ``features``, ``blocks``...).

    Returns:
        The bundle folder.
    """
    torch.manual_seed(0)
    spec = ModelSpec(
        task="super_resolution", arch=arch, in_bands=bands, num_classes=2, options=options
    )
    net = build_model(spec)
    net.set_output_units(MEAN, STD)  # type: ignore[operator]
    bundle = Bundle(
        task="super_resolution", model=spec, bands=bands, patch_size=8, gsd=10.0,
        normalization=Normalization(mean=MEAN, std=STD),
    )  # fmt: skip
    return save_bundle(folder, net, bundle)
