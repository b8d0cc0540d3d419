"""Catalog: scenes and label layers in a spatio-temporal index.

Build one from files and folders (:meth:`Catalog.from_paths`) or STAC
(:meth:`Catalog.from_stac`), query it by place, time, sensor and bands, read
its scenes as :class:`~eoforge.io.source.RasterSource` objects, and keep it
as GeoParquet.
"""

from eoforge.catalog.build import SkippedFile
from eoforge.catalog.core import Catalog, CatalogEntry
from eoforge.catalog.rows import COLUMNS, KINDS

__all__ = ["COLUMNS", "KINDS", "Catalog", "CatalogEntry", "SkippedFile"]
