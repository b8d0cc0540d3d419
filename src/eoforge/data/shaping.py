"""Chip shapes: resize, crop and pad samples, batch mixed sizes, cut images into patches.

Chip datasets (:mod:`eoforge.data.chips`) return images of whatever size their
files have; real sets mix sizes (scene-classification images of 247 to 256 px,
aerial tiles of 500 to 2000 px). The sample transforms here give them one
shape:

* :class:`Resize` to a size (:class:`Rescale` by a factor): images bilinear,
  masks and valid masks nearest;
* :class:`RandomCrop` / :class:`CenterCrop` to a size (padded first where smaller);
* :class:`Pad` to at least a size and/or a multiple (bottom and right edges).

Padding marks the added pixels invalid (``valid`` False, image 0) and gives
masks the ignore index, so padded pixels never count in a loss or a metric,
and records the size before padding as ``size`` (int64 ``[2]``: height,
width in pixels) so outputs can be cropped back (:func:`crop_back`).
:class:`PadCollate` batches samples of different sizes by padding each batch
to its largest member (whole-image evaluation), and :func:`patch_starts` plans
the windows that cut large images into patches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from eoforge.data.collate import collate

Sample = dict[str, Any]
Size = tuple[int, int]
SampleTransform = Callable[[Sample], Sample]
PIXEL_KEYS = ("image", "valid", "mask", "target")
"""Per-pixel sample keys, their last two axes being ``(H, W)``."""
SIZE_KEY = "size"
"""Sample key of the ``(height, width)`` before padding, int64 ``[2]``."""


def as_size(value: int | Sequence[int]) -> Size:
    """``(height, width)`` from one side or a ``[height, width]`` pair, pixels."""
    if isinstance(value, int):
        return value, value
    height, width = value
    return int(height), int(width)


def spatial_size(sample: Mapping[str, Any]) -> Size:
    """``(H, W)`` of a sample's image, pixels."""
    height, width = sample["image"].shape[-2:]
    return int(height), int(width)


def _pixel_keys(sample: Mapping[str, Any], size: Size) -> list[str]:
    return [
        key
        for key in PIXEL_KEYS
        if isinstance(sample.get(key), Tensor)
        and sample[key].ndim >= 2
        and tuple(sample[key].shape[-2:]) == size
    ]


def _fill(key: str, tensor: Tensor, ignore_index: int) -> float | int | bool:
    if key == "mask":
        return ignore_index
    if key == "valid":
        return False
    if key == "target" and tensor.is_floating_point():
        return float("nan")
    return 0


def pad_sample(sample: Sample, height: int, width: int, ignore_index: int) -> Sample:
    """``sample`` padded at the bottom and right to at least ``height`` x ``width`` pixels.

    Added pixels are invalid (``valid`` False; a sample without ``valid``
    gets one), 0 in the image, ``ignore_index`` in the mask, NaN in float
    targets. The size before the first padding is kept as ``size``.

    Args:
        sample: Sample with ``image`` ``[..., H, W]``.
        height: Wanted height, pixels (smaller heights leave the height alone).
        width: Wanted width, pixels.
        ignore_index: Mask value of the added pixels.

    Returns:
        A new sample dict (the same one when nothing needs padding).
    """
    h, w = spatial_size(sample)
    below, right = max(0, height - h), max(0, width - w)
    if not below and not right:
        return sample
    out = dict(sample)
    if not isinstance(out.get("valid"), Tensor):
        out["valid"] = torch.ones((h, w), dtype=torch.bool)
    for key in _pixel_keys(out, (h, w)):
        tensor: Tensor = out[key]
        padded = tensor.new_full(
            (*tensor.shape[:-2], h + below, w + right), _fill(key, tensor, ignore_index)
        )
        padded[..., :h, :w] = tensor
        out[key] = padded
    out.setdefault(SIZE_KEY, torch.tensor([h, w], dtype=torch.int64))
    return out


def crop_sample(sample: Sample, top: int, left: int, height: int, width: int) -> Sample:
    """The window ``[top:top+height, left:left+width]`` of every per-pixel tensor (views)."""
    out = dict(sample)
    for key in _pixel_keys(sample, spatial_size(sample)):
        out[key] = sample[key][..., top : top + height, left : left + width]
    out.pop(SIZE_KEY, None)
    return out


class Resize:
    """Resample a sample to ``size``: image bilinear, ``mask`` and ``valid`` nearest.

    Args:
        size: ``(height, width)`` in pixels.
    """

    def __init__(self, size: Size) -> None:
        self.size = size

    def __call__(self, sample: Sample) -> Sample:
        """The resized sample (a new dict; unchanged when it has the size already)."""
        current = spatial_size(sample)
        if current == self.size:
            return sample
        out = dict(sample)
        for key in _pixel_keys(sample, current):
            tensor: Tensor = sample[key]
            lead = tensor.shape[:-2]
            flat = tensor.reshape(1, -1, *current)
            if key == "image" or (key == "target" and tensor.is_floating_point()):
                resized = F.interpolate(
                    flat.float(),
                    size=self.size,
                    mode="bilinear",
                    align_corners=False,
                    antialias=True,
                ).to(tensor.dtype)
            else:  # class ids and valid flags keep their values: nearest neighbour
                resized = F.interpolate(flat.float(), size=self.size, mode="nearest-exact").to(
                    tensor.dtype
                )
            out[key] = resized.reshape(*lead, *self.size)
        return out


class Rescale:
    """Resample a sample by a factor (e.g. 0.5 halves each side), as :class:`Resize` does.

    Args:
        factor: Output side / input side; sides are rounded to whole pixels.
    """

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def __call__(self, sample: Sample) -> Sample:
        """The rescaled sample."""
        h, w = spatial_size(sample)
        size = (max(1, round(h * self.factor)), max(1, round(w * self.factor)))
        return Resize(size)(sample)


class RandomCrop:
    """A random ``size`` window of a sample, padded first where the sample is smaller.

    The window is drawn from torch's random stream (seeded per DataLoader
    worker by Lightning, so runs repeat).

    Args:
        size: ``(height, width)`` in pixels.
        ignore_index: Mask value of padded pixels.
    """

    def __init__(self, size: Size, ignore_index: int) -> None:
        self.size = size
        self.ignore_index = ignore_index

    def __call__(self, sample: Sample) -> Sample:
        """The cropped sample."""
        sample = pad_sample(sample, *self.size, self.ignore_index)
        h, w = spatial_size(sample)
        top = int(torch.randint(h - self.size[0] + 1, ()).item())
        left = int(torch.randint(w - self.size[1] + 1, ()).item())
        return crop_sample(sample, top, left, *self.size)


class CenterCrop:
    """The central ``size`` window of a sample, padded first where the sample is smaller.

    Args:
        size: ``(height, width)`` in pixels.
        ignore_index: Mask value of padded pixels.
    """

    def __init__(self, size: Size, ignore_index: int) -> None:
        self.size = size
        self.ignore_index = ignore_index

    def __call__(self, sample: Sample) -> Sample:
        """The cropped sample."""
        sample = pad_sample(sample, *self.size, self.ignore_index)
        h, w = spatial_size(sample)
        top, left = (h - self.size[0]) // 2, (w - self.size[1]) // 2
        return crop_sample(sample, top, left, *self.size)


def padded_side(side: int, minimum: int, multiple: int) -> int:
    """``side`` raised to at least ``minimum``, then up to a multiple of ``multiple`` (pixels)."""
    side = max(side, minimum)
    return -(-side // multiple) * multiple


class Pad:
    """Pad a sample at the bottom and right to at least ``size``, then to a ``multiple``.

    Args:
        size: Minimum ``(height, width)`` in pixels, or None.
        multiple: Side multiple (the network's output stride, e.g. 32), or 1.
        ignore_index: Mask value of padded pixels.
    """

    def __init__(self, size: Size | None, multiple: int, ignore_index: int) -> None:
        self.size = size or (0, 0)
        self.multiple = multiple
        self.ignore_index = ignore_index

    def __call__(self, sample: Sample) -> Sample:
        """The padded sample (``size`` records the size before padding)."""
        h, w = spatial_size(sample)
        height = padded_side(h, self.size[0], self.multiple)
        width = padded_side(w, self.size[1], self.multiple)
        return pad_sample(sample, height, width, self.ignore_index)


class Compose:
    """Sample transforms applied in order (None entries skipped).

    Args:
        steps: The transforms.
    """

    def __init__(self, steps: Sequence[SampleTransform | None]) -> None:
        self.steps = [s for s in steps if s is not None]

    def __call__(self, sample: Sample) -> Sample:
        """``sample`` through every step."""
        for step in self.steps:
            sample = step(sample)
        return sample

    def __bool__(self) -> bool:
        return bool(self.steps)


class PadCollate:
    """Collate samples of different sizes: pad each batch to its largest member.

    Every sample is padded (see :func:`pad_sample`) to the batch's largest
    height and width, raised to a multiple of ``multiple``, then batched by
    :func:`eoforge.data.collate`. Samples padded this way carry ``size``, so a
    whole-image output ``[B, K, H, W]`` can be cropped back per sample.

    Args:
        multiple: Side multiple of the padded batch (the network's stride), pixels.
        ignore_index: Mask value of padded pixels.
    """

    def __init__(self, multiple: int, ignore_index: int) -> None:
        self.multiple = multiple
        self.ignore_index = ignore_index

    def __call__(self, samples: Sequence[Sample]) -> dict[str, Any]:
        """The batch (tensors ``[B, ..., H, W]`` with ``H, W`` the padded size)."""
        sizes = [spatial_size(s) for s in samples]
        height = padded_side(max(h for h, _ in sizes), 0, self.multiple)
        width = padded_side(max(w for _, w in sizes), 0, self.multiple)
        padded = [pad_sample(dict(s), height, width, self.ignore_index) for s in samples]
        for sample, size in zip(padded, sizes, strict=True):
            sample.setdefault(SIZE_KEY, torch.tensor(size, dtype=torch.int64))
            if "valid" not in sample:
                sample["valid"] = torch.ones((height, width), dtype=torch.bool)
        return collate(padded)


def crop_back(output: Tensor, sizes: Tensor) -> list[Tensor]:
    """Per-sample outputs cropped back to the sizes before padding.

    Args:
        output: Whole-image outputs ``[B, ..., H, W]`` of a padded batch.
        sizes: ``batch["size"]``, int64 ``[B, 2]`` (height, width in pixels).

    Returns:
        ``B`` tensors ``[..., h_i, w_i]`` (views of ``output``).
    """
    return [output[i, ..., : int(h), : int(w)] for i, (h, w) in enumerate(sizes.tolist())]


def patch_starts(length: int, patch: int, stride: int) -> list[int]:
    """Start offsets of patches along one side, covering it to the end.

    Patches start every ``stride`` pixels; a last patch aligned with the end
    is added when the stride leaves the end uncovered. A side shorter than
    ``patch`` gets one patch at 0 (to be padded).

    Args:
        length: Side length, pixels.
        patch: Patch side, pixels.
        stride: Step between patches, pixels.

    Returns:
        Offsets in increasing order.
    """
    if length <= patch:
        return [0]
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] + patch < length:
        starts.append(length - patch)
    return starts
