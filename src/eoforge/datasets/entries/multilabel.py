"""Multi-label datasets: patches with several labels each (BigEarthNet v1.0 and v2.0)."""

from __future__ import annotations

from eoforge.datasets.bigearthnet_labels import CLASSES_19
from eoforge.datasets.entries.common import S1_VV_VH, S2_12, classes
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

BIGEARTHNET_V2_RECORD = "https://zenodo.org/records/10891137/files"
"""The Zenodo record of BigEarthNet v2.0 (reBEN)."""

BIGEARTHNET_V2_COLOURS = (
    "#e6004d", "#cc4df2", "#ffffa8", "#e68000", "#e6e64d", "#ffe64d", "#e6cc4d", "#f2cca6",
    "#80ff00", "#00a600", "#4dff00", "#ccf24d", "#a6ff80", "#a6f200", "#e6e6e6", "#a6a6ff",
    "#ccccff", "#80f2e6", "#e6f2ff",
)  # fmt: skip
"""CORINE colours of the 19 classes (Table 1 of the BigEarthNet v2.0 description)."""

BIGEARTHNET_V2_SOURCE = "MD5 as recorded by TorchGeo (BigEarthNetV2) for this URL"

BIGEARTHNET_V2 = DatasetEntry(
    name="bigearthnet-v2",
    title="BigEarthNet v2.0 (reBEN): Sentinel-2 with Sentinel-1",
    task="multi_label",
    family="multilabel",
    data_kind="bigearthnet",
    trainable=True,
    bands=S2_12 + S1_VV_VH,
    gsd=10.0,
    licence="CDLA-Permissive-1.0",
    citation=(
        "Clasen, K. N., Hackel, L., Burgert, T., Sumbul, G., Demir, B., Markl, V. (2025). "
        "reBEN: Refined BigEarthNet Dataset for Remote Sensing Image Analysis. IGARSS 2025. "
        "arXiv:2407.03653"
    ),
    homepage="https://bigearth.net/",
    files=(
        RemoteFile(
            url=f"{BIGEARTHNET_V2_RECORD}/BigEarthNet-S2.tar.zst",
            filename="BigEarthNet-S2.tar.zst",
            size=63_251_710_377,
            md5="2245ed2d1a93f6ce637d839bc856396e",
            checksum_source=BIGEARTHNET_V2_SOURCE,
            extract=True,
        ),
        RemoteFile(
            url=f"{BIGEARTHNET_V2_RECORD}/BigEarthNet-S1.tar.zst",
            filename="BigEarthNet-S1.tar.zst",
            size=54_439_153_171,
            md5="a55eaa2cdf6a917e296bd6601ec1e348",
            checksum_source=BIGEARTHNET_V2_SOURCE,
            extract=True,
        ),
        RemoteFile(
            url=f"{BIGEARTHNET_V2_RECORD}/Reference_Maps.tar.zst",
            filename="Reference_Maps.tar.zst",
            md5="95d85a222fa983faddcac51a19f28917",
            checksum_source=BIGEARTHNET_V2_SOURCE,
            approx_size=282_000_000,
        ),
        RemoteFile(
            url=f"{BIGEARTHNET_V2_RECORD}/metadata.parquet",
            filename="metadata.parquet",
            md5="55687065e77b6d0b0f1ff604a6e7b49c",
            checksum_source=(
                "MD5 as recorded by TorchGeo 0.8 (BigEarthNetV2) for its Hugging Face mirror "
                "of this file (users of the Zenodo record quote the same MD5 for it)"
            ),
            approx_size=3_600_000,
        ),
    ),
    layout="bigearthnet_v2",
    splits=("train", "val", "test"),
    split_source=(
        "the split column (train, validation, test) of metadata.parquet, Clasen et al. "
        "(2025): geographically separated splits; patches with seasonal snow, clouds or "
        "cloud shadows are not in metadata.parquet (counted as unassigned)"
    ),
    classes=classes(CLASSES_19, BIGEARTHNET_V2_COLOURS),
    notes=(
        "549,488 Sentinel-2 L2A patches of 1.2 x 1.2 km (120x120 pixels at 10 m, one GeoTIFF per "
        "band, 20 m and 60 m bands at their native size), each with its Sentinel-1 GRD patch "
        "(VV, VH in dB); 480,038 are listed in metadata.parquet with 19-class labels. Prepare "
        "writes v1-style patch folders: <split>/<patch_id>/ with hard links to the 12 band files "
        "and <patch_id>_labels_metadata.json, and, for every split, s1/<s1_name>/ with links to "
        "VV and VH and a metadata file naming corresponding_s2_patch (give eoforge/s1 as "
        "data.root_s1). "
        "The metadata's labels_19 are the official labels; its labels name, for each of them, "
        "the first CORINE class of the 43 that maps to it, which the BigEarthNet reader turns "
        "back into exactly the official labels with num_classes 19 (43-class labels do not exist "
        "for v2.0: never train it with num_classes 43). Reference_Maps.tar.zst (pixel-level "
        "CORINE maps) is downloaded but not extracted. The archives take about 118 GB and unpack "
        "larger."
    ),
)


ENTRIES: tuple[DatasetEntry, ...] = (BIGEARTHNET_S2, BIGEARTHNET_V2)
"""The entries of this module, in listing order."""
