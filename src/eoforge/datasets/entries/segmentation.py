"""Semantic-segmentation datasets: images with class masks (or footprints rasterised into them)."""

from __future__ import annotations

from eoforge.classes import ClassInfo
from eoforge.datasets.entries.common import RGB, classes
from eoforge.datasets.entry import DatasetEntry, RemoteFile

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
    classes=classes(
        ("background", "building", "woodland", "water", "road"),
        ("#000000", "#614a4a", "#267300", "#00c5ff", "#cfcfcf"),
    ),
    notes=(
        "41 orthophotos (33 at 25 cm, 8 at 50 cm) cut by prepare into the official 512x512 "
        "tiles (the archive's split.py grid); tiles are written as lossless GeoTIFFs where "
        "split.py writes JPEGs, so pixel values match the orthophotos exactly."
    ),
)

SPACENET_TARBALLS = "https://spacenet-dataset.s3.amazonaws.com/spacenet/SN2_buildings/tarballs"
"""The SpaceNet 2 tarballs of the AWS open-data bucket ``s3://spacenet-dataset/``, over HTTPS."""

SPACENET2_AOIS = {
    "AOI_2_Vegas": "307da318bc43aaf9481828f92eda9126",
    "AOI_3_Paris": "4db469e3e4e7bf025368ad730aec0888",
    "AOI_4_Shanghai": "986129eecd3e842ebc2063d43b407adb",
    "AOI_5_Khartoum": "462b4bf0466c945d708befabd4d9115b",
}
"""SpaceNet 2's four areas of interest and the MD5 of each one's labelled training tarball."""

SPACENET2_VAL_SHARE = 0.2
"""Share of each area's labelled images that prepare holds out as ``val``."""

SPACENET2 = DatasetEntry(
    name="spacenet2",
    title="SpaceNet 2: Building Detection v2 (pan-sharpened RGB)",
    task="segmentation",
    family="segmentation",
    data_kind="image_mask",
    trainable=True,
    bands=("WV3.red", "WV3.green", "WV3.blue"),
    gsd=0.3,
    licence="CC BY-SA 4.0",
    citation=(
        "Van Etten, A., Lindenbaum, D., Bacastow, T. M. (2018). SpaceNet: A Remote Sensing "
        "Dataset and Challenge Series. arXiv:1807.01232"
    ),
    homepage="https://spacenet.ai/spacenet-buildings-dataset-v2/",
    files=tuple(
        RemoteFile(
            url=f"{SPACENET_TARBALLS}/SN2_buildings_train_{aoi}.tar.gz",
            filename=f"SN2_buildings_train_{aoi}.tar.gz",
            md5=md5,
            checksum_source=(
                "MD5 as recorded by TorchGeo (SpaceNet2) for this object of "
                "s3://spacenet-dataset/spacenet/SN2_buildings/tarballs/"
            ),
            extract=True,
        )
        for aoi, md5 in SPACENET2_AOIS.items()
    ),
    layout="spacenet2",
    splits=("train", "val"),
    split_source=(
        "none published with labels (the AOI_*_Test_public tarballs have no footprints): "
        "prepare holds out about 20% of each area's images as val, an image going to val when "
        "the first 8 bytes of SHA-256('spacenet2-val:<AOI>_img<N>'), read as a big-endian "
        "integer, are below 0.2 * 2**64 (the same images on every run and machine)"
    ),
    classes=classes(("background", "building"), ("#000000", "#ff0000")),
    notes=(
        "10,592 WorldView-3 tiles of 650x650 pixels (200 m) over Las Vegas, Paris, Shanghai and "
        "Khartoum, with building footprints as GeoJSON. Prepare links the 16-bit pan-sharpened "
        "RGB tiles (RGB-PanSharpen/, bands in file order red, green, blue) as "
        "<split>/images/<AOI>_img<N>.tif and rasterises each tile's footprints on its grid into "
        "<split>/masks/<AOI>_img<N>.tif (lossless GeoTIFF, 0 background, 1 building: pixels "
        "whose centre lies in a footprint; an empty GeoJSON gives an all-zero mask). The MUL, "
        "MUL-PanSharpen and PAN tiles stay in the extracted folders."
    ),
)

ISPRS_CLASSES = (
    ("impervious_surfaces", "#ffffff"),
    ("building", "#0000ff"),
    ("low_vegetation", "#00ffff"),
    ("tree", "#00ff00"),
    ("car", "#ffff00"),
    ("clutter", "#ff0000"),
)
"""The six classes of the ISPRS 2D semantic labeling benchmark and the colours that mark them in
the colour-coded label images (class colour = mask colour)."""

ISPRS_CITATION = (
    "Rottensteiner, F., Sohn, G., Jung, J., Gerke, M., Baillard, C., Benitez, S., Breitkopf, "
    "U. (2012). The ISPRS benchmark on urban object classification and 3D building "
    "reconstruction. ISPRS Annals I-3, 293-298. doi:10.5194/isprsannals-I-3-293-2012"
)
ISPRS_LICENCE = (
    "ISPRS benchmark terms: free for research after the data request form; not to be "
    "redistributed; publications cite the benchmark"
)
ISPRS_MANUAL = (
    "the ISPRS benchmark data are given out after the data request form on the benchmark's "
    "page: fill it in, download {file} with the access details the ISPRS sends, and put it "
    "in the dataset folder"
)
ISPRS_NO_CHECKSUM = (
    "none published (TorchGeo records a truncated, unusable MD5 for 5_Labels_all.zip and none "
    "for this file): the SHA-256 is recorded on first download"
)

POTSDAM_PAGE = (
    "https://www.isprs.org/resources/datasets/benchmarks/UrbanSemLab/2d-sem-label-potsdam.aspx"
)

POTSDAM_TRAIN = (
    "2_10", "2_11", "2_12", "3_10", "3_11", "3_12", "4_10", "4_11", "4_12", "5_10", "5_11",
    "5_12", "6_10", "6_11", "6_12", "6_7", "6_8", "6_9", "7_10", "7_11", "7_12", "7_7", "7_8",
    "7_9",
)  # fmt: skip
"""The 24 Potsdam tiles labelled for the contest's participants (``top_potsdam_<tile>``)."""

POTSDAM_TEST = (
    "2_13", "2_14", "3_13", "3_14", "4_13", "4_14", "4_15", "5_13", "5_14", "5_15", "6_13",
    "6_14", "6_15", "7_13",
)  # fmt: skip
"""The 14 Potsdam test tiles (labels released with 5_Labels_all.zip after the contest)."""

POTSDAM_SPLITS = {"train": POTSDAM_TRAIN, "test": POTSDAM_TEST}
"""Split -> its Potsdam tiles."""

POTSDAM = DatasetEntry(
    name="isprs-potsdam",
    title="ISPRS 2D Semantic Labeling: Potsdam (RGB orthophotos)",
    task="segmentation",
    family="segmentation",
    data_kind="image_mask",
    trainable=True,
    bands=RGB,
    gsd=0.05,
    licence=ISPRS_LICENCE,
    citation=ISPRS_CITATION,
    homepage=POTSDAM_PAGE,
    files=tuple(
        RemoteFile(
            url=POTSDAM_PAGE,
            filename=filename,
            checksum_source=ISPRS_NO_CHECKSUM,
            extract=True,
            approx_size=size,
            manual=ISPRS_MANUAL.format(file=filename),
        )
        for filename, size in (("2_Ortho_RGB.zip", 4_000_000_000), ("5_Labels_all.zip", 50_000_000))
    ),
    mask_colours=True,
    layout="isprs_potsdam",
    splits=("train", "test"),
    split_source=(
        "the benchmark's 24 training and 14 test tiles (2D semantic labeling contest), as "
        "listed by TorchGeo's Potsdam2D"
    ),
    classes=tuple(
        ClassInfo(id=i, name=name, color=colour) for i, (name, colour) in enumerate(ISPRS_CLASSES)
    ),
    notes=(
        "38 true orthophoto tiles of 6000x6000 pixels at 5 cm over Potsdam "
        "(2_Ortho_RGB/top_potsdam_<tile>_RGB.tif, 8-bit RGB) with colour-coded label images "
        "(top_potsdam_<tile>_label.tif in 5_Labels_all.zip). Prepare links them as "
        "<split>/images/top_potsdam_<tile>.tif and <split>/masks/top_potsdam_<tile>.tif; the "
        "masks stay colour-coded (the classes' colours are the mask colours: give them as "
        "data.classes[].mask_color). Class counts are pixels per colour; a colour no class "
        "has is counted as 'colour #rrggbb'. The RGBIR, IRRG and DSM archives are not used."
    ),
)


ENTRIES: tuple[DatasetEntry, ...] = (LANDCOVERAI, SPACENET2, POTSDAM)
"""The entries of this module, in listing order."""
