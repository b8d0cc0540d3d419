"""``eoforge serve``: a local map viewer of scenes, predictions, errors, vectors and reports.

The server side answers the viewer's HTTP contract (``app``): layers found in run
folders, folders, STAC and files (``discover``), XYZ tiles through rio-tiler
(``render``), point queries (``point``), GeoJSON of vector layers (``vectors``)
and read-only files under the served paths (``files``). The page and the
vendored MapLibre GL JS live in ``static/``.
"""
