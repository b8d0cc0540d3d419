"""The library entry point: model bundles (or any predictor) and scenes in, files per scene out.

:func:`run` resolves what the user points at (bundle folders, scene files,
folders or STAC JSON) into scenes that provide the model's bands, picks the
output kind from the bundle unless one is given (embedding bundles: one
vector per window of the bundle's patch size, with the scene's acquisition
time and the bundle's fingerprint), predicts each scene through
the engine (:func:`~eoforge.predict.engine.predict_scene`) and, on request,
turns class maps into polygons. ``eoforge predict`` and the demo are this
function plus a progress display.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from odc.geo.geobox import GeoBox

from eoforge.errors import ConfigError
from eoforge.io.source import RasterSource
from eoforge.models import LoadedBundle
from eoforge.models.sr_reference import takes_reference
from eoforge.predict.bundle import DETECTION_TASKS, BundleModel
from eoforge.predict.clear_masks import match_masks
from eoforge.predict.defaults import scaled_tiling
from eoforge.predict.detections import DetectionSpec
from eoforge.predict.embeddings import EmbeddingSpec
from eoforge.predict.engine import RunOptions, TilingOptions, predict_scene
from eoforge.predict.executors import Model
from eoforge.predict.fields import FIELD_TASK, FieldPolygonOptions, field_polygons
from eoforge.predict.groups import GroupRead, bundle_groups, scene_reads
from eoforge.predict.identity import bundle_identity
from eoforge.predict.kinds import OutputKind
from eoforge.predict.raster import OutputSpec
from eoforge.predict.scenes import Scene, find_sources, group_scenes, output_grid
from eoforge.predict.vectors import VectorOutputs, polygonize_map

PathLike = str | os.PathLike[str]

SceneProgress = Callable[[str, int, int], None]
"""Receives ``(scene name, input pixels predicted so far, input pixels to predict)``."""


@dataclass(frozen=True)
class Products:
    """What to write besides the model's main output, for bundles' default outputs.

    Attributes:
        probabilities: Per-class probabilities (class bundles).
        confidence: The winning class's probability (class bundles).
        vectors: Polygons per class region (GeoParquet and GeoJSON; implies confidence,
            whose mean each polygon carries).
        simplify: Polygon simplification tolerance in map units (0: none).
        fields: How field-boundary bundles' maps become field polygons (written for
            every scene they predict, as ``<scene>_fields.parquet``).
    """

    probabilities: bool = False
    confidence: bool = False
    vectors: bool = False
    simplify: float = 0.0
    fields: FieldPolygonOptions = field(default_factory=FieldPolygonOptions)


@dataclass(frozen=True)
class SceneResult:
    """What one scene's prediction wrote.

    Attributes:
        name: The scene's name (the stem of its files).
        paths: Product name → file (``classes``, ``confidence``, ``polygons``, ...).
        grid: The grid the model read.
        seconds: Wall time of the prediction (polygons included).
        vectors: The polygons' files and counts, when polygons were asked for.
        absent_groups: Bundles trained on input groups: the groups whose bands the
            scene lacks, absent from every tile (a degraded prediction).
    """

    name: str
    paths: dict[str, Path]
    grid: GeoBox = field(repr=False)
    seconds: float
    vectors: VectorOutputs | None = None
    absent_groups: tuple[str, ...] = ()

    @property
    def megapixels(self) -> float:
        """Input pixels of the scene, millions."""
        return self.grid.shape.x * self.grid.shape.y / 1e6


def run(
    model: Model | PathLike | Sequence[PathLike],
    scenes: PathLike | Sequence[PathLike] | Sequence[Scene],
    out: PathLike,
    *,
    spec: OutputKind[Any] | None = None,
    bands: Sequence[str] | None = None,
    products: Products | None = None,
    tiling: TilingOptions | None = None,
    run: RunOptions | None = None,
    grid: GeoBox | PathLike | None = None,
    progress: SceneProgress | None = None,
    reference: PathLike | None = None,
    masks: Sequence[PathLike] | None = None,
) -> list[SceneResult]:
    """Predict every scene with a model and write its products into ``out``.

    Args:
        model: Bundle folder(s) (several: an ensemble), a :class:`BundleModel` (e.g.
            with ``tta=True``), or a predictor function (then ``spec`` and ``bands``
            are required).
        scenes: Raster files, product folders, folders of scenes, STAC JSON, or
            :class:`~eoforge.predict.scenes.Scene` objects.
        out: Output folder; scene ``S`` writes ``out/S_<product>.<ext>``.
        spec: What the model outputs (default for bundles: a class map, or values for
            regression bundles, see :meth:`OutputSpec.from_bundle`; boxes for detection
            bundles; one vector per window for embedding bundles, with the scene's name
            and acquisition time filled in per scene).
        bands: Band names the model reads, in channel order (default: the bundles').
        products: Extra products of bundles' default outputs, and polygons.
        tiling: Tile, overlap, batch and block sizes (default for embedding bundles:
            windows of the bundle's patch size side by side, ``stride`` = ``tile``; for
            outputs on a finer grid, tiles and blocks that shrink with the scale:
            :func:`~eoforge.predict.defaults.scaled_tiling`).
        run: Resumption and executor (local or Dask).
        grid: Read every scene on this grid (or the grid of this raster) instead of
            its own grid at the bundle's GSD.
        progress: ``(scene, done, total)`` input pixels, for progress bars.
        reference: A high-resolution reference raster (or product folder, STAC
            JSON) for reference-guided bundles, read on each scene's output grid.
        masks: Multi-frame bundles: a clear mask (1 = clear) per file of ``scenes``
            (the revisits, given as raster files), in the same order; cloudy
            pixels are missing for the model, as in training
            (:mod:`~eoforge.predict.clear_masks`).

    Returns:
        One result per scene, in order.

    Raises:
        ConfigError: A predictor function without ``spec`` and ``bands``; no scene
            provides the bands; a change bundle without two dates; a scene smaller
            than an embedding window; masks for a model that is not multi-frame, or
            that do not match the revisit files.
    """
    products = products or Products()
    model, bands, spec, gsd, dates, patch = _resolve(model, spec, bands, products)
    if masks is not None and dates != 0:
        raise ConfigError(
            "clear masks go with multi-frame super-resolution bundles (their revisits).",
            fix="drop the masks, or predict with a multi-frame bundle (sr_multiframe).",
        )
    if tiling is None and isinstance(spec, EmbeddingSpec) and patch is not None:
        tiling = TilingOptions(tile=patch, overlap=0, batch=16, multiple=1, stride=patch)
    elif tiling is None:  # tiles and blocks shrink on finer output grids (bounded memory)
        tiling = scaled_tiling(spec.scaling.up)
    guide = _reference(model, reference)
    target = output_grid(Path(grid)) if isinstance(grid, (str, os.PathLike)) else grid
    stack = dates == 0  # a multi-frame or time-series model: every date of a footprint
    scene_bands = _scene_bands(model, bands, scenes)
    found = _scenes(scenes, scene_bands, dates)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for scene in found:
        start = time.perf_counter()
        scene_grid = target or scene.grid(scene_bands, gsd)
        stem = folder / scene.name
        scene_spec = spec
        if isinstance(spec, EmbeddingSpec):
            scene_spec = _scene_embeddings(spec, scene, scene_grid, tiling)

        def report(done: int, total: int, name: str = scene.name) -> None:
            if progress is not None:
                progress(name, done, total)

        groups = _group_reads(model, scene)
        paths = predict_scene(
            model,
            scene.dates[0],
            scene_grid,
            bands,
            stem,
            groups=groups,
            spec=scene_spec,
            options=tiling,
            run=run,
            second=scene.dates[1] if len(scene.dates) > 1 and not stack else None,
            revisits=scene.dates[1:] if stack and not groups else (),
            reference=guide,
            progress=report,
            masks=() if masks is None else match_masks(scene.dates, _given(scenes), masks),
        )
        if _field_bundle(model) and "values" in paths:  # whole-scene watershed, after the engine
            fields, _ = field_polygons(
                paths["values"], stem.with_name(f"{stem.name}_fields.parquet"), products.fields
            )
            paths["fields"] = fields
        polygons = None
        if products.vectors and "classes" in paths:
            polygons = polygonize_map(
                paths["classes"],
                stem.with_name(f"{stem.name}_classes"),
                confidence=paths.get("confidence"),
                simplify=products.simplify,
            )
            paths |= {"polygons": polygons.parquet, "polygons_geojson": polygons.geojson}
        seconds = time.perf_counter() - start
        absent = tuple(r.name for r in groups if not r.sources)
        results.append(SceneResult(scene.name, paths, scene_grid, seconds, polygons, absent))
    return results


def _field_bundle(model: Model) -> bool:
    """Whether ``model`` is one field-boundary bundle (its maps become field polygons)."""
    return isinstance(model, BundleModel) and model.load()[0].bundle.task == FIELD_TASK


def _scene_bands(
    model: Model, bands: list[str], scenes: PathLike | Sequence[PathLike] | Sequence[Scene]
) -> list[str]:
    """The bands a scene must provide to be predicted.

    All of ``bands``, except for a bundle trained on input groups given paths: groups
    none of whose bands the rasters hold are left out (they are absent from every tile,
    as a group no raster covered was in training).
    """
    if not isinstance(model, BundleModel):
        return bands
    loaded = model.load()
    found = bundle_groups(loaded[0]) if len(loaded) == 1 else None
    given = [scenes] if isinstance(scenes, (str, os.PathLike)) else list(scenes)
    if found is None or not given or any(isinstance(s, Scene) for s in given):
        return bands
    sources = find_sources([Path(s) for s in given if not isinstance(s, Scene)])
    held = [
        b
        for group in found[0].values()
        if all(any(s.resolve(b) for s in sources) for b in group["bands"])
        for b in group["bands"]
    ]
    return held or bands


def _group_reads(model: Model, scene: Scene) -> list[GroupRead]:
    """Each input group's rasters in the scene, for a bundle trained on groups; else none.

    The scene grid is then the label grid (the bundle's GSD), which the groups' grids
    share footprints with (:mod:`.groups`). A bundle with a time-series group gets
    every date of the footprint.
    """
    if not isinstance(model, BundleModel):
        return []
    loaded = model.load()
    if len(loaded) != 1 or bundle_groups(loaded[0]) is None:
        return []
    return scene_reads(loaded[0], [s for date in scene.dates for s in date])


def _resolve(
    model: Model | PathLike | Sequence[PathLike],
    spec: OutputKind[Any] | None,
    bands: Sequence[str] | None,
    products: Products,
) -> tuple[Model, list[str], OutputKind[Any], float | None, int, int | None]:
    """``(model, bands, spec, gsd, dates, patch size)`` for what the caller gave.

    ``dates`` is 1, 2 (change bundles) or 0: every date of a footprint (multi-frame
    super-resolution bundles, whose model options record ``frames``).
    """
    if isinstance(model, (str, os.PathLike)):
        model = BundleModel((os.fspath(model),))
    elif isinstance(model, Sequence):
        model = BundleModel(tuple(os.fspath(p) for p in model))
    if not isinstance(model, BundleModel):
        if spec is None or bands is None:
            raise ConfigError(
                "a predictor function needs the output spec and the band names.",
                fix="pass spec=OutputSpec(...) (or DetectionSpec, EmbeddingSpec) and bands=[...].",
            )
        return model, list(bands), spec, None, 1, None
    loaded = model.load()
    info = loaded[0].bundle
    if spec is None and info.task == "embedding":
        spec = EmbeddingSpec(
            dim=embedding_dim(loaded[0]), model=bundle_identity(model.bundles, model.tta)
        )
    elif spec is None and info.task in DETECTION_TASKS:
        spec = DetectionSpec(
            classes=tuple(info.classes), oriented=info.task == "oriented_detection"
        )
    elif spec is None:
        spec = OutputSpec.from_bundle(
            loaded[0],
            probabilities=products.probabilities,
            confidence=products.confidence or products.vectors,
        )
    dates = 2 if info.task == "change" else 1
    if info.task == "super_resolution" and "frames" in info.model.options:
        dates = 0  # multi-frame: all dates of a footprint (see _scenes)
    found = bundle_groups(loaded[0])
    if found is not None and any(g.get("dates") is not None for g in found[0].values()):
        dates = 0  # a time-series input group: all dates of a footprint
    return model, list(bands or model.bands(loaded)), spec, info.gsd, dates, info.patch_size


def _reference(model: Model, reference: PathLike | None) -> list[RasterSource] | None:
    """The reference's sources, checked against whether the model reads one.

    Raises:
        ConfigError: A reference for a model that takes none, none for a model that
            needs one, or a path that holds no image.
    """
    guided = isinstance(model, BundleModel) and takes_reference(model.load()[0].model)
    if reference is None:
        if guided:
            raise ConfigError(
                "this bundle reads a high-resolution reference of the place.",
                fix="pass --reference REF.tif (an image of the place on the output grid).",
            )
        return None
    if not guided:
        raise ConfigError(
            "a reference was given but the model does not read one.",
            path=reference,
            fix="drop --reference, or predict with a reference-guided bundle (sr_reference).",
        )
    sources = find_sources([Path(reference)])
    if not sources:
        raise ConfigError(
            "the reference holds no image.", path=reference, fix="point at a GeoTIFF."
        )
    return sources


def embedding_dim(loaded: LoadedBundle) -> int:
    """Vector length of an embedding bundle's model (its ``num_features``, else one forward)."""
    width = getattr(loaded.model, "num_features", None)
    if isinstance(width, int):
        return width
    side = loaded.bundle.patch_size
    with torch.inference_mode():
        out = loaded.model(torch.zeros(1, len(loaded.bundle.bands), side, side))
    return int(out.shape[-1])


def _scene_embeddings(
    spec: EmbeddingSpec, scene: Scene, grid: GeoBox, tiling: TilingOptions | None
) -> EmbeddingSpec:
    """``spec`` with the scene's name and acquisition time, checked against the window."""
    window = (tiling or TilingOptions()).tile
    if (tiling is not None and tiling.stride is not None) and min(
        grid.shape.y, grid.shape.x
    ) < window:
        raise ConfigError(
            f"scene {scene.name} is {grid.shape.y} x {grid.shape.x} px on the model's grid, "
            f"smaller than one {window}-px embedding window.",
            fix="give a smaller window (at least the model's patch size) or a larger scene.",
        )
    when = next((s.datetime for s in scene.dates[0] if s.datetime is not None), None)
    return dataclasses.replace(
        spec,
        scene=spec.scene or scene.name,
        time=spec.time or (None if when is None else when.isoformat()),
    )


def _given(scenes: PathLike | Sequence[PathLike] | Sequence[Scene]) -> list[PathLike]:
    """The paths among ``scenes`` (a path or a sequence of them and scenes)."""
    if isinstance(scenes, (str, os.PathLike)):
        return [scenes]
    return [s for s in scenes if not isinstance(s, Scene)]


def _scenes(
    scenes: PathLike | Sequence[PathLike] | Sequence[Scene], bands: list[str], dates: int
) -> list[Scene]:
    if isinstance(scenes, (str, os.PathLike)):
        scenes = [scenes]
    given = list(scenes)
    if given and all(isinstance(s, Scene) for s in given):
        return [s for s in given if isinstance(s, Scene)]
    paths = [Path(s) for s in given if not isinstance(s, Scene)]
    return group_scenes(find_sources(paths), bands, dates=max(dates, 1), stack=dates == 0)
