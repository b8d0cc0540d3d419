"""The viewer's web application: the page, the layer list, tiles, points, vectors and files.

:func:`create_app` finds the layers of the paths once (:mod:`eoforge.serve.discover`)
and answers the viewer's HTTP contract:

* ``GET /`` and ``GET /static/{file}``: the page and its scripts (``static/``);
* ``GET /api/layers``: title, bounds, layers, report metrics;
* ``GET /api/tiles/{id}/{z}/{x}/{y}.png``: 256-pixel RGBA PNG tiles in Web Mercator
  (``render``, ``band``, ``stretch``, ``colormap``);
* ``GET /api/point?lon=&lat=``: every raster layer's values at a place;
* ``GET /api/vectors/{id}.geojson?bbox=``: features in EPSG:4326, capped;
* ``GET /files/{relpath}``: read-only files under the served paths.

Unknown layers are 404, bad parameters 400 (422 for values of the wrong type),
paths outside the served ones 403; an unexpected failure (a file deleted while
serving) is a 500 whose body is one short JSON message, never a traceback.
Nothing is ever written to the served files.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from eoforge.errors import MissingFileError
from eoforge.serve import files, params
from eoforge.serve.discover import Served, discover
from eoforge.serve.layers import Layer
from eoforge.serve.params import BadRequestError
from eoforge.serve.point import inspect_point
from eoforge.serve.render import render_tile
from eoforge.serve.vectors import feature_collection

STATIC = Path(__file__).parent / "static"
"""The page's files (HTML, scripts, styles, the vendored MapLibre GL JS)."""

MAPLIBRE = STATIC / "vendor" / "maplibre-gl.js"
"""MapLibre GL JS, fetched from the npm registry at build time (``scripts/vendor_maplibre.sh``)."""


def require_maplibre(path: Path = MAPLIBRE) -> None:
    """Fail clearly when the page's map library was never fetched (a checkout without ``make``).

    Raises:
        MissingFileError: ``path`` is missing, with the command that fetches it.
    """
    if not path.is_file():
        raise MissingFileError(
            "the map viewer's MapLibre GL JS build is missing (it is fetched at build time, "
            "not kept in git).",
            path=str(path),
            fix="run `make test` or `scripts/vendor_maplibre.sh` in the source tree (needs npm), "
            "or install eoforge from a built wheel.",
        )


TILE_CACHE_SECONDS = 60
"""How long browsers may keep a tile."""

LOG = logging.getLogger("eoforge.serve")


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(data, allow_nan=False), status_code=status, media_type="application/json"
    )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def _layer(served: Served, layer_id: str, *, raster: bool) -> Layer | JSONResponse:
    layer = served.layer(layer_id)
    if layer is None:
        return _error(404, f"no layer {layer_id!r}; GET /api/layers lists them.")
    if layer.is_raster != raster:
        what = "a raster" if layer.is_raster else "a vector"
        return _error(400, f"layer {layer_id!r} is {what} layer.")
    return layer


def layers_json(served: Served) -> dict[str, Any]:
    """The body of ``GET /api/layers``."""
    return {
        "title": served.title,
        "bounds": list(served.bounds),
        "layers": [layer.to_json() for layer in served.layers],
        "report": served.report,
    }


def build_app(served: Served) -> FastAPI:
    """The application serving already discovered layers (see :func:`create_app`)."""
    app = FastAPI(title=f"eoforge serve: {served.title}", docs_url=None, redoc_url=None)
    app.state.served = served

    @app.exception_handler(BadRequestError)
    async def _bad_request(request: Request, exc: BadRequestError) -> JSONResponse:
        return _error(400, str(exc))

    @app.middleware("http")
    async def _unexpected(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # Caught here rather than by an exception handler, which would also let the
        # server log the traceback: one line on the console, a short JSON body.
        try:
            return await call_next(request)
        except Exception as exc:
            LOG.warning(
                "%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc
            )
            return _error(500, f"internal error ({type(exc).__name__}); see the server's messages.")

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        page = STATIC / "index.html"
        if not page.is_file():
            return _error(404, "the page is not installed (static/index.html is missing).")
        return FileResponse(page, media_type="text/html")

    @app.get("/static/{relpath:path}", include_in_schema=False)
    def static(relpath: str) -> Response:
        return _send(relpath, {"static": STATIC}, prefix="static/")

    @app.get("/api/layers")
    def api_layers() -> Response:
        return _json(layers_json(served))

    @app.get("/api/tiles/{layer_id}/{z}/{x}/{y}.png")
    def api_tile(
        layer_id: str,
        z: int,
        x: int,
        y: int,
        render: str | None = None,
        band: str | None = None,
        stretch: str | None = None,
        colormap: str | None = None,
    ) -> Response:
        layer = _layer(served, layer_id, raster=True)
        if isinstance(layer, JSONResponse):
            return layer
        params.tile_coords(z, x, y)
        given = params.stretch(stretch)
        png = render_tile(
            layer, z, x, y, render=render, band=band, stretch=given, colormap=colormap
        )
        return Response(
            png,
            media_type="image/png",
            headers={"Cache-Control": f"max-age={TILE_CACHE_SECONDS}"},
        )

    @app.get("/api/point")
    def api_point(lon: float, lat: float) -> Response:
        params.lon_lat(lon, lat)
        return _json(inspect_point(served.layers, lon, lat))

    @app.get("/api/vectors/{layer_id}.geojson")
    def api_vectors(layer_id: str, bbox: str | None = None) -> Response:
        layer = _layer(served, layer_id, raster=False)
        if isinstance(layer, JSONResponse):
            return layer
        box = params.bbox(bbox)
        assert layer.vector_path is not None  # vector layers always have one
        return Response(
            json.dumps(feature_collection(layer.vector_path, box)),
            media_type="application/geo+json",
        )

    @app.get("/files/{relpath:path}")
    def served_file(relpath: str) -> Response:
        return _send(relpath, served.roots)

    return app


def _send(relpath: str, roots: dict[str, Path], prefix: str = "") -> Response:
    try:
        path = files.resolve(roots, prefix + relpath)
    except files.ForbiddenPathError:
        return _error(403, "outside the served paths.")
    except files.NoSuchPathError:
        return _error(404, "no such file.")
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media)


def create_app(paths: Sequence[Path]) -> FastAPI:
    """The viewer's application for run folders, folders, STAC JSON, rasters and vector files.

    Args:
        paths: What to serve (see :func:`eoforge.serve.discover.discover`).

    Returns:
        A FastAPI application; run it with uvicorn on 127.0.0.1.

    Raises:
        MissingFileError: A path does not exist.
        EoforgeError: The paths hold nothing to show.
    """
    return build_app(discover(paths))


__all__ = ["STATIC", "build_app", "create_app", "layers_json"]
