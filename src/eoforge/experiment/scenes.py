"""Turn a config's scene set into readable image, label and target sources.

Images may be given as STAC JSON, a saved catalog (``.parquet``), scene
folders (a synthetic scene's ``stac/`` is used when present), other folders
or files, or generated as a synthetic scene under the run folder. Label
rasters and targets named by band are looked up in the same catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eoforge.catalog import Catalog
from eoforge.errors import ConfigError, available_list
from eoforge.experiment.config import LabelLayer, SceneSet, SyntheticScene, TargetLayer
from eoforge.io.reader import as_sources
from eoforge.io.source import RasterSource
from eoforge.synth import generate_scene

STAC_IN_SCENE = Path("stac") / "collection.json"


@dataclass
class SceneSources:
    """Readable layers of one split.

    Attributes:
        images: Image sources holding at least one requested band.
        label: Raster label sources, a vector file path, or None.
        target: Regression target sources, or None.
        folder: The scene folder when the split is one scene (for its legend).
        target_images: Sources of ``data.target_bands`` (image_to_image), or None.
    """

    images: list[RasterSource]
    label: list[RasterSource] | Path | None
    target: list[RasterSource] | None
    folder: Path | None
    target_images: list[RasterSource] | None = None


def synthetic_folder(scene: SyntheticScene, run_dir: Path) -> Path:
    """Folder of a synthetic scene under the run folder, generated on first use.

    Scenes of one seed, size and sensors that differ in cloud cover (the
    cloudy input and the clear target of cloud removal) get their own folders.
    """
    name = f"synth-seed{scene.seed}-{scene.size}px-{scene.sensors}"
    if scene.clouds > 0:
        name += f"-clouds{scene.clouds:g}"
    folder = run_dir / "scenes" / name
    if not (folder / STAC_IN_SCENE).is_file():
        generate_scene(
            folder,
            size=scene.size,
            seed=scene.seed,
            sensors=scene.sensors,
            dates=scene.dates,
            clouds=scene.clouds,
            vectors=False,
        )
    return folder


def catalog_of(paths: list[Path]) -> Catalog:
    """One catalog of STAC files, saved catalogs, scene folders, folders and files."""
    parts: list[Catalog] = []
    plain: list[Path] = []
    for path in paths:
        if path.is_dir() and (path / STAC_IN_SCENE).is_file():
            parts.append(Catalog.from_stac(path / STAC_IN_SCENE))
        elif path.suffix == ".json":
            parts.append(Catalog.from_stac(path))
        elif path.suffix == ".parquet":
            parts.append(Catalog.load(path))
        else:
            plain.append(path)
    if plain:
        parts.append(Catalog.from_paths(plain, progress=False))
    return parts[0] if len(parts) == 1 else Catalog.concat(parts)


def scene_sources(scenes: SceneSet, bands: list[str], run_dir: Path, key: str) -> SceneSources:
    """Resolve a scene set.

    Args:
        scenes: The config's scene set.
        bands: Requested image bands.
        run_dir: Run folder (synthetic scenes are generated under it).
        key: Dotted config key of the scene set, for messages.

    Raises:
        ConfigError: No image holds the bands, or a label/target band is not found.
    """
    paths = list(scenes.images)
    if scenes.synthetic is not None:
        paths = [synthetic_folder(scenes.synthetic, run_dir)]
    catalog = catalog_of(paths)
    images = [
        e.source
        for e in catalog.query(kind="image")
        if e.source is not None and any(e.source.resolve(b) for b in bands)
    ]
    if not images:
        raise ConfigError(
            f"{key}.images: no image provides any of the bands {bands}.",
            fix="point at the scenes that hold them, or change data.bands.",
        )
    folder = paths[0] if len(paths) == 1 and paths[0].is_dir() else None
    label = None if scenes.label is None else label_layer(scenes.label, catalog, f"{key}.label")
    target = None
    if scenes.target is not None:
        target = target_layer(scenes.target, catalog, f"{key}.target")
    return SceneSources(images, label, target, folder)


def with_target_bands(
    sources: SceneSources, scenes: SceneSet, target_bands: list[str], run_dir: Path, key: str
) -> SceneSources:
    """``sources`` with the sources of the image-to-image target bands.

    They come from ``scenes.target_scene`` (a paired scene of the same
    footprint and date), else from the split's own catalog.

    Raises:
        ConfigError: A target band no source holds (the message lists the bands there are).
    """
    paths = list(scenes.images)
    where = f"{key}.target_scene"
    if scenes.target_scene is not None:
        paths = list(scenes.target_scene.images)
        if scenes.target_scene.synthetic is not None:
            paths = [synthetic_folder(scenes.target_scene.synthetic, run_dir)]
    elif scenes.synthetic is not None:
        paths = [synthetic_folder(scenes.synthetic, run_dir)]
        where = key
    catalog = catalog_of(paths)
    found = [
        e.source
        for e in catalog.query(kind="image")
        if e.source is not None and any(e.source.resolve(b) for b in target_bands)
    ]
    missing = [b for b in target_bands if not any(s.resolve(b) for s in found)]
    if missing:
        raise ConfigError(
            f"{where}: no image holds the target bands {missing}; "
            f"the catalog has {_all_bands(catalog)}.",
            fix="point data.<split>.target_scene at scenes holding them, or change "
            "data.target_bands.",
        )
    sources.target_images = found
    return sources


def _band_sources(catalog: Catalog, band: str, kinds: tuple[str, ...]) -> list[RasterSource]:
    found: list[RasterSource] = []
    for entry in catalog.query(kind=list(kinds)):
        source = entry.source
        if source is not None and source.resolve(band):
            found.append(source)
    return found


def _all_bands(catalog: Catalog) -> str:
    return available_list(b for e in catalog for b in e.bands)


def label_layer(label: LabelLayer, catalog: Catalog, key: str) -> list[RasterSource] | Path:
    """Label rasters (from ``path`` or the catalog's label band) or the vector file.

    Raises:
        ConfigError: The catalog has no label raster with ``band``.
    """
    if label.kind == "vector":
        assert label.path is not None
        return label.path
    if label.path is not None:
        return as_sources(label.path)
    assert label.band is not None
    found = _band_sources(catalog, label.band, ("label_raster",))
    if not found:
        raise ConfigError(
            f"{key}.band: no label raster holds {label.band!r}; "
            f"the catalog has {_all_bands(catalog)}.",
            fix="name a label band of the scenes, or give label.path.",
        )
    return found[:1]


def target_layer(target: TargetLayer, catalog: Catalog, key: str) -> list[RasterSource]:
    """Sources of the regression target band.

    Raises:
        ConfigError: No source holds ``target.band``.
    """
    if target.path is not None:
        sources = as_sources(target.path)
    else:
        sources = _band_sources(catalog, target.band, ("image", "label_raster"))
    if not any(s.resolve(target.band) for s in sources):
        raise ConfigError(
            f"{key}.band: no source holds {target.band!r}; the catalog has {_all_bands(catalog)}.",
            fix="name a band of the scenes (e.g. DEM.ndsm), or give target.path.",
        )
    return sources


def label_band_of(label: list[RasterSource] | Path | None, layer: LabelLayer | None) -> str | None:
    """The band to read from raster labels (the configured one, else the file's first)."""
    if layer is None or layer.kind == "vector" or not isinstance(label, list):
        return None
    return layer.band or str(label[0].bands[0])
