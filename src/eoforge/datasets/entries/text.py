"""Image-text datasets: images (or the web addresses of images) with captions."""

from __future__ import annotations

from eoforge.datasets.entries.common import RGB, S1_VV_VH, S2_12
from eoforge.datasets.entry import DatasetEntry, RemoteFile

IMAGE_TEXT_LATER = (
    "language and location (image-text): no task family trains on image-caption pairs yet "
    "(a contrastive image-text model and a caption reader are missing)"
)
"""What the image-text entries wait for."""

SKYSCRIPT_BUCKET = "https://opendatasharing.s3.us-west-2.amazonaws.com/SkyScript"
"""Where the authors publish SkyScript (the repository README's download commands)."""

SKYSCRIPT_IMAGE_MD5 = {
    "images2.zip": "fbfb5f7aa1731f4106fc3ffbd608100a",
    "images3.zip": "ad4fd9fdb9622d1ea360210cb222f2bd",
    "images4.zip": "aeeb41e830304c74b14b5ffc1fc8e8c3",
    "images5.zip": "02ee7e0e59f9ac1c87b678a155e1f1df",
    "images6.zip": "350475f1e7fb996152fa16db891b4142",
    "images7.zip": "5e2fbf3e9262b36e30b458ec9a1df625",
}
"""The six image archives and their MD5s as recorded by TorchGeo for these URLs."""

SKYSCRIPT_CAPTIONS = {
    "train": "SkyScript_train_top30pct_filtered_by_CLIP_openai.csv",
    "val": "SkyScript_val_5K_filtered_by_CLIP_openai.csv",
    "test": "SkyScript_test_30K_filtered_by_CLIP_openai.csv",
}
"""Split to its caption CSV (the CLIP-filtered sets TorchGeo uses)."""

SKYSCRIPT = DatasetEntry(
    name="skyscript",
    title="SkyScript (remote-sensing image-text pairs from OpenStreetMap tags)",
    task="image_text",
    family=None,
    data_kind=None,
    trainable=False,
    later=IMAGE_TEXT_LATER,
    bands=RGB,
    gsd=0.1,
    licence=(
        "no data licence stated by the authors; images come from Google Earth Engine "
        "collections under their providers' terms, captions from OpenStreetMap tags (ODbL)"
    ),
    citation=(
        "Wang, Z., Prabha, R., Huang, T., Wu, J., Rajagopal, R. (2024). SkyScript: A Large and "
        "Semantically Diverse Vision-Language Dataset for Remote Sensing. AAAI 2024. "
        "arXiv:2312.12856"
    ),
    homepage="https://github.com/wangzhecheng/SkyScript",
    files=(
        *(
            RemoteFile(
                url=f"{SKYSCRIPT_BUCKET}/{name}",
                filename=name,
                md5=md5,
                checksum_source="MD5 as recorded by TorchGeo for this URL",
                extract=True,
            )
            for name, md5 in SKYSCRIPT_IMAGE_MD5.items()
        ),
        *(
            RemoteFile(
                url=f"{SKYSCRIPT_BUCKET}/dataframe/{name}",
                filename=name,
                checksum_source=(
                    "none published for this URL (TorchGeo records MD5s for copies outside "
                    "dataframe/): the SHA-256 is recorded on first download"
                ),
                splits=(split,),
            )
            for split, name in SKYSCRIPT_CAPTIONS.items()
        ),
    ),
    layout="skyscript",
    splits=("train", "val", "test"),
    split_source=(
        "the authors' caption CSVs: train = top 30% of pairs by CLIP (OpenAI) similarity "
        "(1.5 M), val = 5K, test = 30K"
    ),
    notes=(
        "5.2 million JPEG images (RGB, 0.1 m to 30 m ground sampling distance by source; gsd "
        "is the finest) in six archives images2.zip to images7.zip. prepare links each "
        "split's images into <split>/images/ under their published file names and writes "
        "<split>/captions.csv (image,caption; UTF-8) from the CSV's title column (the caption "
        "of the focus object). Counts are images."
    ),
)


GAIA_HF = "https://huggingface.co/datasets/azavras/GAIA/resolve/main"
"""The authors' Hugging Face dataset (the repository README's download instructions)."""

GAIA_FILES = {
    "train": ("train_data.json", 52_600_000),
    "val": ("val_data.json", 7_120_000),
    "test": ("test_data.json", 14_900_000),
}
"""Split to its JSON file and its approximate size in bytes (the Hugging Face file list)."""

GAIA = DatasetEntry(
    name="gaia",
    title="GAIA (global multi-modal, multi-scale remote-sensing image-text pairs)",
    task="image_text",
    family=None,
    data_kind=None,
    trainable=False,
    later=IMAGE_TEXT_LATER,
    bands=RGB,
    gsd=None,
    licence=(
        "MIT (the Hugging Face dataset card) for the records and captions; the images stay "
        "with the web sources named in each record's credits field"
    ),
    citation=(
        "Zavras, A., Michail, D., Zhu, X. X., Demir, B., Papoutsis, I. (2025). GAIA: A Global, "
        "Multi-modal, Multi-scale Vision-Language Dataset for Remote Sensing Image Analysis. "
        "arXiv:2502.09598"
    ),
    homepage="https://github.com/Orion-AI-Lab/GAIA",
    files=tuple(
        RemoteFile(
            url=f"{GAIA_HF}/{name}",
            filename=name,
            approx_size=size,
            checksum_source="none published: the SHA-256 is recorded on first download",
            splits=(split,),
        )
        for split, (name, size) in GAIA_FILES.items()
    ),
    layout="gaia",
    splits=("train", "val", "test"),
    split_source=(
        "the authors' split files: spatio-temporally stratified train (70%), test (20%) and "
        "validation (10%)"
    ),
    notes=(
        "41,030 web-scraped images of 25 years (1998-2024) of Earth observation (optical, SAR, "
        "thermal and other modalities, many resolutions; bands and gsd are nominal), each with "
        "five GPT-4o captions (205,150 pairs); 28.9k train, 3.93k val and 8.17k test records "
        "(the Hugging Face viewer). The images are NOT distributed: each record's "
        "image_src is the image's web address, and the authors rebuild the images with "
        "img2dataset. prepare writes <split>/captions.csv (id,image_src,caption; one row per "
        "caption; UTF-8), a table img2dataset reads as it is, and no images folder. Counts are "
        "images (records)."
    ),
)

CHATEARTHNET_RECORD = "https://zenodo.org/records/11003436/files"
"""The authors' Zenodo record (DOI 10.5281/zenodo.11003436, the repository README's link)."""

CHATEARTHNET = DatasetEntry(
    name="chatearthnet",
    title="ChatEarthNet (Sentinel-2 RGB patches with ChatGPT land-cover captions)",
    task="image_text",
    family=None,
    data_kind=None,
    trainable=False,
    later=IMAGE_TEXT_LATER,
    bands=("S2.B04", "S2.B03", "S2.B02"),
    gsd=10.0,
    licence="CC-BY-4.0 (the authors' repository README)",
    citation=(
        "Yuan, Z., Xiong, Z., Mou, L., Zhu, X. X. (2025). ChatEarthNet: a global-scale "
        "image-text dataset empowering vision-language geo-foundation models. Earth System "
        "Science Data 17, 1245. https://doi.org/10.5194/essd-17-1245-2025"
    ),
    homepage="https://github.com/zhu-xlab/ChatEarthNet",
    files=(
        RemoteFile(
            url=f"{CHATEARTHNET_RECORD}/json_files.zip",
            filename="json_files.zip",
            md5="ac365a328d645641ca28315bee9e1d25",
            approx_size=21_400_000,
            checksum_source="MD5 published on the Zenodo record",
            extract=True,
        ),
        RemoteFile(
            url=f"{CHATEARTHNET_RECORD}/s2_rgb_images.zip",
            filename="s2_rgb_images.zip",
            md5="5425015e2537271044341403e8d90965",
            approx_size=13_000_000_000,
            checksum_source="MD5 published on the Zenodo record (its 13.0 GB file)",
            extract=True,
        ),
    ),
    layout="chatearthnet",
    splits=("train", "val", "test"),
    split_source=(
        "the authors' caption files ChatEarthNet_caps_35_{train,val,test}.json "
        "(98,092 / 16,348 / 49,048 records)"
    ),
    notes=(
        "163,488 Sentinel-2 RGB patches (PNG, 10 m, global) with captions generated by "
        "ChatGPT-3.5 from ESA WorldCover land-cover maps and checked by hand. The record's two "
        "other archives (Sentinel-2 bands 5, 6, 7 and bands 8, 11, 12 as PNGs, 12.0 and 13.4 GB) "
        "are not downloaded, and the 10,000 ChatGPT-4V captions (ChatEarthNet_caps_4v_*.json, "
        "in json_files.zip) are not read. prepare links each split's images into "
        "<split>/images/ under their published names and writes <split>/captions.csv "
        "(image,caption; UTF-8). Counts are images."
    ),
)

BIGEARTHNET_TXT_HF = "https://huggingface.co/datasets/BIFOLD-BigEarthNetv2-0/BigEarthNet.txt"
"""The authors' Hugging Face dataset (the paper website links it)."""

BIGEARTHNET_TXT = DatasetEntry(
    name="bigearthnet-txt",
    title="BigEarthNet.txt (captions, VQA and referring expressions for BigEarthNet v2.0 patches)",
    task="image_text",
    family=None,
    data_kind=None,
    trainable=False,
    later=IMAGE_TEXT_LATER,
    bands=S2_12 + S1_VV_VH,
    gsd=10.0,
    licence="CDLA-Permissive-1.0",
    citation=(
        "Herzog, J.-L., Adler, M. J., Hackel, L., Shu, Y., Zavras, A., Papoutsis, I., Rota, P., "
        "Demir, B. (2026). BigEarthNet.txt: A Large-Scale Multi-Sensor Image-Text Dataset and "
        "Benchmark for Earth Observation. arXiv:2603.29630"
    ),
    homepage="https://txt.bigearth.net",
    files=(
        RemoteFile(
            url=f"{BIGEARTHNET_TXT_HF}/resolve/main/BigEarthNet.txt.parquet",
            filename="BigEarthNet.txt.parquet",
            approx_size=467_000_000,
            checksum_source="none published: the SHA-256 is recorded on first download",
        ),
    ),
    layout="bigearthnet_txt",
    splits=("train", "validation", "test"),
    split_source=(
        "the parquet's split column; test is the authors' manually verified benchmark split "
        "(1,082 image pairs, 15,029 annotations)"
    ),
    notes=(
        "About 9.6 million text annotations (columns ID, s1_name, patch_id, input, output, type, "
        "category, split, country, season, climate_zone) for 464,044 Sentinel-1/Sentinel-2 "
        "patch pairs of BigEarthNet v2.0; type is captioning, binary, mcq or bounding box. The "
        "images are NOT distributed here: they are the patches of the bigearthnet-v2 entry "
        "(BigEarthNet v2.0, Zenodo), keyed by patch_id (Sentinel-2) and s1_name (Sentinel-1). "
        "prepare writes <split>/captions.csv (patch_id,s1_name,caption) from the captioning "
        "rows (caption = output), one row per caption in file order, and no images folder; "
        "question answering and referring-expression rows stay in the parquet. Counts are "
        "patches with at least one caption; captioning rows whose split is none of the "
        "official ones are counted as unassigned."
    ),
)


ENTRIES: tuple[DatasetEntry, ...] = (SKYSCRIPT, GAIA, CHATEARTHNET, BIGEARTHNET_TXT)
"""The entries of this module, in listing order."""
