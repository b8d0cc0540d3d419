"""A real sentence tower and a small knowledge base's sources, made once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.embeddings.windows import embedding_bundle, write_scene
from tests.knowledge.sources import write_captions, write_document

from eoforge.embeddings import embed
from eoforge.text import SentenceTower


@dataclass(frozen=True)
class Sources:
    """Files of the knowledge base sources."""

    bundle: Path
    embeddings: Path
    captions: Path
    document: Path


@pytest.fixture(scope="session")
def tower() -> SentenceTower:
    """The packaged all-MiniLM-L6-v2, offline (about 4 s to load)."""
    return SentenceTower()


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    """The synthetic scene embedded by a small bundle, its caption table and a document."""
    root = tmp_path_factory.mktemp("knowledge")
    bundle = embedding_bundle(root / "bundle")
    table = embed(bundle, write_scene(root / "in" / "scene.tif"), root / "emb")[0]
    return Sources(
        bundle=bundle,
        embeddings=table.paths["embeddings"],
        captions=write_captions(root / "captions.parquet"),
        document=write_document(root / "notes.txt"),
    )
