"""What changed between two models of a portal, in readable lines (`portalis diff`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..definition.fieldtypes import ChoiceConfig
from ..definition.model import Field, PortalModel


def model_changes(old: PortalModel, new: PortalModel) -> list[str]:
    """Readable lines: entities, fields, declared indexes, pages, roles, workflows
    added/removed/changed."""
    lines: list[str] = []

    def compare(kind: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
        lines.extend(f"+ {kind} {n}" for n in b if n not in a)
        lines.extend(f"- {kind} {n}" for n in a if n not in b)

    compare("role", old.roles, new.roles)
    compare("entity", old.entities, new.entities)
    for name, entity in new.entities.items():
        before = old.entities.get(name)
        if before is None:
            continue
        compare(f"field {name}.", before.fields, entity.fields)
        for fname, field in entity.fields.items():
            prev = before.fields.get(fname)
            if prev is not None and prev.type != field.type:
                lines.append(f"~ field {name}.{fname}: {prev.type} → {field.type}")
            states = {w.field for w in new.workflow_for(name)}
            what = "state" if fname in states else "option"
            lines.extend(
                f"~ {what} {name}.{fname}: {old} → {value}"
                for old, value in _renamed_options(prev, field)
            )
        if before.grants != entity.grants:
            lines.append(f"~ permissions of {name}")
        lines.extend(
            f"+ index {name}[{', '.join(i)}]" for i in entity.indexes if i not in before.indexes
        )
        lines.extend(
            f"- index {name}[{', '.join(i)}]" for i in before.indexes if i not in entity.indexes
        )
    compare("workflow", old.workflows, new.workflows)
    compare("page", old.pages, new.pages)
    return [line.replace(". ", ".") for line in lines]


def _renamed_options(before: Field | None, after: Field) -> list[tuple[str, str]]:
    """(old, new) of the options `after` renames that `before` offered under the old value."""
    if before is None or not isinstance(after.config, ChoiceConfig):
        return []
    had = before.config.values if isinstance(before.config, ChoiceConfig) else frozenset()
    return [
        (old, new) for old, new in after.config.renamed.items() if old in had and new not in had
    ]
