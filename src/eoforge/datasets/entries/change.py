"""Change-detection datasets: bi-temporal pairs with change masks."""

from __future__ import annotations

from eoforge.datasets.entries.common import RGB, S2_13, classes
from eoforge.datasets.entry import DatasetEntry, RemoteFile

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
    classes=classes(("no change", "change"), ("#000000", "#ffffff")),
    notes="637 pairs of 1024x1024 RGB PNGs; change masks stored 0/255, read as 0/1.",
)

NO_CHECKSUM = "none published: the SHA-256 is recorded on first download"
"""``checksum_source`` of files whose publishers give no checksum."""

S2LOOKING = DatasetEntry(
    name="s2looking",
    title="S2Looking side-looking satellite building change detection",
    task="change",
    family="change",
    data_kind="change_triplet",
    trainable=True,
    bands=RGB,
    gsd=0.5,
    licence="academic use (see the homepage); no open licence stated",
    citation=(
        "Shen, L., Lu, Y., Chen, H., Wei, H., Xie, D., Yue, J., Chen, R., Lv, S., Jiang, B. "
        "(2021). S2Looking: A Satellite Side-Looking Dataset for Building Change Detection. "
        "Remote Sensing 13(24), 5094. doi:10.3390/rs13245094"
    ),
    homepage="https://github.com/S2Looking/Dataset",
    files=(
        RemoteFile(
            url="https://drive.google.com/drive/folders/1zzb6hif2hwWx4z8UIMLpMAInkhbmmrFY",
            filename="S2Looking.zip",
            checksum_source=NO_CHECKSUM,
            extract=True,
            approx_size=10_960_000_000,
            manual=(
                "the authors share S2Looking.zip (about 11 GB) in a Google Drive folder (and on "
                "Baidu Drive, password rshe, see https://github.com/S2Looking/Dataset); Google "
                "Drive asks a browser to confirm large downloads, so download it in a browser"
            ),
        ),
    ),
    layout="s2looking",
    splits=("train", "val", "test"),
    split_source="the archive's train/, val/ and test/ folders (3500/500/1000 pairs)",
    classes=classes(("no change", "change"), ("#000000", "#ffffff")),
    notes=(
        "5000 pairs of 1024x1024 RGB PNGs (0.5-0.8 m, rural areas, off-nadir views). label1/ "
        "marks newly built and label2/ demolished buildings; label/ is their union. Prepare "
        "links Image1/ as A/, Image2/ as B/ and label/ as label/ (change = any non-zero value); "
        "a label stored as a colour PNG (new and demolished in different channels) is written "
        "as a single-band 0/255 PNG instead, so that change_triplet reads every change."
    ),
)

OSCD_MIRROR = "https://partage.imt.fr/index.php/s"
OSCD_IMAGES = "OSCD-Images.zip"
OSCD_TRAIN_LABELS = "OSCD-Train-Labels.zip"
OSCD_TEST_LABELS = "OSCD-Test-Labels.zip"
"""Local names of the three OSCD downloads, which the server names "Onera Satellite Change
Detection dataset - Images.zip", "... - Train Labels.zip" and "... - Test Labels.zip"."""

OSCD = DatasetEntry(
    name="oscd",
    title="OSCD Onera Satellite Change Detection (Sentinel-2)",
    task="change",
    family="change",
    data_kind="change_triplet",
    trainable=True,
    bands=S2_13,
    gsd=10.0,
    licence=(
        "no licence stated on the homepage (cite the paper); the images are Copernicus "
        "Sentinel-2 data (free, full and open)"
    ),
    citation=(
        "Daudt, R. C., Le Saux, B., Boulch, A., Gousseau, Y. (2018). Urban Change Detection "
        "for Multispectral Earth Observation Using Convolutional Neural Networks. IGARSS 2018, "
        "2115-2118. doi:10.1109/IGARSS.2018.8518015"
    ),
    homepage="https://rcdaudt.github.io/oscd/",
    files=(
        RemoteFile(
            url=f"{OSCD_MIRROR}/gKRaWgRnLMfwMGo/download",
            filename=OSCD_IMAGES,
            md5="c50d4a2941da64e03a47ac4dec63d915",
            checksum_source="MD5 as recorded by TorchGeo 0.8 for this URL",
            extract=True,
        ),
        RemoteFile(
            url="https://partage.mines-telecom.fr/index.php/s/2D6n03k58ygBSpu/download",
            filename=OSCD_TRAIN_LABELS,
            md5="4d2965af8170c705ebad3d6ee71b6990",
            checksum_source="MD5 as recorded by TorchGeo 0.8 for this URL",
            extract=True,
            splits=("train",),
        ),
        RemoteFile(
            url=f"{OSCD_MIRROR}/gpStKn4Mpgfnr63/download",
            filename=OSCD_TEST_LABELS,
            md5="8177d437793c522653c442aa4e66c617",
            checksum_source="MD5 as recorded by TorchGeo 0.8 for this URL",
            extract=True,
            splits=("test",),
        ),
    ),
    layout="oscd",
    splits=("train", "test"),
    split_source="train.txt and test.txt of the images archive (14 and 10 cities)",
    classes=classes(("no change", "change"), ("#000000", "#ffffff")),
    notes=(
        "24 city pairs of Sentinel-2 L1C images (about 600x600 px, 10 m), one GeoTIFF per band "
        "and date in imgs_1_rect/ and imgs_2_rect/, with urban change masks. Prepare stacks "
        "each date's 13 bands in S2 order (B01..B08, B8A, B09..B12) into one lossless GeoTIFF "
        "A/<city>.tif and B/<city>.tif, on the 10 m (B02) grid (coarser bands are repeated "
        "by nearest neighbour where their grid differs), and writes label/<city>.tif 0/1 "
        "from cm/cm.png (non-zero = change) or, without it, cm/<city>-cm.tif (2 = change). "
        "No validation split is published. The three downloads are stored as OSCD-Images.zip, "
        "OSCD-Train-Labels.zip and OSCD-Test-Labels.zip (the server's names have spaces)."
    ),
)

DSIFN = DatasetEntry(
    name="dsifn-cd",
    title="DSIFN-CD bi-temporal change detection (six Chinese cities)",
    task="change",
    family="change",
    data_kind="change_triplet",
    trainable=True,
    bands=RGB,
    gsd=2.0,
    licence="scientific research use, citing the paper (the authors' README); no open licence",
    citation=(
        "Zhang, C., Yue, P., Tapete, D., Jiang, L., Shangguan, B., Huang, L., Liu, G. (2020). "
        "A deeply supervised image fusion network for change detection in high resolution "
        "bi-temporal remote sensing images. ISPRS Journal of Photogrammetry and Remote Sensing "
        "166, 183-200. doi:10.1016/j.isprsjprs.2020.06.003"
    ),
    homepage=(
        "https://github.com/GeoZcx/A-deeply-supervised-image-fusion-network-for-change-"
        "detection-in-remote-sensing-images/tree/master/dataset"
    ),
    files=(
        RemoteFile(
            url="https://pan.baidu.com/s/19TRsdPiRym9DoV76DukQ5g",
            filename="DSIFN-CD.zip",
            checksum_source=NO_CHECKSUM,
            extract=True,
            manual=(
                "the authors share the dataset on Baidu Cloud only (password hetu; a Baidu "
                "account is needed); download its folder with train/, val/ and test/ (each "
                "with t1/, t2/ and mask/) and zip it as DSIFN-CD.zip"
            ),
        ),
    ),
    layout="dsifn",
    splits=("train", "val", "test"),
    split_source="the authors' train/, val/ and test/ folders (3600/340/48 pairs)",
    classes=classes(("no change", "change"), ("#000000", "#ffffff")),
    notes=(
        "Google Earth RGB pairs of 512x512 px from six cities; train and val are augmented "
        "crops of Beijing, Chengdu, Shenzhen, Chongqing and Wuhan, test is Xian. Images are "
        "JPEGs; masks are PNGs in train/val and TIFFs in test (non-zero = change). Prepare "
        "links t1/ as A/, t2/ as B/ and mask/ as label/ (masks with several bands are written "
        "as single-band 0/255 PNGs). The GSD is not stated by the authors (about 2 m)."
    ),
)

BRIGHT = DatasetEntry(
    name="bright",
    title="BRIGHT building damage (optical pre-event, SAR post-event; DFC 2025 track 2)",
    task="change",
    family="segmentation",
    data_kind="group_chips",
    trainable=True,
    bands=(*RGB, "XSAR.amplitude"),
    gsd=0.5,
    licence=(
        "labels follow the optical images' licence: CC BY-NC 4.0 (Maxar Open Data) except "
        "Hawaii 2023 (NOAA) and La Palma 2021 (IGN Spain, CC BY 4.0)"
    ),
    citation=(
        "Chen, H., Song, J., Dietrich, O., Broni-Bediako, C., Xuan, W., Wang, J., Shao, X., "
        "Wei, Y., Xia, J., Lan, C., Schindler, K., Yokoya, N. (2025). BRIGHT: A globally "
        "distributed multimodal building damage assessment dataset with very-high-resolution "
        "for all-weather disaster response. arXiv:2501.06019"
    ),
    homepage="https://github.com/ChenHongruixuan/BRIGHT",
    files=(
        RemoteFile(
            url=(
                "https://huggingface.co/datasets/torchgeo/bright/resolve/"
                "d19972f5e682ad684dcde35529a6afad4c719f1b/dfc25_track2_trainval_with_split.zip"
            ),
            filename="dfc25_track2_trainval_with_split.zip",
            md5="45fd96716e7f5673869b166859a6cb3c",
            checksum_source="MD5 as recorded by TorchGeo for this URL",
            extract=True,
        ),
    ),
    layout="bright",
    splits=("train", "val", "test"),
    split_source=(
        "the DFC 2025 split lists in the archive: train_setlevel.txt (train), "
        "holdout_setlevel.txt (val, also from train/) and val_setlevel.txt (test: the "
        "contest's validation images, published without targets)"
    ),
    classes=classes(
        ("background", "intact", "damaged", "destroyed"),
        ("#ffffff", "#008000", "#deb887", "#ff0000"),
    ),
    notes=(
        "1024x1024 GeoTIFF pairs at 0.3-1 m: pre-event optical RGB (Maxar, NAIP, NOAA, IGN), "
        "post-event single-band SAR (Capella, Umbra: band XSAR.amplitude), building damage "
        "targets 0-3. TorchGeo's mirror of the contest archive with the split lists added. "
        "Prepare links <split>/pre/<id>.tif, <split>/post/<id>.tif and <split>/target/<id>.tif "
        "(no target/ in test), read by data.kind group_chips as two input groups (pre: RGB, "
        "post: the SAR band) with background as class 0 (configs/bright.yaml). Class "
        "colours are TorchGeo's display colours."
    ),
)


ENTRIES: tuple[DatasetEntry, ...] = (LEVIRCD, S2LOOKING, OSCD, DSIFN, BRIGHT)
"""The entries of this module, in listing order."""
