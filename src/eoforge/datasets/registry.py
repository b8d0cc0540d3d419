"""The registry of public datasets: one :class:`DatasetEntry` each, looked up by name.

Checksums are copied from the dataset's publisher or from the record of an
established loader for the same URL (named in ``checksum_source``); where
none is known the field is None and the first download records the file's
SHA-256 (see :mod:`eoforge.datasets.download`). Sizes are exact only where
published; ``approx_size`` is a rough figure for listings.

Example:
    >>> from eoforge.datasets import get
    >>> entry = get("eurosat-rgb")
    >>> entry.task, entry.bands, len(entry.classes)
    ('scene_classification', ('RGB.red', 'RGB.green', 'RGB.blue'), 10)
"""

from __future__ import annotations

from collections.abc import Sequence

from eoforge.classes import ClassInfo
from eoforge.datasets.bigearthnet_labels import CLASSES_19
from eoforge.datasets.entry import DatasetEntry, RemoteFile
from eoforge.errors import ConfigError, available_list, close_matches, did_you_mean

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
    "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5", "#393b79",
)  # fmt: skip
"""Display colours given to classes in order when a dataset publishes none."""

RGB = ("RGB.red", "RGB.green", "RGB.blue")
S2_13 = (
    "S2.B01", "S2.B02", "S2.B03", "S2.B04", "S2.B05", "S2.B06", "S2.B07",
    "S2.B08", "S2.B8A", "S2.B09", "S2.B10", "S2.B11", "S2.B12",
)  # fmt: skip
"""The 13 Sentinel-2 L1C bands of EuroSAT's GeoTIFFs, in file order."""

S2_12 = tuple(b for b in S2_13 if b != "S2.B10")
"""The 12 Sentinel-2 L2A bands of a BigEarthNet patch (B10 is not distributed)."""


def _classes(names: Sequence[str], colours: Sequence[str] = PALETTE) -> tuple[ClassInfo, ...]:
    return tuple(ClassInfo(id=i, name=n, color=colours[i]) for i, n in enumerate(names))


# The "In-domain representation learning for remote sensing" split lists (Neumann et al. 2019)
SPLIT_LISTS = "https://storage.googleapis.com/remote_sensing_representations"
SPLIT_LISTS_SOURCE = "MD5 as recorded by TorchGeo for this URL"

EUROSAT_CLASSES = (
    "AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial",
    "Pasture", "PermanentCrop", "Residential", "River", "SeaLake",
)  # fmt: skip
"""EuroSAT's class folders, sorted (the class index order of a class-folder dataset)."""

EUROSAT_SPLIT_MD5 = {
    "train": "908f142e73d6acdf3f482c5e80d851b1",
    "val": "95de90f2aa998f70a3b2416bfe0687b4",
    "test": "7ae5ab94471417b6e315763121e67c5f",
}
EUROSAT_CITATION = (
    "Helber, P., Bischke, B., Dengel, A., Borth, D. (2019). EuroSAT: A Novel Dataset and "
    "Deep Learning Benchmark for Land Use and Land Cover Classification. IEEE JSTARS 12(7), "
    "2217-2226. doi:10.1109/JSTARS.2019.2918242"
)
NEUMANN_SPLITS = (
    "train/val/test lists of Neumann et al. (2019), In-domain representation learning for "
    "remote sensing, arXiv:1911.06721"
)


def _split_lists(prefix: str, md5s: dict[str, str]) -> tuple[RemoteFile, ...]:
    return tuple(
        RemoteFile(
            url=f"{SPLIT_LISTS}/{prefix}-{split}.txt",
            filename=f"{prefix}-{split}.txt",
            md5=md5,
            checksum_source=SPLIT_LISTS_SOURCE,
            splits=(split,),
        )
        for split, md5 in md5s.items()
    )


EUROSAT_RGB = DatasetEntry(
    name="eurosat-rgb",
    title="EuroSAT (RGB JPEG)",
    task="scene_classification",
    family="classification",
    data_kind="class_folder",
    trainable=True,
    bands=RGB,
    gsd=10.0,
    licence="MIT",
    citation=EUROSAT_CITATION,
    homepage="https://github.com/phelber/EuroSAT",
    files=(
        RemoteFile(
            url="https://madm.dfki.de/files/sentinel/EuroSAT.zip",
            filename="EuroSAT.zip",
            md5="c8fa014336c82ac7804f0398fcb19387",
            checksum_source="MD5 as recorded by torchvision for this archive",
            extract=True,
        ),
        *_split_lists("eurosat", EUROSAT_SPLIT_MD5),
    ),
    layout="eurosat_rgb",
    splits=("train", "val", "test"),
    split_source=NEUMANN_SPLITS,
    classes=_classes(EUROSAT_CLASSES),
    notes="27,000 Sentinel-2 chips of 64x64 pixels as 8-bit RGB JPEGs (2750/<class>/).",
)

EUROSAT_MS = DatasetEntry(
    name="eurosat-ms",
    title="EuroSAT (13-band Sentinel-2 GeoTIFF)",
    task="scene_classification",
    family="classification",
    data_kind="class_folder",
    trainable=True,
    bands=S2_13,
    gsd=10.0,
    licence="MIT",
    citation=EUROSAT_CITATION,
    homepage="https://github.com/phelber/EuroSAT",
    files=(
        RemoteFile(
            url="https://madm.dfki.de/files/sentinel/EuroSATallBands.zip",
            filename="EuroSATallBands.zip",
            md5="5ac12b3b2557aa56e1826e981e8e200e",
            checksum_source="MD5 as recorded by TorchGeo for this archive",
            extract=True,
            approx_size=2_000_000_000,
        ),
        *_split_lists("eurosat", EUROSAT_SPLIT_MD5),
    ),
    layout="eurosat_ms",
    splits=("train", "val", "test"),
    split_source=NEUMANN_SPLITS + " (listed as .jpg; matched to the .tif files by stem)",
    classes=_classes(EUROSAT_CLASSES),
    notes="27,000 chips of 64x64 pixels, 13 bands of L1C digital numbers (reflectance x 10000).",
)

UCMERCED_CLASSES = (
    "agricultural", "airplane", "baseballdiamond", "beach", "buildings", "chaparral",
    "denseresidential", "forest", "freeway", "golfcourse", "harbor", "intersection",
    "mediumresidential", "mobilehomepark", "overpass", "parkinglot", "river", "runway",
    "sparseresidential", "storagetanks", "tenniscourt",
)  # fmt: skip

UCMERCED = DatasetEntry(
    name="ucmerced",
    title="UC Merced Land Use",
    task="scene_classification",
    family="classification",
    data_kind="class_folder",
    trainable=True,
    bands=RGB,
    gsd=0.3048,
    licence="USGS National Map imagery (public domain); no licence stated by the authors",
    citation=(
        "Yang, Y., Newsam, S. (2010). Bag-of-visual-words and spatial extensions for land-use "
        "classification. ACM SIGSPATIAL GIS 2010, 270-279. doi:10.1145/1869790.1869829"
    ),
    homepage="http://weegee.vision.ucmerced.edu/datasets/landuse.html",
    files=(
        RemoteFile(
            url="https://huggingface.co/datasets/torchgeo/ucmerced/resolve/main/UCMerced_LandUse.zip",
            filename="UCMerced_LandUse.zip",
            md5="5b7ec56793786b6dc8a908e8854ac0e4",
            checksum_source="MD5 as recorded by TorchGeo for this archive",
            extract=True,
        ),
        *_split_lists(
            "uc_merced",
            {
                "train": "f2fb12eb2210cfb53f93f063a35ff374",
                "val": "11ecabfc52782e5ea6a9c7c0d263aca0",
                "test": "046aff88472d8fc07c4678d03749e28d",
            },
        ),
    ),
    layout="ucmerced",
    splits=("train", "val", "test"),
    split_source=NEUMANN_SPLITS,
    classes=_classes(UCMERCED_CLASSES),
    notes=(
        "2,100 aerial RGB TIFFs, 100 per class, 256x256 pixels (a few are a pixel or two "
        "smaller: resize or crop them in the config)."
    ),
)

LEVIR_MIRROR = (
    "https://huggingface.co/datasets/satellite-image-deep-learning/LEVIR-CD/resolve/"
    "6a6bb0a5b389403d81c05e33bf08bc0b9e5f13a6"
)

LEVIRCD = DatasetEntry(
    name="levir-cd",
    title="LEVIR-CD building change detection",
    task="change",
    family="change",
    data_kind="change_triplet",
    trainable=True,
    bands=RGB,
    gsd=0.5,
    licence="academic use (see the homepage); no open licence stated",
    citation=(
        "Chen, H., Shi, Z. (2020). A Spatial-Temporal Attention-Based Method and a New Dataset "
        "for Remote Sensing Image Change Detection. Remote Sensing 12(10), 1662. "
        "doi:10.3390/rs12101662"
    ),
    homepage="https://justchenhao.github.io/LEVIR/",
    files=tuple(
        RemoteFile(
            url=f"{LEVIR_MIRROR}/{split}.zip",
            filename=f"{split}.zip",
            md5=md5,
            checksum_source="MD5 as recorded by TorchGeo for this mirror",
            extract=True,
            splits=(split,),
        )
        for split, md5 in (
            ("train", "a638e71f480628652dea78d8544307e4"),
            ("val", "f7b857978524f9aa8c3bf7f94e3047a4"),
            ("test", "07d5dd89e46f5c1359e2eca746989ed9"),
        )
    ),
    layout="levircd",
    splits=("train", "val", "test"),
    split_source="the authors' train/val/test archives (445/64/128 pairs)",
    classes=_classes(("no change", "change"), ("#000000", "#ffffff")),
    notes="637 pairs of 1024x1024 RGB PNGs; change masks stored 0/255, read as 0/1.",
)

LANDCOVERAI = DatasetEntry(
    name="landcover-ai",
    title="LandCover.ai v1",
    task="segmentation",
    family="segmentation",
    data_kind="image_mask",
    trainable=True,
    bands=RGB,
    gsd=0.25,
    licence="CC BY-NC-SA 4.0",
    citation=(
        "Boguszewski, A., Batorski, D., Ziemba-Jankowska, N., Dziedzic, T., Zambrzycka, A. "
        "(2021). LandCover.ai: Dataset for Automatic Mapping of Buildings, Woodlands, Water "
        "and Roads from Aerial Imagery. CVPR Workshops 2021. arXiv:2005.02264"
    ),
    homepage="https://landcover.ai.linuxpolska.com/",
    files=(
        RemoteFile(
            url="https://landcover.ai.linuxpolska.com/download/landcover.ai.v1.zip",
            filename="landcover.ai.v1.zip",
            sha256="15ee4ca9e3fd187957addfa8f0d74ac31bc928a966f76926e11b3c33ea76daa1",
            checksum_source="SHA-256 (MD5 3268c89070e8734b4e91d531c0617e03) as recorded by "
            "TorchGeo for this archive",
            extract=True,
        ),
    ),
    layout="landcoverai",
    splits=("train", "val", "test"),
    split_source="train.txt/val.txt/test.txt of the archive (tile ids of its split.py)",
    classes=_classes(
        ("background", "building", "woodland", "water", "road"),
        ("#000000", "#614a4a", "#267300", "#00c5ff", "#cfcfcf"),
    ),
    notes=(
        "41 orthophotos (33 at 25 cm, 8 at 50 cm) cut by prepare into the official 512x512 "
        "tiles (the archive's split.py grid); tiles are written as lossless GeoTIFFs where "
        "split.py writes JPEGs, so pixel values match the orthophotos exactly."
    ),
)

BIGEARTHNET_SPLITS = (
    "https://git.tu-berlin.de/rsim/BigEarthNet-MM_19-classes_models/-/raw/master/splits"
)

BIGEARTHNET_S2 = DatasetEntry(
    name="bigearthnet-s2",
    title="BigEarthNet v1.0 (Sentinel-2)",
    task="multi_label",
    family="multilabel",
    data_kind="bigearthnet",
    trainable=True,
    bands=S2_12,
    gsd=10.0,
    licence="CDLA-Permissive-1.0",
    citation=(
        "Sumbul, G., Charfuelan, M., Demir, B., Markl, V. (2019). BigEarthNet: A Large-Scale "
        "Benchmark Archive for Remote Sensing Image Understanding. IGARSS 2019, 5901-5904. "
        "doi:10.1109/IGARSS.2019.8900532"
    ),
    homepage="https://bigearth.net/",
    files=(
        RemoteFile(
            url="https://zenodo.org/records/12687186/files/BigEarthNet-S2-v1.0.tar.gz",
            filename="BigEarthNet-S2-v1.0.tar.gz",
            md5="5a64e9ce38deb036a435a7b59494924c",
            checksum_source="MD5 as recorded by TorchGeo for this archive",
            extract=True,
            approx_size=66_000_000_000,
        ),
        *(
            RemoteFile(
                url=f"{BIGEARTHNET_SPLITS}/{split}.csv?inline=false",
                filename=f"bigearthnet-{split}.csv",
                md5=md5,
                checksum_source="MD5 as recorded by TorchGeo for this URL",
                splits=(split,),
            )
            for split, md5 in (
                ("train", "623e501b38ab7b12fe44f0083c00986d"),
                ("val", "22efe8ed9cbd71fa10742ff7df2b7978"),
                ("test", "697fb90677e30571b9ac7699b7e5b432"),
            )
        ),
    ),
    layout="bigearthnet",
    splits=("train", "val", "test"),
    split_source=(
        "train/val/test CSVs of Sumbul et al. (2021), BigEarthNet-MM (patches with clouds, "
        "shadows or seasonal snow left out)"
    ),
    classes=_classes(CLASSES_19),
    notes=(
        "590,326 patches of 120x120 pixels at 10 m (20 m and 60 m bands resampled when read); "
        "labels in the 19-class nomenclature. The archive is about 66 GB and unpacks larger."
    ),
)

_ENTRIES: dict[str, DatasetEntry] = {
    e.name: e for e in (EUROSAT_RGB, EUROSAT_MS, UCMERCED, LEVIRCD, LANDCOVERAI, BIGEARTHNET_S2)
}


def entries() -> list[DatasetEntry]:
    """Every registered dataset, sorted by name."""
    return [_ENTRIES[name] for name in sorted(_ENTRIES)]


def get(name: str) -> DatasetEntry:
    """The entry called ``name`` (case-insensitive).

    Raises:
        ConfigError: No such dataset; the message suggests close names.
    """
    entry = _ENTRIES.get(name.strip().lower())
    if entry is not None:
        return entry
    hint = did_you_mean(close_matches(name, _ENTRIES))
    raise ConfigError(
        f"unknown dataset {name!r}. {hint}".strip(),
        fix=f"use one of {available_list(_ENTRIES)} (`eoforge datasets list`).",
    )


def register(entry: DatasetEntry, *, replace: bool = False) -> DatasetEntry:
    """Add a dataset entry (a private mirror, a dataset of your own) to the registry.

    Args:
        entry: The entry; its ``layout`` must be one of the known parsers.
        replace: Replace an entry of the same name instead of refusing.

    Returns:
        The entry.

    Raises:
        ConfigError: An entry of that name exists and ``replace`` is False.
    """
    if entry.name in _ENTRIES and not replace:
        raise ConfigError(
            f"a dataset called {entry.name!r} is registered already.",
            fix="choose another name, or pass replace=True.",
        )
    _ENTRIES[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a dataset entry added with :func:`register` (no error if absent)."""
    _ENTRIES.pop(name, None)
