"""Non-georeferenced chip datasets in the folder layouts of public benchmarks.

* :class:`ClassFolderDataset`: ``root/<class>/<image>`` (EuroSAT, UC Merced).
* :class:`ImageMaskDataset`: ``images/<name>.*`` with ``masks/<name>.*``
  holding class ids or RGB colours (LandCover.ai, the Dubai aerial set).
* :class:`ChangeTripletDataset`: ``A/``, ``B/``, ``label/`` (LEVIR-CD, S2Looking).

Samples follow the "Sample" contract of ``docs/architecture.md`` without a grid:
chips carry no ``crs`` or ``transform`` keys, so :func:`eoforge.data.collate` batches them as is.
Images are float32 in the files' units; ``valid`` comes from the files'
nodata/alpha masks (all True for JPEG and PNG without alpha).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import torch
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from torch.utils.data import Dataset

from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError

Sample = dict[str, Any]
Transform = Callable[[Sample], Sample]
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "tif", "tiff")
RGB_BANDS = ("RGB.red", "RGB.green", "RGB.blue")
Colour = str | tuple[int, int, int]


def read_chip(path: str | os.PathLike[str]) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """All bands of a raster file and its valid mask.

    Args:
        path: Image file (any GDAL format).

    Returns:
        The stored values ``[C, H, W]`` (file dtype) and valid pixels bool
        ``[H, W]`` from the file's nodata, alpha or internal mask.

    Raises:
        UnreadableFileError: GDAL cannot read the file.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                return np.asarray(ds.read()), np.asarray(ds.dataset_mask() > 0)
    except RasterioError as exc:
        raise UnreadableFileError(
            f"cannot read the image: {exc}.", path=path, fix="check the file is a valid raster."
        ) from exc


def list_images(
    folder: str | os.PathLike[str], extensions: Sequence[str] = IMAGE_EXTENSIONS
) -> list[Path]:
    """Image files directly in ``folder`` whose suffix is in ``extensions``, sorted by name.

    Raises:
        MissingFileError: ``folder`` does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError("folder not found.", path=folder, fix="check the dataset root.")
    suffixes = {f".{e.lower().lstrip('.')}" for e in extensions}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def default_bands(path: str | os.PathLike[str], bands: Sequence[str] | None) -> list[str]:
    """Channel names: ``bands`` if given, RGB for 3-band files, else ``band1..bandN``.

    Raises:
        ConfigError: ``bands`` does not match the file's band count.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            count = ds.count
    if bands is None:
        return list(RGB_BANDS) if count == 3 else [f"band{i}" for i in range(1, count + 1)]
    if len(bands) != count:
        raise ConfigError(
            f"{len(bands)} band names given but the files have {count} bands.",
            path=path,
            fix="name every band of the files, in file order.",
        )
    return list(bands)


def _image_sample(path: Path) -> Sample:
    image, valid = read_chip(path)
    return {"image": torch.from_numpy(image.astype(np.float32)), "valid": torch.from_numpy(valid)}


def _finish(sample: Sample, transforms: Transform | None) -> Sample:
    return transforms(sample) if transforms is not None else sample


class ClassFolderDataset(Dataset[Sample]):
    """Scene classification chips stored as ``root/<class>/<image>``.

    Samples: ``image`` float32 ``[C, H, W]``, ``valid`` bool ``[H, W]``,
    ``label`` int64 scalar (index into :attr:`classes`).

    Args:
        root: Folder with one sub-folder per class; classes sorted by name.
        bands: Names of the files' bands in file order (default: RGB for
            3-band files, ``band1..`` otherwise).
        extensions: Image suffixes to use.
        transforms: Called on each sample dict last.

    Raises:
        ConfigError: No class folder or no image found.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        bands: Sequence[str] | None = None,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        transforms: Transform | None = None,
    ) -> None:
        self.root = Path(root)
        folders = sorted(p for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []
        self.classes = [f.name for f in folders]
        self.files: list[tuple[Path, int]] = [
            (path, label) for label, f in enumerate(folders) for path in list_images(f, extensions)
        ]
        if not self.files:
            raise ConfigError(
                "no class folders with images found.",
                path=self.root,
                fix=f"lay images out as root/<class>/<image> with suffixes {list(extensions)}.",
            )
        self.bands = default_bands(self.files[0][0], bands)
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Sample:
        path, label = self.files[index]
        sample = _image_sample(path)
        sample["label"] = torch.tensor(label, dtype=torch.int64)
        return _finish(sample, self.transforms)


def _colour_code(colour: Colour) -> int:
    """``"#RRGGBB"`` or ``(r, g, b)`` as the integer ``r << 16 | g << 8 | b``."""
    if isinstance(colour, str):
        return int(colour.lstrip("#"), 16)
    r, g, b = colour
    return (int(r) << 16) | (int(g) << 8) | int(b)


def colours_to_ids(
    rgb: npt.NDArray[Any],
    colour_map: Mapping[Colour, int],
    unknown: int | None,
    path: str | os.PathLike[str],
) -> npt.NDArray[np.int64]:
    """RGB mask ``[3, H, W]`` to class ids ``[H, W]`` through ``colour_map``.

    Raises:
        ConfigError: A colour is not in the map and ``unknown`` is None.
    """
    codes = (rgb[0].astype(np.int64) << 16) | (rgb[1].astype(np.int64) << 8) | rgb[2]
    found, inverse = np.unique(codes, return_inverse=True)
    table = {_colour_code(c): i for c, i in colour_map.items()}
    missing = [f"#{int(c):06X}" for c in found if int(c) not in table]
    if missing and unknown is None:
        raise ConfigError(
            f"mask colours {missing} are not in the colour map.",
            path=path,
            fix="add them to colour_map, or pass unknown=<class id> for unmapped colours.",
        )
    lookup = np.array([table.get(int(c), unknown) for c in found], dtype=np.int64)
    return lookup[inverse].reshape(codes.shape)


class ImageMaskDataset(Dataset[Sample]):
    """Segmentation chips: images with same-named masks in another folder.

    Samples: ``image`` float32 ``[C, H, W]``, ``valid`` bool ``[H, W]``,
    ``mask`` int64 ``[H, W]``.

    Args:
        images_dir: Folder of images.
        masks_dir: Folder of masks, matched to images by file stem.
        colour_map: For RGB masks, colour (``"#RRGGBB"`` or ``(r, g, b)``)
            to class id; None when masks store class ids in their first band.
        unknown: Class id for colours missing from ``colour_map`` (None: error).
        bands: Names of the images' bands (see :class:`ClassFolderDataset`).
        extensions: Image suffixes to use.
        transforms: Called on each sample dict last.

    Raises:
        ConfigError: No images, or an image without a mask.
    """

    def __init__(
        self,
        images_dir: str | os.PathLike[str],
        masks_dir: str | os.PathLike[str],
        colour_map: Mapping[Colour, int] | None = None,
        *,
        unknown: int | None = None,
        bands: Sequence[str] | None = None,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        transforms: Transform | None = None,
    ) -> None:
        images = list_images(Path(images_dir), extensions)
        masks = {p.stem: p for p in list_images(Path(masks_dir), extensions)}
        if not images:
            raise ConfigError("no images found.", path=images_dir, fix="check the folder.")
        orphans = [p.name for p in images if p.stem not in masks]
        if orphans:
            raise ConfigError(
                f"{len(orphans)} images have no mask of the same name, e.g. {orphans[:3]}.",
                path=masks_dir,
                fix="give every image a mask with the same file stem.",
            )
        self.files = [(p, masks[p.stem]) for p in images]
        self.colour_map = None if colour_map is None else dict(colour_map)
        self.unknown = unknown
        self.bands = default_bands(images[0], bands)
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.files)

    def read_mask(self, path: str | os.PathLike[str]) -> npt.NDArray[np.int64]:
        """Class ids ``[H, W]`` of a mask file."""
        values, _ = read_chip(path)
        if self.colour_map is None:
            ids: npt.NDArray[np.int64] = values[0].astype(np.int64)
            return ids
        if values.shape[0] < 3:
            raise ConfigError(
                "a colour map was given but the mask is not RGB.",
                path=path,
                fix="pass colour_map=None for masks that store class ids.",
            )
        return colours_to_ids(values[:3], self.colour_map, self.unknown, path)

    def __getitem__(self, index: int) -> Sample:
        image_path, mask_path = self.files[index]
        sample = _image_sample(image_path)
        sample["mask"] = torch.from_numpy(self.read_mask(mask_path))
        return _finish(sample, self.transforms)


class ChangeTripletDataset(Dataset[Sample]):
    """Bi-temporal change chips in the LEVIR-CD layout: ``A/``, ``B/``, ``label/``.

    Samples: ``image`` float32 ``[2, C, H, W]`` (before, after), ``valid``
    bool ``[H, W]`` (valid on both dates), ``mask`` int64 ``[H, W]``.

    Args:
        root: Dataset folder.
        binary: Masks are change/no-change (stored 0/255 or 0/1): any
            non-zero value becomes 1. When False, mask values are class ids.
        before: Sub-folder of the first date's images.
        after: Sub-folder of the second date's images.
        label: Sub-folder of the change masks.
        bands: Names of the images' bands (see :class:`ClassFolderDataset`).
        extensions: Image suffixes to use.
        transforms: Called on each sample dict last.

    Raises:
        ConfigError: No images, or a file missing from one of the folders.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        binary: bool = True,
        before: str = "A",
        after: str = "B",
        label: str = "label",
        bands: Sequence[str] | None = None,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        transforms: Transform | None = None,
    ) -> None:
        self.root = Path(root)
        firsts = list_images(self.root / before, extensions)
        seconds = {p.stem: p for p in list_images(self.root / after, extensions)}
        labels = {p.stem: p for p in list_images(self.root / label, extensions)}
        if not firsts:
            raise ConfigError("no images found.", path=self.root / before, fix="check the root.")
        missing = [p.name for p in firsts if p.stem not in seconds or p.stem not in labels]
        if missing:
            raise ConfigError(
                f"{len(missing)} images lack a partner in {after}/ or {label}/, "
                f"e.g. {missing[:3]}.",
                path=self.root,
                fix="give every image the same file name in all three folders.",
            )
        self.files = [(p, seconds[p.stem], labels[p.stem]) for p in firsts]
        self.binary = binary
        self.bands = default_bands(firsts[0], bands)
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Sample:
        first, second, label = self.files[index]
        a, b = _image_sample(first), _image_sample(second)
        if a["image"].shape != b["image"].shape:
            raise ConfigError(
                f"the two dates differ in shape: {tuple(a['image'].shape)} and "
                f"{tuple(b['image'].shape)}.",
                path=second,
                fix="co-register and crop both dates to the same grid.",
            )
        values, _ = read_chip(label)
        mask = values[0].astype(np.int64)
        sample: Sample = {
            "image": torch.stack([a["image"], b["image"]]),
            "valid": a["valid"] & b["valid"],
            "mask": torch.from_numpy((mask > 0).astype(np.int64) if self.binary else mask),
        }
        return _finish(sample, self.transforms)
