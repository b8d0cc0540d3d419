"""Unlabelled pretraining datasets: patches without labels, for self-supervised learning."""

from __future__ import annotations

from eoforge.datasets.entries.common import S1_VV_VH, S2_13
from eoforge.datasets.entry import DatasetEntry, RemoteFile

SSL4EO_S12_MIRROR = (
    "https://hf.co/datasets/wangyi111/SSL4EO-S12/resolve/3f5ddad68ba2ea29d019b0cef6cf292ff8af0d62"
)
"""The authors' Hugging Face copy at the revision TorchGeo pins."""

SSL4EO_S12_PARTS = {
    "s1_grd": (
        "6df278053fc3e4c3fd7de2f77856e606", "837755b4ba8d82faf254df9e5fec13a7",
        "6400423305d6084e2006eede75cf288e", "22a50d7362d9cbc9714e0740fe2122c7",
        "d6ac97ead00b4296a95376949c946b12", "d8047814061431dc627b9ae345c80891",
        "089ce0548cb7902ce873181cc61f5d70", "745b48c2896ca764ef54f91e4e7c555e",
        "c36595cf9617b3b7ea722f63dcccbedc", "cf16f1d81e8bff2d663e4eba79ec6fa3",
    ),
    "s2_l1c": (
        "a3ef419cc65c4d8ac19b9acc55726166", "580451e8fdf93067ad79202b95dd1a5c",
        "a6f7318868f5ba1d94fb9363b50307e4", "86f324215b04cdf4242d07aaf3cdfe57",
        "5895a545460f34b1712c17732e0f5533", "078078bc58d8ecc214ddfd838f796700",
        "3557dd4c24a5942020391a5baaf51abb", "d59f89271e414648663d3acb66121761",
        "1a213539c989d16da4e5b4e09feaa98a", "0b229af5633c7f63486b6d7771b737db",
        "babe8bed884d31b891151f5717a83b5c", "8d1f5ad28ee868ab0595c889446b8e5f",
    ),
    "s2_l2a": (
        "ef847d906ab44cc9a94d086a89473833", "4a6a8ed9e2a08887707d83bcb6eb57af",
        "00b706a771df4c4df4cc70a20d790339", "579024e84bd9ab0b86e1182792c8dcf9",
        "e259f3536355b665aea490c22c897e59", "2a15be319ad15f749bfd4ed85d14c172",
        "d8224cff1e727543473b0111e307110c", "0015d8aa5ea9201e13b401fd61c36c6f",
        "dfce87c0a9550177fd4b82887902b6e3", "688392701760b737ad74cb0e8c7fb731",
        "d8f3e4b110f22f0477973ed2c35586b6", "1cc3641cd52afedaa1c50d14d84a6664",
    ),
}  # fmt: skip
"""Archive to the MD5s of its parts ``.tar.gz.partaa``, ``partab``, ... in order (TorchGeo)."""


def _part_suffix(index: int) -> str:
    """``aa``, ``ab``, ... ``az``, ``ba``: the suffix of split(1)'s part ``index``."""
    return chr(ord("a") + index // 26) + chr(ord("a") + index % 26)


SSL4EO_S12 = DatasetEntry(
    name="ssl4eo-s12",
    title="SSL4EO-S12 (unlabelled Sentinel-1 GRD, Sentinel-2 L1C and L2A seasonal patches)",
    task="self_supervised",
    family=None,
    data_kind=None,
    trainable=False,
    later=(
        "foundation models (self-supervised pretraining): no task family pretrains on "
        "unlabelled patches yet (no seasonal-pair sampler, no SSL objective)"
    ),
    bands=(*S2_13, *S1_VV_VH),
    gsd=10.0,
    licence="CC BY 4.0",
    citation=(
        "Wang, Y., Braham, N.A.A., Xiong, Z., Liu, C., Albrecht, C.M., Zhu, X.X. (2023). "
        "SSL4EO-S12: A Large-Scale Multimodal, Multitemporal Dataset for Self-Supervised "
        "Learning in Earth Observation. IEEE Geoscience and Remote Sensing Magazine 11(3), "
        "98-106. arXiv:2211.07044"
    ),
    homepage="https://github.com/zhu-xlab/SSL4EO-S12",
    files=tuple(
        RemoteFile(
            url=f"{SSL4EO_S12_MIRROR}/{archive}/{archive}.tar.gz.part{_part_suffix(i)}",
            filename=f"{archive}.tar.gz.part{_part_suffix(i)}",
            md5=md5,
            checksum_source="MD5 as recorded by TorchGeo for this URL",
        )
        for archive, md5s in SSL4EO_S12_PARTS.items()
        for i, md5 in enumerate(md5s)
    ),
    layout="ssl4eo_s12",
    splits=("all",),
    split_source="none: an unlabelled pretraining corpus; eoforge puts every location in 'all'",
    notes=(
        "251,079 locations, each with 4 seasonal patches of 264x264 px (2.64 km) per sensor: "
        "Sentinel-1 GRD (VV, VH, dB), Sentinel-2 L1C (13 bands) and L2A (12 bands, no B10); "
        "one GeoTIFF per band (<sensor>/<location>/<acquisition>/B1.tif ...), 20 m and 60 m "
        "bands at their native size. Each sensor comes as a tar.gz split into parts: prepare "
        "joins the parts of a sensor into one archive next to them, extracts it and deletes "
        "the joined copy (it needs that sensor's archive size again in free space for a "
        "while). About 1.5 TB compressed, 3.7 TB extracted. prepare links "
        "all/<s1|s2c|s2a>/<location> to the extracted location folders; counts are "
        "locations, class counts are locations per sensor."
    ),
)

SPECTRALEARTH_REMOVED = (*range(127, 142), *range(161, 168))
"""The 22 EnMAP bands (1-based) SpectralEarth leaves out: water-vapour absorption windows
near 1.4 um (B127-B141) and 1.9 um (B161-B167), as TorchGeo's EnMAP default bands."""

SPECTRALEARTH_BANDS = tuple(
    f"ENMAP.B{b:03d}" for b in range(1, 225) if b not in SPECTRALEARTH_REMOVED
)
"""The 202 bands of a SpectralEarth patch, in file order."""

SPECTRALEARTH = DatasetEntry(
    name="spectralearth",
    title="SpectralEarth (unlabelled EnMAP hyperspectral patches)",
    task="self_supervised",
    family=None,
    data_kind=None,
    trainable=False,
    later=(
        "foundation models (self-supervised pretraining) and spectral science: no task "
        "family pretrains on unlabelled hyperspectral patches yet"
    ),
    bands=SPECTRALEARTH_BANDS,
    gsd=30.0,
    licence="EnMAP data licence of DLR (account required; see the GeoService page)",
    citation=(
        "Braham, N.A.A., Albrecht, C.M., Mairal, J., Chanussot, J., Wang, Y., Zhu, X.X. "
        "(2025). SpectralEarth: Training Hyperspectral Foundation Models at Scale. IEEE "
        "JSTARS 18, 16780-16797. doi:10.1109/JSTARS.2025.3581451"
    ),
    homepage="https://geoservice.dlr.de/web/datasets/enmap_spectralearth",
    files=(
        RemoteFile(
            url="https://geoservice.dlr.de/web/datasets/enmap_spectralearth",
            filename="spectral_earth.tar.gz",
            checksum_source="none published: the SHA-256 is recorded on first download",
            extract=True,
            approx_size=3_300_000_000_000,
            manual=(
                "DLR offers SpectralEarth through its GeoService portal after you create an "
                "account and request the dataset; save the archive of the pretraining patches "
                "(the enmap/ folder) under this name (zip or tar content both unpack)."
            ),
        ),
    ),
    layout="spectralearth",
    splits=("all",),
    split_source="none: an unlabelled pretraining corpus; eoforge puts every patch in 'all'",
    notes=(
        "538,974 EnMAP L2A patches of 128x128 px at 30 m from 11,636 scenes, 202 bands "
        "(B127-B141 and B161-B167 removed), int16 reflectance; published as "
        "enmap/<patch>/<acquisition>.tif (a patch folder may hold several acquisitions of "
        "the same place). About 3.3 TB. prepare links all/<patch> to the extracted patch "
        "folders; counts are patches. The labelled downstream sets (EnMAP-CDL, -NLCD, "
        "-CORINE, ...) are not part of this entry."
    ),
)


ENTRIES: tuple[DatasetEntry, ...] = (SSL4EO_S12, SPECTRALEARTH)
"""The entries of this module, in listing order."""
