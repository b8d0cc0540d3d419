"""Retrieval-augmented answers: a knowledge base of windows, captions and documents.

Build a store of image and text vectors with their footprints and times
(:func:`build_knowledge`), retrieve the evidence closest to a question within a
bounding box and time range (:class:`Retriever`), and answer from it with any
chat model behind :class:`Responder` (the prompt it sees is
:func:`build_prompt`) or the deterministic :class:`TemplateResponder`.
"""

from eoforge.knowledge.evidence import Evidence, Passage, Window
from eoforge.knowledge.filters import Filters, parse_bbox
from eoforge.knowledge.respond import (
    Answer,
    Prompt,
    Responder,
    TemplateResponder,
    build_prompt,
)
from eoforge.knowledge.retrieve import Retriever
from eoforge.knowledge.store import KnowledgeBase, build_knowledge

__all__ = [
    "Answer",
    "Evidence",
    "Filters",
    "KnowledgeBase",
    "Passage",
    "Prompt",
    "Responder",
    "Retriever",
    "TemplateResponder",
    "Window",
    "build_knowledge",
    "build_prompt",
    "parse_bbox",
]
