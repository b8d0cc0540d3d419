"""Chips of one place seen by several sensors: one folder per input group, files of one name.

Published change and damage datasets whose dates come from different sensors
(BRIGHT: an optical RGB image before the event in ``pre/``, a single-band SAR
image after it in ``post/``, the damage classes in ``target/``) store each
place as same-named images on one pixel grid, one folder per input. A
:class:`GroupChipDataset` item is one place, read as multi-input samples like
:class:`~eoforge.data.multi_input.MultiInputDataset`'s:

``inputs``
    ``{group: {"image": float32 [C_g, h, w], "valid": bool [h, w]}}`` (the stored
    values, as read);
``present``
    ``{group: bool []}``: False where the group's pixels are all invalid;
``mask``, ``valid``
    int64 ``[h, w]`` class ids (label values outside ``0..classes-1`` become
    ``ignore_index``) and bool ``[h, w]`` (any group valid).

With ``crop`` each item is a random ``crop x crop`` window, the same for every
group and the mask (training); without it the whole images (validation). The
groups' images must share their size: a place whose files differ is an error
naming them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from rasterio.windows import Window
from torch.utils.data import Dataset

from eoforge.data.chips import IMAGE_EXTENSIONS, list_images, raster_header, read_chip
from eoforge.data.multi_input import INPUTS, PRESENT
from eoforge.errors import ConfigError

Sample = dict[str, Any]


@dataclass(frozen=True)
class ChipGroup:
    """One input group of a chip dataset.

    Attributes:
        folder: Sub-folder of the split holding the group's images.
        bands: Names of the images' bands, file order.
    """

    folder: str
    bands: tuple[str, ...]


class GroupChipDataset(Dataset[Sample]):
    """Places of a split folder read as multi-input chips (see the module docstring).

    Args:
        root: The split folder (``<root>/<group folder>/<name>.tif`` and
            ``<root>/<label>/<name>.tif``).
        groups: Input groups by name, in model order; the first names the places.
        label: Sub-folder of the class masks.
        num_classes: Classes of the masks (ids ``0..num_classes-1``).
        lookup: Mask value -> class id table (values past its end never count),
            or None when mask values are class ids.
        crop: Side of the random training window (pixels), or None for whole images.
        ignore_index: Mask value of pixels that never count.
        names: Only these places (file stems), e.g. a split list; None takes all.

    Raises:
        ConfigError: No places, a place lacking a group's file or its mask, a
            file whose band count is not the group's, or images smaller than ``crop``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        groups: Mapping[str, ChipGroup],
        label: str,
        num_classes: int,
        *,
        crop: int | None = None,
        ignore_index: int = -100,
        names: Sequence[str] | None = None,
        lookup: npt.NDArray[np.int64] | None = None,
    ) -> None:
        self.root = Path(root)
        self.groups = dict(groups)
        first = next(iter(self.groups.values()))
        stems = [p.stem for p in list_images(self.root / first.folder, IMAGE_EXTENSIONS)]
        if names is not None:
            stems = [s for s in stems if s in set(names)]
        if not stems:
            raise ConfigError(
                "no images found.", path=self.root / first.folder, fix="check the split folder."
            )
        self.files = [
            {n: self._file(g.folder, stem) for n, g in self.groups.items()} for stem in stems
        ]
        self.labels = [self._file(label, stem) for stem in stems]
        for name, group in self.groups.items():
            count = raster_header(self.files[0][name])[2]
            if count != len(group.bands):
                raise ConfigError(
                    f"input group {name!r} names {len(group.bands)} band(s), its images "
                    f"have {count}.",
                    path=self.files[0][name],
                    fix=f"list the {count} band(s) of {group.folder}/ in the group.",
                )
        self.num_classes = num_classes
        self.crop = crop
        self.ignore_index = ignore_index
        self.lookup = lookup

    def _file(self, folder: str, stem: str) -> Path:
        found = [self.root / folder / f"{stem}.{s}" for s in IMAGE_EXTENSIONS]
        path = next((p for p in found if p.is_file()), None)
        if path is None:
            raise ConfigError(
                f"place {stem!r} has no image in {folder}/.",
                path=self.root / folder,
                fix="give every place a file of the same name in each group's folder and the "
                "label folder.",
            )
        return path

    @property
    def bands(self) -> list[str]:
        """Every group's bands, group after group (the model's ``in_bands``)."""
        return [b for g in self.groups.values() for b in g.bands]

    def __len__(self) -> int:
        return len(self.files)

    def _window(self, index: int) -> Window | None:
        label = self.labels[index]
        shapes = {k: raster_header(p)[:2] for k, p in self.files[index].items()}
        shapes["mask"] = raster_header(label)[:2]
        if len(set(shapes.values())) > 1:
            raise ConfigError(
                f"the images of place {label.stem!r} differ in size: "
                + ", ".join(f"{k} {h}x{w}" for k, (h, w) in shapes.items())
                + ".",
                path=label,
                fix="give each place's images one pixel grid.",
            )
        if self.crop is None:
            return None
        height, width = shapes["mask"]
        if min(height, width) < self.crop:
            raise ConfigError(
                f"place {label.stem!r} is {height}x{width} px, smaller than the {self.crop} px "
                "training crop.",
                path=label,
                fix="lower the crop (data.patch_size).",
            )
        row = int(torch.randint(0, height - self.crop + 1, ()).item())
        col = int(torch.randint(0, width - self.crop + 1, ()).item())
        return Window(col, row, self.crop, self.crop)

    def __getitem__(self, index: int) -> Sample:
        files = self.files[index]
        window = self._window(index)
        inputs: dict[str, dict[str, torch.Tensor]] = {}
        for name in self.groups:
            values, valid = read_chip(files[name], window)
            inputs[name] = {
                "image": torch.from_numpy(values.astype(np.float32)),
                "valid": torch.from_numpy(valid),
            }
        labels, _ = read_chip(self.labels[index], window)
        mask = labels[0].astype(np.int64)
        if self.lookup is not None:
            inside = (mask >= 0) & (mask < len(self.lookup))
            mask = np.where(inside, self.lookup[np.clip(mask, 0, len(self.lookup) - 1)], -1)
        mask[(mask < 0) | (mask >= self.num_classes)] = self.ignore_index
        valid_any = torch.zeros(mask.shape, dtype=torch.bool)
        for group in inputs.values():
            valid_any |= group["valid"]
        return {
            INPUTS: inputs,
            PRESENT: {n: torch.tensor(bool(g["valid"].any())) for n, g in inputs.items()},
            "mask": torch.from_numpy(mask),
            "valid": valid_any,
        }
