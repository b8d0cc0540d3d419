"""Super-resolution datasets: low-resolution revisits with a high-resolution target."""

from __future__ import annotations

from eoforge.datasets.entries.common import S2_12
from eoforge.datasets.entry import DatasetEntry, RemoteFile

WORLDSTRAT_RECORD = "https://zenodo.org/records/15382551/files"
"""The Zenodo record TorchGeo's WorldStrat loader downloads from (and records MD5s for)."""

WORLDSTRAT_FILES = (
    ("hr_dataset.zip", "5ae09bb3557ce131242a133d9758d9e7", True),
    ("lr_dataset_l1c.zip", "e90ecfa4bf838ace0b51dea1031b5ed1", True),
    ("lr_dataset_l2a.zip", "7aa1878a37d22a6c7c4b84b022a14ad7", True),
    ("metadata.csv", "1a66ac42b9a688be18debd0d95633fa1", False),
    ("stratified_train_val_test_split.csv", "874612b59bbf7987f7de7edd48a30c70", False),
)
"""File name, MD5 (as recorded by TorchGeo for the record's URL), whether to extract."""

WORLDSTRAT = DatasetEntry(
    name="worldstrat",
    title="WorldStrat (SPOT 6/7 high resolution with Sentinel-2 revisits)",
    task="super_resolution",
    family=None,
    data_kind=None,
    trainable=False,
    later=(
        "super-resolution: no task family reads several low-resolution revisits with a "
        "high-resolution target yet, and eoforge has no SPOT 6/7 sensor table for the target"
    ),
    bands=S2_12,
    gsd=10.0,
    licence=(
        "CC BY-NC 4.0 for the SPOT 6/7 imagery, CC BY 4.0 for the Sentinel-2 revisits and the "
        "metadata (see the Zenodo record)"
    ),
    citation=(
        "Cornebise, J., Orsolic, I., Kalaitzis, F. (2022). Open High-Resolution Satellite "
        "Imagery: The WorldStrat Dataset - With Application to Super-Resolution. NeurIPS 2022 "
        "Datasets and Benchmarks Track. arXiv:2207.06418"
    ),
    homepage="https://worldstrat.github.io/",
    files=tuple(
        RemoteFile(
            url=f"{WORLDSTRAT_RECORD}/{name}?download=1",
            filename=name,
            md5=md5,
            checksum_source="MD5 as recorded by TorchGeo for this URL",
            extract=extract,
        )
        for name, md5, extract in WORLDSTRAT_FILES
    ),
    layout="worldstrat",
    splits=("train", "val", "test"),
    split_source=(
        "stratified_train_val_test_split.csv of the Zenodo record (columns tile, split), "
        "stratified by land-cover class"
    ),
    notes=(
        "About 4,000 areas of interest (AOIs). Per AOI: SPOT 6/7 pan-sharpened RGBN at 1.5 m "
        "(<aoi>_ps.tiff), panchromatic (<aoi>_pan.tiff), native RGBN at 6 m (<aoi>_rgbn.tiff) "
        "and an RGB preview (<aoi>_rgb.png); 16 Sentinel-2 revisits as L1C (13 bands) and "
        "L2A (12 bands, the entry's bands) GeoTIFFs of about 160x160 px at 10 m. prepare "
        "links <split>/<aoi>/hr/ (the SPOT files as published) and <split>/<aoi>/lr/L1C/, "
        "lr/L2A/ (the revisits renamed <lowres_date>_<n>.tiff so that name order is date "
        "order, dates from metadata.csv). Class counts count AOIs per IPCC class when "
        "metadata.csv has such a column, else none. The archives are about 107 GB together; "
        "record 15382551 is the version TorchGeo reads (the first release is record 6810792)."
    ),
)


ENTRIES: tuple[DatasetEntry, ...] = (WORLDSTRAT,)
"""The entries of this module, in listing order."""
