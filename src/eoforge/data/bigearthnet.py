"""BigEarthNet (v1 folder layout): Sentinel-2 patches, optional Sentinel-1, multi-hot labels.

Each patch is a folder of one GeoTIFF per band (``<patch>_B04.tif``...) beside
``<patch>_labels_metadata.json``, whose ``labels`` list CORINE class names (v1.0),
or whose ``labels_19`` list names of the 19-class nomenclature (v2.0 patches as
``eoforge datasets prepare bigearthnet-v2`` writes them; 19 classes only).
Bands are read by name through :mod:`eoforge.io` onto the patch's 10 m grid
(20 m and 60 m bands resampled), with the reader's radiometry (L2A DN to
reflectance). Sentinel-1 patches, when given, are matched to Sentinel-2 ones
by the ``corresponding_s2_patch`` of their metadata (else by tile and patch
position) and stacked as extra channels after the Sentinel-2 bands.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from odc.geo.geobox import GeoBox
from torch.utils.data import Dataset

from eoforge.data.multi_input import INPUTS, PRESENT, group_grid, read_group, union_valid
from eoforge.data.splits import select_split
from eoforge.datasets.bigearthnet_labels import CLASS_43_TO_19, CLASSES_19, CLASSES_43
from eoforge.errors import ConfigError, MetadataError, MissingFileError
from eoforge.geo.grid import grid_to_sample
from eoforge.io import open_sources, read
from eoforge.io.source import RasterSource

Sample = dict[str, Any]

S2_BANDS = (
    "S2.B01", "S2.B02", "S2.B03", "S2.B04", "S2.B05", "S2.B06",
    "S2.B07", "S2.B08", "S2.B8A", "S2.B09", "S2.B11", "S2.B12",
)  # fmt: skip
"""The 12 Sentinel-2 L2A bands of a BigEarthNet patch (B10 is not distributed)."""

S1_BANDS = ("S1.VV", "S1.VH")


_TILE = re.compile(r"_T(\d{2}[A-Z]{3})_")
_S1_KEY = re.compile(r"_(\d{2}[A-Z]{3})_(\d+)_(\d+)$")
_POSITION = re.compile(r"_(\d+)_(\d+)$")


def read_metadata(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``*_labels_metadata.json`` of a patch folder.

    Raises:
        MetadataError: The file is missing or not valid JSON.
    """
    folder = Path(folder)
    path = folder / f"{folder.name}_labels_metadata.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise MetadataError(
            f"cannot read the patch metadata: {exc}.",
            path=path,
            fix="keep each patch folder as distributed, with its labels_metadata.json.",
        ) from exc
    return data


def find_patches(root: str | os.PathLike[str]) -> list[Path]:
    """Patch folders under ``root`` (sorted), recognised by their labels metadata.

    Raises:
        MissingFileError: ``root`` does not exist.
        ConfigError: No patch found.
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError("folder not found.", path=root, fix="check the dataset root.")
    patches = sorted(p.parent for p in root.glob("*/*_labels_metadata.json"))
    if not patches:
        raise ConfigError(
            "no BigEarthNet patch folders (with *_labels_metadata.json) found.",
            path=root,
            fix="point at the folder that holds the patch folders.",
        )
    return patches


def _s2_key(folder: Path, meta: dict[str, Any]) -> tuple[str, str, str] | None:
    tile = _TILE.search(str(meta.get("tile_source", "")))
    position = _POSITION.search(folder.name)
    if tile is None or position is None:
        return None
    return (tile.group(1), position.group(1), position.group(2))


def match_s1(
    s2_patches: Sequence[str | os.PathLike[str]], root_s1: str | os.PathLike[str]
) -> list[Path]:
    """The Sentinel-1 patch folder of each Sentinel-2 patch.

    A Sentinel-1 patch's ``corresponding_s2_patch`` names its partner; without
    it, patches match by MGRS tile (from the Sentinel-2 ``tile_source``) and
    patch position (the ``_<x>_<y>`` name suffix).

    Raises:
        ConfigError: A Sentinel-2 patch has no Sentinel-1 partner.
    """
    by_name: dict[str, Path] = {}
    by_key: dict[tuple[str, str, str], Path] = {}
    for folder in find_patches(root_s1):
        partner = read_metadata(folder).get("corresponding_s2_patch")
        if partner:
            by_name[str(partner)] = folder
        if match := _S1_KEY.search(folder.name):
            by_key[(match.group(1), match.group(2), match.group(3))] = folder
    out: list[Path] = []
    for s2 in map(Path, s2_patches):
        found = by_name.get(s2.name)
        if found is None and (key := _s2_key(s2, read_metadata(s2))) is not None:
            found = by_key.get(key)
        if found is None:
            raise ConfigError(
                f"no Sentinel-1 patch matches Sentinel-2 patch {s2.name}.",
                path=root_s1,
                fix="use the BigEarthNet-S1 folder of the same release, or drop root_s1.",
            )
        out.append(found)
    return out


def multi_hot(
    names: Sequence[str], num_classes: Literal[19, 43], path: str | os.PathLike[str]
) -> torch.Tensor:
    """Float32 multi-hot ``[K]`` of CORINE class names in the chosen nomenclature.

    Raises:
        MetadataError: A name is not one of the 43 BigEarthNet classes.
    """
    unknown = [n for n in names if n not in CLASSES_43]
    if unknown:
        raise MetadataError(
            f"unknown BigEarthNet classes {unknown}.",
            path=path,
            fix="labels must be CORINE names of the 43-class BigEarthNet nomenclature.",
        )
    indices = [CLASSES_43.index(n) for n in names]
    if num_classes == 19:
        indices = [CLASS_43_TO_19[i] for i in indices if i in CLASS_43_TO_19]
    label = torch.zeros(num_classes, dtype=torch.float32)
    label[indices] = 1.0
    return label


def patch_label(
    meta: dict[str, Any], num_classes: Literal[19, 43], path: str | os.PathLike[str]
) -> torch.Tensor:
    """Float32 multi-hot ``[K]`` of a patch's metadata: ``labels_19`` (v2.0) or ``labels``.

    Raises:
        MetadataError: An unknown class name.
        ConfigError: 43 classes asked of a v2.0 patch (it has 19-class labels only).
    """
    if "labels_19" not in meta:
        return multi_hot(meta.get("labels", []), num_classes, path)
    if num_classes != 19:
        raise ConfigError(
            "BigEarthNet v2.0 patches carry 19-class labels only.",
            path=path,
            fix="set data.num_classes: 19.",
        )
    names = list(meta["labels_19"])
    unknown = [n for n in names if n not in CLASSES_19]
    if unknown:
        raise MetadataError(
            f"unknown BigEarthNet 19-class names {unknown}.",
            path=path,
            fix="labels_19 must name classes of the 19-class nomenclature.",
        )
    label = torch.zeros(19, dtype=torch.float32)
    label[[CLASSES_19.index(n) for n in names]] = 1.0
    return label


class BigEarthNetDataset(Dataset[Sample]):
    """BigEarthNet patches as geo samples with multi-hot labels.

    Samples: ``image`` float32 ``[C, 120, 120]`` (reflectance for S2 bands,
    dB for S1 bands; channels in :attr:`bands` order), ``valid`` bool
    ``[120, 120]``, ``label`` float32 multi-hot ``[K]`` over :attr:`classes`,
    and the patch's 10 m grid as ``crs`` and ``transform``. With ``inputs``,
    each group is read on its own grid over the patch instead (e.g. the 10 m
    bands at 10 m, the 20 m bands at 20 m, S1 at 10 m): ``inputs`` ``{name:
    {"image": [C_g, H_g, W_g], "valid": [H_g, W_g]}}`` and ``present`` ``{name:
    bool}`` replace ``image`` (see :mod:`eoforge.data.multi_input`), ``valid``
    is where any group is valid on the 10 m grid.

    Args:
        root_s2: Folder holding the Sentinel-2 patch folders.
        root_s1: Folder holding the Sentinel-1 patch folders, or None.
        bands: Sentinel-2 band names or aliases to read.
        s1_bands: Sentinel-1 bands stacked after them (when ``root_s1`` is given).
        num_classes: 19 (the recommended nomenclature) or 43 (original CORINE).
        resampling: Resampling of 20 m / 60 m bands and of S1 onto the 10 m grid.
        transforms: Called on each sample dict last.
        split: Entries of a split file (see :mod:`eoforge.data.splits`) naming
            S2 patch folders: only those are used, in the file's order. Lines of
            the official CSVs (``<S2 patch>,<S1 patch>``) are taken by their first field.
        split_file: The split file, for messages.
        inputs: Input groups ``{name: (bands, gsd)}`` (gsd in metres: 10, 20
            or 60 for native S2 grids) read instead of one stack; ``bands`` and
            ``s1_bands`` are then unused.

    Raises:
        ConfigError: No patches, an unknown ``num_classes``, an S2 patch
            without an S1 partner, or S1 bands in ``inputs`` without ``root_s1``.
        MissingFileError: A split entry names no patch folder.
    """

    def __init__(
        self,
        root_s2: str | os.PathLike[str],
        root_s1: str | os.PathLike[str] | None = None,
        bands: Sequence[str] = S2_BANDS,
        s1_bands: Sequence[str] = S1_BANDS,
        *,
        num_classes: Literal[19, 43] = 19,
        resampling: str = "bilinear",
        transforms: Callable[[Sample], Sample] | None = None,
        split: Sequence[str] | None = None,
        split_file: str | os.PathLike[str] | None = None,
        inputs: Mapping[str, tuple[Sequence[str], float]] | None = None,
    ) -> None:
        if num_classes not in (19, 43):
            raise ConfigError(f"num_classes must be 19 or 43, got {num_classes}.")
        self.patches = find_patches(Path(root_s2))
        if split is not None:
            names = [entry.split(",")[0].strip() for entry in split]
            where = split_file if split_file is not None else root_s2
            self.patches = [self.patches[i] for i in select_split(self.patches, names, where)]
        self.s1_patches = None if root_s1 is None else match_s1(self.patches, Path(root_s1))
        self.s2_bands = list(bands)
        self.s1_bands = [] if root_s1 is None else list(s1_bands)
        self.num_classes: Literal[19, 43] = num_classes
        self.classes = list(CLASSES_19 if num_classes == 19 else CLASSES_43)
        self.resampling = resampling
        self.transforms = transforms
        self.inputs = (
            None if inputs is None else {n: (list(b), float(g)) for n, (b, g) in inputs.items()}
        )
        radar = [
            b for bands_, _ in (self.inputs or {}).values() for b in bands_ if b.startswith("S1.")
        ]
        if radar and root_s1 is None:
            raise ConfigError(
                f"input groups name Sentinel-1 bands {radar}, but no Sentinel-1 folder is given.",
                path=root_s2,
                fix="pass root_s1 (the BigEarthNet-S1 folder), or leave S1 bands out.",
            )

    @property
    def bands(self) -> list[str]:
        """Channel names: the S2 bands, then the S1 bands (with ``inputs``: every group's)."""
        if self.inputs is not None:
            return [b for bands, _ in self.inputs.values() for b in bands]
        return self.s2_bands + self.s1_bands

    def __len__(self) -> int:
        return len(self.patches)

    def __getitem__(self, index: int) -> Sample:
        folder = self.patches[index]
        s2 = open_sources(folder)
        grid = min((s.grid() for s in s2), key=lambda g: abs(g.resolution.x))
        if self.inputs is not None:
            return self._groups(index, s2, grid)
        image, valid = read(s2, grid, self.s2_bands, self.resampling)
        if self.s1_patches is not None:
            radar, radar_valid = read(
                open_sources(self.s1_patches[index]), grid, self.s1_bands, self.resampling
            )
            image = np.concatenate([image, radar])
            valid = valid & radar_valid
        sample: Sample = {
            "image": torch.from_numpy(image),
            "valid": torch.from_numpy(valid),
            "label": patch_label(read_metadata(folder), self.num_classes, folder),
            **grid_to_sample(grid),
        }
        return self.transforms(sample) if self.transforms is not None else sample

    def _groups(self, index: int, s2: list[RasterSource], grid: GeoBox) -> Sample:
        """A multi-input sample: each group read on its own grid over the patch."""
        assert self.inputs is not None
        folder = self.patches[index]
        sources = s2 if self.s1_patches is None else s2 + open_sources(self.s1_patches[index])
        inputs: dict[str, dict[str, torch.Tensor]] = {}
        for name, (bands, gsd) in self.inputs.items():
            held = [s for s in sources if any(s.resolve(b) for b in bands)]
            image, valid = read_group(held, bands, group_grid(grid, gsd), self.resampling)
            inputs[name] = {"image": image, "valid": valid}
        sample: Sample = {
            INPUTS: inputs,
            PRESENT: {n: torch.tensor(bool(g["valid"].any())) for n, g in inputs.items()},
            "valid": union_valid(inputs, (grid.shape.y, grid.shape.x)),
            "label": patch_label(read_metadata(folder), self.num_classes, folder),
            **grid_to_sample(grid),
        }
        return self.transforms(sample) if self.transforms is not None else sample
