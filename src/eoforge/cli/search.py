"""``eoforge search``: find the windows an image-text bundle's index holds that match words."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from eoforge.cli import ui
from eoforge.errors import ConfigError

if TYPE_CHECKING:
    import geopandas as gpd

HELP = """Search window embeddings with words.

QUERY is embedded by the text side of an image-text bundle (trained with
task.kind image_text) and compared with the windows of INDEX (an index
folder from eoforge embeddings index, or embedding tables), which must hold
vectors that eoforge embed made with the same bundle: vectors of another
bundle are refused and both are named. The bundle defaults to the one the
index records. --bbox keeps windows intersecting a box (in --crs, default
the index's CRS); --time START/END keeps windows dated within (ISO dates,
either end open with ..). Results list the windows with their footprints;
--out writes them as GeoParquet (.parquet), GeoJSON (.geojson, WGS84) or
GeoPackage (.gpkg).

Examples:

  eoforge search "a river crossing farmland" emb/index --k 10

  eoforge search "a harbour" emb/index --bbox 4.2,51.8,4.6,52.0 --crs EPSG:4326 --out h.geojson

  eoforge search "flooded fields" emb/index --time 2024-01-01/2024-03-31 --bundle image_text_bundle
"""


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(
            f"--bbox {text!r} is not four numbers.", fix="give minx,miny,maxx,maxy."
        ) from None
    return minx, miny, maxx, maxy


def search(
    query: Annotated[str, typer.Argument(help="What to look for, in words.")],
    index: Annotated[
        list[Path], typer.Argument(help="An index folder, or embedding GeoParquet files.")
    ],
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Image-text bundle (default: the one the index records)."),
    ] = None,
    k: Annotated[int, typer.Option("--k", help="Windows to return.", min=1)] = 10,
    bbox: Annotated[
        str | None, typer.Option("--bbox", help="minx,miny,maxx,maxy: windows intersecting it.")
    ] = None,
    crs: Annotated[
        str | None, typer.Option("--crs", help="CRS of --bbox (default: the index's CRS).")
    ] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="START/END: windows dated within (ISO dates).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the results (.parquet, .geojson, .gpkg).")
    ] = None,
) -> None:
    """Search windows with words (see ``eoforge search --help``)."""
    # PyTorch, FAISS and the text model load only when searching: `eoforge --version` stays fast
    from eoforge.embeddings.results import check_results_path, write_results
    from eoforge.text.search import search_text, time_range

    if not query.strip():
        raise ConfigError("the query is empty.", fix='give words, e.g. "a river crossing fields".')
    if out is not None:
        check_results_path(out)
    window = None if time is None else time_range(time)
    with ui.status("searching"):
        found = search_text(
            [query],
            index[0] if len(index) == 1 else index,
            bundle=bundle,
            k=k,
            bbox=_bbox(bbox),
            crs=crs,
            time=window,
        )
    _show(found, query)
    if out is not None:
        write_results(found, out)
        ui.result(f"wrote {out} ({len(found)} windows)")


def _show(found: gpd.GeoDataFrame, query: str) -> None:
    table = Table(
        "rank", "id", "score", "scene", "row", "col", "time", title=f"windows for {query!r}"
    )
    for item in found.itertuples():
        when = "" if item.time is None or item.time != item.time else str(item.time)
        table.add_row(
            str(item.rank),
            str(item.id),
            f"{item.score:.4f}",
            str(item.scene),
            str(item.row),
            str(item.col),
            when,
        )
    ui.console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``search`` to the ``eoforge`` command."""
    app.command("search", help=HELP)(search)
