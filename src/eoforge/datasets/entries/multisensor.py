"""Multi-sensor datasets: several sensors (and products) per sample.

METER-ML (NAIP + Sentinel-1 + Sentinel-2 per location), GAMUS (RGB + nDSM
height + semantic labels), GeoPlant (Sentinel-2 patches with species
presence-absence surveys) and AGBD (GEDI biomass footprints with Sentinel-2,
ALOS PALSAR-2, elevation, land cover and canopy height patches). GAMUS's RGB
images with class masks train as a segmentation dataset today; the others wait
for models that take several sensors and dates at once.
"""

from __future__ import annotations

from eoforge.datasets.entries.common import RGB, S2_12, classes
from eoforge.datasets.entry import DatasetEntry, RemoteFile

NO_CHECKSUM = "none published: the SHA-256 is recorded on first download"
"""``checksum_source`` of files whose publishers give no checksum."""

SEVERAL_SENSORS = "several sensors and dates in one model"
"""The family issue that trains datasets whose samples combine sensors."""

METER_ML_BANDS = (
    "NAIP.R", "NAIP.G", "NAIP.B", "NAIP.N",
    "S1.VV", "S1.VH",
    "S2.B04", "S2.B03", "S2.B02", "S2.B08",
    "S2.B05", "S2.B06", "S2.B07", "S2.B8A", "S2.B11", "S2.B12",
    "S2.B01", "S2.B09", "S2.B10",
)  # fmt: skip
"""METER-ML's bands in file order: ``naip.png`` (R, G, B, NIR in the alpha channel),
``sentinel-1.npy``, ``sentinel-2-10m.npy``, ``sentinel-2-20m.npy``, ``sentinel-2-60m.npy``."""

METER_ML_CLASSES = (
    "Negative",
    "CAFOs",
    "Landfills",
    "Mines",
    "ProcessingPlants",
    "RefineriesAndTerminals",
    "WWTreatment",
)
"""METER-ML's ``Type`` values: no facility, then the six methane-emitting facility types."""

METER_ML = DatasetEntry(
    name="meter-ml",
    title="METER-ML methane source infrastructure (NAIP, Sentinel-1, Sentinel-2)",
    task="multi_label",
    family=None,
    data_kind=None,
    trainable=False,
    later=(
        f"{SEVERAL_SENSORS}: a sample is five arrays of different sensors and pixel sizes "
        "(NAIP PNG at 1 m, Sentinel-1 and Sentinel-2 NumPy arrays at 10, 20 and 60 m); no "
        "eoforge data kind reads them together yet"
    ),
    bands=METER_ML_BANDS,
    gsd=1.0,
    licence="see the project page (no licence named in the sources checked)",
    citation=(
        "Zhu, B., Lui, N., Irvin, J., Le, J., Tadwalkar, S., Wang, C., Ouyang, Z., Liu, F. Y., "
        "Ng, A. Y., Jackson, R. B. (2022). METER-ML: A Multi-Sensor Earth Observation "
        "Benchmark for Automated Methane Source Mapping. CDCEO 2022 workshop, CEUR-WS "
        "Vol-3207, paper 6. arXiv:2207.11166"
    ),
    homepage="https://stanfordmlgroup.github.io/projects/meter-ml/",
    files=(
        RemoteFile(
            url="https://stanfordmlgroup.github.io/projects/meter-ml/",
            filename="METER-ML.zip",
            checksum_source=NO_CHECKSUM,
            extract=True,
            manual=(
                "METER-ML is offered from the Stanford ML Group project page after accepting "
                "its terms; download the dataset there and place it as one zip archive holding "
                "train_dataset.geojson, val_dataset.geojson, test_dataset.geojson and the "
                "train_images/, val_images/ and test_images/ folders"
            ),
        ),
    ),
    layout="meter_ml",
    splits=("train", "val", "test"),
    split_source=(
        "the authors' train/val/test split: <split>_dataset.geojson lists the image folders of "
        "each split (the test set is expert-labelled)"
    ),
    classes=classes(METER_ML_CLASSES),
    notes=(
        "86,599 locations in the U.S., each a folder with naip.png (R, G, B and NIR as "
        "alpha, 1 m), sentinel-1.npy (72x72x2, VV/VH), sentinel-2-10m.npy (72x72x4), "
        "sentinel-2-20m.npy (36x36x6) and sentinel-2-60m.npy (12x12x3). Labels are the "
        "geojson's Type: one or several facility types joined by '-', or Negative; "
        "'Roundabout' (a kind of negative) is counted as Negative. prepare links each "
        "location's five files into <split>/<folder>/ and writes <split>/labels.csv "
        "(sample,label; several labels joined by ';'); class counts are samples per class. "
        "gsd is NAIP's; the Sentinel arrays are 10, 20 and 60 m."
    ),
)

GAMUS_CLASSES = ("ground", "low vegetation", "building", "water", "road", "tree")
"""GAMUS's classes in mask-value order."""

GAMUS = DatasetEntry(
    name="gamus",
    title="GAMUS geometry-aware multi-modal semantic segmentation (RGB + nDSM)",
    task="segmentation",
    family="segmentation",
    data_kind="image_mask",
    trainable=True,
    bands=(*RGB, "DEM.ndsm"),
    gsd=0.33,
    licence="research use (no licence stated in the authors' repository)",
    citation=(
        "Xiong, Z., Chen, S., Wang, Y., Mou, L., Zhu, X. X. (2023). GAMUS: A Geometry-aware "
        "Multi-modal Semantic Segmentation Benchmark for Remote Sensing Data. "
        "arXiv:2305.14914"
    ),
    homepage="https://github.com/EarthNets/RSI-MMSegmentation",
    files=(
        RemoteFile(
            url="https://syncandshare.lrz.de/dl/fiBpfqvv7QE3MxRC18Uocq/GAMUS.zip",
            filename="GAMUS.zip",
            checksum_source=NO_CHECKSUM,
            extract=True,
        ),
    ),
    layout="gamus",
    splits=("train", "val", "test"),
    split_source="the authors' images/, classes/ and heights/ sub-folders train/, val/, test/",
    classes=classes(GAMUS_CLASSES),
    notes=(
        "RGB tiles with a class mask (CLS) and a normalised DSM height (AGL, metres above "
        "ground), stored as HDF5 files (<tile>IMG.h5, <tile>CLS.h5, <tile>AGL.h5). prepare "
        "converts them to lossless GeoTIFFs without georeferencing, same file names: "
        "<split>/images/ (float32: R, G, B as published, 0-255, and the height as a fourth "
        "band, the entry's bands, so data.kind image_mask trains on colour and height "
        "today), <split>/masks/ (class ids) and <split>/heights/ (the height alone, float32 "
        f"metres, for {SEVERAL_SENSORS}). Class counts are pixels per class (mask values "
        "beyond the six classes are counted as 'value N'). The gsd (about 0.33 m) and the "
        "class order of the mask values are taken as understood from the paper, not "
        "confirmed against the archive."
    ),
)

GEOPLANT_SEAFILE = "https://lab.plantnet.org/seafile/d/59325675470447b38add/files/?p="
"""The authors' Seafile share of GeoPlant; ``&dl=1`` asks for the file itself."""

GEOPLANT_FILES = {
    "train": ("PA_metadata_train.csv", "PA-Train-Sentinel2Patches.zip"),
    "test_iid": ("PA_metadata_test_iid.csv", "PA-Test-IID-Sentinel2Patches.zip"),
    "test_ood": ("PA_metadata_test_ood.csv", "PA-Test-OOD-Sentinel2Patches.zip"),
}
"""Split -> (survey table, Sentinel-2 GeoTIFF patch archive)."""

GEOPLANT = DatasetEntry(
    name="geoplant",
    title="GeoPlant (GeoLifeCLEF 2024) plant species presence-absence surveys",
    task="multi_label",
    family=None,
    data_kind=None,
    trainable=False,
    later=(
        f"{SEVERAL_SENSORS}: a survey is a Sentinel-2 patch, Landsat and bioclimatic time "
        "series and tabular predictors, labelled with thousands of species; no eoforge data "
        "kind reads surveys with species lists yet"
    ),
    bands=("S2.B04", "S2.B03", "S2.B02", "S2.B08"),
    gsd=10.0,
    licence="see the Kaggle dataset page (no licence named in the sources checked)",
    citation=(
        "Picek, L., Botella, C., Servajean, M., Leblanc, C., Palard, R., Larcher, T., Deneu, "
        "B., Marcos, D., Bonnet, P., Joly, A. (2024). GeoPlant: Spatial Plant Species "
        "Prediction Dataset. NeurIPS 2024 Datasets and Benchmarks. arXiv:2408.13928"
    ),
    homepage="https://www.kaggle.com/datasets/picekl/geoplant",
    files=tuple(
        file
        for split, (table, patches) in GEOPLANT_FILES.items()
        for file in (
            RemoteFile(
                url=f"{GEOPLANT_SEAFILE}/PresenceAbsenceSurveys/{table}&dl=1",
                filename=table,
                checksum_source=NO_CHECKSUM,
                splits=(split,),
            ),
            RemoteFile(
                url=f"{GEOPLANT_SEAFILE}/SatelliteData/Sentinel2Patches-tiff/{patches}&dl=1",
                filename=patches,
                checksum_source=NO_CHECKSUM,
                extract=True,
                splits=(split,),
            ),
        )
    ),
    layout="geoplant",
    splits=("train", "test_iid", "test_ood"),
    split_source=(
        "the authors' presence-absence survey tables: PA_metadata_train.csv and the test "
        "tables PA_metadata_test_iid.csv (same region and period) and PA_metadata_test_ood.csv "
        "(out of distribution)"
    ),
    notes=(
        "Presence-absence surveys of European plants, one table row per survey and "
        "species (lon, lat, year, geoUncertaintyInM, areaInM2, region, country, speciesId, "
        "surveyId), each survey with a Sentinel-2 GeoTIFF patch (R, G, B, NIR) at "
        "<CD>/<AB>/<surveyId>.tiff (CD, AB: the id's last four digits). The species are too "
        "many to list as classes (thousands): class ids are GeoPlant's speciesId and class "
        "counts are surveys per species id. prepare writes <split>/surveys.csv (surveyId, "
        "lat, lon, species: space-separated ids, ascending) and hard-links each survey's "
        "patch as <split>/patches/<surveyId>.tiff. The Landsat time series, bioclimatic "
        "rasters, environmental values, the combined GLC25 test table and the presence-only "
        "occurrences (also on the Seafile share and in the whole Kaggle download, about "
        "45 GB) are not downloaded."
    ),
)

AGBD_PATCHES = "https://libdrive.ethz.ch/index.php/s/VPio6i5UlXTgir0/download?path=%2F"
"""The authors' ETH share of AGBD's HDF5 patch files and split file (their Models/download.sh)."""

AGBD_TABLES = "https://libdrive.ethz.ch/index.php/s/Y9A9b156b8H0KYf/download?path=%2F"
"""The authors' ETH share of AGBD's per-split feature tables and statistics."""

AGBD_YEARS = (2019, 2020)
AGBD_PARTS = 20
"""The patches of each year come in 20 HDF5 files, ``data_subset-<year>-v4_<i>-20.h5``."""

AGBD_H5 = tuple(
    f"data_subset-{year}-v4_{i}-{AGBD_PARTS}.h5" for year in AGBD_YEARS for i in range(AGBD_PARTS)
)
"""The 40 HDF5 patch files, 2019 then 2020, in part order."""

AGBD_SPLITS_FILE = "biomes_splits_to_name.pkl"
"""Pickled dict: split name -> the Sentinel-2 tile names (HDF5 groups) of the split."""

AGBD_FEATURES = "{split}_features-v6.csv"
"""The split's tabular data (the central pixel of each footprint's patch)."""

AGBD_STATISTICS = "statistics_subset_2019-2020-v4_new.pkl"
"""Normalisation statistics the authors' loader reads (kept in the dataset folder)."""

AGBD = DatasetEntry(
    name="agbd",
    title="AGBD: above-ground biomass from GEDI with Sentinel-2, ALOS PALSAR-2 and more",
    task="regression",
    family=None,
    data_kind=None,
    trainable=False,
    later=(
        f"{SEVERAL_SENSORS}: each GEDI footprint is a 25x25 patch stacking Sentinel-2, ALOS "
        "PALSAR-2 HH/HV, elevation, land cover and canopy height with dates, in HDF5 groups per "
        "Sentinel-2 tile; no eoforge data kind reads them (nor has band names for ALOS "
        "PALSAR-2)"
    ),
    bands=S2_12,
    gsd=10.0,
    licence="CC BY-NC 4.0",
    citation=(
        "Sialelli, G., Peters, T., Wegner, J. D., Schindler, K. (2025). AGBD: A Global-scale "
        "Biomass Dataset. ISPRS Annals of the Photogrammetry, Remote Sensing and Spatial "
        "Information Sciences X-G-2025, 829. arXiv:2406.04928"
    ),
    homepage="https://github.com/ghjuliasialelli/AGBD",
    files=(
        *(
            RemoteFile(
                url=f"{AGBD_PATCHES}{name}",
                filename=name,
                checksum_source=NO_CHECKSUM,
                approx_size=7_500_000_000,
            )
            for name in AGBD_H5
        ),
        RemoteFile(
            url=f"{AGBD_PATCHES}{AGBD_SPLITS_FILE}",
            filename=AGBD_SPLITS_FILE,
            checksum_source=NO_CHECKSUM,
        ),
        RemoteFile(
            url=f"{AGBD_TABLES}{AGBD_STATISTICS}",
            filename=AGBD_STATISTICS,
            checksum_source=NO_CHECKSUM,
        ),
        *(
            RemoteFile(
                url=f"{AGBD_TABLES}{AGBD_FEATURES.format(split=split)}",
                filename=AGBD_FEATURES.format(split=split),
                checksum_source=NO_CHECKSUM,
                splits=(split,),
            )
            for split in ("train", "val", "test")
        ),
    ),
    layout="agbd",
    splits=("train", "val", "test"),
    split_source=(
        "biomes_splits_to_name.pkl of the authors' release: the Sentinel-2 tiles of each split"
    ),
    notes=(
        "About 300 GB: GEDI L4A above-ground biomass density (Mg/ha) of about 16 million "
        "footprints in 2019 and 2020, each with a 25x25 patch at 10 m (the Sentinel-2 L2A "
        "bands, in the order of the files' S2_bands 'order' attribute; ALOS PALSAR-2, JAXA "
        "DEM, Copernicus land cover and Lang et al. canopy height), stored in 40 HDF5 files "
        "as one group per Sentinel-2 tile; the per-split feature tables hold each footprint's "
        "central pixel. The files come from the authors' ETH shares named in their "
        "Models/download.sh (the Hugging Face copy prs-eth/AGBD is read through the datasets "
        "library's loader script, not as a fixed list of files). prepare reads the split "
        "file (a pickle: only plain Python values and NumPy arrays are accepted, nothing "
        "else is unpickled) and writes "
        "<split>/tiles.txt (the split's tile names, sorted), hard links "
        "<split>/<split>_features-v6.csv and <split>/patches/<file>.h5 (all 40 files: a "
        "split's patches are its tiles' groups in them). Counts are footprints (rows of the "
        "split's feature table)."
    ),
)


ENTRIES: tuple[DatasetEntry, ...] = (METER_ML, GAMUS, GEOPLANT, AGBD)
"""The entries of this module, in listing order."""
