"""Where captions' labels come from: the land-cover rasters of a scene folder, file or catalog.

* an eoforge synth scene folder: ``labels/<family>_YYYYMMDD.tif`` (one layer
  per date), classes from its ``legend.json``, vector layers from
  ``vectors/*.parquet``;
* a class raster (GeoTIFF/COG): one layer, its date from a ``YYYYMMDD`` in
  its name, classes from its ``CLASS_<id>`` tags or a ``legend.json`` beside
  it or one folder up;
* a catalog (saved GeoParquet catalog or STAC collection JSON): its
  ``label_raster`` rows that hold the band ``family``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from eoforge.catalog import Catalog
from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError, available_list
from eoforge.evaluate.readers import read_classes

DATE_IN_NAME = re.compile(r"(?<!\d)(\d{8})(?!\d)")


@dataclass(frozen=True)
class LabelLayer:
    """One class raster to caption.

    Attributes:
        path: The raster file.
        band: Its band index (1-based).
        scene: Scene name (catalog id, synth folder name or the file's stem).
        date: Date of the labels, or None.
    """

    path: Path
    band: int
    scene: str
    date: dt.date | None


def _date_of(name: str) -> dt.date | None:
    found = DATE_IN_NAME.search(name)
    if found is None:
        return None
    try:
        return dt.datetime.strptime(found.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def is_synth_scene(path: Path) -> bool:
    """Whether a folder looks like an eoforge synth scene (``labels/`` and ``legend.json``)."""
    return path.is_dir() and (path / "labels").is_dir() and (path / "legend.json").is_file()


def find_label_layers(source: str | Path, family: str = "landcover") -> list[LabelLayer]:
    """The class rasters of a scene folder, raster file or catalog, in date order.

    Args:
        source: Synth scene folder, class raster, saved catalog (``.parquet``) or
            STAC collection (``.json``).
        family: Label family: the file-name prefix in a synth folder
            (``landcover_YYYYMMDD.tif``), the band name in a catalog.

    Raises:
        MissingFileError: ``source`` does not exist.
        ConfigError: It holds no class raster of that family.
    """
    path = Path(source)
    if not path.exists():
        raise MissingFileError("labels not found.", path=path, fix="check the path.")
    if path.is_dir():
        files = (
            sorted((path / "labels").glob(f"{family}_*.tif")) if (path / "labels").is_dir() else []
        )
        layers = [LabelLayer(f, 1, path.name, _date_of(f.name)) for f in files]
        what = f"no labels/{family}_*.tif in this folder"
        fix = (
            "give an eoforge synth scene folder, a class raster or a catalog "
            "(--labels names the family)."
        )
    elif path.suffix.lower() in (".parquet", ".json"):
        catalog = Catalog.from_stac(path) if path.suffix.lower() == ".json" else Catalog.load(path)
        layers = []
        bands: set[str] = set()
        for entry in catalog:
            source_of = entry.source if entry.kind == "label_raster" else None
            if source_of is None:
                continue
            bands.update(source_of.bands)
            if family in source_of.assets:
                asset = source_of.assets[family]
                when = entry.datetime.date() if entry.datetime is not None else None
                layers.append(LabelLayer(Path(asset.path), asset.index, entry.id, when))
        what = f"no label raster with the band {family!r} in this catalog"
        fix = f"name one of its label bands with --labels ({available_list(bands)})."
    else:
        layers = [LabelLayer(path, 1, path.stem, _date_of(path.name))]
        what, fix = "", ""
    if not layers:
        raise ConfigError(f"{what}.", path=path, fix=fix)
    return sorted(layers, key=lambda x: (x.scene, x.date or dt.date.min, str(x.path)))


def layer_classes(
    layer: LabelLayer, legend: str | Path | None, nodata: float | None
) -> list[ClassInfo]:
    """The classes of a label layer (nodata left out).

    Args:
        layer: The layer.
        legend: A ``legend.json`` to use instead of the raster's own names.
        nodata: The raster's nodata value.

    Raises:
        UnreadableFileError: ``legend`` is not a legend file.
    """
    classes = read_classes(layer.path) if legend is None else _legend_file(Path(legend), layer.path)
    return [c for c in classes if nodata is None or c.id != nodata]


def _legend_file(path: Path, raster: Path) -> list[ClassInfo]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UnreadableFileError(
            f"cannot read the legend ({error}).",
            path=path,
            fix='give a legend.json: {"landcover": [{"value": 1, "name": "water", "color": ...}]}.',
        ) from None
    entries = data
    if isinstance(data, dict):
        keys = [k for k in data if raster.stem.startswith(str(k))] or list(data)[:1]
        entries = data[keys[0]] if keys else []
    try:
        return [
            ClassInfo(id=int(e["value"]), name=str(e["name"]), color=e.get("color", "#808080"))
            for e in entries
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise UnreadableFileError(
            f"a legend entry is not a class ({error}).",
            path=path,
            fix='each entry needs "value" (int) and "name" (and may give "color").',
        ) from None
