"""What an audit entry's `via` says, in the reader's language.

The engine records where a write came from as stable text (`rollup of payment`,
`automation settle_when_paid`, `timer:invoice_flow/remind`, `copy of order #12`); a record's
history shows it worded for the reader, with the definition's labels for entities.
"""

from __future__ import annotations

import re
from typing import Final

from .display import Formatter

_ROLLUP: Final = re.compile(r"rollup of (?P<children>[a-z0-9_, ]+)")
_COPY: Final = re.compile(r"copy of (?P<entity>[a-z0-9_]+) #(?P<id>\d+)")
_AUTOMATION: Final = re.compile(r"automation (?P<name>[A-Za-z0-9_-]+)")
_TIMER: Final = re.compile(r"timer:(?P<workflow>[A-Za-z0-9_-]+)/(?P<name>[A-Za-z0-9_-]+)")


def via_text(via: str, fmt: Formatter) -> str:
    """`via` worded for the reader ("the totals of Payments", "Kopie von Bestellung #12");
    text in another shape is shown as recorded."""
    model = fmt.model
    if found := _ROLLUP.fullmatch(via):
        names = [name.strip() for name in found["children"].split(",")]
        labels = [
            fmt.label(model.entities[n].plural_label, n) if n in model.entities else n
            for n in names
        ]
        return fmt.gettext("the totals of %(entities)s", entities=", ".join(labels))
    if found := _COPY.fullmatch(via):
        entity = model.entities.get(found["entity"])
        name = fmt.label(entity.label, entity.name) if entity is not None else found["entity"]
        return fmt.gettext("a copy of %(entity)s #%(id)s", entity=name, id=found["id"])
    if found := _AUTOMATION.fullmatch(via):
        return fmt.gettext("automation %(name)s", name=found["name"])
    if found := _TIMER.fullmatch(via):
        return fmt.gettext("timer %(name)s", name=found["name"])
    return via
