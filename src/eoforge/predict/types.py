"""Call signatures shared by the prediction modules."""

from __future__ import annotations

from collections.abc import Callable

import torch

Predictor = Callable[[torch.Tensor], torch.Tensor]
"""Maps a batch ``[B, C, h, w]`` (``[B, T, C, h, w]`` for change models) of float32
physical values, NaN where invalid, to per-pixel outputs ``[B, K, h, w]``."""

Progress = Callable[[int, int], None]
"""Receives ``(pixels predicted so far, pixels to predict)``, tile overlaps counted."""
