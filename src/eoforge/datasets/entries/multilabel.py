"""Multi-label datasets: patches with several labels each (BigEarthNet)."""

from __future__ import annotations

from eoforge.datasets.bigearthnet_labels import CLASSES_19
from eoforge.datasets.entries.common import S2_12, classes
from eoforge.datasets.entry import DatasetEntry, RemoteFile

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
    classes=classes(CLASSES_19),
    notes=(
        "590,326 patches of 120x120 pixels at 10 m (20 m and 60 m bands resampled when read); "
        "labels in the 19-class nomenclature. The archive is about 66 GB and unpacks larger."
    ),
)


ENTRIES: tuple[DatasetEntry, ...] = (BIGEARTHNET_S2,)
"""The entries of this module, in listing order."""
