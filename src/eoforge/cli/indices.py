"""``eoforge indices``: spectral index maps of whole scenes, through the prediction engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eoforge.cli.run_options import (
    Resume,
    Scheduler,
    Workers,
    print_results,
    run_options,
    scene_progress,
)

HELP = """Map spectral indices of whole scenes into float32 COGs on the scenes' grids.

Any index of the Awesome Spectral Indices catalogue (about 280: NDVI, EVI,
SAVI, NDWI, MNDWI, NBR, NDMI, NDBI, NDSI, red-edge indices, SAR ratios such
as VHVVR...), by short name; the bands each needs are found among the
scene's bands by name, alias or wavelength, for any sensor the registry
knows. Bands are read in physical units (reflectance, backscatter) as the
registry scales them. Each scene writes <scene>_indices.tif, one band per
index, named after it; nodata stays nodata. Blocks are journaled
(--resume) and can run on Dask (--workers, --scheduler).

Examples:

  eoforge indices s2_scene/ --index NDVI,NDWI,NBR --out maps

  eoforge indices LC08_scene/ --index EVI,SAVI

  eoforge indices s1.tif --index VHVVR,NDPolI
"""


def indices(
    scenes: Annotated[
        list[Path], typer.Argument(help="Scene files, product folders, folders or STAC JSON.")
    ],
    index: Annotated[
        str, typer.Option("--index", help="Comma-separated index short names (NDVI,EVI).")
    ] = "NDVI",
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("indices"),
    tile: Annotated[int, typer.Option(help="Tile side in pixels.", min=64)] = 1024,
    block: Annotated[int, typer.Option(help="Block side in pixels (journal unit).")] = 2048,
    workers: Workers = None,
    scheduler: Scheduler = None,
    resume: Resume = False,
) -> None:
    """Map indices (see ``eoforge indices --help``)."""
    # PyTorch and the engine load only when mapping: `eoforge --version` stays fast
    from eoforge.predict import OutputSpec, TilingOptions, find_sources, run
    from eoforge.predict.memory import bound_process_memory  # (start-up time, as above)
    from eoforge.transforms.indices import IndexStack

    bound_process_memory()
    names = [n.strip() for n in index.split(",") if n.strip()]
    held = list(dict.fromkeys(b for s in find_sources(scenes) for b in s.bands))
    stack = IndexStack(IndexStack(held, names).needed, names)
    with scene_progress() as report:
        results = run(
            stack,
            scenes,
            out,
            spec=OutputSpec("values", names=tuple(names), product="indices"),
            bands=stack.bands,
            tiling=TilingOptions(tile=tile, overlap=0, batch=1, block=block, multiple=1),
            run=run_options(resume, workers, scheduler),
            progress=report,
        )
    print_results(results)


def register(app: typer.Typer) -> None:
    """Add ``indices`` to the ``eoforge`` command."""
    app.command("indices", help=HELP)(indices)
