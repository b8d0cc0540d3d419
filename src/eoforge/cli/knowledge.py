"""``eoforge knowledge``: build a knowledge base of windows, captions and documents."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import TaskID

from eoforge.cli import ui

if TYPE_CHECKING:
    from eoforge.text import TextEmbedder

HELP = """Build a knowledge base for eoforge ask.

build gathers SOURCES into one store: caption tables (eoforge captions:
each caption with the map facts it states), embedding tables of one bundle
(eoforge embed: each window with its footprint and vector) and documents
(.txt/.md files, one item per paragraph, or vector layers with a text
column). The kind of each file is recognised from its metadata. Captions and
documents are embedded by the text model (the packaged all-MiniLM-L6-v2, or
with --bundle the text side of an image-text bundle, whose image tower must
have made the embedding tables: then questions find windows directly; without
it, windows are found through the captions over them). Vectors of other
models are refused.

Examples:

  eoforge knowledge build captions.parquet emb/*_embeddings.parquet notes.md --out kb

  eoforge knowledge build captions.parquet emb/*_embeddings.parquet --bundle it_bundle --out kb
"""

app = typer.Typer(help=HELP, no_args_is_help=True)


def text_model(bundle: Path | None) -> TextEmbedder:
    """The text side of an image-text bundle, or the packaged sentence model."""
    # PyTorch and the sentence model load only when used: `eoforge --version` stays fast
    from eoforge.models.image_text_bundle import load_text_side
    from eoforge.text import SentenceTower

    with ui.status("loading the text model"):
        return load_text_side(bundle) if bundle is not None else SentenceTower()


@app.command("build")
def build_command(
    sources: Annotated[
        list[Path],
        typer.Argument(help="Caption tables, embedding tables and documents (.txt, .md, layers)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Knowledge base folder to write.")],
    bundle: Annotated[
        Path | None,
        typer.Option(
            "--bundle", help="Image-text bundle: its text side embeds texts (one joint space)."
        ),
    ] = None,
) -> None:
    """Build a knowledge base from caption tables, embedding tables and documents."""
    # FAISS and geopandas load only when used: `eoforge --version` stays fast
    from eoforge.knowledge import build_knowledge
    from eoforge.knowledge.items import source_kind

    kinds: dict[str, list[Path]] = {"captions": [], "embeddings": [], "documents": []}
    for path in sources:
        kinds[source_kind(path)].append(path)
    embedder = text_model(bundle)
    with ui.progress() as bar:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        knowledge = build_knowledge(
            embedder,
            captions=kinds["captions"],
            embeddings=kinds["embeddings"],
            documents=kinds["documents"],
            image_text_bundle=bundle,
            progress=report,
        )
    knowledge.save(out)
    ui.result(f"wrote {out} ({knowledge.describe()})")


def register(root: typer.Typer) -> None:
    """Add the ``knowledge`` command group to ``eoforge``."""
    root.add_typer(
        app,
        name="knowledge",
        short_help="Build a knowledge base of windows, captions and documents.",
    )
