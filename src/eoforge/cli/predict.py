"""``eoforge predict``: whole scenes through one or more model bundles into COGs and vectors."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from eoforge.errors import ConfigError

if TYPE_CHECKING:
    from odc.geo.geobox import GeoBox

    from eoforge.models import LoadedBundle
    from eoforge.predict import BundleModel, OutputSpec, RunOptions, TilingOptions
    from eoforge.predict.scenes import Scene

HELP = """Predict whole scenes with model bundles; write COGs (and polygons) per scene.

Leading arguments that are bundle folders form the model (several: an ensemble
averaged in probability space); the rest are scenes: raster files, product
folders, folders of scenes or STAC JSON. Bands are picked by name and read on
each scene's grid at the bundle's GSD (or on --grid). Tiles are blended, blocks
are journaled (--resume continues an interrupted run) and the outputs are COGs
written under temporary names: a class map (colour table, class names, 255
where inputs are invalid) and, on request, confidence / probabilities (uint8,
scale 1/254) or float32 values for regression bundles. Change bundles take
pairs of dates of the same place. Memory depends on tile and block size, not
on scene size (GDAL_CACHEMAX defaults to 128 MB here).

Examples:

  eoforge predict runs/landcover/bundle scenes/unseen/stac/collection.json --out maps

  eoforge predict bundle_a bundle_b S2_scenes/ --out maps --tta --probabilities --vectors

  eoforge predict bundle big_scene.tif --out maps --workers 4 --resume

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


def _spec(loaded: LoadedBundle, probabilities: bool, confidence: bool) -> OutputSpec:
    from eoforge.predict import ClassDef, OutputSpec

    info = loaded.bundle
    if info.task in ("segmentation", "change"):
        classes = tuple(ClassDef(c.id, c.name, c.color) for c in info.classes)
        return OutputSpec("classes", classes, probabilities=probabilities, confidence=confidence)
    if info.task == "pixel_regression":
        return OutputSpec("values", names=(info.model.options.get("target", "value"),))
    raise ConfigError(
        f"a {info.task} bundle labels whole patches, not pixels.",
        fix="predict scenes with a segmentation, change or pixel_regression bundle.",
    )


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
    tile: Annotated[int, typer.Option(help="Largest tile size in pixels.")] = 1024,
    overlap: Annotated[int, typer.Option(help="Overlap between tiles in pixels.")] = 64,
    batch: Annotated[int, typer.Option(help="Tiles per forward pass.")] = 2,
    block: Annotated[int, typer.Option(help="Block of tiles per task/journal entry, px.")] = 2048,
    grid: Annotated[
        Path | None, typer.Option("--grid", help="Predict on this raster's grid instead.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Run on a local Dask cluster of N processes.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Run on the Dask scheduler at this address.")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run from its journal.")
    ] = False,
) -> None:
    """Predict scenes (see ``eoforge predict --help``)."""
    from eoforge.cli import ui
    from eoforge.predict import BundleModel, DaskOptions, RunOptions, TilingOptions
    from eoforge.predict.memory import bound_process_memory
    from eoforge.predict.scenes import find_sources, group_scenes, output_grid

    bound_process_memory()
    console = ui.console()
    bundle_paths, scene_paths = _split(paths)
    model = BundleModel(tuple(str(p) for p in bundle_paths), tta=tta)
    loaded = model.load()
    info = loaded[0].bundle
    bands = model.bands(loaded)
    spec = _spec(loaded[0], probabilities, confidence or vectors)
    dates = 2 if info.task == "change" else 1
    scenes = group_scenes(find_sources(scene_paths), bands, dates=dates)
    target_grid = output_grid(grid) if grid is not None else None
    dask = None
    if workers is not None or scheduler is not None:
        dask = DaskOptions(scheduler=scheduler, workers=workers or 2)
    options = TilingOptions(tile, overlap, batch, block)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for scene in scenes:
        scene_grid = target_grid or scene.grid(info.bands, info.gsd)
        stem = out / scene.name
        seconds, paths_out = _run(
            scene, scene_grid, stem, model, bands, spec, options, RunOptions(resume, dask)
        )
        written += paths_out.values()
        if vectors:
            from eoforge.predict.vectors import polygonize_map

            result = polygonize_map(
                paths_out["classes"],
                stem.with_name(f"{stem.name}_classes"),
                confidence=paths_out.get("confidence"),
                simplify=simplify,
            )
            written += [result.parquet, result.geojson]
        mpix = scene_grid.shape.x * scene_grid.shape.y / 1e6
        console.print(
            f"{scene.name}: {mpix:.1f} MP in {seconds:.1f} s ({mpix / max(seconds, 1e-9):.2f} MP/s)"
        )
    for path in written:
        ui.result(f"wrote {path}")


def _run(
    scene: Scene,
    grid: GeoBox,
    stem: Path,
    model: BundleModel,
    bands: list[str],
    spec: OutputSpec,
    options: TilingOptions,
    run: RunOptions,
) -> tuple[float, dict[str, Path]]:
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

    from eoforge.cli import ui
    from eoforge.predict import predict_scene

    start = time.perf_counter()
    columns = (TextColumn(scene.name), BarColumn(), TextColumn("{task.fields[rate]}"))
    with ui.progress(*columns, TimeRemainingColumn()) as bar:
        task = bar.add_task(scene.name, total=1, rate="")

        def report(done: int, total: int) -> None:
            rate = done / 1e6 / max(time.perf_counter() - start, 1e-9)
            bar.update(task, total=total, completed=done, rate=f"{rate:.2f} MP/s")

        paths = predict_scene(
            model,
            scene.dates[0],
            grid,
            bands,
            stem,
            spec=spec,
            options=options,
            run=run,
            second=scene.dates[1] if len(scene.dates) > 1 else None,
            progress=report,
        )
    return time.perf_counter() - start, paths


def register(app: typer.Typer) -> None:
    """Add ``predict`` to the ``eoforge`` command."""
    app.command("predict", help=HELP)(predict)
