"""The ``data.chips`` settings as sample transforms and batch collation.

:func:`chip_transform` turns one split's :class:`~eoforge.experiment.config.ChipOptions`
into the sample transforms of :mod:`eoforge.data.shaping` (scale, resize, crop,
then pad; patches are planned by the dataset itself), :func:`chip_collate`
picks the collation (batches padded to their largest member when ``pad`` is
set, so whole images of any size batch together), and :func:`eval_options`
derives the evaluation settings when the config gives none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from eoforge.data import collate
from eoforge.data.shaping import (
    CenterCrop,
    Compose,
    Pad,
    PadCollate,
    RandomCrop,
    Rescale,
    Resize,
    as_size,
)
from eoforge.errors import ConfigError
from eoforge.experiment.config import ChipOptions, ChipSettings, PadOptions

Collate = Callable[[Sequence[dict[str, Any]]], dict[str, Any]]
WHOLE_IMAGE_MULTIPLE = 32
"""Side multiple whole evaluation images are padded to by default (a 5-level encoder's stride)."""


def chip_transform(options: ChipOptions, ignore_index: int) -> Compose:
    """Resize, crop and pad as ``options`` say (an empty :class:`Compose` when nothing is asked).

    Args:
        options: One split's chip options.
        ignore_index: Mask value of padded pixels.
    """
    steps: list[Callable[[dict[str, Any]], dict[str, Any]] | None] = []
    if options.scale is not None:
        steps.append(Rescale(options.scale))
    if options.resize is not None:
        steps.append(Resize(as_size(options.resize)))
    if options.random_crop is not None:
        steps.append(RandomCrop(as_size(options.random_crop), ignore_index))
    if options.center_crop is not None:
        steps.append(CenterCrop(as_size(options.center_crop), ignore_index))
    pad = options.pad
    if pad is not None:
        size = None if pad.size is None else as_size(pad.size)
        steps.append(Pad(size, pad.multiple, ignore_index))
    return Compose(steps)


MIXED_SIZES_FIX = (
    "give the chips one size in the config: data.chips.train (and data.chips.eval) "
    "{resize: 256}, {random_crop: 224} / {center_crop: 224}, or pad: {multiple: 32} to "
    "batch whole images of any size."
)


class SameSizeCollate:
    """:func:`~eoforge.data.collate`, whose mixed-size error names the config keys that fix it."""

    def __call__(self, samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The batch.

        Raises:
            ConfigError: Samples of different sizes (the fix names ``data.chips``).
        """
        try:
            return collate(samples)
        except ConfigError as error:
            if not error.reason.startswith("cannot batch"):
                raise
            raise ConfigError(error.reason, fix=MIXED_SIZES_FIX) from None


def chip_collate(options: ChipOptions, ignore_index: int) -> Collate:
    """:class:`PadCollate` when ``options`` pad (mixed sizes batch together), else same-size."""
    if options.pad is None:
        return SameSizeCollate()
    return PadCollate(options.pad.multiple, ignore_index)


def eval_options(
    settings: ChipSettings, kind: Literal["class_folder", "image_mask"]
) -> ChipOptions:
    """The evaluation chip options: given ones, or derived from the training ones.

    Derived: the training ``scale`` and ``resize``; for ``image_mask`` whole images (no
    patches, no crop) padded to a multiple of :data:`WHOLE_IMAGE_MULTIPLE`
    (or the training ``pad.multiple`` when larger); for class folders a
    ``center_crop`` of the training crop's size and the training ``pad``.
    """
    if settings.eval is not None:
        return settings.eval
    train = settings.train
    if kind == "image_mask":
        multiple = max(WHOLE_IMAGE_MULTIPLE, train.pad.multiple if train.pad else 1)
        return ChipOptions(
            scale=train.scale, resize=train.resize, pad=PadOptions(multiple=multiple)
        )
    crop = train.random_crop if train.random_crop is not None else train.center_crop
    return ChipOptions(scale=train.scale, resize=train.resize, center_crop=crop, pad=train.pad)
