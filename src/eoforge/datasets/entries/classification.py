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

SO2SAT_SHARE = "https://dataserv.ub.tum.de/s/m1483140/download?path=%2F&files="
"""The mediaTUM share of So2Sat LCZ42 version 2 (doi:10.14459/2018mp1483140), one file per query."""

SO2SAT_FILES = {
    "train": ("training.h5", "702bc6a9368ebff4542d791e53469244", 52_000_000_000),
    "val": ("validation.h5", "71cfa6795de3e22207229d06d6f8775d", 3_560_000_000),
    "test": ("testing.h5", "e81426102b488623a723beab52b31a8a", 3_570_000_000),
}
"""Split -> (HDF5 file, its MD5 as recorded by TorchGeo, rough size in bytes)."""

SO2SAT_CLASSES = (
    "lcz01_compact_high_rise", "lcz02_compact_mid_rise", "lcz03_compact_low_rise",
    "lcz04_open_high_rise", "lcz05_open_mid_rise", "lcz06_open_low_rise",
    "lcz07_lightweight_low_rise", "lcz08_large_low_rise", "lcz09_sparsely_built",
    "lcz10_heavy_industry", "lcza_dense_trees", "lczb_scattered_trees", "lczc_bush_scrub",
    "lczd_low_plants", "lcze_bare_rock_or_paved", "lczf_bare_soil_or_sand", "lczg_water",
)  # fmt: skip
"""The 17 local climate zones in label order (LCZ 1-10 built types, A-G land cover); the
names sort in that order, so class-folder indices equal the published one-hot positions."""

SO2SAT_S2 = (
    "S2.B02", "S2.B03", "S2.B04", "S2.B05", "S2.B06", "S2.B07",
    "S2.B08", "S2.B8A", "S2.B11", "S2.B12",
)  # fmt: skip
"""The 10 Sentinel-2 bands of a So2Sat ``sen2`` patch, in file order."""

SO2SAT = DatasetEntry(
    name="so2sat-lcz42",
    title="So2Sat LCZ42 (version 2, Sentinel-2 part)",
    task="scene_classification",
    family="classification",
    data_kind="class_folder",
    trainable=True,
    bands=SO2SAT_S2,
    gsd=10.0,
    licence="CC BY 4.0",
    citation=(
        "Zhu, X. X., Hu, J., Qiu, C., Shi, Y., Kang, J., Mou, L., et al. (2020). So2Sat LCZ42: "
        "A Benchmark Data Set for the Classification of Global Local Climate Zones. IEEE "
        "Geoscience and Remote Sensing Magazine 8(3), 76-89. doi:10.1109/MGRS.2020.2964708"
    ),
    homepage="https://mediatum.ub.tum.de/1483140",
    files=tuple(
        RemoteFile(
            url=f"{SO2SAT_SHARE}{filename}",
            filename=filename,
            md5=md5,
            checksum_source=(
                "MD5 as recorded by TorchGeo (So2Sat, version 2) for this file of the mediaTUM "
                "share m1483140"
            ),
            splits=(split,),
            approx_size=size,
        )
        for split, (filename, md5, size) in SO2SAT_FILES.items()
    ),
    layout="so2sat",
    splits=("train", "val", "test"),
    split_source=(
        "the published files: training.h5 (42 cities), validation.h5 (western halves of 10 "
        "further cities) and testing.h5 (their eastern halves)"
    ),
    classes=classes(SO2SAT_CLASSES),
    notes=(
        "400,673 co-registered Sentinel-1/Sentinel-2 patches of 32x32 pixels (352,366 train, "
        "24,119 val, 24,188 test) in HDF5 files holding sen1 [N, 32, 32, 8], sen2 "
        "[N, 32, 32, 10] (float64 reflectance, about 0-1) and label [N, 17] (one-hot). Prepare "
        "needs h5py (pip install h5py: GDAL reads only a slice of the 4-D arrays) and writes "
        "each patch's 10 Sentinel-2 bands as a float32 GeoTIFF without georeferencing, "
        "<split>/<class>/<index>.tif (index: the patch's row in its file, zero-padded to 6 "
        "digits); 400,673 small files, about 17 GB. The Sentinel-1 part (sen1) is left out of "
        "the prepared folders (training on both sensors waits for several sensors and dates "
        "in one model). Class colours are eoforge's palette (none published with the data)."
    ),
)


ENTRIES: tuple[DatasetEntry, ...] = (
    EUROSAT_RGB,
    EUROSAT_MS,
    UCMERCED,
    RSSCN7,
    SO2SAT,
)
"""The entries of this module, in listing order."""
