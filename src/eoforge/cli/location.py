"""``eoforge location``: embed places with a location bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eoforge.cli import ui

HELP = """Location embeddings of places (a location bundle trained with task.kind location).

encode reads places from a CSV or Parquet file (lon and lat columns in
degrees, or a GeoParquet of points in any CRS) and writes one embedding per
place: GeoParquet (WGS84 points, lon, lat, an embedding column) or CSV (lon,
lat, e0, e1, ...). Latitudes outside [-90, 90] and missing coordinates are
refused, naming the first bad row.

Examples:

  eoforge location encode runs/location/bundle --points places.csv --out places_emb.parquet
"""

app = typer.Typer(help=HELP, no_args_is_help=True)


@app.command("encode")
def encode_command(
    bundle: Annotated[Path, typer.Argument(help="Location bundle folder.")],
    points: Annotated[Path, typer.Option("--points", help="Places: .csv or .parquet.")],
    out: Annotated[Path, typer.Option("--out", help="Output .parquet or .csv.")],
    raw: Annotated[
        bool, typer.Option("--raw", help="The encoder's raw output instead of unit vectors.")
    ] = False,
) -> None:
    """Embed every place of a file with a location bundle."""
    # PyTorch loads only when used: `eoforge --version` stays fast
    from eoforge.location import encode, load_location_bundle, read_points
    from eoforge.location.writing import write_location_embeddings

    places = read_points(points)
    loaded = load_location_bundle(bundle)
    with ui.status(f"embedding {len(places)} places"):
        vectors = encode(places[:, 0], places[:, 1], bundle=loaded, normalize=not raw)
    write_location_embeddings(places, vectors, out)
    ui.result(f"wrote {out} ({len(places)} places, {vectors.shape[1]} values each)")


def register(main: typer.Typer) -> None:
    """Add ``location`` to the ``eoforge`` command."""
    main.add_typer(app, name="location", short_help="Embed places with a location bundle.")
