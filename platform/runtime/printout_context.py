"""What a printout template sees: the record and its lists as the actor may read them,
every value already formatted in the reader's language.

Values are text (`129,00 €`, `31.10.2026`, a choice's label, a referenced record's title) so
a template needs no formatting code; a field the actor may not read is absent (`record.x`
is empty), and list rows are read through the record store with the actor's row filter,
like every other read. Nothing here needs a request: a worker attaching a printout to a
mail builds the same context for the mail's recipient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.definition.fieldtypes.choices import ChoiceConfig
from portalis.engine.definition.model import SYSTEM_COLUMNS, Entity, Field, PortalModel
from portalis.engine.definition.printout_spec import Printout, PrintoutList
from portalis.engine.definition.values import Label
from portalis.engine.expr.expressions import EvaluationError
from portalis.engine.formatting import format_date, format_fixed, format_number
from portalis.engine.outbox.mail_body import display_value

if TYPE_CHECKING:
    from portalis.engine.data.store import RecordStore

#: Rows read per query while filling a list (the store's largest page).
_BATCH = 200


class PrintContext:
    """Builds the template context of one printout for one actor and locale."""

    def __init__(self, store: RecordStore, actor: Actor, locale: str) -> None:
        self.store = store
        self.model: PortalModel = store.model
        self.actor = actor
        self.locale = locale

    def text(self, label: Any, fallback: str = "") -> str:
        """A definition label (or a `{locale: text}` map) in the reader's language."""
        if label is None:
            return fallback
        if isinstance(label, str):
            return label
        texts = label if isinstance(label, Label) else Label.of(dict(label))
        return texts.get(self.locale, self.model.default_locale) or fallback

    def field_label(self, entity: str, name: str) -> str:
        """The label of field `name` of `entity` (the name itself when unknown)."""
        spec = self.model.entities.get(entity)
        field = spec.fields.get(name) if spec is not None else None
        return self.text(field.label, name) if field is not None else name

    def rows(self, entity: Entity, records: Sequence[Record]) -> list[dict[str, Any]]:
        """`records` as dicts of display texts (readable fields and system columns)."""
        titles: dict[str, dict[int, str]] = {}
        for field in entity.refs():
            ids = [r.get(field.name) for r in records if r.get(field.name) is not None]
            to = str(getattr(field.config, "to", ""))
            titles[field.name] = self.store.titles(self.actor, to, ids) if ids else {}
        # authors are named next to content the actor reads, as on the record's page
        authors = [r.get("created_by") for r in records if r.get("created_by") is not None]
        titles["created_by"] = (
            self.store.titles(self.actor, "user", authors, names_only=True) if authors else {}
        )
        out = []
        for record in records:
            row: dict[str, Any] = {"id": record.id, "version": record.get("version")}
            for name in record:
                kind = entity.fields.get(name)
                if kind is not None:
                    row[name] = self.value_text(kind, record.get(name), titles.get(name, {}))
                elif name == "created_by":
                    value = record.get(name)
                    row[name] = titles["created_by"].get(int(value), "") if value else ""
                elif name in ("created_at", "updated_at"):
                    # a document is dated, not timed: `7. Dezember 2026`
                    row[name] = format_date(record.get(name), self.locale, "long")
                elif name in SYSTEM_COLUMNS and name not in row:
                    row[name] = display_value(record.get(name), self.locale)
            out.append(row)
        return out

    def value_text(self, field: Field, value: Any, titles: Mapping[int, str]) -> str:
        """One value as the reader reads it."""
        if value is None:
            return ""
        config = field.config
        kind = field.type
        if kind == "choice" and isinstance(config, ChoiceConfig):
            return self.text(config.label_for(str(value)), str(value))
        if kind == "tags" and isinstance(config, ChoiceConfig):
            return ", ".join(self.text(config.label_for(str(t)), str(t)) for t in value)
        if kind == "ref":
            return titles.get(int(value), f"#{value}")
        if kind == "bool":
            return "✓" if value else "–"
        if kind == "decimal" and isinstance(places := getattr(config, "places", None), int):
            return format_fixed(value, places, self.locale)
        if kind in ("int", "decimal"):
            return format_number(value, self.locale)
        return str(display_value(value, self.locale))

    def lists(self, specs: Sequence[PrintoutList], parents: Sequence[dict[str, Any]]) -> None:
        """Fill each row of `parents` with its lists (`row[list name]`), as the actor may
        read them; one query per list and parent row (a printout is one record's story)."""
        for spec in specs:
            entity = self.model.entities[spec.entity]
            for parent in parents:
                records = self._read(spec, int(parent["id"]))
                rows = self.rows(entity, records)
                if spec.lists:
                    self.lists(spec.lists, rows)
                parent[spec.name] = rows

    def _read(self, spec: PrintoutList, parent_id: int) -> list[Record]:
        records: list[Record] = []
        page = 1
        while len(records) < spec.limit:
            found = self.store.list(
                self.actor, spec.entity, parent=(spec.via, parent_id), filters=dict(spec.where),
                sort=spec.sort or "id", page=page, page_size=_BATCH, count=False,
            )  # fmt: skip
            records.extend(found.records)
            if not found.has_next:
                break
            page += 1
        return records[: spec.limit]

    def context(self, printout: Printout, record: Record) -> dict[str, Any]:
        """Everything the template of `printout` may use for `record`."""
        entity = self.model.entities[record.entity]
        row = self.rows(entity, [record])[0]
        self.lists(printout.lists, [row])
        theme = self.model.theme
        return {
            "record": row,
            "lists": {spec.name: row[spec.name] for spec in printout.lists},
            "printout": {"name": printout.name, "label": self.text(printout.label)},
            "portal": {
                "title": self.text(self.model.title, self.model.slug),
                "slug": self.model.slug,
                "logo": theme.logo,
            },
            "theme": {
                "primary_color": theme.primary_color or "#0b5fff",
                "text_color": theme.text_color or "#1a1a1a",
            },
            "locale": self.locale,
            "today": format_date(date.today(), self.locale, "long"),
            "label": self.field_label,
            "t": self.text,
        }


def printable(printout: Printout, actor: Actor, record: Record) -> bool:
    """True when `actor` may print `printout` of `record` (its roles, its `when`)."""
    if printout.roles is not None and not (printout.roles & actor.roles):
        return False
    if printout.when is None:
        return True
    try:
        return bool(printout.when.test(record=dict(record.values), actor=actor))
    except EvaluationError:  # a condition that cannot be evaluated denies
        return False
