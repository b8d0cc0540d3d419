"""Scene-classification datasets: class folders split by published lists."""

from __future__ import annotations

from eoforge.datasets.entries.common import RGB, S2_13, classes
from eoforge.datasets.entry import DatasetEntry, RemoteFile

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
    classes=classes(EUROSAT_CLASSES),
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
    classes=classes(EUROSAT_CLASSES),
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
    classes=classes(UCMERCED_CLASSES),
    notes=(
        "2,100 aerial RGB TIFFs, 100 per class, 256x256 pixels (a few are a pixel or two "
        "smaller: resize or crop them in the config)."
    ),
)

RSSCN7_CLASSES = (
    "aGrass", "bField", "cIndustry", "dRiverLake", "eForest", "fResident", "gParking",
)  # fmt: skip
"""RSSCN7's class folders, sorted (grassland, farmland, industrial and commercial regions,
river and lake, forest, residential region, parking lot)."""

RSSCN7 = DatasetEntry(
    name="rsscn7",
    title="RSSCN7",
    task="scene_classification",
    family="classification",
    data_kind="class_folder",
    trainable=True,
    bands=RGB,
    gsd=None,
    licence="No licence stated by the authors (Google Earth imagery)",
    citation=(
        "Zou, Q., Ni, L., Zhang, T., Wang, Q. (2015). Deep Learning Based Feature Selection for "
        "Remote Sensing Scene Classification. IEEE Geoscience and Remote Sensing Letters "
        "12(11), 2321-2325. doi:10.1109/LGRS.2015.2475299"
    ),
    homepage="https://github.com/palewithout/RSSCN7",
    files=(
        RemoteFile(
            url="https://github.com/palewithout/RSSCN7/archive/refs/heads/master.zip",
            filename="RSSCN7-master.zip",
            checksum_source=(
                "none published (GitHub builds this archive of the repository on request): "
                "the SHA-256 is recorded on first download"
            ),
            extract=True,
            approx_size=360_000_000,
        ),
    ),
    layout="rsscn7",
    splits=("all",),
    split_source=(
        "none published: prepare puts every image in one split `all`; hold out validation "
        "images with data.val_fraction"
    ),
    classes=classes(RSSCN7_CLASSES),
    notes=(
        "2,800 Google Earth RGB JPEGs of 400x400 pixels, 400 per class, 100 at each of four "
        "scales; the authors publish no ground sampling distance. "
        "Prepared as hard links in all/<class>/ (RSSCN7-master/<class>/*.jpg)."
    ),
)


ENTRIES: tuple[DatasetEntry, ...] = (
    EUROSAT_RGB,
    EUROSAT_MS,
    UCMERCED,
    RSSCN7,
)
"""The entries of this module, in listing order."""
