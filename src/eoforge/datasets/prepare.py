"""Turn a dataset's extracted files into eoforge's chip folders, one per official split.

``prepare(entry)`` extracts archives not yet extracted (into
``<root>/<name>/extracted/<archive stem>/``), runs the entry's layout parser and
writes, under ``<root>/<name>/``:

* ``eoforge/<split>/``: the split in the prepared form of its layout (see
  :mod:`eoforge.datasets.layouts`; for trainable datasets the folder layout
  its ``data.kind`` reads). Files are hard links to the extracted ones (copies
  where the file system has none; folders are relative symbolic links), so a
  prepared dataset takes little extra space.
* ``eoforge_splits.json``: the manifest: per split its folder, item count and
  class counts (in the parser's unit: images, patches, pixels, objects...), the
  items no official split lists, and for trainable datasets a ``data`` section
  of an experiment config that trains on ``train`` and validates on ``val``.

The ``eoforge/`` folder is built beside its final place and renamed into it when
complete; preparing again replaces it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rasterio.errors import NotGeoreferencedWarning

from eoforge import __version__
from eoforge.datasets.download import dataset_dir, not_downloaded
from eoforge.datasets.entry import DatasetEntry
from eoforge.datasets.layouts import PARSERS, SplitSummary, Step
from eoforge.datasets.layouts.change import BRIGHT_GROUPS
from eoforge.datasets.layouts.detection import xview3_geo_split
from eoforge.datasets.layouts.objects import SAR_PARTNERS

GROUP_FOLDERS = {"bright": BRIGHT_GROUPS}
"""Layout -> the input groups (folder and bands) of its prepared ``group_chips`` splits."""

MANIFEST = "eoforge_splits.json"
"""Name of the split manifest in the dataset folder."""

PREPARED = "eoforge"
"""Name of the folder holding the prepared splits in the dataset folder."""


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare` wrote.

    Attributes:
        entry: The dataset.
        folder: The dataset folder.
        manifest: The manifest file.
        unit: What class counts count: ``images``, ``patches``, ``pixels``, ``objects``...
        splits: The splits in the entry's order.
        unassigned: Items found that no official split lists (left out).
        config: The ``data`` section of an experiment config for the splits (empty
            for datasets eoforge does not train yet).
    """

    entry: DatasetEntry
    folder: Path
    manifest: Path
    unit: str
    splits: list[SplitSummary]
    unassigned: int = 0
    config: dict[str, Any] = field(default_factory=dict)


def data_config(entry: DatasetEntry, splits: Iterable[SplitSummary]) -> dict[str, Any]:
    """The ``data`` section of an experiment config: train on ``train``, validate on ``val``.

    A dataset without a ``train`` split (no official split, or NWPU VHR-10's
    positive/negative sets) trains on its first split and holds out the config's
    ``val_fraction`` for validation.
    """
    by_name = {s.name: str(s.path.resolve()) for s in splits}
    train, val = by_name.get("train"), by_name.get("val")
    if train is None and by_name:  # no official train split: the first, val_fraction held out
        train = next(iter(by_name.values()))
    kind = entry.data_kind
    config: dict[str, Any] = {"kind": kind}
    if kind in ("class_folder", "change_triplet"):
        config.update(root=train, val_root=val)
    elif kind == "image_mask":
        config.update(
            images=f"{train}/images",
            masks=f"{train}/masks",
            val_images=None if val is None else f"{val}/images",
            val_masks=None if val is None else f"{val}/masks",
        )
        if entry.mask_colours:
            config["classes"] = [{"name": c.name, "mask_color": c.color} for c in entry.classes]
    elif kind == "objects":
        config.update(root=train, val_root=val, classes=[{"name": c.name} for c in entry.classes])
        if train is not None and (Path(train) / SAR_PARTNERS).is_dir():
            # optical + SAR pairs (M4-SAR): the last band is the partner's grey channel,
            # stored as three equal bands in its JPEG
            config["pair"] = {"folder": SAR_PARTNERS, "bands": [entry.bands[-1]], "read": [1]}
            config["bands"] = list(entry.bands[:-1])
    elif kind == "geo":  # scenes read by band name (xView3-SAR): catalogs paired with objects
        val = val or by_name.get("validation")
        config.update(
            train=None if train is None else xview3_geo_split(Path(train)),
            val=None if val is None else xview3_geo_split(Path(val)),
            classes=[{"name": c.name} for c in entry.classes],
        )
    elif kind == "group_chips":  # one folder per input group (BRIGHT: pre/ optical, post/ SAR)
        config.update(
            root=train,
            val_root=val,
            inputs=GROUP_FOLDERS[entry.layout],
            label="target",
            gsd=entry.gsd,
            classes=[{"name": c.name, "color": c.color} for c in entry.classes],
        )
    elif kind == "bigearthnet":
        config.update(root_s2=train, val_root_s2=val, num_classes=len(entry.classes))
        if train is not None and (Path(train).parent / "s1").is_dir():  # v2.0: S1 partners
            config.update(root_s1=str(Path(train).parent / "s1"))
    if kind not in ("bigearthnet", "group_chips") and entry.bands:
        config.setdefault("bands", list(entry.bands))
    return {k: v for k, v in config.items() if v is not None}


def prepare(
    entry: DatasetEntry, root: str | os.PathLike[str] | None = None, step: Step | None = None
) -> Prepared:
    """Extract (if needed) and lay out ``entry``'s official splits for eoforge.

    Args:
        entry: The dataset.
        root: Data root (see :func:`eoforge.datasets.download.data_root`).
        step: Called with what is being done (for a progress display).

    Returns:
        The splits, their class counts and where they were written.

    Raises:
        MissingFileError: A file has not been downloaded.
        UnsafeArchiveError: An archive was refused.
        ConfigError: The extracted files are not in the expected layout.
    """
    folder = dataset_dir(entry, root)
    if not folder.is_dir():
        raise not_downloaded(entry, folder)
    final = folder / PREPARED
    tmp = Path(tempfile.mkdtemp(prefix=f".{PREPARED}.", suffix=".preparing", dir=folder))
    try:
        with warnings.catch_warnings():  # many published images carry no georeferencing
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            parsed = PARSERS[entry.layout](entry, folder, tmp, step)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    splits = [SplitSummary(s.name, final / s.name, s.count, s.class_counts) for s in parsed.splits]
    unit, unassigned = parsed.unit, parsed.unassigned
    config = data_config(entry, splits) if entry.trainable else {}
    manifest = folder / MANIFEST
    document = {
        "dataset": entry.name,
        "title": entry.title,
        "layout": entry.layout,
        "eoforge_version": __version__,
        "split_source": entry.split_source,
        "class_count_unit": unit,
        "classes": [c.model_dump() for c in entry.classes],
        "splits": {
            s.name: {
                "path": str(s.path.relative_to(folder)),
                "count": s.count,
                "class_counts": s.class_counts,
            }
            for s in splits
        },
        "unassigned": unassigned,
        "data": config,
    }
    tmp_manifest = folder / f".{MANIFEST}.tmp"
    tmp_manifest.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(tmp_manifest, manifest)
    return Prepared(entry, folder, manifest, unit, splits, unassigned, config)
