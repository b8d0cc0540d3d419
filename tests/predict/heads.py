"""Small real task heads for engine tests, picklable so Dask workers can import them.

Each takes a ``fail_after`` count of forward passes after which it raises, to
interrupt a run half way; the same class without it resumes the run (the
engine's resume fingerprint names the class, not the instance).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from torch import nn


class Interruptible:
    """Counts forward passes and fails after ``fail_after`` of them."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.calls = 0

    def tick(self) -> None:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("interrupted on purpose")


class PixelShuffleUp(Interruptible):
    """x``factor`` super-resolution head: a 1x1 convolution to ``C * f²`` channels and a
    pixel shuffle, with weights that copy each input pixel into its ``f x f`` output
    pixels (nearest-neighbour upsampling, so the expected output is known exactly)."""

    def __init__(self, channels: int, factor: int = 2, fail_after: int | None = None) -> None:
        super().__init__(fail_after)
        self.conv = nn.Conv2d(channels, channels * factor * factor, 1, bias=False)
        with torch.no_grad():
            weight = torch.zeros(channels * factor * factor, channels, 1, 1)
            for c in range(channels):
                weight[c * factor * factor : (c + 1) * factor * factor, c] = 1.0
            self.conv.weight.copy_(weight)
        self.shuffle = nn.PixelShuffle(factor)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        self.tick()
        return self.shuffle(self.conv(images))


class MeanPoolDown(Interruptible):
    """Coarser output: the mean of each ``factor x factor`` block of input pixels."""

    def __init__(self, factor: int = 2, fail_after: int | None = None) -> None:
        super().__init__(fail_after)
        self.factor = factor

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        self.tick()
        return nn.functional.avg_pool2d(images, self.factor)


class BlobBoxes(Interruptible):
    """Detection head: one box per connected bright blob of band 1 (> 0.5).

    The score is the blob's brightest value; blobs 10 px wide or more are class 1,
    smaller ones class 0. With ``oriented`` the boxes are ``[cx, cy, w, h, 0]``.
    """

    def __init__(self, oriented: bool = False, fail_after: int | None = None) -> None:
        super().__init__(fail_after)
        self.oriented = oriented

    def __call__(self, images: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        self.tick()
        out = []
        for image in images.numpy():
            band = np.nan_to_num(image[0], nan=0.0)
            labels, _ = ndimage.label(band > 0.5)
            boxes, scores, classes = [], [], []
            for rows, cols in ndimage.find_objects(labels):
                x0, y0, x1, y1 = cols.start, rows.start, cols.stop, rows.stop
                if self.oriented:
                    boxes.append([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, 0.0])
                else:
                    boxes.append([x0, y0, x1, y1])
                scores.append(float(band[rows, cols].max()))
                classes.append(1 if x1 - x0 >= 10 else 0)
            width = 5 if self.oriented else 4
            out.append(
                {
                    "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, width),
                    "scores": torch.tensor(scores, dtype=torch.float32),
                    "labels": torch.tensor(classes, dtype=torch.int64),
                }
            )
        return out


class MeanEmbedding(Interruptible):
    """Embedding head: the mean of each band over the window (valid pixels), ``[B, C]``."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        self.tick()
        return torch.nanmean(images.flatten(2), dim=2)
