"""Search results (windows with footprints) written to GeoParquet, GeoJSON or GeoPackage."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from eoforge.errors import ConfigError

RESULT_SUFFIXES = (".parquet", ".geojson", ".json", ".gpkg")
"""What :func:`write_results` writes, by file suffix."""


def check_results_path(out: Path) -> None:
    """Refuse an output name :func:`write_results` cannot write, before any work is done.

    Raises:
        ConfigError: The suffix is not one of :data:`RESULT_SUFFIXES`.
    """
    if out.suffix.lower() not in RESULT_SUFFIXES:
        raise ConfigError(
            f"cannot write {out.suffix or 'files without a suffix'}.",
            path=out,
            fix="end --out with .parquet, .geojson or .gpkg.",
        )


def write_results(found: gpd.GeoDataFrame, out: Path) -> Path:
    """Write search results through a temporary name, then rename it to ``out``.

    GeoParquet and GeoPackage keep the index's CRS; GeoJSON (RFC 7946) is written in
    WGS84 lon/lat. Times become ISO 8601 strings outside GeoParquet.

    Args:
        found: One row per result window (``geometry`` footprints, optional ``time``).
        out: ``.parquet``, ``.geojson``/``.json`` or ``.gpkg`` file.

    Returns:
        ``out``.

    Raises:
        ConfigError: An output suffix it cannot write.
    """
    check_results_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    staging = out.with_name(f".{out.name}.partial{out.suffix}")
    try:
        if suffix == ".parquet":
            found.to_parquet(staging, index=False)
        else:
            frame = found.copy()
            if "time" in frame:
                frame["time"] = [
                    None if t is None or t != t else t.isoformat() for t in frame["time"]
                ]
            if suffix != ".gpkg" and frame.crs is not None:
                frame = frame.to_crs("EPSG:4326")
            if suffix == ".gpkg":  # the layer is named after the final file, not the staging one
                frame.to_file(staging, driver="GPKG", layer=out.stem)
            else:
                frame.to_file(staging, driver="GeoJSON")
        staging.replace(out)
    finally:
        staging.unlink(missing_ok=True)
    return out
