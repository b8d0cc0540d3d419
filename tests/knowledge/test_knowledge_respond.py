"""Answers from evidence: the prompt a chat model would see is a pure function of the question
and evidence, the template responder cites every piece and only those, and any object with a
name and an answer method plugs in."""

from __future__ import annotations

from datetime import UTC, datetime

import shapely

from eoforge.knowledge import (
    Answer,
    Evidence,
    Passage,
    Responder,
    TemplateResponder,
    Window,
    build_prompt,
)

CAPTION = Passage(
    id="caption:3",
    kind="caption",
    text="Open water: a lake fills the window.",
    score=0.71,
    scene="s1",
    time=datetime(2024, 6, 1, tzinfo=UTC),
    footprint=shapely.box(4.4, 51.4, 4.41, 51.41),
    facts={"dominant": "water", "shares": {"water": 1.0}},
    source="captions.parquet",
)
NOTE = Passage(id="document:50", kind="document", text="The river floods every spring.", score=0.42)
WINDOW = Window(
    id="window:60",
    score=0.71,
    found_by="overlaps caption:3",
    scene="s1",
    row=16,
    col=32,
    footprint=shapely.box(4.4, 51.4, 4.41, 51.41),
    captions={"caption:3": "Open water: a lake fills the window."},
    facts={"dominant": "water"},
)
EVIDENCE = Evidence("Where is the lake?", (CAPTION, NOTE), (WINDOW,), {"bbox": None})


def test_the_prompt_holds_every_piece_of_evidence_and_the_question() -> None:
    prompt = build_prompt("Where is the lake?", EVIDENCE)
    assert prompt == build_prompt("Where is the lake?", EVIDENCE)
    lines = prompt.user.splitlines()
    assert lines[0] == "Evidence:" and lines[-1] == "Question: Where is the lake?"
    assert lines[1] == (
        "[caption:3] (caption; s1; 2024-06-01; lon 4.40000..4.41000, lat 51.40000..51.41000; "
        "similarity 0.710) Open water: a lake fills the window. "
        'Facts: {"dominant": "water", "shares": {"water": 1.0}}'
    )
    assert lines[2] == "[document:50] (document; similarity 0.420) The river floods every spring."
    assert lines[3].startswith("[window:60] (image window; s1; pixel row 16, column 32;")
    assert "overlaps caption:3, score 0.710" in lines[3] and "Captions: caption:3: Open" in lines[3]
    assert "cite the id" in prompt.system.lower()
    assert [m["role"] for m in prompt.messages()] == ["system", "user"]
    nothing = build_prompt("Where?", Evidence("Where?", filters={"start": "2024-01-01"}))
    assert "(none: nothing in the knowledge base" in nothing.user
    assert 'Filters applied: {"start": "2024-01-01"}' in nothing.user


def test_the_template_cites_every_piece_once_in_order() -> None:
    answer = TemplateResponder().answer("Where is the lake?", EVIDENCE)
    assert answer.citations == ("caption:3", "document:50", "window:60")
    assert answer.unknown_citations == () and answer.responder == "template"
    assert answer == TemplateResponder().answer("Where is the lake?", EVIDENCE)
    lines = answer.text.splitlines()
    assert lines[1] == "- [caption:3] Open water: a lake fills the window. (s1, 2024-06-01)"
    assert lines[2] == "- [document:50] The river floods every spring."
    assert lines[3].startswith("- [window:60] window of s1 at pixel row 16, column 32, lon 4.4")
    assert lines[3].endswith("(overlaps caption:3): Open water: a lake fills the window.")


def test_no_evidence_is_said_without_citations() -> None:
    answer = TemplateResponder().answer("Any ships?", Evidence("Any ships?", filters={"bbox": [0]}))
    assert answer.citations == ()
    assert (
        answer.text == 'The knowledge base holds no evidence for "Any ships?" within the filters.'
    )


def test_citations_of_evidence_that_was_not_given_are_kept_apart() -> None:
    answer = Answer.from_text(
        "A lake [caption:3], again [caption:3], and a port [window:99].", EVIDENCE, "chat"
    )
    assert answer.citations == ("caption:3",) and answer.unknown_citations == ("window:99",)
    assert answer.to_dict()["unknown_citations"] == ["window:99"]


class EchoChat:
    """A stand-in chat model: answers with the first line of evidence it was shown."""

    name = "echo-chat"

    def answer(self, question: str, evidence: Evidence) -> Answer:
        shown = build_prompt(question, evidence).user.splitlines()[1]
        return Answer.from_text(f"From the evidence: {shown}", evidence, self.name)


def test_any_object_with_a_name_and_answer_is_a_responder() -> None:
    chat = EchoChat()
    assert isinstance(chat, Responder) and isinstance(TemplateResponder(), Responder)
    answer = chat.answer("Where is the lake?", EVIDENCE)
    assert answer.citations == ("caption:3",) and answer.responder == "echo-chat"
