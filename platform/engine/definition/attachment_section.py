"""The `attachments` block: the documents of the page's record, grouped by folder, with
upload, new version, delete and version history (the entity declares `attachments:`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..problems import JsonPath
from .record_blocks import check_record_block
from .sections import DefinitionSection, SectionContext
from .values import Label

#: `- attachments: …`
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entity": {
            "$ref": "#/$defs/name",
            "description": "The page's entity; it must declare `attachments:`.",
        },
        "title": {"$ref": "#/$defs/label", "description": "Heading (default: Attachments)."},
    },
    "additionalProperties": False,
    "required": ["entity"],
    "description": "The documents of the page's record, grouped by folder.",
}


@dataclass(frozen=True, slots=True)
class AttachmentsBlock:
    """`attachments`: the documents of the page's record."""

    entity: str
    title: Label | None = None


def check_attachments_block(options: dict[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """The block sits on a page with <id> showing a record of its entity."""
    check_record_block("attachments", options, path, ctx)


def compile_attachments_block(options: dict[str, Any]) -> AttachmentsBlock:
    """The runtime's `AttachmentsBlock`."""
    title = Label.of(options["title"]) if "title" in options else None
    return AttachmentsBlock(entity=options["entity"], title=title)


ATTACHMENTS_SECTION = DefinitionSection(
    "block",
    "attachments",
    SCHEMA,
    "Attachments",
    "The documents of the page's record (the entity declares attachments:), grouped by "
    "folder: readers of the record list and download them and see each document's "
    "versions; users who may update the record upload, upload new versions and delete.",
    "entity: ticket\ntitle: {en: Screenshots and logs}",
    check_attachments_block,
    compile_attachments_block,
)
