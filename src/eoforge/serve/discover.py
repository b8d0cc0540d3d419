"""From the paths given to ``eoforge serve`` to the layers of the map.

A path may be:

* a run folder holding ``run.json`` (``eoforge demo``): its Sentinel-2 and
  Sentinel-1 scenes, the predicted classes, the reference labels, an errors
  layer (prediction against reference, computed once into ``.serve/``), the
  confidence, the prediction's polygons, the scene's vector labels and the
  report's metrics;
* any other folder (a predictions folder, a synthetic scene): its rasters and
  vector files, found recursively; band-per-file scenes (``S2.B04.tif`` ...)
  in one folder make one scene layer, dated by the folder or file name
  (``20240701``), so the dates of one sensor form a time series;
* a STAC catalog, collection or item JSON: one scene layer per item, dated by
  the item, label rasters as class maps;
* single files: a GeoTIFF/COG (kind from its content: colour table or class
  names -> classes, ``confidence``, ``p(...)`` bands -> probability, named
  sensor bands or several bands -> scene, one other band -> regression), a
  GeoParquet, GeoJSON or GeoPackage (vectors).

Class names and colours come from the raster and ``legend.json``
(:mod:`eoforge.serve.legend`); every input is only read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rasterio
from rasterio.warp import calculate_default_transform
from rio_tiler.io import Reader

from eoforge.errors import BandNotFoundError, EoforgeError, MissingFileError
from eoforge.io.products import open_sources
from eoforge.io.source import RASTER_SUFFIXES, RasterSource
from eoforge.sensors import get_band
from eoforge.serve import vectors
from eoforge.serve.errors_map import ERROR_CLASSES, errors_cog
from eoforge.serve.handles import reader
from eoforge.serve.layers import BandRef, Layer, LayerKind, slug, union_bounds, unique_ids
from eoforge.serve.legend import class_legend
from eoforge.serve.stretch import joint_percentiles, percentiles

VECTOR_SUFFIXES = (".parquet", ".geoparquet", ".geojson", ".gpkg", ".shp")
"""Vector files a folder walk picks up."""

MAX_FILES = 2000
"""Most files a folder walk looks at."""

CACHE_FOLDER = ".serve"
"""Folder of a served folder where computed layers and counts are cached."""

_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")


@dataclass
class Served:
    """Everything ``eoforge serve`` shows.

    Attributes:
        title: Title of the map (the first path's name).
        layers: Layers in drawing order (first = bottom).
        report: Metrics of a run's evaluation, or None.
        roots: Mount name -> resolved folder or file that ``/files/<name>/...`` serves.
        cache_dir: Where computed layers (errors) and pixel counts are kept.
    """

    title: str
    layers: list[Layer]
    report: dict[str, Any] | None = None
    roots: dict[str, Path] = field(default_factory=dict)
    cache_dir: Path = field(default_factory=Path)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Union of every layer's bounds in EPSG:4326."""
        return union_bounds(self.layers)

    def layer(self, layer_id: str) -> Layer | None:
        """The layer with that id, or None."""
        return next((layer for layer in self.layers if layer.id == layer_id), None)


# --------------------------------------------------------------------------- helpers


def date_of(text: str) -> str | None:
    """The first ``YYYYMMDD`` or ``YYYY-MM-DD`` date in ``text``, as ``YYYY-MM-DD``.

    Example:
        >>> date_of("s2/20240701/S2.B04.tif")
        '2024-07-01'
    """
    for match in _DATE.finditer(text):
        year, month, day = (int(g) for g in match.groups())
        if 1900 < year < 2200 and 1 <= month <= 12 and 1 <= day <= 31:
            return f"{year:04d}-{month:02d}-{day:02d}"
    return None


def _undated(label: str) -> str:
    """A name without its dates: the group of a time series.

    Example:
        >>> _undated("labels/landcover_20240701.tif")
        'labels/landcover.tif'
    """
    text = re.sub(r"[_\-]+(?=[./]|$)", "", _DATE.sub("", label))
    text = re.sub(r"/+", "/", re.sub(r"[_\-]{2,}", "_", text)).strip(" _-/")
    return text or label


def _finest_zoom(src: Reader) -> int:
    """The first zoom whose tile pixels are no coarser than the data's (rio-tiler rounds down).

    rio-tiler's ``maxzoom`` is the zoom *nearest* the data's resolution: for 10 m pixels at
    46 N that is zoom 13 (13.4 m tile pixels), so the map would never show the data at its own
    resolution; the next zoom up (9.5 m tile pixels) does.
    """
    transform, _, _ = calculate_default_transform(
        src.crs, src.tms.rasterio_crs, src.width, src.height, *src.bounds
    )
    resolution = max(abs(transform.a), abs(transform.e))
    return int(min(src.tms.zoom_for_res(resolution, zoom_level_strategy="upper"), src.tms.maxzoom))


def _extent(refs: Sequence[BandRef]) -> tuple[tuple[float, float, float, float], int, int]:
    """WGS84 bounds and zoom range of bands (union of their files)."""
    boxes, mins, maxs = [], [], []
    for ref in refs:
        src = reader(ref.path)
        w, s, e, n = src.get_geographic_bounds(rasterio.crs.CRS.from_epsg(4326))
        boxes.append((max(w, -180.0), max(s, -85.06), min(e, 180.0), min(n, 85.06)))
        mins.append(src.minzoom)
        maxs.append(_finest_zoom(src))
    bounds = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    return bounds, min(mins), max(maxs)


def _file_bands(path: Path) -> list[BandRef]:
    """Every band of a raster file, named by its description (``band <i>`` otherwise)."""
    with rasterio.open(path) as ds:
        return [
            BandRef(
                name=ds.descriptions[i] or f"band {i + 1}",
                path=path,
                index=i + 1,
                scale=float(ds.scales[i] if ds.scales else 1.0),
                offset=float(ds.offsets[i] if ds.offsets else 0.0),
                nodata=ds.nodata,
            )
            for i in range(ds.count)
        ]


def _units(refs: Sequence[BandRef]) -> str | None:
    """The unit the first band's file declares (``reflectance``, ``dB``...), or None."""
    if not refs:
        return None
    with rasterio.open(refs[0].path) as ds:
        unit = ds.units[refs[0].index - 1] if ds.units else None
    return unit or None


def _source_bands(source: RasterSource) -> list[BandRef]:
    refs = []
    for name, asset in source.assets.items():
        rad = asset.radiometry
        refs.append(
            BandRef(
                name=name,
                path=Path(asset.path).resolve(),
                index=asset.index,
                scale=float(rad.scale),
                offset=float(rad.offset),
                nodata=rad.nodata,
            )
        )
    return refs


def _aliases(name: str) -> set[str]:
    """Lower-case names a band goes by: its own, its id, its registry aliases."""
    names = {name.lower()}
    try:
        band = get_band(name)
    except (BandNotFoundError, EoforgeError):
        return names
    return names | {band.id.lower(), *(a.lower() for a in band.aliases)}


def colour_bands(names: Sequence[str], wanted: Sequence[str]) -> tuple[str, str, str] | None:
    """The bands called ``wanted`` (registry aliases, e.g. red/green/blue), or None.

    Example:
        >>> colour_bands(["S2.B02", "S2.B03", "S2.B04", "S2.B08"], ["nir", "red", "green"])
        ('S2.B08', 'S2.B04', 'S2.B03')
    """
    found = []
    for alias in wanted:
        hit = next((n for n in names if alias in _aliases(n)), None)
        if hit is None:
            return None
        found.append(hit)
    return (found[0], found[1], found[2])


def _sensor_of(names: Sequence[str]) -> str | None:
    prefixes = {n.split(".", 1)[0] for n in names if "." in n}
    return next(iter(prefixes)) if len(prefixes) == 1 else None


# --------------------------------------------------------------------------- layers


def scene_layer(
    refs: list[BandRef],
    name: str,
    group: str,
    date: str | None,
    units: str | None = None,
    visible: bool = False,
) -> Layer:
    """A scene layer of named bands: true/false colour from band names, stretches on overviews."""
    names = [r.name for r in refs]
    truecolor = colour_bands(names, ("red", "green", "blue"))
    falsecolor = colour_bands(names, ("nir", "red", "green"))
    if truecolor is None and len(refs) >= 3 and not any("." in n for n in names):
        truecolor = (names[0], names[1], names[2])  # an unnamed RGB(A) file
    drawn = [r for r in refs if r.name in (truecolor or ())] or refs
    bounds, minzoom, maxzoom = _extent(drawn)  # the bands of a scene share a footprint
    band_stretch = {r.name: p for r in refs if (p := percentiles(r)) is not None}
    shown = [r for r in refs if truecolor is not None and r.name in truecolor] or refs[:1]
    stretch = joint_percentiles(shown)
    return Layer(
        id=slug(name),
        name=name,
        kind="scene",
        group=group,
        date=date,
        bounds=bounds,
        minzoom=minzoom,
        maxzoom=maxzoom,
        visible=visible,
        bands=refs,
        stretch=stretch,
        band_stretch=band_stretch,
        colormap="greys_r",
        units=units,
        truecolor=truecolor,
        falsecolor=falsecolor,
    )


def _raster_kind(path: Path) -> LayerKind:
    stem = path.stem.lower()
    with rasterio.open(path) as ds:
        descriptions = [d or "" for d in ds.descriptions]
        integer = all(d.startswith(("uint", "int")) for d in ds.dtypes)
        try:
            has_table = bool(ds.colormap(1))
        except ValueError:
            has_table = False
        class_tags = any(k.startswith("CLASS_") for k in ds.tags(1))
        count = ds.count
    if stem.endswith("_confidence") or descriptions == ["confidence"]:
        return "confidence"
    if stem.endswith("_probabilities") or (
        descriptions and all(d.startswith("p(") for d in descriptions)
    ):
        return "probability"
    if count == 1 and integer and (has_table or class_tags):
        return "reference" if re.search(r"reference|label|truth", stem) else "classes"
    named_band = "." in descriptions[0] and len(_aliases(descriptions[0])) > 1  # e.g. S2.B04
    if count == 1 and (stem.endswith("_values") or not named_band):
        if integer and (path.parent / "legend.json").is_file():
            return "reference"
        return "regression"
    return "scene"


def raster_layer(
    path: Path,
    cache_dir: Path,
    *,
    name: str | None = None,
    kind: LayerKind | None = None,
    group: str | None = None,
    visible: bool = False,
) -> Layer:
    """A layer of one GeoTIFF, its kind guessed from the content unless given.

    Args:
        path: The raster (resolved).
        cache_dir: Cache of pixel counts (class maps).
        name: Layer name; default the file name.
        kind: The kind; default :func:`_raster_kind`'s guess.
        group: Time-series group; default the name without its date.
        visible: Shown when the page opens.

    Returns:
        The layer (legend with areas for class maps, a ramp and stretch for values).
    """
    kind = kind or _raster_kind(path)
    refs = _file_bands(path)
    date = date_of(str(path))
    label = name or path.name
    group = group or _undated(label)
    if kind == "scene":
        return scene_layer(refs, label, group, date, units=_units(refs), visible=visible)
    bounds, minzoom, maxzoom = _extent(refs)
    layer = Layer(
        id=slug(label),
        name=label,
        kind=kind,
        group=group,
        date=date,
        bounds=bounds,
        minzoom=minzoom,
        maxzoom=maxzoom,
        visible=visible,
        bands=refs,
    )
    if kind in ("classes", "reference", "errors"):
        classes = list(ERROR_CLASSES) if kind == "errors" else None
        layer.classes, layer.lut = class_legend(path, cache_dir, refs[0].nodata, classes)
        layer.bands = refs[:1]
    elif kind in ("confidence", "probability"):
        layer.colormap = "viridis"
        layer.stretch = (0.0, 1.0)
        layer.units = "probability"
        if kind == "probability":
            layer.bands = [
                BandRef(
                    name=r.name[2:-1]
                    if r.name.startswith("p(") and r.name.endswith(")")
                    else r.name,
                    path=r.path,
                    index=r.index,
                    scale=r.scale,
                    offset=r.offset,
                    nodata=r.nodata,
                )
                for r in refs
            ]
    else:
        layer.colormap = "viridis"
        layer.stretch = percentiles(refs[0]) or (0.0, 1.0)
        layer.band_stretch = {r.name: p for r in refs if (p := percentiles(r)) is not None}
    return layer


def vector_layer(path: Path, *, name: str | None = None, visible: bool = False) -> Layer | None:
    """A vector layer of a GeoParquet/GeoJSON/GeoPackage file; None when it has no feature."""
    frame = vectors.read_vector(path)
    box = vectors.bounds(frame)
    if box is None:
        return None
    label = name or path.name
    return Layer(
        id=slug(label),
        name=label,
        kind="vector",
        group=label,
        bounds=box,
        visible=visible,
        vector_path=path,
        properties=vectors.properties(frame),
    )


def _scene_name(folder: Path, refs: Sequence[BandRef], date: str | None) -> tuple[str, str]:
    sensor = _sensor_of([r.name for r in refs]) or folder.parent.name or folder.name
    group = f"{sensor} scene"
    return (f"{sensor} {date}" if date else f"{sensor} {folder.name}"), group


def folder_layers(root: Path, cache_dir: Path) -> list[Layer]:
    """Layers of every raster and vector file under ``root`` (hidden folders skipped).

    Band-per-file scenes of one folder become one scene layer; a vector stored
    both as GeoParquet and GeoJSON is shown once (the GeoParquet).
    """
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and p.suffix.lower() in (*RASTER_SUFFIXES, *VECTOR_SUFFIXES)
    )[:MAX_FILES]
    layers: list[Layer] = []
    by_folder: dict[Path, list[Path]] = {}
    for f in files:
        if f.suffix.lower() in RASTER_SUFFIXES:
            by_folder.setdefault(f.parent, []).append(f)
    for folder, rasters in by_folder.items():
        layers.extend(_folder_rasters(root, folder, rasters, cache_dir))
    stems = {(f.parent, f.stem) for f in files if f.suffix.lower() in (".parquet", ".geoparquet")}
    for f in files:
        if f.suffix.lower() not in VECTOR_SUFFIXES:
            continue
        if f.suffix.lower() not in (".parquet", ".geoparquet") and (f.parent, f.stem) in stems:
            continue
        try:
            layer = vector_layer(f.resolve(), name=str(f.relative_to(root)))
        except (OSError, ValueError):
            continue
        if layer is not None:
            layers.append(layer)
    return layers


def _band_name(path: Path, source: RasterSource) -> str | None:
    """The sensor band a one-band file holds: its band name, else its file name (``S2.B04.tif``)."""
    name = next(iter(source.assets))
    for candidate in (name, path.stem):
        if "." not in candidate:
            continue
        try:
            return get_band(candidate).name
        except EoforgeError:
            continue
    return None


def _folder_rasters(root: Path, folder: Path, rasters: list[Path], cache_dir: Path) -> list[Layer]:
    """One scene of the band files of a folder, plus a layer per other raster."""
    sources: list[tuple[Path, RasterSource]] = []
    for f in rasters:
        try:
            found = open_sources(f)
        except EoforgeError:
            continue
        sources.extend((f, s) for s in found)
    banded = [(f, s) for f, s in sources if len(s.assets) == 1 and _band_name(f, s) is not None]
    layers: list[Layer] = []
    used: set[Path] = set()
    if len(banded) >= 2:
        extras = [
            (f, s)
            for f, s in sources
            if (f, s) not in banded and len(s.assets) == 1 and _raster_kind(f) == "regression"
        ]
        refs = [
            dataclasses.replace(ref, name=_band_name(f, s) or ref.name)
            for f, s in (*banded, *extras)
            for ref in _source_bands(s)
        ]
        date = date_of(str(folder)) or date_of(banded[0][0].name)
        name, group = _scene_name(folder, refs, date)
        layers.append(scene_layer(refs, name, group, date, units=_units(refs), visible=False))
        used = {f for f, _ in (*banded, *extras)}
    for f in rasters:
        if f in used:
            continue
        try:
            name = f.relative_to(root).as_posix()
            layers.append(raster_layer(f.resolve(), cache_dir, name=name))
        except (EoforgeError, rasterio.errors.RasterioError):
            continue
    return layers


def stac_layers(path: Path, cache_dir: Path) -> list[Layer]:
    """One scene layer per STAC image item (dated), label rasters as class maps."""
    # Deferred: the catalog package (geopandas frames) is only needed for STAC input.
    from eoforge.catalog import Catalog

    layers: list[Layer] = []
    for entry in Catalog.from_stac(path):
        source = entry.source
        if source is None:
            continue
        date = entry.datetime.date().isoformat() if entry.datetime is not None else None
        if entry.kind == "label_raster":
            for file in source.paths:
                layers.append(
                    raster_layer(
                        Path(file).resolve(), cache_dir, name=f"{entry.id} {Path(file).name}"
                    )
                )
            continue
        refs = _source_bands(source)
        sensor = entry.sensor or _sensor_of([r.name for r in refs]) or "scene"
        name = f"{sensor} {date}" if date else entry.id
        layers.append(scene_layer(refs, name, f"{sensor} scene", date, units=_units(refs)))
    return layers


# --------------------------------------------------------------------------- run folders


def _run_path(run_dir: Path, value: Any) -> Path | None:
    if not isinstance(value, str) or not value:
        return None
    path = (run_dir / value).resolve()
    return path if path.exists() else None


def _band_folder_scene(folder: Path, label: str, visible: bool) -> Layer | None:
    try:
        sources = open_sources(folder)
    except EoforgeError:
        return None
    refs = [ref for s in sources for ref in _source_bands(s)]
    if not refs:
        return None
    date = date_of(folder.name)
    sensor = _sensor_of([r.name for r in refs if "." in r.name]) or label
    name = f"{sensor} {date}" if date else f"{sensor} scene"
    return scene_layer(refs, name, f"{sensor} scene", date, units=_units(refs), visible=visible)


def run_report(run_dir: Path, run: dict[str, Any], mount: str) -> dict[str, Any] | None:
    """The report block of ``/api/layers``: headline metrics, per-class scores, report link."""
    metrics_path = _run_path(run_dir, run.get("metrics"))
    report_html = run_dir / "report.html"
    link = f"/files/{mount}/report.html" if report_html.is_file() else None
    if metrics_path is None:
        return {"metrics": {}, "per_class": None, "link": link} if link else None
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"metrics": {}, "per_class": None, "link": link}
    numbers = {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))
    }
    per_class: dict[str, dict[str, float]] | None = None
    if isinstance(metrics.get("per_class"), list):
        per_class = {}
        for entry in metrics["per_class"]:
            if not isinstance(entry, dict) or "name" not in entry:
                continue
            per_class[str(entry["name"])] = {
                k: float(v)
                for k, v in entry.items()
                if k not in ("id", "name", "color")
                and isinstance(v, int | float)
                and math.isfinite(float(v))
            }
    return {"metrics": numbers, "per_class": per_class, "link": link}


def run_layers(run_dir: Path, cache_dir: Path) -> list[Layer]:
    """The layers of a run folder described by its ``run.json``."""
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    scene = run.get("scene") if isinstance(run.get("scene"), dict) else {}
    prediction = run.get("prediction") if isinstance(run.get("prediction"), dict) else {}
    layers: list[Layer] = []
    for key, visible in (("s1", False), ("s2", True)):
        folder = _run_path(run_dir, scene.get(key))
        if folder is not None and folder.is_dir():
            layer = _band_folder_scene(folder, key.upper(), visible)
            if layer is not None:
                layers.append(layer)
    reference = _run_path(run_dir, scene.get("labels"))
    classes = _run_path(run_dir, prediction.get("classes"))
    if reference is not None:
        layers.append(raster_layer(reference, cache_dir, name="reference labels", kind="reference"))
    if classes is not None:
        layers.append(
            raster_layer(classes, cache_dir, name="predicted classes", kind="classes", visible=True)
        )
    if classes is not None and reference is not None:
        errors = errors_cog(classes, reference, cache_dir)
        layers.append(raster_layer(errors, cache_dir, name="errors", kind="errors"))
    confidence = _run_path(run_dir, prediction.get("confidence"))
    if confidence is not None:
        layers.append(raster_layer(confidence, cache_dir, name="confidence", kind="confidence"))
    probabilities = _run_path(run_dir, prediction.get("probabilities"))
    if probabilities is not None:
        layers.append(
            raster_layer(probabilities, cache_dir, name="probabilities", kind="probability")
        )
    polygons = _run_path(run_dir, prediction.get("vectors"))
    if polygons is not None:
        layer = vector_layer(polygons, name="predicted polygons", visible=True)
        if layer is not None:
            layers.append(layer)
    scene_folder = _run_path(run_dir, scene.get("folder"))
    if scene_folder is not None and (scene_folder / "vectors").is_dir():
        for f in sorted((scene_folder / "vectors").glob("*.parquet")):
            layer = vector_layer(f, name=f"labels: {f.stem}")
            if layer is not None:
                layers.append(layer)
    return layers


# --------------------------------------------------------------------------- entry point


def cache_dir_for(paths: Sequence[Path]) -> Path:
    """``<first folder>/.serve`` when it can be made, else a folder in the system temp dir."""
    for path in paths:
        if path.is_dir():
            candidate = path / CACHE_FOLDER
            try:
                candidate.mkdir(exist_ok=True)
                probe = candidate / ".write-test"
                probe.write_text("", encoding="utf-8")
                probe.unlink()
                return candidate
            except OSError:
                break
    digest = hashlib.sha1("|".join(str(p) for p in paths).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"eoforge-serve-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _mount_names(paths: Sequence[Path]) -> dict[str, Path]:
    roots: dict[str, Path] = {}
    for path in paths:
        base = slug(path.name) if path.name else "root"
        name, n = base, 1
        while name in roots:
            n += 1
            name = f"{base}-{n}"
        roots[name] = path
    return roots


def discover(paths: Sequence[str | Path]) -> Served:
    """Everything to show for the paths given to ``eoforge serve``.

    Args:
        paths: Run folders, other folders, STAC JSON files, rasters, vector files.

    Returns:
        The layers (ids unique), the run's report metrics, the mounts of ``/files``.

    Raises:
        MissingFileError: A path does not exist.
        EoforgeError: A path holds nothing the viewer can show.
    """
    resolved = []
    for p in paths:
        path = Path(p).expanduser()
        if not path.exists():
            raise MissingFileError(
                "no such file or folder to serve.", path=path, fix="check the path and spelling."
            )
        resolved.append(path.resolve())
    roots = _mount_names(resolved)
    cache_dir = cache_dir_for(resolved)
    layers: list[Layer] = []
    report = None
    for mount, path in roots.items():
        if path.is_dir() and (path / "run.json").is_file():
            layers.extend(run_layers(path, cache_dir))
            run = json.loads((path / "run.json").read_text(encoding="utf-8"))
            report = report or run_report(path, run, mount)
        elif path.is_dir():
            layers.extend(folder_layers(path, cache_dir))
        elif path.suffix.lower() == ".json":
            layers.extend(stac_layers(path, cache_dir))
        elif path.suffix.lower() in VECTOR_SUFFIXES:
            layer = vector_layer(path, visible=True)
            if layer is not None:
                layers.append(layer)
        else:
            layers.append(raster_layer(path, cache_dir, visible=True))
    if not layers:
        raise EoforgeError(
            "nothing to show: no raster, vector or run found.",
            path=resolved[0] if resolved else None,
            fix="give a run folder, a predictions folder, a STAC JSON, GeoTIFFs or vector files.",
        )
    layers.sort(key=lambda layer: KIND_ORDER[layer.kind])
    unique_ids(layers)
    if not any(layer.visible for layer in layers):
        _show_defaults(layers)
    title = resolved[0].name if len(resolved) == 1 else f"{resolved[0].name} + {len(resolved) - 1}"
    return Served(title=title, layers=layers, report=report, roots=roots, cache_dir=cache_dir)


KIND_ORDER = {
    "scene": 0,
    "reference": 1,
    "classes": 2,
    "errors": 3,
    "probability": 4,
    "confidence": 4,
    "regression": 4,
    "vector": 5,
}
"""Drawing order of the kinds: scenes at the bottom, vectors on top."""


def _show_defaults(layers: list[Layer]) -> None:
    """Show the first scene (its earliest date) and the first class map of a plain folder."""
    for kinds in (("scene",), ("classes", "reference", "regression", "probability", "vector")):
        candidates = [layer for layer in layers if layer.kind in kinds]
        if candidates:
            preferred = re.compile(r"classes|landcover|prediction")
            best = min(
                candidates,
                key=lambda la: (preferred.search(la.name) is None, la.group, la.date or ""),
            )
            best.visible = True
    if not any(layer.visible for layer in layers):
        layers[0].visible = True


__all__ = [
    "CACHE_FOLDER",
    "MAX_FILES",
    "VECTOR_SUFFIXES",
    "Served",
    "cache_dir_for",
    "colour_bands",
    "date_of",
    "discover",
    "folder_layers",
    "raster_layer",
    "run_layers",
    "run_report",
    "scene_layer",
    "stac_layers",
    "vector_layer",
]
