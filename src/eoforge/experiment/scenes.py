"""Turn a config's scene set into readable image, label and target sources.

Images may be given as STAC JSON, a saved catalog (``.parquet``), scene
folders (a synthetic scene's ``stac/`` is used when present), other folders
or files, or generated as a synthetic scene under the run folder. Label
rasters and targets named by band are looked up in the same catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eoforge.catalog import Catalog, CatalogEntry
from eoforge.errors import ConfigError, available_list
from eoforge.experiment.config import LabelLayer, SceneSet, SyntheticScene, TargetLayer
from eoforge.io.reader import as_sources
from eoforge.io.source import RasterSource
from eoforge.synth import generate_scene

STAC_IN_SCENE = Path("stac") / "collection.json"
OVERLAP_SHARE = 0.01
"""Label rasters of two ``images`` entries may share at most this share of the smaller
footprint (neighbouring tiles touch or overlap by a reprojection sliver; more is the same
ground)."""


@dataclass
class SceneSources:
    """Readable layers of one split.

    Attributes:
        images: Image sources holding at least one requested band.
        label: Raster label sources, a vector file path, or None.
        target: Regression target sources, or None.
        folder: The scene folder when the split is one scene (for its legend).
        target_images: Sources of ``data.target_bands`` (image_to_image), or None.
        label_images: With raster labels from the catalog: for each label
            raster, the position in ``images`` of the first image of the same
            ``images`` entry (the image its scoring tiles read), or None.
    """

    images: list[RasterSource]
    label: list[RasterSource] | Path | None
    target: list[RasterSource] | None
    folder: Path | None
    target_images: list[RasterSource] | None = None
    label_images: list[int] | None = None


def synthetic_folder(scene: SyntheticScene, run_dir: Path) -> Path:
    """Folder of a synthetic scene under the run folder, generated on first use.

    Scenes of one seed, size and sensors that differ in cloud cover (the
    cloudy input and the clear target of cloud removal) get their own folders, and
    so do scenes with varied phenology.
    """
    name = f"synth-seed{scene.seed}-{scene.size}px-{scene.sensors}"
    if scene.clouds > 0:
        name += f"-clouds{scene.clouds:g}"
    if scene.phenology != "uniform":
        name += f"-{scene.phenology}"
    folder = run_dir / "scenes" / name
    if not (folder / STAC_IN_SCENE).is_file():
        generate_scene(
            folder,
            size=scene.size,
            seed=scene.seed,
            sensors=scene.sensors,
            dates=scene.dates,
            clouds=scene.clouds,
            phenology=scene.phenology,
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


def entry_groups(paths: list[Path]) -> list[list[Path]]:
    """The ``images`` entries, grouped as they are cataloged.

    Each folder, STAC or catalog file is an entry of its own; the plain files
    form one group (the bands of a band-per-file product stay one product).
    """
    groups: list[list[Path]] = []
    files: list[Path] = []
    for path in paths:
        if path.is_file() and path.suffix not in (".json", ".parquet"):
            if not files:
                groups.append(files)
            files.append(path)
        else:
            groups.append([path])
    return groups


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
    entries = [catalog_of(group) for group in entry_groups(paths)]
    catalog = entries[0] if len(entries) == 1 else Catalog.concat(entries)
    images: list[RasterSource] = []
    first_image: list[int | None] = []  # per entry: position of its first image in `images`
    for entry in entries:
        found = [
            e.source
            for e in entry.query(kind="image")
            if e.source is not None and any(e.source.resolve(b) for b in bands)
        ]
        first_image.append(len(images) if found else None)
        images += found
    if not images:
        raise ConfigError(
            f"{key}.images: no image provides any of the bands {bands}.",
            fix="point at the scenes that hold them, or change data.bands.",
        )
    folder = paths[0] if len(paths) == 1 and paths[0].is_dir() else None
    label: list[RasterSource] | Path | None = None
    label_images = None
    if scenes.label is not None:
        label, label_images = label_layer(scenes.label, entries, first_image, f"{key}.label")
    target = None
    if scenes.target is not None:
        target = target_layer(scenes.target, catalog, f"{key}.target")
    return SceneSources(images, label, target, folder, label_images=label_images)


def _entry_labels(
    label: LabelLayer, entries: list[Catalog], first_image: list[int | None], key: str
) -> tuple[list[RasterSource], list[int]]:
    """The first label raster holding ``label.band`` of each ``images`` entry.

    One raster per entry (a scene with several dates has one land-cover map
    per date; the first is used, as for a single scene), so every scene
    listed under ``images`` brings its own labels.

    Returns:
        The label rasters and, for each, the position of its entry's first image.

    Raises:
        ConfigError: No entry has such a label raster, or the label rasters of
            two entries cover the same ground (windows of one would read the
            other's labels: the message names both files).
    """
    assert label.band is not None
    chosen: list[tuple[RasterSource, CatalogEntry, int]] = []
    for position, entry in enumerate(entries):
        image = first_image[position]
        rows = [
            e
            for e in entry.query(kind="label_raster")
            if e.source is not None and e.source.resolve(label.band)
        ]
        if rows and image is not None and rows[0].source is not None:
            chosen.append((rows[0].source, rows[0], image))
    if not chosen:
        catalog = entries[0] if len(entries) == 1 else Catalog.concat(entries)
        raise ConfigError(
            f"{key}.band: no label raster holds {label.band!r}; "
            f"the catalog has {_all_bands(catalog)}.",
            fix="name a label band of the scenes, or give label.path.",
        )
    for i, (_, first, _) in enumerate(chosen):
        for _, second, _ in chosen[i + 1 :]:
            shared = first.footprint.intersection(second.footprint).area
            if shared > OVERLAP_SHARE * min(first.footprint.area, second.footprint.area):
                raise ConfigError(
                    f"{key}: the label rasters {first.path} and {second.path} cover the same "
                    "ground; windows of one scene would read the other's labels.",
                    fix="list scenes of different places together (a synthetic scene's place "
                    "is its center option), or train on overlapping scenes in separate runs.",
                )
    return [c[0] for c in chosen], [c[2] for c in chosen]


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


def label_layer(
    label: LabelLayer, entries: list[Catalog], first_image: list[int | None], key: str
) -> tuple[list[RasterSource] | Path, list[int] | None]:
    """Label rasters (from ``path`` or each entry's label band) or the vector file.

    Args:
        label: The configured label layer.
        entries: The catalog of each ``images`` entry, in order.
        first_image: Per entry, the position of its first image among the
            split's images (None: the entry has none).
        key: Dotted config key, for messages.

    Returns:
        The layer and, for label rasters found by band, the position of the
        first image of each raster's entry (None otherwise).

    Raises:
        ConfigError: The catalog has no label raster with ``band``, or two
            entries' label rasters cover the same ground.
    """
    if label.kind == "vector":
        assert label.path is not None
        return label.path, None
    if label.path is not None:
        return as_sources(label.path), None
    sources, images = _entry_labels(label, entries, first_image, key)
    return sources, images


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
