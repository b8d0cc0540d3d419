"""Semantic-segmentation datasets: images with class masks."""

from __future__ import annotations

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


ENTRIES: tuple[DatasetEntry, ...] = (LANDCOVERAI,)
"""The entries of this module, in listing order."""
