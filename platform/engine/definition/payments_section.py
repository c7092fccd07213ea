"""The `payments` block: what is open on the page's record, paying it online, and the
record's payments with their refunds (the entity declares `payable:`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..problems import JsonPath
from .record_blocks import check_record_block
from .sections import DefinitionSection, SectionContext
from .values import Label

#: `- payments: …`
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entity": {
            "$ref": "#/$defs/name",
            "description": "The page's entity; it must declare `payable:`.",
        },
        "title": {"$ref": "#/$defs/label", "description": "Heading (default: Payments)."},
    },
    "additionalProperties": False,
    "required": ["entity"],
    "description": "The open amount of the page's record, a pay button and its payments.",
}


@dataclass(frozen=True, slots=True)
class PaymentsBlock:
    """`payments`: paying the page's record and its payments."""

    entity: str
    title: Label | None = None


def check_payments_block(options: dict[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """The block sits on a page with <id> showing a record of its entity (that the entity
    is payable is checked with `payable:`, in `semantics.payable`)."""
    check_record_block("payments", options, path, ctx)


def compile_payments_block(options: dict[str, Any]) -> PaymentsBlock:
    """The runtime's `PaymentsBlock`."""
    title = Label.of(options["title"]) if "title" in options else None
    return PaymentsBlock(entity=options["entity"], title=title)


PAYMENTS_SECTION = DefinitionSection(
    "block",
    "payments",
    SCHEMA,
    "Payments",
    "Paying the page's record online (the entity declares payable:): the open amount and a "
    "pay button for users with the pay action — they are sent to the provider's hosted "
    "checkout, card data never reaches the portal — and the record's payments with their "
    "status and refunds. Users with the refund action refund a payment, all or part of it.",
    "entity: invoice\ntitle: {en: Pay online, de: Online bezahlen}",
    check_payments_block,
    compile_payments_block,
)
