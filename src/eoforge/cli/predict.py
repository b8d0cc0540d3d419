"""``eoforge predict``: whole scenes through one or more model bundles into COGs and vectors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from eoforge.cli import ui
from eoforge.cli.field_options import (
    DEFAULT_BOUNDARY,
    DEFAULT_DISTANCE,
    DEFAULT_EXTENT,
    ExtentThreshold,
    SeedBoundary,
    SeedDistance,
    field_options,
)
from eoforge.cli.globs import expand
from eoforge.cli.run_options import Resume, Scheduler, Workers, run_options, scene_progress
from eoforge.errors import ConfigError

HELP = """Predict whole scenes with model bundles; write COGs, polygons or detections per scene.

Leading arguments that are bundle folders form the model (several: an ensemble
averaged in probability space); the rest are scenes: raster files, product
folders, folders of scenes or STAC JSON. Bands are picked by name and read on
each scene's grid at the bundle's GSD (or on --grid). Tiles are blended, blocks
are journaled (--resume continues an interrupted run) and the outputs are COGs
written under temporary names: a class map (colour table, class names, 255
where inputs are invalid) and, on request, confidence / probabilities (uint8,
scale 1/254) or float32 values for regression bundles. Change bundles take
pairs of dates of the same place; reference-guided super-resolution bundles
take --reference, an image of the place at another date read on the finer
output grid. Detection bundles write their boxes, merged
across tiles, as GeoParquet (scene CRS) and GeoJSON (WGS84): class, score,
polygon, centre, length and width in metres, angle from grid north. Memory
depends on tile and block size, not on scene size (GDAL's block cache holds a
row of blocks of the input, at most 128 MB, unless GDAL_CACHEMAX is set).
Multi-frame super-resolution bundles read every revisit of a footprint as one
scene (by date, else by name); output pixels that no revisit
covers are nodata; --masks gives each revisit file its clear mask (a quoted
glob, one per revisit in the same order, 1 = clear): cloudy pixels are
missing for the model, as in training.

Examples:

  eoforge predict runs/landcover/bundle scenes/unseen/stac/collection.json --out maps

  eoforge predict bundle_a bundle_b S2_scenes/ --out maps --tta --probabilities --vectors

  eoforge predict bundle big_scene.tif --out maps --workers 4 --resume

  eoforge predict runs/ships/bundle vhr_scene.tif --out detections

  eoforge predict runs/sr_synth_multiframe_x4/bundle revisits/lr_?.tif --out sr \
      --masks "revisits/lr_?_clear.tif"

  eoforge predict runs/sr_reference_x4/bundle lr.tif --reference ref_2_5m.tif --out sr

  eoforge predict bundle scene.tif --out maps --scheduler tcp://10.0.0.5:8786
"""


def _split(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    bundles = []
    for path in paths:
        if not (path.is_dir() and (path / "bundle.json").is_file()):
            break
        bundles.append(path)
    if not bundles:
        raise ConfigError(
            f"{paths[0]} is not a model bundle (a folder with bundle.json).",
            path=paths[0],
            fix="give the bundle folder written by `eoforge train` first, then the scenes.",
        )
    scenes = paths[len(bundles) :]
    if not scenes:
        raise ConfigError(
            "no scene given after the bundle(s).",
            fix="add scene files, folders or STAC JSON after the bundle.",
        )
    return bundles, scenes


def predict(
    paths: Annotated[
        list[Path], typer.Argument(help="Bundle folder(s), then scene files, folders or STAC JSON.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("predictions"),
    probabilities: Annotated[
        bool, typer.Option("--probabilities", help="Also write per-class probabilities.")
    ] = False,
    confidence: Annotated[
        bool, typer.Option("--confidence", help="Also write the winning class's probability.")
    ] = False,
    vectors: Annotated[
        bool, typer.Option("--vectors", help="Also write polygons per class (GeoParquet, GeoJSON).")
    ] = False,
    simplify: Annotated[
        float, typer.Option(help="Polygon simplification tolerance, map units (0: none).")
    ] = 0.0,
    tta: Annotated[bool, typer.Option("--tta", help="Average over 8 rotations/flips.")] = False,
    tile: Annotated[
        int | None,
        typer.Option(help="Largest tile size, input pixels [default: 1024; x2 SR 512, x4 256]."),
    ] = None,
    overlap: Annotated[
        int | None,
        typer.Option(help="Overlap between tiles, input pixels [default: 64; x2 SR 32, x4 16]."),
    ] = None,
    batch: Annotated[int | None, typer.Option(help="Tiles per forward pass [default: 2].")] = None,
    block: Annotated[
        int | None,
        typer.Option(
            help="Block of tiles per task/journal entry, input pixels "
            "[default: 2048; x2 SR 1024, x4 512]."
        ),
    ] = None,
    grid: Annotated[
        Path | None, typer.Option("--grid", help="Predict on this raster's grid instead.")
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference", help="High-resolution reference image (reference-guided SR bundles)."
        ),
    ] = None,
    masks: Annotated[
        str | None,
        typer.Option(
            "--masks",
            help="Multi-frame SR bundles: the revisits' clear masks (a quoted glob or one "
            "file; one per revisit file, same order; 1 = clear).",
        ),
    ] = None,
    extent_threshold: ExtentThreshold = DEFAULT_EXTENT,
    seed_distance: SeedDistance = DEFAULT_DISTANCE,
    seed_boundary: SeedBoundary = DEFAULT_BOUNDARY,
    workers: Workers = None,
    scheduler: Scheduler = None,
    resume: Resume = False,
) -> None:
    """Predict scenes (see ``eoforge predict --help``)."""
    # PyTorch and the model stack load only when predicting: `eoforge --version` stays fast
    from eoforge.predict import BundleModel, Products
    from eoforge.predict import run as run_prediction  # (start-up time, as above)
    from eoforge.predict.defaults import bundle_scale, scaled_tiling  # (start-up time, as above)
    from eoforge.predict.memory import bound_process_memory  # (start-up time, as above)

    bound_process_memory()
    console = ui.console()
    bundle_paths, scene_paths = _split(paths)
    model = BundleModel(tuple(str(p) for p in bundle_paths), tta=tta)
    # finer output grids (super-resolution) get smaller tiles and blocks by default
    tiling = scaled_tiling(
        bundle_scale(model), tile=tile, overlap=overlap, batch=batch, block=block
    )
    with scene_progress() as report:
        results = run_prediction(
            model,
            scene_paths,
            out,
            products=Products(
                probabilities,
                confidence,
                vectors,
                simplify,
                field_options(extent_threshold, seed_distance, seed_boundary),
            ),
            tiling=tiling,
            run=run_options(resume, workers, scheduler),
            grid=grid,
            progress=report,
            reference=reference,
            masks=None if masks is None else expand(masks, "--masks"),
        )
    for result in results:
        mpix, seconds = result.megapixels, result.seconds
        rate = mpix / max(seconds, 1e-9)
        console.print(f"{result.name}: {mpix:.1f} MP in {seconds:.1f} s ({rate:.2f} MP/s)")
        if result.absent_groups:
            console.print(
                f"{result.name}: degraded: input group(s) {', '.join(result.absent_groups)} "
                "absent from the scene, predicted without them",
                soft_wrap=True,
            )
    for result in results:
        if "detections" in result.paths:
            ui.result(f"{result.name}: {detection_summary(result.paths['detections'])}")
        for path in result.paths.values():
            ui.result(f"wrote {path}")


def detection_summary(path: Path) -> str:
    """How many boxes a detection layer holds, by class: ``"12 boxes (ship 10, plane 2)"``.

    Args:
        path: A published ``<scene>_detections.parquet``.

    Returns:
        The count, then each class's count, most frequent first (``"no boxes"`` if empty).
    """
    # pyarrow loads only when predicting: `eoforge --version` stays fast
    import pyarrow.parquet as pq

    counts: Counter[str] = Counter()
    for batch in pq.ParquetFile(path).iter_batches(columns=["class_name"]):
        counts.update(str(name) for name in batch.column(0).to_pylist())
    total = sum(counts.values())
    if total == 0:
        return "no boxes"
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    by_class = ", ".join(f"{name} {n}" for name, n in ranked)
    return f"{total} box{'es' if total != 1 else ''} ({by_class})"


def register(app: typer.Typer) -> None:
    """Add ``predict`` to the ``eoforge`` command."""
    app.command("predict", help=HELP)(predict)
