"""``eoforge predict``: classify whole scenes with a model bundle into class-map COGs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from eoforge.errors import ConfigError

if TYPE_CHECKING:
    from eoforge.io import RasterSource

HELP = """Classify whole scenes with a model bundle; write one class-map COG per scene.

Bands are picked by name from each scene, read on the scene's grid at the
bundle's GSD, predicted tile by tile with blended overlaps and streamed to
a COG (colour table, class names, 255 where inputs are invalid).

Examples:

  eoforge predict runs/landcover/bundle scenes/unseen/stac/collection.json --out maps

  eoforge predict bundle S2_scene_folder/ --out maps --tile 512 --overlap 32 --batch 8
"""


def _scenes(paths: list[Path], bands: list[str]) -> list[RasterSource]:
    from eoforge.catalog import Catalog
    from eoforge.io import open_sources

    found: list[RasterSource] = []
    for path in paths:
        if path.suffix.lower() == ".json":
            found.extend(Catalog.from_stac(path).sources(kind="image"))
        else:
            found.extend(open_sources(path))
    usable = [s for s in found if all(s.resolve(b) for b in bands)]
    if not usable:
        raise ConfigError(
            f"no scene in {', '.join(map(str, paths))} provides all the bundle's bands "
            f"({', '.join(bands)}).",
            fix="point at scenes of the sensor the model was trained on.",
        )
    return usable


def predict(
    bundle: Annotated[Path, typer.Argument(help="Model bundle folder.")],
    scenes: Annotated[list[Path], typer.Argument(help="Scene files, folders or STAC JSON.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("predictions"),
    tile: Annotated[int, typer.Option(help="Largest tile size in pixels.")] = 1024,
    overlap: Annotated[int, typer.Option(help="Overlap between tiles in pixels.")] = 64,
    batch: Annotated[int, typer.Option(help="Tiles per forward pass.")] = 2,
) -> None:
    """Classify scenes (see ``eoforge predict --help``)."""
    from eoforge.geo.grid import grid_from_bounds
    from eoforge.predict import TilingOptions, bundle_predictor, classify_scene

    console = Console()
    predictor, loaded = bundle_predictor(bundle)
    info = loaded.bundle
    classes = [(c.id, c.name, c.color) for c in info.classes]
    if not classes:
        raise ConfigError(
            "the bundle lists no classes.", path=bundle, fix="use a segmentation bundle."
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for scene in _scenes(scenes, info.bands):
        grid = scene.grid(info.bands[0])
        if info.gsd and abs(abs(grid.resolution.x) - info.gsd) > 1e-6:
            b = grid.boundingbox
            grid = grid_from_bounds((b.left, b.bottom, b.right, b.top), grid.crs, info.gsd)
        target = out / f"{scene.name}_classes.tif"
        start = time.perf_counter()
        with Progress(
            TextColumn(scene.name),
            BarColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task(scene.name, total=1, rate="")

            def report(done: int, total: int, task: TaskID = task, start: float = start) -> None:
                rate = done / 1e6 / max(time.perf_counter() - start, 1e-9)
                bar.update(task, total=total, completed=done, rate=f"{rate:.2f} MP/s")

            classify_scene(
                predictor,
                [scene],
                grid,
                info.bands,
                target,
                classes=classes,
                options=TilingOptions(tile, overlap, batch),
                progress=report,
            )
        written.append(target)
    for path in written:
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``predict`` to the ``eoforge`` command."""
    app.command("predict", help=HELP)(predict)
