"""``eoforge despeckle``: SAR speckle filters over whole scenes, through the prediction engine."""

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

HELP = """Filter the speckle of SAR scenes into float32 COGs on the same grid.

Filters (linear intensity in, the same out; --db for bands in dB):
boxcar (multi-look mean over a window, blurs edges), lee (Lee 1980),
refined_lee (Lee 1981: the half of a 7 x 7 window on the pixel's side of
the strongest edge) and gamma_map (Lopes et al. 1990). --looks is the
input's equivalent number of looks (4.4 for Sentinel-1 IW GRD high
resolution, 1 for single-look intensity). Nodata stays nodata and never
leaks into its neighbours. Scenes are read in tiles whose overlap covers
each window, so a tiled scene equals a whole-image filtering everywhere; the
blocks are journaled (--resume) and can run on Dask (--workers,
--scheduler). Each scene writes <scene>_despeckled.tif (one band per
--bands name). docs/sar.md lists each filter's gain in looks and what it
does to edges.

Examples:

  eoforge despeckle s1_scene/ --out filtered

  eoforge despeckle vv_vh.tif --bands S1.VV,S1.VH --filter gamma_map --window 5

  eoforge despeckle sigma0_db.tif --db --filter refined_lee --looks 4.4
"""


def despeckle(
    scenes: Annotated[
        list[Path], typer.Argument(help="Scene files, product folders, folders or STAC JSON.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("despeckled"),
    bands: Annotated[
        str, typer.Option(help="Comma-separated SAR band names to filter.")
    ] = "S1.VV,S1.VH",
    filter_name: Annotated[
        str, typer.Option("--filter", help="boxcar, lee, refined_lee or gamma_map.")
    ] = "refined_lee",
    window: Annotated[int, typer.Option(help="Window side in pixels (odd).")] = 7,
    looks: Annotated[float, typer.Option(help="Equivalent number of looks of the input.")] = 4.4,
    db: Annotated[bool, typer.Option("--db", help="The bands are in dB.")] = False,
    tile: Annotated[int, typer.Option(help="Tile side in pixels.", min=64)] = 1024,
    block: Annotated[int, typer.Option(help="Block side in pixels (journal unit).")] = 2048,
    workers: Workers = None,
    scheduler: Scheduler = None,
    resume: Resume = False,
) -> None:
    """Despeckle scenes (see ``eoforge despeckle --help``)."""
    # PyTorch and the engine load only when filtering: `eoforge --version` stays fast
    from eoforge.predict import run
    from eoforge.predict.memory import bound_process_memory  # (start-up time, as above)
    from eoforge.predict.speckle import despeckle_spec, despeckle_tiling
    from eoforge.transforms.speckle import SpeckleFilter

    bound_process_memory()
    names = [b.strip() for b in bands.split(",") if b.strip()]
    speckle = SpeckleFilter(filter_name, window, looks, db)  # type: ignore[arg-type]
    with scene_progress() as report:
        results = run(
            speckle,
            scenes,
            out,
            spec=despeckle_spec(names, speckle),
            bands=names,
            tiling=despeckle_tiling(speckle, tile, block),
            run=run_options(resume, workers, scheduler),
            progress=report,
        )
    print_results(results)


def register(app: typer.Typer) -> None:
    """Add ``despeckle`` to the ``eoforge`` command."""
    app.command("despeckle", help=HELP)(despeckle)
