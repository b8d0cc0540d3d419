"""``eoforge ask``: answer a question from a knowledge base's evidence, citing it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from eoforge.cli import ui
from eoforge.cli.knowledge import text_model
from eoforge.errors import ConfigError

if TYPE_CHECKING:
    from eoforge.knowledge import Evidence

HELP = """Answer a question from a knowledge base (eoforge knowledge build).

The question is embedded by the knowledge base's own text model (another is
refused) and the closest captions, documents and image windows are retrieved
(--k of each), within --bbox (minx,miny,maxx,maxy in --crs, default
longitude/latitude) and --time START/END (ISO dates, either end open with
..) when given. The answer lists the evidence, citing each piece as
[kind:id]; it is a template, not a language model: --prompt prints what a
chat model would be given instead (see eoforge.knowledge.Responder to plug
one in). --out writes the question, answer, evidence (with footprints) and
prompt as JSON.

Examples:

  eoforge ask "Where does water cover the land?" kb --k 5

  eoforge ask "flooded fields" kb --time 2024-01-01/2024-03-31 --bbox 4.2,51.8,4.6,52.0

  eoforge ask "Which crops grow here?" kb --prompt --out answer.json
"""


def ask(
    question: Annotated[str, typer.Argument(help="The question, in words.")],
    knowledge: Annotated[Path, typer.Argument(help="Knowledge base folder.")],
    k: Annotated[int, typer.Option("--k", help="Passages (and windows) to retrieve.", min=1)] = 5,
    bbox: Annotated[
        str | None, typer.Option("--bbox", help="minx,miny,maxx,maxy: evidence intersecting it.")
    ] = None,
    crs: Annotated[str, typer.Option("--crs", help="CRS of --bbox.")] = "EPSG:4326",
    time: Annotated[
        str | None, typer.Option("--time", help="START/END: evidence dated within (ISO dates).")
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(
            "--bundle",
            help="Image-text bundle whose text side built the knowledge base (default: the "
            "one it records).",
        ),
    ] = None,
    prompt: Annotated[
        bool, typer.Option("--prompt", help="Also print the prompt a chat model would be given.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write question, answer and evidence (.json).")
    ] = None,
) -> None:
    """Answer a question from a knowledge base, citing the evidence."""
    # FAISS, PyTorch and the text model load only when asking: `eoforge --version` stays fast
    from eoforge.knowledge import (
        Filters,
        KnowledgeBase,
        Retriever,
        TemplateResponder,
        build_prompt,
        parse_bbox,
    )
    from eoforge.text.search import time_range

    if not question.strip():
        raise ConfigError("the question is empty.", fix='ask in words, e.g. "where is water?".')
    if out is not None and out.suffix.lower() != ".json":
        raise ConfigError(
            f"cannot write {out.suffix or 'a file without a suffix'}.",
            path=out,
            fix="end --out with .json.",
        )
    start, end = time_range(time) if time is not None else (None, None)
    filters = Filters(
        bbox=None if bbox is None else parse_bbox(bbox), crs=crs, start=start, end=end
    )
    kb = KnowledgeBase.load(knowledge)
    embedder = text_model(bundle or (Path(kb.text_bundle) if kb.text_bundle else None))
    with ui.status("retrieving evidence"):
        evidence = Retriever(kb, embedder).retrieve(question, k, filters)
    answer = TemplateResponder().answer(question, evidence)
    shown = build_prompt(question, evidence)
    _show(evidence)
    ui.result(answer.text)
    if prompt:
        ui.result(f"\n--- system ---\n{shown.system}\n--- user ---\n{shown.user}")
    if out is not None:
        record = {
            "question": question,
            "knowledge_base": str(knowledge),
            "answer": answer.to_dict(),
            "evidence": evidence.to_dict(),
            "prompt": shown.messages(),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = out.with_name(f".{out.name}.{os.getpid()}.partial")
        staging.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        staging.replace(out)
        ui.result(
            f"wrote {out} ({len(evidence.passages)} passages, {len(evidence.windows)} windows)"
        )


def _show(evidence: Evidence) -> None:
    table = Table("id", "score", "scene", "time", "text / found by", title="evidence")
    for p in evidence.passages:
        when = "" if p.time is None else p.time.date().isoformat()
        table.add_row(p.id, f"{p.score:.3f}", p.scene or "", when, p.text)
    for w in evidence.windows:
        when = "" if w.time is None else w.time.date().isoformat()
        table.add_row(w.id, f"{w.score:.3f}", w.scene, when, w.found_by)
    ui.console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``ask`` to the ``eoforge`` command."""
    app.command("ask", help=HELP)(ask)
