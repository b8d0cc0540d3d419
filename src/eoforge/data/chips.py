"""Non-georeferenced chip datasets in the folder layouts of public benchmarks.

* :class:`ClassFolderDataset`: ``root/<class>/<image>`` (EuroSAT, UC Merced).
* :class:`ImageMaskDataset`: ``images/<name>.*`` with ``masks/<name>.*``
  holding class ids or RGB colours (LandCover.ai, the Dubai aerial set).
* :class:`ChangeTripletDataset`: ``A/``, ``B/``, ``label/`` (LEVIR-CD, S2Looking).

Samples follow the "Sample" contract of ``docs/architecture.md`` without a grid:
chips carry no ``crs`` or ``transform`` keys, so :func:`eoforge.data.collate` batches them as is.
Images are float32 in the files' units; ``valid`` comes from the files'
nodata/alpha masks (all True for JPEG and PNG without alpha).

Images of mixed sizes are given one shape by the transforms of
:mod:`eoforge.data.shaping`; :class:`ImageMaskDataset` can also cut large
images into patches read window by window. Split files
(:mod:`eoforge.data.splits`) choose the images of a split, and a
:class:`~eoforge.data.bad_files.BadFiles` policy says whether a bad file
(corrupt image, mask without image, unknown mask colour) stops with an error
naming it or is skipped and logged.
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
from rasterio.windows import Window
from torch.utils.data import Dataset

from eoforge.data.bad_files import RAISE, BadFiles
from eoforge.data.shaping import SIZE_KEY, pad_sample, patch_starts
from eoforge.data.splits import select_split
from eoforge.errors import ConfigError, EoforgeError, MissingFileError, UnreadableFileError

Sample = dict[str, Any]
Transform = Callable[[Sample], Sample]
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "tif", "tiff")
RGB_BANDS = ("RGB.red", "RGB.green", "RGB.blue")
Colour = str | tuple[int, int, int]
PathLike = str | os.PathLike[str]


def read_chip(
    path: str | os.PathLike[str],
    window: Window | None = None,
    indexes: Sequence[int] | None = None,
) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """All bands of a raster file (or of a window of it) and its valid mask.

    Args:
        path: Image file (any GDAL format).
        window: Pixel window to read; None reads the whole file.
        indexes: The file's bands to read, 1-based, in this order (None: all).

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
                values = np.asarray(ds.read(list(indexes) if indexes else None, window=window))
                return values, np.asarray(ds.dataset_mask(window=window) > 0)
    except RasterioError as exc:
        raise UnreadableFileError(
            f"cannot read the image: {' '.join(str(exc).split())}.",
            path=path,
            fix="check the file is a valid raster.",
        ) from exc


def chip_shape(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(height, width)`` of a raster file in pixels, from its header.

    Raises:
        UnreadableFileError: GDAL cannot open the file.
    """
    height, width, _ = raster_header(path)
    return height, width


def raster_header(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    """``(height, width, bands)`` of a raster file: pixels and band count, from one open.

    Raises:
        UnreadableFileError: GDAL cannot open the file.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                return int(ds.height), int(ds.width), int(ds.count)
    except RasterioError as exc:
        raise UnreadableFileError(
            f"cannot open the image: {' '.join(str(exc).split())}.",
            path=path,
            fix="check the file is a valid raster, or set data.on_bad_file: skip to leave it out.",
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
        UnreadableFileError: GDAL cannot open the file.
    """
    count = raster_header(path)[2]
    if bands is None:
        return list(RGB_BANDS) if count == 3 else [f"band{i}" for i in range(1, count + 1)]
    if len(bands) != count:
        raise ConfigError(
            f"{len(bands)} band names given but the files have {count} bands.",
            path=path,
            fix="name every band of the files, in file order.",
        )
    return list(bands)


def _first_bands(paths: Sequence[Path], bands: Sequence[str] | None, bad: BadFiles) -> list[str]:
    """Band names from the first file that opens (bad files before it handled by ``bad``)."""
    for path in paths:
        try:
            return default_bands(path, bands)
        except UnreadableFileError as error:
            bad.handle(error)
    raise ConfigError(
        "no image of the dataset can be opened.", path=paths[0].parent, fix="check the files."
    )


def _image_sample(path: Path, window: Window | None = None) -> Sample:
    image, valid = read_chip(path, window)
    return {"image": torch.from_numpy(image.astype(np.float32)), "valid": torch.from_numpy(valid)}


def _finish(sample: Sample, transforms: Transform | None) -> Sample:
    return transforms(sample) if transforms is not None else sample


def _as_dirs(value: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(value, str | os.PathLike):
        return [Path(value)]
    return [Path(v) for v in value]


class _SkippingDataset(Dataset[Sample]):
    """Base of chip datasets: item ``i`` read by :meth:`load`, bad files raised or skipped.

    Under a skipping :class:`BadFiles` policy an item whose file is bad is
    logged and replaced by the next readable item, so batches keep their size.
    """

    bad_files: BadFiles = RAISE

    def __len__(self) -> int:
        raise NotImplementedError

    def load(self, index: int) -> Sample:
        """Item ``index`` (raising the eoforge error of a bad file)."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> Sample:
        size = len(self)
        for attempt in range(size):
            try:
                return self.load((index + attempt) % size)
            except EoforgeError as error:
                self.bad_files.handle(error)  # raises unless skipping
        raise UnreadableFileError(
            f"none of the dataset's {size} items can be read (see the skipped files).",
            fix="check the files.",
        )


class ClassFolderDataset(_SkippingDataset):
    """Scene classification chips stored as ``root/<class>/<image>``.

    Samples: ``image`` float32 ``[C, H, W]``, ``valid`` bool ``[H, W]``,
    ``label`` int64 scalar (index into :attr:`classes`).

    Args:
        root: Folder with one sub-folder per class; classes sorted by name.
        bands: Names of the files' bands in file order (default: RGB for
            3-band files, ``band1..`` otherwise).
        extensions: Image suffixes to use.
        transforms: Called on each sample dict last.
        split: Entries of a split file (see :mod:`eoforge.data.splits`):
            only those images are used; None uses all.
        split_file: The split file, for messages.
        bad_files: Raise or skip (and log) unreadable images and split
            entries that name no image.

    Raises:
        ConfigError: No class folder or no image found.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        bands: Sequence[str] | None = None,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        transforms: Transform | None = None,
        *,
        split: Sequence[str] | None = None,
        split_file: str | os.PathLike[str] | None = None,
        bad_files: BadFiles = RAISE,
    ) -> None:
        self.root = Path(root)
        folders = sorted(p for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []
        self.classes = [f.name for f in folders]
        self.files: list[tuple[Path, int]] = [
            (path, label) for label, f in enumerate(folders) for path in list_images(f, extensions)
        ]
        self.bad_files = bad_files
        if split is not None:
            where = split_file if split_file is not None else self.root
            keep = select_split([p for p, _ in self.files], split, where, bad_files)
            self.files = [self.files[i] for i in keep]
        if not self.files:
            raise ConfigError(
                "no class folders with images found.",
                path=self.root,
                fix=f"lay images out as root/<class>/<image> with suffixes {list(extensions)}.",
            )
        self.bands = _first_bands([p for p, _ in self.files], bands, bad_files)
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> Sample:
        """Item ``index``: the image, its valid mask and its class."""
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


UNKNOWN_COLOUR_FIX = (
    "map the colour to a class (data.classes[].mask_color, or colour_map), list it in "
    "data.ignore_colors, or set data.unknown_colors: ignore."
)


def colours_to_ids(
    rgb: npt.NDArray[Any],
    colour_map: Mapping[Colour, int],
    unknown: int | None,
    path: str | os.PathLike[str],
) -> npt.NDArray[np.int64]:
    """RGB mask ``[3, H, W]`` to class ids ``[H, W]`` through ``colour_map``.

    Raises:
        ConfigError: A colour is not in the map and ``unknown`` is None; the
            message names the colours and how many pixels have them.
    """
    codes = (rgb[0].astype(np.int64) << 16) | (rgb[1].astype(np.int64) << 8) | rgb[2]
    found, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    table = {_colour_code(c): i for c, i in colour_map.items()}
    missing = [
        (f"#{int(c):06X}", int(n))
        for c, n in zip(found, counts, strict=True)
        if int(c) not in table
    ]
    if missing and unknown is None:
        listed = ", ".join(f"{c} ({n} px)" for c, n in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise ConfigError(
            f"mask colours {listed}{more} are not in the colour map.",
            path=path,
            fix=UNKNOWN_COLOUR_FIX,
        )
    lookup = np.array([table.get(int(c), unknown) for c in found], dtype=np.int64)
    return lookup[inverse].reshape(codes.shape)


def read_mask_rgb(
    path: str | os.PathLike[str], window: Window | None = None
) -> npt.NDArray[np.int64]:
    """The RGB colours ``[3, H, W]`` of a colour-coded mask: RGB(A) bands, or a palette.

    Palette images (one band of indices and a colour table, as many PNG masks
    are saved) are expanded through their colour table.

    Raises:
        UnreadableFileError: GDAL cannot read the file.
        ConfigError: The mask has neither three bands nor a palette.
    """
    values, _ = read_chip(path, window)
    if values.shape[0] >= 3:
        return values[:3].astype(np.int64)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                palette = ds.colormap(1)
    except ValueError:  # rasterio's way of saying "no colour table"
        palette = None
    except RasterioError as exc:
        raise UnreadableFileError(
            f"cannot read the mask's palette: {exc}.", path=path, fix="check the file."
        ) from exc
    if not palette:
        raise ConfigError(
            "mask colours are given but the mask is neither RGB nor a palette image.",
            path=path,
            fix="drop the mask colours (data.classes[].mask_color) for masks that store class ids.",
        )
    table = np.zeros((max(256, max(palette) + 1), 3), np.int64)
    for index, colour in palette.items():
        table[index] = colour[:3]
    rgb: npt.NDArray[np.int64] = np.moveaxis(table[values[0].astype(np.int64)], -1, 0)
    return rgb


def pair_masks(
    images_dirs: Sequence[Path],
    masks_dirs: Sequence[Path],
    extensions: Sequence[str],
    bad_files: BadFiles,
) -> list[tuple[Path, Path]]:
    """Images paired with the same-stem masks of the matching folder.

    Args:
        images_dirs: Image folders.
        masks_dirs: Their mask folders, in the same order.
        extensions: Image suffixes.
        bad_files: Raise or skip an image without mask or a mask without image.

    Raises:
        ConfigError: Folder lists of different lengths, no images, or a file
            without its partner (under the ``error`` policy).
    """
    if len(images_dirs) != len(masks_dirs):
        raise ConfigError(
            f"{len(images_dirs)} image folders but {len(masks_dirs)} mask folders.",
            fix="give one mask folder per image folder, in the same order.",
        )
    pairs: list[tuple[Path, Path]] = []
    for images_dir, masks_dir in zip(images_dirs, masks_dirs, strict=True):
        images = list_images(images_dir, extensions)
        masks = {p.stem: p for p in list_images(masks_dir, extensions)}
        if not images:
            raise ConfigError("no images found.", path=images_dir, fix="check the folder.")
        stems = {p.stem for p in images}
        for mask in sorted(masks.values()):
            if mask.stem not in stems:
                bad_files.handle(
                    ConfigError(
                        f"mask without an image: no file named {mask.stem}.* in {images_dir}.",
                        path=mask,
                        fix="add the image, remove the mask, or set data.on_bad_file: skip.",
                    )
                )
        for image in images:
            if image.stem in masks:
                pairs.append((image, masks[image.stem]))
            else:
                bad_files.handle(
                    ConfigError(
                        f"image without a mask: no file named {image.stem}.* in {masks_dir}.",
                        path=image,
                        fix="add the mask, remove the image, or set data.on_bad_file: skip.",
                    )
                )
    return pairs


class ImageMaskDataset(_SkippingDataset):
    """Segmentation chips: images with same-named masks in another folder.

    Samples: ``image`` float32 ``[C, H, W]``, ``valid`` bool ``[H, W]``,
    ``mask`` int64 ``[H, W]``. With ``patch_size``, items are patches
    (windows of ``patch_size`` pixels every ``stride`` pixels, covering each
    image to its edges) read straight from the files; patches of images
    smaller than ``patch_size`` are padded (invalid pixels, mask ``unknown``
    or 255).

    Args:
        images_dir: Folder of images, or several folders.
        masks_dir: Folder of masks (matched to images by file stem), or one per image folder.
        colour_map: For RGB masks, colour (``"#RRGGBB"`` or ``(r, g, b)``)
            to class id; None when masks store class ids in their first band.
        unknown: Class id for colours missing from ``colour_map`` (None: error).
        bands: Names of the images' bands (see :class:`ClassFolderDataset`).
        extensions: Image suffixes to use.
        transforms: Called on each sample dict last.
        patch_size: Patch side in pixels; None: whole images.
        stride: Step between patches in pixels (default ``patch_size``).
        pad_value: Mask value of padded patch pixels.
        split: Entries of a split file (see :mod:`eoforge.data.splits`):
            only those images are used; None uses all.
        split_file: The split file, for messages.
        bad_files: Raise, or skip and log, bad files (unreadable images, a
            mask or image without its partner, unknown mask colours, split
            entries naming no image).

    Raises:
        ConfigError: No images, or an image without a mask.
    """

    def __init__(
        self,
        images_dir: PathLike | Sequence[PathLike],
        masks_dir: PathLike | Sequence[PathLike],
        colour_map: Mapping[Colour, int] | None = None,
        *,
        unknown: int | None = None,
        bands: Sequence[str] | None = None,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        transforms: Transform | None = None,
        patch_size: int | None = None,
        stride: int | None = None,
        pad_value: int = 255,
        split: Sequence[str] | None = None,
        split_file: str | os.PathLike[str] | None = None,
        bad_files: BadFiles = RAISE,
    ) -> None:
        self.bad_files = bad_files
        images_dirs, masks_dirs = _as_dirs(images_dir), _as_dirs(masks_dir)
        self.files = pair_masks(images_dirs, masks_dirs, extensions, bad_files)
        if split is not None:
            where = split_file if split_file is not None else images_dirs[0]
            keep = select_split([image for image, _ in self.files], split, where, bad_files)
            self.files = [self.files[i] for i in keep]
        if not self.files:
            raise ConfigError(
                "no images with masks found.", path=images_dirs[0], fix="check the folder."
            )
        self.colour_map = None if colour_map is None else dict(colour_map)
        self.unknown = unknown
        self.bands = _first_bands([image for image, _ in self.files], bands, bad_files)
        self.transforms = transforms
        self.patch_size = patch_size
        self.stride = stride or patch_size
        self.pad_value = pad_value
        self.items: list[tuple[int, Window | None]] = self._plan()

    def _plan(self) -> list[tuple[int, Window | None]]:
        if self.patch_size is None:
            return [(i, None) for i in range(len(self.files))]
        assert self.stride is not None
        items: list[tuple[int, Window | None]] = []
        for index, (image, _) in enumerate(self.files):
            try:
                height, width = chip_shape(image)
            except UnreadableFileError as error:
                self.bad_files.handle(error)
                continue
            for row in patch_starts(height, self.patch_size, self.stride):
                for col in patch_starts(width, self.patch_size, self.stride):
                    rows, cols = min(self.patch_size, height), min(self.patch_size, width)
                    items.append((index, Window(col, row, cols, rows)))
        return items

    def __len__(self) -> int:
        return len(self.items)

    def read_mask(
        self, path: str | os.PathLike[str], window: Window | None = None
    ) -> npt.NDArray[np.int64]:
        """Class ids ``[H, W]`` of a mask file (or of a window of it)."""
        if self.colour_map is None:
            values, _ = read_chip(path, window)
            ids: npt.NDArray[np.int64] = values[0].astype(np.int64)
            return ids
        return colours_to_ids(read_mask_rgb(path, window), self.colour_map, self.unknown, path)

    def load(self, index: int) -> Sample:
        """Item ``index``: an image (or patch), its valid mask and class ids."""
        file, window = self.items[index]
        image_path, mask_path = self.files[file]
        sample = _image_sample(image_path, window)
        mask = self.read_mask(mask_path, window)
        if tuple(mask.shape) != tuple(sample["image"].shape[-2:]):
            raise ConfigError(
                f"the mask is {mask.shape[1]} x {mask.shape[0]} px but its image "
                f"{image_path.name} is {sample['image'].shape[-1]} x {sample['image'].shape[-2]}.",
                path=mask_path,
                fix="give each image a mask of its own size.",
            )
        sample["mask"] = torch.from_numpy(mask)
        if self.patch_size is not None:
            sample = pad_sample(sample, self.patch_size, self.patch_size, self.pad_value)
            sample.pop(SIZE_KEY, None)
        return _finish(sample, self.transforms)


class ChangeTripletDataset(_SkippingDataset):
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
        split: Entries of a split file naming first-date images (see
            :mod:`eoforge.data.splits`): only those pairs are used; None uses all.
        split_file: The split file, for messages.
        bad_files: Raise or skip (and log) unreadable images, pairs missing a
            partner and split entries that name no image.

    Raises:
        ConfigError: No images, or a file missing from one of the folders
            (unless ``bad_files`` skips).
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
        split: Sequence[str] | None = None,
        split_file: str | os.PathLike[str] | None = None,
        bad_files: BadFiles = RAISE,
    ) -> None:
        self.root = Path(root)
        firsts = list_images(self.root / before, extensions)
        seconds = {p.stem: p for p in list_images(self.root / after, extensions)}
        labels = {p.stem: p for p in list_images(self.root / label, extensions)}
        if not firsts:
            raise ConfigError("no images found.", path=self.root / before, fix="check the root.")
        self.bad_files = bad_files
        if split is not None:
            where = split_file if split_file is not None else self.root
            firsts = [firsts[i] for i in select_split(firsts, split, where, bad_files)]
        missing = [p for p in firsts if p.stem not in seconds or p.stem not in labels]
        if missing and bad_files.skipping:
            for path in missing:
                bad_files.handle(_no_partner(path, after, label))
            firsts = [p for p in firsts if p not in set(missing)]
        elif missing:
            raise ConfigError(
                f"{len(missing)} images lack a partner in {after}/ or {label}/, "
                f"e.g. {[p.name for p in missing[:3]]}.",
                path=self.root,
                fix="give every image the same file name in all three folders.",
            )
        if not firsts:
            raise ConfigError("no complete pairs found.", path=self.root, fix="check the root.")
        self.files = [(p, seconds[p.stem], labels[p.stem]) for p in firsts]
        self.binary = binary
        self.bands = _first_bands(firsts, bands, bad_files)
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> Sample:
        """Item ``index``: both dates, their joint valid mask and the change mask."""
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


def _no_partner(path: Path, after: str, label: str) -> ConfigError:
    return ConfigError(
        f"no partner in {after}/ or {label}/.",
        path=path,
        fix="give every image the same file name in all three folders.",
    )
