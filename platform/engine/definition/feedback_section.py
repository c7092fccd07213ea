"""The `feedback` block: "Was this helpful?" under the page's record — yes or no, one vote per
reader (changeable), and the tally for the record's editors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..problems import JsonPath
from .record_blocks import check_record_block
from .sections import DefinitionSection, SectionContext
from .values import Label

#: `- feedback: …`
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entity": {
            "$ref": "#/$defs/name",
            "description": "The entity of the page's record.",
        },
        "question": {
            "$ref": "#/$defs/label",
            "description": "The question (default: Was this helpful?).",
        },
    },
    "additionalProperties": False,
    "required": ["entity"],
    "description": "Was this helpful? — yes/no votes on the page's record.",
}


@dataclass(frozen=True, slots=True)
class FeedbackBlock:
    """`feedback`: yes/no votes on the page's record."""

    entity: str
    question: Label | None = None


def check_feedback_block(options: dict[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """The block sits on a page with <id> showing a record of its entity."""
    check_record_block("feedback", options, path, ctx)


def compile_feedback_block(options: dict[str, Any]) -> FeedbackBlock:
    """The runtime's `FeedbackBlock`."""
    question = Label.of(options["question"]) if "question" in options else None
    return FeedbackBlock(entity=options["entity"], question=question)


FEEDBACK_SECTION = DefinitionSection(
    "block",
    "feedback",
    SCHEMA,
    "Feedback",
    "Was this helpful? under the page's record: everyone who may read the record answers "
    "yes or no — one vote per signed-in user, or per visitor's session — and may change "
    "it; users who may update the record see how many found it helpful. Works without "
    "JavaScript (a plain form).",
    "entity: article\nquestion: {en: Did this answer your question?}",
    check_feedback_block,
    compile_feedback_block,
)
