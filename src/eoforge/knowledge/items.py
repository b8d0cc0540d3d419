"""What a knowledge base holds, row by row: windows, captions and documents, placed and dated.

Every source becomes rows of one table (a GeoDataFrame in WGS84 longitude and
latitude, so scenes of different CRSs share it) with these columns:

* ``kind``: ``"window"`` (an image window of an embedding table), ``"caption"``
  (a sentence of a caption table, with the map facts it states) or
  ``"document"`` (a paragraph of a text file, or a row of a vector layer with a
  text column);
* ``modality``: ``"image"`` (windows) or ``"text"`` (the rest): which vector
  index holds the row's vector;
* ``scene``, ``time`` (UTC, null when unknown), ``text`` (null for windows),
  ``facts`` (JSON of the facts a caption states, null otherwise), ``source``
  (the file it came from), ``ref`` (its position there: the window's row id,
  the caption's ``window_id``, the paragraph or row number), ``row`` and
  ``col`` (a window's top-left pixel in its scene, null otherwise);
* ``geometry``: the footprint (null for a document that names no place).

The caption tables are those ``eoforge captions`` writes (read by
:func:`eoforge.captions.read_captions`); the embedding tables those
``eoforge embed`` writes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from eoforge.captions import read_captions
from eoforge.captions.table import META_KEY
from eoforge.embeddings.table import EmbeddingTable
from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError

PathLike = str | os.PathLike[str]

ITEM_COLUMNS = ["kind", "modality", "scene", "time", "text", "facts", "source", "ref", "row", "col"]
"""Columns of a knowledge base's items besides ``geometry``."""

CRS = "EPSG:4326"
"""CRS of the footprints (longitude, latitude)."""

CAPTIONS_KEY = META_KEY
TEXT_SUFFIXES = (".txt", ".md")
VECTOR_SUFFIXES = (".parquet", ".geojson", ".gpkg", ".json")


@dataclass
class Items:
    """Rows of one source, not yet embedded.

    Attributes:
        frame: The rows (:data:`ITEM_COLUMNS` + ``geometry`` in :data:`CRS`).
        vectors: ``[N, D]`` image vectors of window rows (None: text rows, which the
            knowledge base's text embedder embeds from ``frame.text``).
    """

    frame: gpd.GeoDataFrame
    vectors: np.ndarray | None = None


def _frame(columns: dict[str, object], geometry: object, count: int) -> gpd.GeoDataFrame:
    """A frame of ``count`` rows with every item column (missing ones null)."""
    data = {name: columns.get(name, [None] * count) for name in ITEM_COLUMNS}
    frame = pd.DataFrame(data)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    for name in ("ref", "row", "col"):
        frame[name] = frame[name].astype("Int64")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry), crs=CRS)


def window_items(table: EmbeddingTable) -> Items:
    """One ``window`` row per window of an embedding table, with its vector."""
    windows = table.windows
    footprints = windows.geometry if windows.crs is None else windows.geometry.to_crs(CRS)
    sources = np.empty(len(windows), dtype=object)
    for i, lattice in enumerate(table.lattices):
        sources[table.rows_of(i)] = str(lattice.path)
    count = len(windows)
    columns: dict[str, object] = {
        "kind": ["window"] * count,
        "modality": ["image"] * count,
        "scene": windows["scene"].astype(str).to_numpy(),
        "time": windows["time"].to_numpy(),
        "source": sources,
        "ref": np.arange(count),
        "row": windows["row"].to_numpy(),
        "col": windows["col"].to_numpy(),
    }
    frame = _frame(columns, footprints.to_numpy(), count)
    return Items(frame, np.asarray(table.vectors, dtype=np.float32))


def caption_items(path: PathLike) -> Items:
    """One ``caption`` row per row of a caption table (:func:`eoforge.captions.read_captions`).

    Raises:
        MissingFileError: The file does not exist.
        UnreadableFileError: It is not a caption table.
    """
    table = read_captions(Path(path)).frame
    if table.crs is None:
        raise UnreadableFileError(
            "the caption table's footprints have no CRS.",
            path=path,
            fix="write it again with eoforge captions.",
        )
    count = len(table)
    columns: dict[str, object] = {
        "kind": ["caption"] * count,
        "modality": ["text"] * count,
        "scene": table["scene"].astype(str).to_numpy(),
        "time": table["time"].to_numpy(),
        "text": table["caption"].astype(str).to_numpy(),
        "facts": table["facts"].to_numpy(),
        "source": [str(path)] * count,
        "ref": table["window_id"].to_numpy(),
    }
    return Items(_frame(columns, table.geometry.to_crs(CRS).to_numpy(), count))


def document_items(path: PathLike) -> Items:
    """``document`` rows of a text file (one per paragraph) or a vector layer (one per row).

    A ``.txt`` or ``.md`` file is split at blank lines; its paragraphs name no
    place or time. A vector layer (GeoParquet, GeoJSON, GeoPackage) needs a
    ``text`` column; ``time`` and ``scene`` columns are used when present, and its
    geometries are the footprints.

    Raises:
        MissingFileError: The file does not exist.
        UnreadableFileError: It holds no text, or a vector layer has no ``text``
            column or no CRS.
        ConfigError: The file type is not one of those above.
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError("document not found.", path=file, fix="check the path.")
    suffix = file.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _paragraphs(file)
    if suffix in VECTOR_SUFFIXES:
        return _placed_documents(file)
    raise ConfigError(
        f"documents must be text ({', '.join(TEXT_SUFFIXES)}) or a vector layer with a text "
        f"column ({', '.join(VECTOR_SUFFIXES)}), not {suffix or 'a file without suffix'}.",
        path=file,
        fix="convert the document to plain text or to a layer with a text column.",
    )


def _paragraphs(file: Path) -> Items:
    try:
        content = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableFileError(
            f"not UTF-8 text ({error.reason}).", path=file, fix="save the document as UTF-8."
        ) from None
    blocks = [" ".join(b.split()) for b in content.replace("\r\n", "\n").split("\n\n")]
    paragraphs = [b for b in blocks if b]
    if not paragraphs:
        raise UnreadableFileError(
            "the document holds no text.", path=file, fix="give a file with words in it."
        )
    count = len(paragraphs)
    columns: dict[str, object] = {
        "kind": ["document"] * count,
        "modality": ["text"] * count,
        "text": paragraphs,
        "source": [str(file)] * count,
        "ref": np.arange(count),
    }
    return Items(_frame(columns, [None] * count, count))


def _placed_documents(file: Path) -> Items:
    layer = gpd.read_parquet(file) if file.suffix.lower() == ".parquet" else gpd.read_file(file)
    if "text" not in layer:
        raise UnreadableFileError(
            f"the layer has no text column (columns: {', '.join(map(str, layer.columns))}).",
            path=file,
            fix="name the column holding each feature's text 'text'.",
        )
    if layer.crs is None:
        raise UnreadableFileError(
            "the layer has no CRS.", path=file, fix="set the layer's CRS (e.g. EPSG:4326)."
        )
    texts = layer["text"].astype("string").fillna("").str.strip()
    keep = (texts != "").to_numpy()
    layer, texts = layer[keep], texts[keep]
    if not len(layer):
        raise UnreadableFileError(
            "the layer's text column is empty.", path=file, fix="fill the text column."
        )
    count = len(layer)
    columns: dict[str, object] = {
        "kind": ["document"] * count,
        "modality": ["text"] * count,
        "scene": layer["scene"].astype(str).to_numpy() if "scene" in layer else [None] * count,
        "time": layer["time"].to_numpy() if "time" in layer else [None] * count,
        "text": texts.to_numpy(dtype=object),
        "source": [str(file)] * count,
        "ref": np.flatnonzero(keep),
    }
    return Items(_frame(columns, layer.geometry.to_crs(CRS).to_numpy(), count))


def source_kind(path: PathLike) -> str:
    """What a file is, for a knowledge base: ``"captions"``, ``"embeddings"`` or ``"documents"``.

    A Parquet file with ``eoforge:captions`` metadata is a caption table, one whose
    ``eoforge`` metadata names embeddings an embedding table; anything else is a
    document (text file or vector layer, checked when it is read).

    Raises:
        MissingFileError: The file does not exist.
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError("source not found.", path=file, fix="check the path.")
    if file.suffix.lower() != ".parquet":
        return "documents"
    try:
        meta = pq.read_schema(file).metadata or {}
    except (OSError, ValueError) as error:
        raise UnreadableFileError(
            f"not a Parquet file ({error}).",
            path=file,
            fix="give caption tables, embedding tables, text files or vector layers.",
        ) from None
    if CAPTIONS_KEY in meta:
        return "captions"
    try:
        described = json.loads(meta.get(b"eoforge", b"{}"))
    except json.JSONDecodeError:
        described = {}
    if isinstance(described, dict) and described.get("output") == "embeddings":
        return "embeddings"
    return "documents"


def facts_of(raw: object) -> dict[str, object] | None:
    """The facts of a caption row as a dict (None when the row has none)."""
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return None
    try:
        value = json.loads(str(raw))
    except json.JSONDecodeError:
        return {"text": str(raw)}
    return value if isinstance(value, dict) else {"facts": value}
