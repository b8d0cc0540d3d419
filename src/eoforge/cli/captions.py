"""``eoforge captions``: true captions of every window of a scene's land-cover labels."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from eoforge.cli import ui
from eoforge.errors import ConfigError

HELP = """Caption every window of a scene's land-cover labels into a GeoParquet caption table.

SCENE_OR_CATALOG is an eoforge synth scene folder (labels/landcover_*.tif,
legend.json, vectors/*.parquet), a class raster, a saved catalog (.parquet)
or a STAC collection (.json) with label rasters. Windows of --window px at
--gsd start every --stride px; each window with at least --min-valid valid
pixels gets --per-window different captions of --sentences sentences, drawn
with --seed from facts of its labels: class shares, dominant and rare classes,
where classes lie, what crosses the window, counts and sizes of vector features
(--vectors), and with --change-dates A,B what changed from A to B. Every
statement is true of the labels (eoforge.captions.verify checks them). The
table has one row per caption: footprint, window_id, scene, time, caption and
the facts as JSON.

Examples:

  eoforge captions scene/ --out captions.parquet

  eoforge captions scene/ --out flood.parquet --change-dates 2024-05-26,2024-07-25

  eoforge captions landcover.tif --out c.parquet --window 32 --vectors buildings.parquet
"""


def _dates(text: str | None, option: str) -> list[dt.date] | None:
    if text is None:
        return None
    try:
        return [dt.date.fromisoformat(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is not a list of dates.",
            fix=f"write {option} 2024-05-26,2024-07-25.",
        ) from None


def _bounds(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        left, bottom, right, top = (float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(
            f"--bounds {text!r} is not four numbers.",
            fix="write --bounds LEFT,BOTTOM,RIGHT,TOP in the labels' CRS.",
        ) from None
    return left, bottom, right, top


def captions(
    source: Annotated[
        Path,
        typer.Argument(help="Synth scene folder, class raster, saved catalog or STAC collection."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Caption table to write (.parquet).")] = Path(
        "captions.parquet"
    ),
    window: Annotated[int, typer.Option(help="Window side, pixels.", min=1)] = 64,
    gsd: Annotated[
        float | None, typer.Option(help="Pixel size, m (default: the labels').", min=0.0)
    ] = None,
    stride: Annotated[
        int | None, typer.Option(help="Pixels between windows (default: the window).", min=1)
    ] = None,
    per_window: Annotated[
        int, typer.Option("--per-window", help="Captions per window.", min=1)
    ] = 3,
    sentences: Annotated[int, typer.Option(help="Sentences per caption.", min=1)] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the sentence draws.")] = 0,
    min_valid: Annotated[
        float, typer.Option("--min-valid", help="Smallest share of valid pixels.", min=0.0, max=1.0)
    ] = 0.5,
    labels: Annotated[
        str, typer.Option(help="Label family: synth file prefix or catalog band name.")
    ] = "landcover",
    legend: Annotated[
        Path | None, typer.Option(help="legend.json naming the classes (default: the labels').")
    ] = None,
    vectors: Annotated[
        list[Path] | None,
        typer.Option(help="Vector layer (repeat; default: a synth folder's vectors/*.parquet)."),
    ] = None,
    no_vectors: Annotated[bool, typer.Option("--no-vectors", help="Use no vector layer.")] = False,
    vector_class: Annotated[
        str | None, typer.Option("--vector-class", help="Class column of the vector layers.")
    ] = None,
    date: Annotated[
        str | None, typer.Option(help="Only these label dates (YYYY-MM-DD, comma-separated).")
    ] = None,
    change_dates: Annotated[
        str | None,
        typer.Option("--change-dates", help="A,B: caption date B with its changes since A."),
    ] = None,
    bounds: Annotated[
        str | None,
        typer.Option(help="LEFT,BOTTOM,RIGHT,TOP in the labels' CRS: only windows inside."),
    ] = None,
) -> None:
    """Caption windows (see ``eoforge captions --help``)."""
    # geopandas, shapely and scipy load only when captioning: `eoforge --version` stays fast
    from eoforge.captions import CaptionOptions, caption_windows, write_captions

    change = _dates(change_dates, "--change-dates")
    if change is not None and len(change) != 2:
        raise ConfigError(
            f"--change-dates needs two dates, got {len(change)}.", fix="write --change-dates A,B."
        )
    options = CaptionOptions(
        window=window,
        gsd=gsd,
        stride=stride,
        per_window=per_window,
        sentences=sentences,
        seed=seed,
        min_valid=min_valid,
        labels=labels,
        legend=legend,
        vectors=[] if no_vectors else vectors,
        vector_class=vector_class,
        dates=_dates(date, "--date"),
        change=None if change is None else (change[0], change[1]),
        bounds=_bounds(bounds),
    )
    with ui.progress(transient=True) as bar:
        task = bar.add_task("captioning windows", total=None)

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        made = caption_windows(source, options, progress=report)
    write_captions(made.frame, made.meta, out)
    ui.console().print(
        f"{made.windows} windows captioned, {made.skipped} skipped (under {min_valid:.0%} valid)"
    )
    ui.result(f"wrote {out} ({len(made.frame)} captions of {made.windows} windows)")


def register(app: typer.Typer) -> None:
    """Add ``captions`` to the ``eoforge`` command."""
    app.command("captions", help=HELP)(captions)
