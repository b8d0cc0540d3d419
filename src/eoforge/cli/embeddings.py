"""``eoforge embeddings``: index, search and cluster the window embeddings of ``eoforge embed``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from eoforge.cli import ui
from eoforge.errors import ConfigError

if TYPE_CHECKING:
    import geopandas as gpd

HELP = """Search and cluster window embeddings (the tables eoforge embed writes).

index builds an exact cosine-similarity index (FAISS) over the tables of one
bundle and saves it as a folder; search finds the windows most like an
example window (--like ROW), the window at a point (--at X,Y) or a window of
another table of the same bundle (--like ROW --example TABLE), in an index
or directly in tables; cluster groups the windows by k-means into a typology
map per scene (COG, one pixel per stride, colour table) with per-cluster
statistics (count, area, spread, land-cover shares with --labels). Vectors
of different bundles are never combined: an index refuses them and names
both bundles.

Examples:

  eoforge embeddings index emb/*_embeddings.parquet --out emb/index

  eoforge embeddings search emb/index --like 120 --k 10 --out similar.parquet

  eoforge embeddings search emb/index --at 600250,5699750 --k 20 --out similar.geojson

  eoforge embeddings cluster emb/*_embeddings.parquet --k 8 --out typology --labels lc.tif
"""

app = typer.Typer(help=HELP, no_args_is_help=True)


@app.command("index")
def index_command(
    tables: Annotated[list[Path], typer.Argument(help="Embedding GeoParquet files of one bundle.")],
    out: Annotated[Path, typer.Option("--out", help="Index folder to write.")],
) -> None:
    """Build and save an exact cosine-similarity index over embedding tables."""
    # FAISS and geopandas load only when used: `eoforge --version` stays fast
    from eoforge.embeddings import build_index

    with ui.status("indexing windows"):
        index = build_index(tables, out)
    model = index.model.describe() if index.model else "an unknown model"
    ui.result(f"wrote {out} ({len(index)} windows of {index.dim} values from {model})")


@app.command("search")
def search_command(
    source: Annotated[
        list[Path], typer.Argument(help="An index folder, or embedding GeoParquet files.")
    ],
    like: Annotated[
        int | None, typer.Option("--like", help="Row id of the example window.")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="X,Y of a point: the window there is the example.")
    ] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of --at (default: the index's CRS).")] = None,
    example: Annotated[
        Path | None,
        typer.Option("--example", help="Take --like's row from this table (same bundle)."),
    ] = None,
    k: Annotated[int, typer.Option("--k", help="Windows to return.", min=1)] = 10,
    exclude_overlapping: Annotated[
        bool,
        typer.Option("--exclude-overlapping", help="Leave out windows overlapping the example."),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the results (.parquet or .gpkg in the index's CRS, .geojson in WGS84).",
        ),
    ] = None,
) -> None:
    """The windows most similar to an example window."""
    # FAISS and geopandas load only when used: `eoforge --version` stays fast
    from eoforge.embeddings import open_index, read_tables
    from eoforge.embeddings.results import check_results_path, write_results

    if out is not None:  # before the index is read
        check_results_path(out)
    if (like is None) == (at is None) or (example is not None and like is None):
        raise ConfigError(
            "give exactly one example: --like ROW (optionally with --example TABLE) or --at X,Y.",
            fix="e.g. --like 120, or --at 600250,5699750.",
        )
    index = open_index(source)
    if example is not None and like is not None:
        found = index.like_row(read_tables(example), like, k)
        what = f"row {like} of {example}"
    else:
        row = like if like is not None else index.at(*_point(at or ""), crs=crs)
        found = index.like(row, k, exclude_overlapping=exclude_overlapping)
        what = f"window {row}"
    _show(found, what)
    if out is not None:
        write_results(found, out)
        ui.result(f"wrote {out} ({len(found)} windows)")


@app.command("cluster")
def cluster_command(
    tables: Annotated[list[Path], typer.Argument(help="Embedding GeoParquet files of one bundle.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("clusters"),
    k: Annotated[int, typer.Option("--k", help="Number of clusters (1-254).", min=1)] = 8,
    seed: Annotated[int, typer.Option(help="k-means seed.")] = 0,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="Class raster or vector layer for land-cover shares."),
    ] = None,
    label_column: Annotated[
        str | None, typer.Option("--label-column", help="Class column of a vector --labels.")
    ] = None,
) -> None:
    """Cluster windows into a typology map per scene with per-cluster statistics."""
    # FAISS and geopandas load only when used: `eoforge --version` stays fast
    from eoforge.embeddings import cluster_embeddings

    with ui.status(f"clustering windows into {k} groups"):
        result = cluster_embeddings(
            tables, out, k, seed=seed, labels=labels, label_column=label_column
        )
    table = Table("cluster", "windows", "km²", "mean distance", "main label")
    for stats in result.stats:
        shares = stats.land_cover
        top = max(shares.items(), key=lambda item: item[1]) if shares else None
        table.add_row(
            stats.name,
            str(stats.count),
            f"{stats.area_km2:.3f}",
            f"{stats.mean_distance:.3f}",
            f"{top[0]} ({top[1]:.0%})" if top else "",
        )
    ui.console().print(table)
    for path in [*result.maps.values(), *(result.files[p] for p in ("json", "csv", "assignments"))]:
        ui.result(f"wrote {path}")


def _point(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(
            f"--at {text!r} is not a point.", fix="give X,Y in map units, e.g. 600250,5699750."
        ) from None
    return x, y


def _show(found: gpd.GeoDataFrame, what: str) -> None:
    table = Table("rank", "id", "score", "scene", "row", "col", title=f"most similar to {what}")
    for item in found.itertuples():
        table.add_row(
            str(item.rank),
            str(item.id),
            f"{item.score:.4f}",
            str(item.scene),
            str(item.row),
            str(item.col),
        )
    ui.console().print(table)


def register(main: typer.Typer) -> None:
    """Add ``embeddings`` to the ``eoforge`` command."""
    main.add_typer(
        app, name="embeddings", short_help="Index, search and cluster window embeddings."
    )
