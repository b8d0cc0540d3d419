"""Answers from evidence: the interface any chat model plugs into, and a deterministic default.

A :class:`Responder` turns a question and its :class:`~eoforge.knowledge.evidence.Evidence`
into an :class:`Answer` that cites evidence ids in square brackets
(``[caption:12]``). To use a chat model, wrap it::

    class ChatResponder:
        name = "my-chat-model"

        def answer(self, question: str, evidence: Evidence) -> Answer:
            prompt = build_prompt(question, evidence)
            text = my_client.chat(prompt.messages())  # any chat API
            return Answer.from_text(text, evidence, self.name)

:func:`build_prompt` is a pure function: the same question and evidence always
give the same prompt, which is exactly what the model is shown.
:class:`TemplateResponder` needs no model: it lists the evidence in a fixed
template, citing every piece, and is the default of ``eoforge ask``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from shapely.geometry.base import BaseGeometry

from eoforge.knowledge.evidence import Evidence, Passage, Window

CITATION = re.compile(r"\[((?:caption|document|window):\d+)\]")
"""How an answer cites evidence: ``[kind:id]``."""

SYSTEM_PROMPT = (
    "You answer questions about places on Earth using only the evidence given: captions "
    "and map facts generated from land-cover maps, documents, and image windows of "
    "satellite scenes, each with an id in square brackets, its place (longitude/latitude "
    "bounds), its time and its similarity to the question. Cite the id of every piece of "
    "evidence you use in square brackets, e.g. [caption:12]. If the evidence does not "
    "answer the question, say so; do not guess."
)


@dataclass(frozen=True)
class Answer:
    """A responder's answer.

    Attributes:
        text: The answer, citing evidence as ``[kind:id]``.
        citations: Ids of the evidence cited, in order of first citation, all in the evidence.
        unknown_citations: Ids the text cites that are not in the evidence (a chat
            model's invention), kept apart from ``citations``.
        responder: Name of the responder.
    """

    text: str
    citations: tuple[str, ...]
    unknown_citations: tuple[str, ...] = ()
    responder: str = ""

    @classmethod
    def from_text(cls, text: str, evidence: Evidence, responder: str) -> Answer:
        """An answer whose citations are the ``[kind:id]`` marks of ``text``."""
        known = set(evidence.ids())
        cited = list(dict.fromkeys(CITATION.findall(text)))
        return cls(
            text=text,
            citations=tuple(c for c in cited if c in known),
            unknown_citations=tuple(c for c in cited if c not in known),
            responder=responder,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "text": self.text,
            "citations": list(self.citations),
            "unknown_citations": list(self.unknown_citations),
            "responder": self.responder,
        }


@runtime_checkable
class Responder(Protocol):
    """Answers a question from evidence (a chat model, or the template)."""

    @property
    def name(self) -> str:
        """What answers (model name), recorded in the answer."""
        ...

    def answer(self, question: str, evidence: Evidence) -> Answer:
        """Answer ``question`` from ``evidence`` only, citing evidence ids."""
        ...


@dataclass(frozen=True)
class Prompt:
    """What a chat model is given.

    Attributes:
        system: Instructions (answer from the evidence, cite ids).
        user: The evidence, then the question.
    """

    system: str
    user: str

    def messages(self) -> list[dict[str, str]]:
        """The chat messages: ``[{"role": "system", ...}, {"role": "user", ...}]``."""
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


def build_prompt(question: str, evidence: Evidence) -> Prompt:
    """The prompt for ``question`` with ``evidence``, one line per piece of evidence.

    Pure: depends only on its arguments.
    """
    lines = ["Evidence:"]
    lines += [f"{_header(p)} {p.text}{_facts(p.facts)}" for p in evidence.passages]
    lines += [_window_line(w) for w in evidence.windows]
    if len(lines) == 1:
        lines.append("(none: nothing in the knowledge base matches the question and filters)")
    filters = {k: v for k, v in evidence.filters.items() if v is not None}
    if filters:
        lines.append(f"Filters applied: {json.dumps(filters, sort_keys=True)}")
    lines += ["", f"Question: {question}"]
    return Prompt(SYSTEM_PROMPT, "\n".join(lines))


@dataclass(frozen=True)
class TemplateResponder:
    """A deterministic answer without a model: the evidence listed, every piece cited.

    Attributes:
        name: Recorded in the answer.
    """

    name: str = "template"

    def answer(self, question: str, evidence: Evidence) -> Answer:
        """The passages, then the windows, one line each, best first, each cited."""
        if not len(evidence):
            text = (
                f'The knowledge base holds no evidence for "{question}"'
                f"{' within the filters' if any(evidence.filters.values()) else ''}."
            )
            return Answer(text, (), (), self.name)
        lines = [f'Evidence for "{question}", closest first:']
        for p in evidence.passages:
            where = ", ".join(x for x in (p.scene, _date(p)) if x)
            lines.append(f"- [{p.id}] {p.text}" + (f" ({where})" if where else ""))
        for w in evidence.windows:
            said = f": {next(iter(w.captions.values()))}" if w.captions else ""
            lines.append(
                f"- [{w.id}] window of {w.scene} at pixel row {w.row}, column {w.col}, "
                f"{_bounds(w.footprint)} ({w.found_by}){said}"
            )
        return Answer.from_text("\n".join(lines), evidence, self.name)


def _header(item: Passage) -> str:
    parts = [item.kind, item.scene, _date(item), _bounds(item.footprint)]
    meta = "; ".join(x for x in parts if x)
    return f"[{item.id}] ({meta}; similarity {item.score:.3f})"


def _window_line(w: Window) -> str:
    meta = "; ".join(
        x
        for x in (
            "image window",
            w.scene,
            f"pixel row {w.row}, column {w.col}",
            _date(w),
            _bounds(w.footprint),
            f"{w.found_by}, score {w.score:.3f}",
        )
        if x
    )
    said = "".join(f" {cid}: {text}" for cid, text in w.captions.items())
    return f"[{w.id}] ({meta}){' Captions:' + said if said else ''}{_facts(w.facts)}"


def _facts(facts: Mapping[str, object] | None) -> str:
    return "" if not facts else f" Facts: {json.dumps(facts, sort_keys=True)}"


def _date(item: Passage | Window) -> str:
    return "" if item.time is None else item.time.date().isoformat()


def _bounds(footprint: BaseGeometry | None) -> str:
    if footprint is None:
        return ""
    minx, miny, maxx, maxy = footprint.bounds
    return f"lon {minx:.5f}..{maxx:.5f}, lat {miny:.5f}..{maxy:.5f}"
