"""Change-detection datasets: bi-temporal pairs with change masks."""

from __future__ import annotations

from eoforge.datasets.entries.common import RGB, classes
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


ENTRIES: tuple[DatasetEntry, ...] = (LEVIRCD,)
"""The entries of this module, in listing order."""
