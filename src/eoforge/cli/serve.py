"""``eoforge serve``: a local map viewer of run folders, predictions, STAC and files."""

from __future__ import annotations

import errno
import os
import socket
import threading
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from eoforge.cli import ui
from eoforge.errors import ConfigError

HELP = """Open a map of scenes, predictions, errors and vectors in the browser.

PATH is a run folder (eoforge demo's: scene, predicted classes, reference
labels, an errors layer, confidence, polygons and the report's metrics), a
predictions folder, a folder of scenes (dates of one sensor form a time
series), a STAC catalog/collection/item JSON, or files: COG/GeoTIFF,
GeoParquet, GeoJSON. Several PATHs share one map.

The server listens on 127.0.0.1 (this computer only) unless --host says
otherwise; it serves only the files under the PATHs, read-only (computed
layers go to a .serve/ folder inside a served folder, or the temp folder).
Stop it with Ctrl-C. Works offline: the page and MapLibre GL JS ship inside
eoforge.

Examples:

  eoforge serve runs/demo

  eoforge serve maps/ --port 8010 --no-open

  eoforge serve scenes/unseen/stac/collection.json maps/unseen_classes.tif
"""

GDAL_CACHE_MB = 256
"""GDAL block cache of the server, MB (bounds memory while panning large COGs)."""


def _check_port(host: str, port: int) -> None:
    """Fail early with a clear message when the port is taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            taken = exc.errno == errno.EADDRINUSE
            raise ConfigError(
                f"cannot listen on {host}:{port}: "
                + ("the port is in use." if taken else (exc.strerror or str(exc))),
                fix="pick another port with --port, e.g. --port 8010."
                if taken
                else "give an address of this computer with --host (default 127.0.0.1).",
            ) from None


def serve(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Run folder, predictions folder, STAC JSON, GeoTIFF/COG, GeoParquet/GeoJSON."
        ),
    ],
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (127.0.0.1: this computer only).")
    ] = "127.0.0.1",
    no_open: Annotated[
        bool, typer.Option("--no-open", help="Do not open the map in a web browser.")
    ] = False,
) -> None:
    """Serve a map of the paths (see ``eoforge serve --help``)."""
    os.environ.setdefault("GDAL_CACHEMAX", str(GDAL_CACHE_MB))
    # Deferred for the CLI's start-up time: FastAPI, uvicorn and rio-tiler load only here.
    import uvicorn

    # Deferred for the CLI's start-up time (FastAPI, rio-tiler).
    from eoforge.serve.app import build_app, require_maplibre

    # Deferred for the CLI's start-up time (rio-tiler, geopandas).
    from eoforge.serve.discover import discover

    if not 0 < port < 65536:
        raise ConfigError(f"--port {port} is not a port number.", fix="use 1 to 65535, e.g. 8000.")
    _check_port(host, port)
    require_maplibre()
    with ui.status("[bold]finding layers[/] ..."):
        served = discover(paths)
    app = build_app(served)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    table = Table(title=f"eoforge serve: {escape(served.title)}", title_justify="left")
    for column in ("layer", "kind", "date", "shown"):
        table.add_column(column)
    for layer in served.layers:
        table.add_row(
            escape(layer.name), layer.kind, layer.date or "", "yes" if layer.visible else ""
        )
    ui.console().print(table)
    out = ui.out()
    out.print(f"[bold green]map at[/] {url}", soft_wrap=True, highlight=False)
    if host not in ("127.0.0.1", "localhost", "::1"):
        out.print(
            f"[yellow]listening on {escape(host)}: other computers can reach these files.[/]",
            soft_wrap=True,
        )
    out.print("press Ctrl-C to stop", highlight=False)
    if not no_open:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``eoforge`` command."""
    app.command("serve", help=HELP)(serve)
