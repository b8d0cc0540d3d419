"""Object-detection datasets: DOTA v1.0 and v1.5, DIOR and DIOR-R, NWPU VHR-10, xView3-SAR, M4-SAR.

``prepare`` writes the object table every one of them shares (``<split>/objects.csv``,
see :mod:`eoforge.datasets.layouts.objects`). ``data.kind: objects`` reads it: DOTA,
DIOR, DIOR-R and NWPU VHR-10 train today with ``task.kind: detection`` (horizontal
boxes) or ``oriented_detection`` (DOTA, DIOR-R). xView3-SAR trains on its whole
Sentinel-1 scenes through ``data.kind: geo`` (per-scene catalogs and objects in map
coordinates); M4-SAR (optical with SAR pairs) waits for what it needs.
"""

from __future__ import annotations

from eoforge.datasets.entries.common import RGB, S1_VV_VH, classes
from eoforge.datasets.entry import DatasetEntry, RemoteFile

TRAINED_AS_HORIZONTAL = (
    " Train it with task.kind oriented_detection (model.arch oriented_fcos), or with "
    "task.kind detection on the boxes' horizontal envelopes."
)
"""Said of the oriented datasets."""

NONE_PUBLISHED = "none published: the SHA-256 is recorded on first download"

DOTA_MIRROR = (
    "https://hf.co/datasets/isaaccorley/dota/resolve/672e63236622f7da6ee37fca44c50ac368b77cab"
)
"""TorchGeo's Hugging Face mirror of DOTA (train and val; the test labels are not public)."""

DOTA_V1_CLASSES = (
    "plane", "ship", "storage-tank", "baseball-diamond", "tennis-court", "basketball-court",
    "ground-track-field", "harbor", "bridge", "large-vehicle", "small-vehicle", "helicopter",
    "roundabout", "soccer-ball-field", "swimming-pool",
)  # fmt: skip
"""DOTA v1.0's 15 classes as its label files spell them."""

DOTA_IMAGES_MD5 = {
    "train": "363b472dc3c71e7fa2f4a60223b437ea",
    "val": "42293219ba61d61c417ae558bbe1f2ba",
}
"""MD5 of ``dotav1.0_images_<split>.tar.gz`` (v1.0 and v1.5 share the images)."""

DOTA_LABELS_MD5 = {
    "1.0": {"train": "f6788257bcc4d29018344a4128e3734a", "val": "28155c05b1dc3a0f5cb6b9bdfef85a13"},
    "1.5": {"train": "0da97e5623a87d7bec22e75f6978dbce", "val": "85bf945788784cf9b4f1c714453178fc"},
}
"""MD5 of ``dotav<version>_annotations_<split>.tar.gz``."""

DOTA_CITATION = (
    "Xia, G.-S., Bai, X., Ding, J., Zhu, Z., Belongie, S., Luo, J., Datcu, M., Pelillo, M., "
    "Zhang, L. (2018). DOTA: A Large-Scale Dataset for Object Detection in Aerial Images. "
    "CVPR 2018, 3974-3983. doi:10.1109/CVPR.2018.00418"
)
DOTA_V15_CITATION = (
    "Ding, J., Xue, N., Xia, G.-S., Bai, X., Yang, W., Yang, M. Y., Belongie, S., Luo, J., "
    "Datcu, M., Pelillo, M., Zhang, L. (2022). Object Detection in Aerial Images: A "
    "Large-Scale Benchmark and Challenges. IEEE TPAMI 44(11), 7778-7796. "
    f"doi:10.1109/TPAMI.2021.3117983; and {DOTA_CITATION}"
)


def _dota(version: str) -> DatasetEntry:
    names = DOTA_V1_CLASSES if version == "1.0" else (*DOTA_V1_CLASSES, "container-crane")
    files = []
    for split in ("train", "val"):
        files.append(
            RemoteFile(
                url=f"{DOTA_MIRROR}/dotav1.0_images_{split}.tar.gz",
                filename=f"dotav1.0_images_{split}.tar.gz",
                md5=DOTA_IMAGES_MD5[split],
                checksum_source="MD5 as recorded by TorchGeo (DOTA) for this URL",
                extract=True,
                splits=(split,),
            )
        )
        files.append(
            RemoteFile(
                url=f"{DOTA_MIRROR}/dotav{version}_annotations_{split}.tar.gz",
                filename=f"dotav{version}_annotations_{split}.tar.gz",
                md5=DOTA_LABELS_MD5[version][split],
                checksum_source="MD5 as recorded by TorchGeo (DOTA) for this URL",
                extract=True,
                splits=(split,),
            )
        )
    return DatasetEntry(
        name=f"dota-v{version}",
        title=f"DOTA v{version} (oriented object detection in aerial images)",
        task="oriented_detection",
        family="detection",
        data_kind="objects",
        trainable=True,
        bands=RGB,
        gsd=0.5,
        licence="academic use only, no commercial use (Google Earth terms apply to its images)",
        citation=DOTA_CITATION if version == "1.0" else DOTA_V15_CITATION,
        homepage="https://captain-whu.github.io/DOTA/",
        files=tuple(files),
        layout="dota",
        splits=("train", "val"),
        split_source=(
            "the authors' train and val image sets (1411 and 458 images); the 937 test "
            "images have no public labels and are not in the mirror"
        ),
        classes=classes(names),
        notes=(
            "Images of about 800 to 20,000 pixels a side from Google Earth, GF-2 and JL-1 "
            "(gsd about 0.1 to 4.5 m, given per image in the label header; some images are "
            "grey). Labels: one line 'x1 y1 x2 y2 x3 y3 x4 y4 class difficult' per object, "
            "after the header lines 'imagesource:' and 'gsd:'. v1.0 and v1.5 share the "
            "images; v1.5 labels also mark objects under about 10 pixels and add "
            "container-crane. prepare links the images and writes objects.csv (oriented "
            "boxes in DOTA's corner order); class counts are objects." + TRAINED_AS_HORIZONTAL
        ),
    )


DOTA_V10 = _dota("1.0")
DOTA_V15 = _dota("1.5")

DIOR_CLASSES = (
    "airplane", "airport", "baseballfield", "basketballcourt", "bridge", "chimney", "dam",
    "Expressway-Service-area", "Expressway-toll-station", "golffield", "groundtrackfield",
    "harbor", "overpass", "ship", "stadium", "storagetank", "tenniscourt", "trainstation",
    "vehicle", "windmill",
)  # fmt: skip
"""DIOR's 20 classes as its XML files spell them (matched ignoring case)."""

DIOR_HOMEPAGE = "https://gcheng-nwpu.github.io/#Datasets"

DIOR_MANUAL = (
    "the authors share DIOR through Google Drive and Baidu Pan links on their page (no direct "
    "download URL); download the four archives JPEGImages-trainval.zip, JPEGImages-test.zip, "
    "Annotations.zip and ImageSets.zip and place them here under these names"
)


def _dior(oriented: bool) -> DatasetEntry:
    files = tuple(
        RemoteFile(
            url=DIOR_HOMEPAGE,
            filename=filename,
            checksum_source=NONE_PUBLISHED,
            extract=True,
            splits=splits,
            manual=DIOR_MANUAL,
        )
        for filename, splits in (
            ("JPEGImages-trainval.zip", ("train", "val")),
            ("JPEGImages-test.zip", ("test",)),
            ("Annotations.zip", ()),
            ("ImageSets.zip", ()),
        )
    )
    box = (
        "oriented boxes from the 'Oriented Bounding Boxes' XML files (robndbox corners "
        "left-top, right-top, right-bottom, left-bottom)"
        if oriented
        else "horizontal boxes (VOC bndbox xmin, ymin, xmax, ymax)"
    )
    return DatasetEntry(
        name="dior-r" if oriented else "dior",
        title="DIOR-R (oriented boxes)" if oriented else "DIOR (horizontal boxes)",
        task="oriented_detection" if oriented else "detection",
        family="detection",
        data_kind="objects",
        trainable=True,
        bands=RGB,
        gsd=0.5,
        licence="academic research use (see the homepage); no open licence stated",
        citation=(
            "Cheng, G., Wang, J., Li, K., Xie, X., Lang, C., Yao, Y., Han, J. (2022). "
            "Anchor-free Oriented Proposal Generator for Object Detection. IEEE TGRS 60, "
            "5625411. doi:10.1109/TGRS.2022.3183022; and "
            if oriented
            else ""
        )
        + (
            "Li, K., Wan, G., Cheng, G., Meng, L., Han, J. (2020). Object detection in optical "
            "remote sensing images: A survey and a new benchmark. ISPRS Journal of "
            "Photogrammetry and Remote Sensing 159, 296-307. doi:10.1016/j.isprsjprs.2019.11.023"
        ),
        homepage=DIOR_HOMEPAGE,
        files=files,
        layout="dior_r" if oriented else "dior",
        splits=("train", "val", "test"),
        split_source=(
            "the authors' ImageSets/Main/train.txt, val.txt and test.txt (5862/5863/11738 images)"
        ),
        classes=classes(DIOR_CLASSES),
        notes=(
            "23,463 Google Earth images of 800x800 pixels (gsd 0.5 to 30 m) with 192,472 "
            f"objects in VOC-style XML, one file per image. prepare writes {box} to "
            "objects.csv and links the JPEGs; coordinates are taken as published (no 1-based "
            "shift); class counts are objects." + (TRAINED_AS_HORIZONTAL if oriented else "")
        ),
    )


DIOR = _dior(oriented=False)
DIOR_R = _dior(oriented=True)

VHR10_MIRROR = (
    "https://hf.co/datasets/torchgeo/vhr10/resolve/7e7968ad265dadc4494e0ca4a079e0b63dc6f3f8"
)

NWPU_VHR10 = DatasetEntry(
    name="nwpu-vhr10",
    title="NWPU VHR-10 (ten-class object detection)",
    task="detection",
    family="detection",
    data_kind="objects",
    trainable=True,
    bands=RGB,
    gsd=0.5,
    licence="academic research use (see the homepage); no open licence stated",
    citation=(
        "Cheng, G., Han, J., Zhou, P., Guo, L. (2014). Multi-class geospatial object detection "
        "and geographic image classification based on collection of part detectors. ISPRS "
        "Journal of Photogrammetry and Remote Sensing 98, 119-132. "
        "doi:10.1016/j.isprsjprs.2014.10.002"
    ),
    homepage="https://gcheng-nwpu.github.io/#Datasets",
    files=(
        RemoteFile(
            url=f"{VHR10_MIRROR}/NWPU%20VHR-10%20dataset.zip",
            filename="NWPU VHR-10 dataset.zip",
            md5="6add6751469c12dd8c8d6223064c6c4d",
            checksum_source="MD5 as recorded by TorchGeo (VHR10) for this URL",
            extract=True,
        ),
        RemoteFile(
            url=f"{VHR10_MIRROR}/annotations.json",
            filename="annotations.json",
            md5="7c76ec50c17a61bb0514050d20f22c08",
            checksum_source="MD5 as recorded by TorchGeo (VHR10) for this URL",
            splits=("positive",),
        ),
    ),
    layout="nwpu_vhr10",
    splits=("positive", "negative"),
    split_source=(
        "no official train/test split: the published positive image set (650 images, every "
        "one with objects) and negative image set (150 images without objects)"
    ),
    classes=classes(
        (
            "airplane",
            "ship",
            "storage tank",
            "baseball diamond",
            "tennis court",
            "basketball court",
            "ground track field",
            "harbor",
            "bridge",
            "vehicle",
        )
    ),
    notes=(
        "800 images: 715 Google Earth RGB (0.5 to 2 m) and 85 colour-infrared Vaihingen "
        "orthophotos (0.08 m, bands NIR, red, green in the RGB slots). Boxes from the COCO "
        "annotations.json of the TorchGeo mirror (bbox [x, y, w, h], category ids 1..10, "
        "names with underscores), written as horizontal boxes; the negative split's "
        "objects.csv has no rows. Class counts are objects."
    ),
)

XVIEW3_MANUAL = (
    "xView3-SAR needs a free account at https://iuu.xview.us (accept the data licence). "
    "Download {what}"
)

XVIEW3 = DatasetEntry(
    name="xview3-sar",
    title="xView3-SAR (dark vessel detection in Sentinel-1 scenes)",
    task="detection",
    family="detection",
    data_kind="geo",
    trainable=True,
    bands=S1_VV_VH,
    gsd=10.0,
    licence="CC BY-NC-SA 4.0",
    citation=(
        "Paolo, F., Lin, T.-T., Gupta, R., Goodman, B., Patel, N., Kuster, D., Kroodsma, D., "
        "Dunnmon, J. (2022). xView3-SAR: Detecting Dark Fishing Activity Using Synthetic "
        "Aperture Radar Imagery. NeurIPS 2022 Datasets and Benchmarks. arXiv:2206.00897"
    ),
    homepage="https://iuu.xview.us/",
    files=(
        RemoteFile(
            url="https://iuu.xview.us/",
            filename="train.csv",
            checksum_source=NONE_PUBLISHED,
            splits=("train",),
            manual=XVIEW3_MANUAL.format(what="the training labels train.csv and place it here."),
        ),
        RemoteFile(
            url="https://iuu.xview.us/",
            filename="validation.csv",
            checksum_source=NONE_PUBLISHED,
            splits=("validation",),
            manual=XVIEW3_MANUAL.format(
                what="the validation labels validation.csv and place it here."
            ),
        ),
        *(
            RemoteFile(
                url="https://iuu.xview.us/",
                filename=f"xview3-{split}-scenes.tar",
                checksum_source=NONE_PUBLISHED,
                extract=True,
                splits=(split,),
                manual=XVIEW3_MANUAL.format(
                    what=f"the {split} scene archives (one <scene_id>.tar.gz per scene), "
                    "unpack them into one folder and pack the scene folders into one "
                    f"uncompressed tar named xview3-{split}-scenes.tar "
                    f"(tar -cf xview3-{split}-scenes.tar <scene_id> ...)."
                ),
            )
            for split in ("train", "validation")
        ),
    ),
    layout="xview3",
    splits=("train", "validation"),
    split_source=(
        "the challenge's train (554 scenes, labels mostly from AIS matching) and validation "
        "(50 scenes, labelled by experts) sets; the public and holdout test scenes have no "
        "public labels"
    ),
    classes=classes(("vessel", "non-vessel")),
    notes=(
        "Sentinel-1 IW GRD scenes (about 29,400x24,400 pixels at 10 m) with VV_dB.tif, "
        "VH_dB.tif and ancillary rasters (bathymetry, owiMask, owiWindSpeed, ...). Labels are "
        "points (detect_scene_row/column) with is_vessel, is_fishing, vessel_length_m, "
        "confidence and, for some, a box (top, left, bottom, right). prepare links each "
        "scene folder as scenes/<scene_id>/ and writes objects.csv: the published box where "
        "given, else a square of the vessel length (at 10 m per pixel) centred on the point, "
        "clipped to the scene; rows with neither box nor length go to points.csv. Class: "
        "vessel or non-vessel (is_vessel empty: left out to points.csv); is_fishing and "
        "confidence are attribute columns. Class counts are objects in objects.csv. For "
        "training, each scene also gets catalogs/<scene_id>.parquet (VV_dB.tif and "
        "VH_dB.tif as bands S1.VV and S1.VH) and objects/<scene_id>.parquet (the boxes in "
        "the scene's map coordinates); the data config pairs them (data.kind geo), so "
        "training reads windows drawn around the vessels (class-balanced) from the scenes "
        "on disk, and validation tiles the validation scenes."
    ),
)

M4SAR_CLASSES = ("bridge", "harbor", "oil_tank", "playground", "airport", "wind_turbine")
"""M4-SAR's six classes by YOLO class id."""

M4SAR = DatasetEntry(
    name="m4-sar",
    title="M4-SAR (optical-SAR fusion oriented object detection)",
    task="oriented_detection",
    family="detection",
    data_kind="objects",
    trainable=True,
    bands=(*RGB, "S1.VV"),
    gsd=10.0,
    licence="not stated by the authors (see the homepage); treat as research use only",
    citation=(
        "Wang, C., Lu, W., Li, X., Yang, J., Luo, L. (2025). M4-SAR: A Multi-Resolution, "
        "Multi-Polarization, Multi-Scene, Multi-Source Dataset and Benchmark for "
        "Optical-SAR Fusion Object Detection. arXiv:2505.10931"
    ),
    homepage="https://github.com/wchao0601/M4-SAR",
    files=(
        RemoteFile(
            url="https://huggingface.co/datasets/wchao0601/m4-sar",
            filename="M4-SAR.zip",
            checksum_source=NONE_PUBLISHED,
            extract=True,
            manual=(
                "the authors publish M4-SAR on Hugging Face, Kaggle and Baidu Pan without a "
                "stable file URL eoforge can name; download it and place it here as one zip "
                "named M4-SAR.zip that holds M4-SAR/optical/{images,labels}/{train,val,test}/ "
                "and M4-SAR/sar/images/{train,val,test}/"
            ),
        ),
    ),
    layout="m4sar",
    splits=("train", "val", "test"),
    split_source="the authors' train/val/test folders (as in their Ultralytics M4-SAR.yaml)",
    classes=classes(M4SAR_CLASSES),
    notes=(
        "112,174 aligned pairs of 512x512 optical and SAR JPEGs (1 to 56087: 10 m optical "
        "with VH; 56088 to 112174: 60 m optical with VV) and nearly one million oriented "
        "boxes in YOLO-OBB label files (class id and four corners as fractions of the image "
        "size). prepare links the optical images to images/ and the SAR images to "
        "images_sar/ (same names) and writes objects.csv in pixels; class counts are objects. "
        "The data section pairs them (data.pair: the SAR JPEG's first channel, named S1.VV "
        "for every pair although images 1 to 56087 are VH: one SAR channel per pair either "
        "way); train it with two_stream_oriented_fcos."
    ),
)


ENTRIES: tuple[DatasetEntry, ...] = (DOTA_V10, DOTA_V15, DIOR, DIOR_R, NWPU_VHR10, XVIEW3, M4SAR)
"""The entries of this module, in listing order."""
