"""The knowledge base: image and text vectors with their metadata in one store.

An RS-RAG-style store: windows (image vectors from embedding tables), captions
with the map facts they state and documents (text vectors) share one item
table (:mod:`eoforge.knowledge.items`); each modality has its own exact
cosine FAISS index (row ``i`` of an index is the item whose ``vector`` is
``i``). Vectors of different embedders never mix: the store records the text
embedder's :attr:`~eoforge.text.TextEmbedder.name` and the image model's
:class:`~eoforge.predict.identity.ModelIdentity`, refuses a question embedded
by another text model and refuses tables of two image models.

Image and text vectors are in **one joint space** only when they come from one
image-text bundle: the embedding tables were made by its image tower (their
model fingerprint is the bundle's) and the text embedder is its text side.
Then a question finds windows directly; otherwise windows are reached through
the captions whose footprints they overlap.

A knowledge base is a folder:

* ``knowledge.json``: format version, the text model (name, width, and the
  image-text bundle whose text side it is, if any), the image model (identity,
  width), whether the space is joint, the source files;
* ``items.parquet``: the items (GeoParquet, WGS84) with their ``vector`` row;
* ``text.faiss`` and ``image.faiss``: the vector indexes (when the modality has rows).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from eoforge.embeddings.index import normalized
from eoforge.embeddings.table import read_tables
from eoforge.errors import ConfigError, MissingFileError, UnreadableFileError
from eoforge.io.staging import staged_folder
from eoforge.knowledge.items import (
    CRS,
    Items,
    PathLike,
    caption_items,
    document_items,
    window_items,
)
from eoforge.predict.identity import ModelIdentity, bundle_identity, same_model
from eoforge.text import TextEmbedder

KNOWLEDGE_JSON = "knowledge.json"
ITEMS_FILE = "items.parquet"
INDEX_FILES = {"text": "text.faiss", "image": "image.faiss"}
FORMAT_VERSION = 1
TEXT_BATCH = 256
"""Sentences embedded per step (one progress step)."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called as the build advances."""


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class KnowledgeBase:
    """Items with their vectors, searchable by modality.

    Attributes:
        items: One row per item (see :mod:`eoforge.knowledge.items`) plus ``vector``,
            its row in its modality's index; the index of the frame is the item id.
        indexes: ``"text"`` and/or ``"image"`` FAISS flat inner-product indexes of
            unit vectors.
        text_model: Name of the text embedder that made the text vectors.
        text_dim: Width of the text vectors.
        image_model: The model behind the image vectors (None: no windows, or unknown).
        joint: Whether text and image vectors share one space (one image-text bundle).
        sources: The files the items came from.
        text_bundle: The image-text bundle whose text side made the text vectors
            (None: a plain sentence model).
    """

    items: gpd.GeoDataFrame
    indexes: dict[str, faiss.IndexFlatIP]
    text_model: str
    text_dim: int
    image_model: ModelIdentity | None = None
    joint: bool = False
    sources: list[str] = field(default_factory=list)
    text_bundle: str | None = None

    def __len__(self) -> int:
        return len(self.items)

    def counts(self) -> dict[str, int]:
        """Items per kind (``window``, ``caption``, ``document``)."""
        return {str(k): int(v) for k, v in self.items["kind"].value_counts().sort_index().items()}

    def check_embedder(self, embedder: TextEmbedder) -> None:
        """Refuse a text embedder other than the one the text vectors came from.

        Raises:
            ConfigError: Its name or width differs from the store's.
        """
        if embedder.name != self.text_model or embedder.dim != self.text_dim:
            raise ConfigError(
                f"the knowledge base was built with the text model {self.text_model!r} "
                f"({self.text_dim} values), but the question would be embedded by "
                f"{embedder.name!r} ({embedder.dim} values); vectors of different models "
                "cannot be compared.",
                fix=f"ask with the text model {self.text_model!r}, or build the knowledge base "
                "again with this one (eoforge knowledge build).",
            )

    def describe(self) -> str:
        """``"12 windows, 36 captions (text model m; image model ...)"`` for messages."""
        parts = [f"{n} {kind}s" for kind, n in self.counts().items()]
        image = f"; image model {self.image_model.describe()}" if self.image_model else ""
        joint = "; joint image-text space" if self.joint else ""
        return f"{', '.join(parts) or 'no items'} (text model {self.text_model}{image}{joint})"

    # -- files ---------------------------------------------------------------

    def save(self, folder: PathLike) -> Path:
        """Write the knowledge base folder (replacing one there), complete or not at all.

        Raises:
            ConfigError: ``folder`` exists and is something else.
        """
        target = Path(folder)
        if target.exists() and (
            not target.is_dir()
            or (not (target / KNOWLEDGE_JSON).is_file() and any(target.iterdir()))
        ):
            raise ConfigError(
                "exists and is not a knowledge base; refusing to replace it.",
                path=target,
                fix="choose a new or empty folder for the knowledge base.",
            )
        with staged_folder(target) as staging:
            for modality, index in self.indexes.items():
                faiss.write_index(index, str(staging / INDEX_FILES[modality]))
            self.items.to_parquet(staging / ITEMS_FILE, index=False)
            description = {
                "format_version": FORMAT_VERSION,
                "metric": "cosine",
                "text_model": {
                    "name": self.text_model,
                    "dim": self.text_dim,
                    "bundle": self.text_bundle,
                },
                "image_model": None
                if self.image_model is None
                else {**self.image_model.to_dict(), "dim": int(self.indexes["image"].d)},
                "joint": self.joint,
                "counts": self.counts(),
                "sources": self.sources,
            }
            (staging / KNOWLEDGE_JSON).write_text(json.dumps(description, indent=2) + "\n")
        return target

    @classmethod
    def load(cls, folder: PathLike) -> KnowledgeBase:
        """Read a folder written by :meth:`save`.

        Raises:
            MissingFileError: The folder or one of its files is missing.
            UnreadableFileError: ``knowledge.json`` is not a knowledge base description.
        """
        root = Path(folder)
        fix = "build it with eoforge knowledge build."
        if not (root / KNOWLEDGE_JSON).is_file():
            raise MissingFileError("not a knowledge base (no knowledge.json).", path=root, fix=fix)
        try:
            description = json.loads((root / KNOWLEDGE_JSON).read_text())
            text = description["text_model"]
            text_model, text_dim = str(text["name"]), int(text["dim"])
            text_bundle = None if text.get("bundle") is None else str(text["bundle"])
            raw_image = description["image_model"]
            image_model = None if raw_image is None else ModelIdentity.from_dict(raw_image)
            joint = bool(description["joint"])
            sources = [str(s) for s in description["sources"]]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise UnreadableFileError(
                f"not a knowledge base description ({error}).", path=root / KNOWLEDGE_JSON, fix=fix
            ) from None
        if not (root / ITEMS_FILE).is_file():
            raise MissingFileError(
                "knowledge base items not found.", path=root / ITEMS_FILE, fix=fix
            )
        items = gpd.read_parquet(root / ITEMS_FILE)
        indexes: dict[str, faiss.IndexFlatIP] = {}
        for modality in sorted(set(items["modality"])):
            path = root / INDEX_FILES[str(modality)]
            if not path.is_file():
                raise MissingFileError("knowledge base vectors not found.", path=path, fix=fix)
            index = faiss.read_index(str(path))
            if not isinstance(index, faiss.IndexFlatIP):
                raise UnreadableFileError(
                    f"not a flat inner-product FAISS index ({type(index).__name__}).",
                    path=path,
                    fix=fix,
                )
            indexes[str(modality)] = index
        return cls(items, indexes, text_model, text_dim, image_model, joint, sources, text_bundle)


def _embed_texts(
    embedder: TextEmbedder, texts: Sequence[str], progress: Progress
) -> npt.NDArray[np.float32]:
    parts = []
    for start in range(0, len(texts), TEXT_BATCH):
        parts.append(embedder.encode(list(texts[start : start + TEXT_BATCH])))
        progress("embedding texts", min(start + TEXT_BATCH, len(texts)), len(texts))
    if not parts:
        return np.zeros((0, embedder.dim), np.float32)
    vectors = np.concatenate(parts).astype(np.float32)
    if vectors.shape != (len(texts), embedder.dim):
        raise ConfigError(
            f"the text embedder {embedder.name!r} returned vectors of shape {vectors.shape} "
            f"for {len(texts)} texts, not [{len(texts)}, {embedder.dim}].",
            fix="fix the text embedder: encode must return [N, dim].",
        )
    return vectors


def _flat(vectors: npt.NDArray[np.float32]) -> faiss.IndexFlatIP:
    index = faiss.IndexFlatIP(int(vectors.shape[1]))
    index.add(normalized(vectors))
    return index


def build_knowledge(
    embedder: TextEmbedder,
    *,
    captions: Sequence[PathLike] = (),
    embeddings: Sequence[PathLike] = (),
    documents: Sequence[PathLike] = (),
    image_text_bundle: PathLike | None = None,
    progress: Progress | None = None,
) -> KnowledgeBase:
    """Gather caption tables, embedding tables and documents into a knowledge base.

    Args:
        embedder: The text tower that embeds captions and documents now and
            questions later.
        captions: Caption tables (``eoforge captions``).
        embeddings: Embedding tables of one image model (``eoforge embed``).
        documents: Text files (a paragraph per item) or vector layers with a
            ``text`` column.
        image_text_bundle: The image-text bundle whose text side ``embedder`` is:
            the embedding tables must come from its image tower, and questions
            then find windows directly (one joint space).
        progress: Called as ``progress(stage, done, total)`` while reading and embedding.

    Raises:
        ConfigError: Nothing was given, the embedding tables come from different
            models or not from ``image_text_bundle``, or no question could reach any
            item (windows without captions in a space that is not joint).
        MissingFileError: A file does not exist.
        UnreadableFileError: A file is not what its option says.
    """
    report = progress or _no_progress
    if not (captions or embeddings or documents):
        raise ConfigError(
            "no sources given for the knowledge base.",
            fix="give caption tables, embedding tables and/or documents.",
        )
    parts: list[Items] = []
    files = [*map(str, captions), *map(str, documents)]
    for i, path in enumerate(captions):
        parts.append(caption_items(path))
        report("reading captions", i + 1, len(captions))
    for i, path in enumerate(documents):
        parts.append(document_items(path))
        report("reading documents", i + 1, len(documents))
    image_model: ModelIdentity | None = None
    image: Items | None = None
    joint = False
    if embeddings:
        table = read_tables(embeddings)
        image_model = table.model
        image = window_items(table)
        files += [str(lattice.path) for lattice in table.lattices]
        if image_text_bundle is not None:
            _check_joint(embedder, image_model, table.dim, image_text_bundle)
            joint = True
        report("reading embeddings", len(embeddings), len(embeddings))
    texts = [p for p in parts if p.vectors is None]
    if image is not None and not texts and not joint:
        raise ConfigError(
            f"the windows' vectors ({image_model.describe() if image_model else 'unknown model'})"
            f" are not in the text model {embedder.name!r}'s space and no captions or "
            "documents were given, so no question could reach them.",
            fix="add the caption tables of these windows (--captions), or embed the scenes with "
            "an image-text bundle and build with it (--bundle).",
        )
    frames = [p.frame for p in texts] + ([image.frame] if image is not None else [])
    items = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=CRS)
    text_rows = (items["modality"] == "text").to_numpy()
    vector = np.zeros(len(items), np.int64)
    vector[text_rows] = np.arange(int(text_rows.sum()))
    vector[~text_rows] = np.arange(int((~text_rows).sum()))
    items["vector"] = vector
    indexes: dict[str, faiss.IndexFlatIP] = {}
    if text_rows.any():
        sentences = [str(t) for t in items.loc[text_rows, "text"]]
        indexes["text"] = _flat(_embed_texts(embedder, sentences, report))
    if image is not None and image.vectors is not None:
        indexes["image"] = _flat(image.vectors)
    return KnowledgeBase(
        items,
        indexes,
        embedder.name,
        embedder.dim,
        image_model,
        joint,
        list(dict.fromkeys(files)),
        None if image_text_bundle is None else str(image_text_bundle),
    )


def _check_joint(
    embedder: TextEmbedder, image_model: ModelIdentity | None, image_dim: int, bundle: PathLike
) -> None:
    """Refuse tables that the image-text bundle did not make, or widths that differ."""
    same_model(
        bundle_identity([Path(bundle)]),
        image_model,
        what=f"the image-text bundle {bundle}",
        fix=f"embed the scenes with {bundle} (eoforge embed) and build from those tables, or "
        "build without --bundle (windows are then found through their captions).",
    )
    if embedder.dim != image_dim:
        raise ConfigError(
            f"the text model {embedder.name!r} gives {embedder.dim} values and the image vectors "
            f"have {image_dim}: they are not one joint space.",
            fix=f"build with the text side of {bundle}.",
        )
